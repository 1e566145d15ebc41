"""Prove that every kata test fails against the pristine stubs, and fails the right way.

Each test must report "not started": the stub's NotImplementedError reached it. A test that
passes against a stub tests nothing; one that errors at collection or with another
exception would greet a new learner with a crash instead of a next step.
"""

from __future__ import annotations

import sys
from collections import Counter

from .manifest import ROOT, load_manifest
from .report import NOT_STARTED
from .runner import run_suite
from .stubs import PRISTINE_DIR


def main(argv: list[str]) -> int:
    manifest = load_manifest()
    run = run_suite(PRISTINE_DIR, extra=["-q", "--kata-summary=no"])
    if run.report is None:
        print(run.output[-5000:])
        print(f"prove-stubs: FAILED, no results from the run on the pristine stubs: {run.problem}")
        return 1
    tests = run.report.tests
    wrong = [t for t in tests if t.status != NOT_STARTED]
    per_exercise = Counter(t.exercise for t in tests)
    staged = [s.name for s in manifest.stages if (ROOT / s.tests).exists()]
    missing = [e.name for e in manifest.exercises if e.stage in staged and per_exercise[e.name] == 0]
    for t in wrong:
        print(f"  {t.nodeid}: {t.status} (expected not_started) {t.message.splitlines()[0] if t.message else ''}")
    for name in missing:
        print(f"  exercise {name}: no test ran against the pristine stubs")
    counts = ", ".join(f"{e.name} {per_exercise[e.name]}" for e in manifest.exercises if e.stage in staged)
    if wrong or missing or run.returncode != 1:
        print(f"prove-stubs: FAILED ({len(wrong)} of {len(tests)} tests did not fail with NotImplementedError; "
              f"pytest exit code {run.returncode})")
        return 1
    print(f"prove-stubs: all {len(tests)} kata tests fail with NotImplementedError on the pristine stubs "
          f"and none passes ({counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

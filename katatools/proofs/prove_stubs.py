"""Prove that every kata test fails against the pristine stubs, and fails the right way.

Two runs: cumulative (a new learner: every stage a stub) and isolated (each stage's stub on
the reference's earlier stages, where the learner stands on reaching it: a test that never
calls its own exercise's code would pass there by accident). A stage whose exercises extend an
earlier stage's module (stage 5's arrays, in variable.py) takes that module from the learner
even in isolated mode, so its tests there meet the earlier stubs too; a third run, "midway",
gives each such stage the reference with only its own exercises and the later ones stubbed.

Each test must report "not started": the stub's NotImplementedError reached it. A test that
passes against a stub tests nothing; one that errors at collection or with another
exception would greet a new learner with a crash instead of a next step.
"""

from __future__ import annotations

import sys
import tempfile
from collections import Counter
from pathlib import Path

from ..manifest import ROOT, Manifest, Stage, load_manifest
from ..report import NOT_STARTED
from ..runner import run_suite
from ..stubs import generated_stubs, write_package

MODES = ("cumulative", "isolated")


def prove(manifest: Manifest, mode: str, stubs: Path | None = None, exercises: list[str] | None = None,
          label: str | None = None) -> bool:
    """One run on the stubs in ``mode``; True when every (selected) test is "not started".

    ``stubs``: a directory of kata modules; by default the stubs generated from the reference,
    which CI checks are exactly what katas/ ships.
    """
    label = label or mode
    if stubs is None:
        with tempfile.TemporaryDirectory(prefix="kata-stubs-") as scratch:
            return prove(manifest, mode, write_package(Path(scratch), generated_stubs(manifest)), exercises, label)
    run = run_suite(stubs, mode=mode, exercises=exercises, extra=["-q", "--kata-summary=no"], autoload=False)
    if run.report is None:
        print(run.output[-5000:])
        print(f"prove-stubs ({label}): FAILED, no results from the run on the pristine stubs: {run.problem}")
        return False
    tests = run.report.tests
    wrong = [t for t in tests if t.status != NOT_STARTED]
    per_exercise = Counter(t.exercise for t in tests)
    staged = [s.name for s in manifest.stages if (ROOT / s.tests).exists()]
    selected = manifest.select(exercises or [])
    missing = [e.name for e in selected if e.stage in staged and per_exercise[e.name] == 0]
    for t in wrong:
        print(f"  {t.nodeid}: {t.status} (expected not_started) {t.message.splitlines()[0] if t.message else ''}")
    for name in missing:
        print(f"  exercise {name}: no test ran against the pristine stubs")
    counts = ", ".join(f"{e.name} {per_exercise[e.name]}" for e in selected if e.stage in staged)
    if wrong or missing or run.returncode != 1:
        print(f"prove-stubs ({label}): FAILED ({len(wrong)} of {len(tests)} tests did not fail with "
              f"NotImplementedError; pytest exit code {run.returncode})")
        return False
    print(f"prove-stubs ({label}): all {len(tests)} kata tests fail with NotImplementedError on the pristine "
          f"stubs and none passes ({counts})")
    return True


def prove_midway(manifest: Manifest, stage: Stage) -> bool:
    """``stage``'s tests on the reference with only its own exercises and the later ones stubbed:
    the learner who finished every earlier stage, where each test must reach its own stub."""
    names = [e.name for e in manifest.exercises if manifest.stage(e.stage).index >= stage.index]
    with tempfile.TemporaryDirectory(prefix="kata-midway-") as scratch:
        package = write_package(Path(scratch), generated_stubs(manifest, exercises=names))
        return prove(manifest, "cumulative", package, [stage.name], f"midway {stage.name}")


def extending_stages(manifest: Manifest) -> list[Stage]:
    """The stages whose exercises extend an earlier stage's module (isolated mode takes it from the learner)."""
    return [s for s in manifest.stages if len(manifest.learner_modules(s)) > 1 and (ROOT / s.tests).exists()]


def main(argv: list[str]) -> int:
    """Both modes: a new learner's (every stage a stub) and one who finished the earlier stages
    (isolated: each stage's stub on the reference's earlier stages), where a test that never
    reaches its own exercise's stub would pass by accident; plus the midway run of each stage
    that extends an earlier module."""
    manifest = load_manifest()
    results = [prove(manifest, mode) for mode in MODES]
    results += [prove_midway(manifest, stage) for stage in extending_stages(manifest)]
    return 0 if all(results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

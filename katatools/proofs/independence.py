"""Prove that each exercise's tests need only that exercise and the ones before it.

A learner does the exercises in the manifest's order, so when they finish exercise *k* every
later exercise is still a stub. If a test of *k* called a later exercise (``"str" ** x`` needs
``__rpow__``, of pow_variable) or took its expected value from one (tanh checked against the
learner's sigmoid), exercise *k* would show "failing" or "not started" although it is done.

For each exercise: the reference with every later exercise stubbed
(``katatools.stubs.later_stubbed``) is written as a whole package and that exercise's tests run
on it, cumulatively, with the check's time limit per test. Every one of them must pass.

``python -m katatools independence [--jobs N] [--exercise NAME]... [-v]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..learner.check import CHECK_TIMEOUT
from ..manifest import ROOT, Exercise, Manifest, ManifestError, load_manifest
from ..report import PASSED
from ..runner import available_cpus, run_parallel
from ..stubs import REFERENCE_DIR, later_stubbed
from . import runs
from .corpus import first_line, no_report, run_package, warm_sklearn_answers


def prove_exercise(manifest: Manifest, exercise: Exercise, timeout: float,
                   reference: Path = REFERENCE_DIR) -> tuple[bool, str, float]:
    """(independent?, what happened, seconds) for one exercise."""
    started = time.monotonic()
    stage = manifest.stage(exercise.stage)
    run = run_package(later_stubbed(manifest, exercise.name, reference), (stage,), [exercise.name], timeout)
    seconds = time.monotonic() - started
    if run.report is None:
        return False, no_report(run), seconds
    own = [t for t in run.report.tests if t.exercise == exercise.name]
    bad = [t for t in own if t.status != PASSED]
    if own and not bad:
        return True, f"{len(own)} tests pass", seconds
    if not own:
        return False, f"no test ran (pytest exit {run.returncode})", seconds
    lines = [f"{len(bad)} of {len(own)} tests do not pass with the later exercises stubbed:"]
    lines += [f"  {t.nodeid} {t.status}: {first_line(t.message)}"[:400] for t in bad[:5]]
    return False, "\n".join(lines), seconds


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m katatools independence", description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", action="append", default=[], metavar="NAME",
                        help="only this exercise, or a stage's exercises (repeatable)")
    parser.add_argument("--reference", type=Path, default=REFERENCE_DIR, metavar="DIR", help="the marked reference (default: solutions/)")
    parser.add_argument("--jobs", type=int, default=available_cpus(), metavar="N",
                        help=f"child pytest processes at once (default: the CPUs, {available_cpus()} here)")
    parser.add_argument("--timeout", type=float, default=CHECK_TIMEOUT, metavar="SECONDS",
                        help=f"time limit per test (default: the check's, {CHECK_TIMEOUT:g})")
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per exercise, with its time")
    args = parser.parse_args(argv)
    manifest = load_manifest()
    try:
        selected = manifest.select(args.exercise)
    except ManifestError as exc:
        print(f"independence: --exercise: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    ready = [e for e in selected if (ROOT / manifest.stage(e.stage).tests).is_file()]
    # The costliest stages first, so the workers end together.
    ordered = sorted(ready, key=lambda e: -manifest.stage(e.stage).cost)
    stages = [s for s in manifest.stages if any(e.stage == s.name for e in ready)]
    warm = warm_sklearn_answers(stages, Path(args.reference))
    if warm:
        print(f"independence: {warm}")
        return 1
    with runs.warm_runs([s.tests for s in stages]):
        results = dict(zip([e.name for e in ordered], run_parallel(
            args.jobs, [(lambda e=e: prove_exercise(manifest, e, args.timeout, args.reference)) for e in ordered]),
            strict=True))
    print("Each exercise's tests on the reference with every later exercise stubbed")
    failures = 0
    for exercise in ready:
        ok, detail, seconds = results[exercise.name]
        failures += not ok
        if not ok:
            print(f"  DEPENDS {exercise.name}: {detail}")
        elif args.verbose:
            print(f"  ok      {exercise.name:<20} {detail} ({seconds:.1f} s)")
    for exercise in selected:
        if exercise not in ready:
            print(f"  {exercise.name}: not checked (stage {exercise.stage!r} has no tests yet)")
    total = f"{len(ready) - failures} of {len(ready)} exercises independent of later ones in " \
            f"{time.monotonic() - started:.1f} s ({args.jobs} jobs)"
    print(f"independence: {'FAILED: ' if failures else ''}{total}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

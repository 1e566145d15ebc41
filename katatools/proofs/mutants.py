"""Test the tests: every hand-written learner mistake in ``mistakes/`` must fail a test of its exercise.

A mistake is a small find/replace patch to a reference module (``mistakes/<stage>.toml``)::

    [[mistake]]
    name = "product_rule_drops_second_term"
    exercise = "mul"
    description = "grad = u' v: the u v' term of the product rule is missing"
    [[mistake.patch]]
    find = "self.grad * other.value + self.value * other.grad"
    replace = "self.grad * other.value"

A patch may name the ``module`` it applies to (default: the stage's own module): an exercise
that extends an earlier stage's module (stage 5's arrays, in ``variable.py``) has its mistakes
there. For each mistake the modules its stage takes from the learner (exercises.toml's
``Manifest.learner_modules``: usually the stage's module alone), patched, go into a scratch
directory, and that stage's tests run against it in isolated mode (the other earlier modules
from the reference) with ``--exercise`` set to the mistake's exercise. The mistake is *caught* when at least one of those tests fails, errors
or times out. A stale patch (its ``find`` is not in the module exactly once), a patch that
changes nothing or breaks the syntax, and an exercise with no mistake are corpus errors. Each
stage is also run once unpatched through the same machinery, as a control: if the reference
itself fails there, no catch means anything.

``python -m katatools mutants [--jobs N] [--exercise NAME]... [--mistakes DIR] [--verbose]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..manifest import ROOT, ManifestError, Stage, load_manifest
from ..mistakes import MISTAKES_DIR, CorpusReport, Mistake, load_corpus, parse_mistake, patched_sources  # noqa: F401 - re-exported
from ..patching import CorpusError, Patch, apply_patches, parse_patches, text_field  # noqa: F401 - re-exported
from ..report import ERROR, FAILED, PASSED, TIMEOUT
from ..runner import PytestRun, available_cpus, run_parallel
from . import runs

REFERENCE_DIR = ROOT / "solutions"
CAUGHT_STATUSES = (FAILED, ERROR, TIMEOUT)
WANTED_PER_EXERCISE = 3
RUN_TIMEOUT = 600.0  # seconds for one child pytest; the plugin's per-test limit fires long before
# One failing test is enough: stop at the first, and print nothing a person does not read.
PYTEST_ARGS = ["-q", "--kata-summary=no", "--maxfail=1"]


@dataclass
class Outcome:
    mistake: Mistake
    caught: bool
    detail: str  # the catching test (and its message), or why it escaped
    seconds: float = 0.0


# ---------------------------------------------------------------- running


def run_patched(stage: Stage, sources: dict[str, str], exercises: list[str], reference: Path,
                timeout: float = RUN_TIMEOUT) -> PytestRun:
    """Run ``stage``'s tests for ``exercises`` against a scratch directory holding only ``sources``
    (file name -> text: the modules the stage takes from the learner)."""
    with tempfile.TemporaryDirectory(prefix="kata-mistake-") as scratch:
        for name, text in sources.items():
            (Path(scratch) / name).write_text(text, encoding="utf-8")
        return runs.run(scratch, [stage.tests], exercises, "isolated", [*PYTEST_ARGS, f"--reference={reference}"],
                        timeout=timeout)


def judge(mistake: Mistake, run: PytestRun) -> Outcome:
    """Caught when a test of the mistake's own exercise failed, errored or timed out."""
    if run.report is None:
        return Outcome(mistake, False, f"no results from pytest ({run.problem}):\n{run.output[-2000:]}")
    own = [t for t in run.report.tests if t.exercise == mistake.exercise]
    catcher = next((t for t in own if t.status in CAUGHT_STATUSES), None)
    if catcher is not None:
        first_line = catcher.message.strip().splitlines()[0] if catcher.message.strip() else ""
        return Outcome(mistake, True, f"{catcher.nodeid} {catcher.status}: {first_line}"[:300])
    if not own:
        return Outcome(mistake, False, f"no test of exercise {mistake.exercise!r} ran (pytest exit {run.returncode})")
    statuses = sorted({t.status for t in own})
    return Outcome(mistake, False, f"all {len(own)} tests of {mistake.exercise!r} ended {'/'.join(statuses)}")


def check_mistake(mistake: Mistake, reference: Path) -> Outcome:
    started = time.monotonic()
    patched = patched_sources(mistake, reference)
    outcome = judge(mistake, run_patched(mistake.stage, patched, [mistake.exercise], reference))
    outcome.seconds = time.monotonic() - started
    return outcome


def control_run(stage: Stage, exercises: list[str], reference: Path) -> str | None:
    """The unpatched reference through the same machinery: every selected test must pass."""
    sources = {f"{m}.py": (reference / f"{m}.py").read_text(encoding="utf-8")
               for m in load_manifest().learner_modules(stage)}
    run = run_patched(stage, sources, exercises, reference)
    if run.report is None:
        return f"stage {stage.name}: no results from the unpatched control run ({run.problem})\n{run.output[-2000:]}"
    bad = [t for t in run.report.tests if t.status != PASSED]
    if bad or not run.report.tests:
        first = f"{bad[0].nodeid} {bad[0].status}: {bad[0].message[:300]}" if bad else "no test ran"
        return (f"stage {stage.name}: the unpatched reference does not pass its own tests in the mistake "
                f"runner, so no catch can be trusted: {first}")
    return None


# ---------------------------------------------------------------- the command


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m katatools mutants", description=__doc__.splitlines()[0])
    parser.add_argument("--exercise", action="append", default=[], metavar="NAME",
                        help="only the mistakes of this exercise or stage (repeatable)")
    parser.add_argument("--mistakes", type=Path, default=MISTAKES_DIR, metavar="DIR",
                        help="the corpus directory (default: mistakes/)")
    parser.add_argument("--reference", type=Path, default=REFERENCE_DIR, metavar="DIR",
                        help="the reference package the patches apply to (default: solutions/)")
    parser.add_argument("--jobs", type=int, default=min(2, available_cpus()), metavar="N",
                        help="child pytest processes at once (default: 2, or 1 on one core)")
    parser.add_argument("--verbose", "-v", action="store_true", help="name the test that caught each mistake")
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    manifest = load_manifest()
    try:
        selected = manifest.select(args.exercise)
    except ManifestError as exc:
        print(f"mutants: --exercise: {exc}", file=sys.stderr)
        return 2
    reference = args.reference.resolve()
    started = time.monotonic()
    corpus = load_corpus(args.mistakes, manifest, reference)
    problems = list(corpus.problems)
    names = {e.name for e in selected}
    mistakes = [m for m in corpus.mistakes if m.exercise in names]

    # Which exercises must have mistakes: those of the stages that have tests and a reference.
    ready = [s for s in manifest.stages if (ROOT / s.tests).is_file() and (reference / f"{s.module}.py").is_file()]
    ready_names = {s.name for s in ready}
    counts = {e.name: sum(m.exercise == e.name for m in mistakes) for e in selected}
    for e in selected:
        if e.stage in ready_names and counts[e.name] == 0:
            problems.append(f"exercise {e.name!r} has no mistake in {args.mistakes.name}/{e.stage}.toml")
    for s in manifest.stages:
        if s.name not in ready_names and any(m.stage == s for m in mistakes):
            problems.append(f"stage {s.name!r} has mistakes but no {'tests' if not (ROOT / s.tests).is_file() else 'reference'} to run them with")
    mistakes = [m for m in mistakes if m.stage.name in ready_names]

    stages = [s for s in ready if any(m.stage == s for m in mistakes)]
    # Later stages' tests take longest: start them first, so both workers finish together.
    mistakes.sort(key=lambda m: -m.stage.index)
    tasks: list[Callable[[], object]] = [
        (lambda s=s: control_run(s, sorted(e.name for e in selected if e.stage == s.name), reference))
        for s in stages
    ]
    tasks += [(lambda m=m: check_mistake(m, reference)) for m in mistakes]
    with runs.warm_runs([s.tests for s in stages]):
        results = run_parallel(args.jobs, tasks)
    problems += [r for r in results[: len(stages)] if r]
    outcomes: list[Outcome] = list(results[len(stages):])  # type: ignore[arg-type]

    print(f"Learner mistakes in {args.mistakes.name}/ against the tests of their exercise")
    for stage in manifest.stages:
        exercises = [e for e in selected if e.stage == stage.name]
        if not exercises:
            continue
        if stage.name not in ready_names:
            print(f"  {stage.name}: not checked yet (no {stage.tests} or reference module)")
            continue
        print(f"  {stage.title}")
        for e in exercises:
            own = [o for o in outcomes if o.mistake.exercise == e.name]
            caught = sum(o.caught for o in own)
            note = "" if len(own) >= WANTED_PER_EXERCISE else f"  (fewer than {WANTED_PER_EXERCISE} mistakes)"
            print(f"    {e.name:<20} {caught} of {len(own)} caught{note}")
            for o in own:
                if not o.caught:
                    print(f"      ESCAPED {o.mistake.name}: {o.mistake.description}\n        {o.detail}")
                elif args.verbose:
                    print(f"      caught  {o.mistake.name} ({o.seconds:.1f} s) by {o.detail}")
    escaped = [o for o in outcomes if not o.caught]
    for problem in problems:
        print(f"  ERROR {problem}")
    elapsed = time.monotonic() - started
    total = f"{len(outcomes) - len(escaped)} of {len(outcomes)} mistakes caught in {elapsed:.1f} s ({args.jobs} jobs)"
    if escaped or problems:
        print(f"mutants: FAILED: {total}; {len(escaped)} escaped, {len(problems)} corpus errors")
        return 1
    print(f"mutants: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Test the verdicts: correct code written differently must pass, code that skips the exercise must not.

``alternatives/<stage>.toml`` is the mirror of ``mistakes/``. Each ``[[alternative]]`` is a
CORRECT implementation written in a way the reference does not (numpy scalars, another formula,
operators returning NotImplemented...): it must pass every test of its ``stages`` (default: the
file's stage). Each ``[[cheat]]`` gets its tests to pass without doing its ``exercise`` (finite
differences instead of forward mode, a hand-written derivative...): it must fail at least one
test of that exercise. ::

    [[alternative]]
    name = "tanh_sigmoid"                  # unique in the whole corpus
    description = "sigmoid written as 0.5 * (1 + tanh(u / 2))"
    stages = ["primitives"]                # optional
    [alternative.bodies]                   # covered function -> code replacing its exercise region
    sigmoid = '''
    t = math.tanh(u.value / 2)
    ...
    '''
    [[alternative.patch]]                  # optional find/replace, as in mistakes/ (find occurs once)
    module = "primitives"                  # optional; default: the file's stage's module
    find = "..."
    replace = "..."

A body is keyed by a function or method as the manifest's ``covers`` names it (with its module,
``"variable:Variable.__add__"``, where a later stage extends an earlier module); it replaces the
outermost marked region inside that function (``katatools.stubs.replace_region``), re-indented.
Every variant is built as a whole package, every stage module the reference with its bodies and
patches applied, and run in cumulative mode with the check's default time limit per test
(``check.CHECK_TIMEOUT``), as a learner's ``nox -s check`` would run it. An unknown function, a
stale ``find``, a body or patch that changes nothing and a duplicate name are corpus errors.
Cheats are judged only after a control run of the reference on their exercises passes.

``--neighbours N`` runs N CPU-bound processes beside the whole corpus, as on a busy machine: the
per-test limit counts CPU time, so no verdict may change (the project's tests run stages 5-8 so).

``python -m katatools corpus [--jobs N] [--stage S]... [--name NAME]... [--neighbours N] [-v]``
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..learner.check import CHECK_TIMEOUT, RUN_MARGIN, run_limits
from ..manifest import ROOT, Manifest, ManifestError, Stage, load_manifest, split_cover
from ..patching import CorpusError, Patch, apply_patches, check_syntax, parse_patches, text_field
from ..report import ERROR, FAILED, PASSED, TIMEOUT, RunReport
from ..runner import PytestRun, available_cpus, cpu_bound_neighbours, run_parallel, run_suite
from ..stubs import REFERENCE_DIR, MarkerError, replace_region, write_package
from . import runs

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

CORPUS_DIR = ROOT / "alternatives"
ALTERNATIVE, CHEAT = "alternative", "cheat"
KEYS = {ALTERNATIVE: {"name", "description", "stages", "bodies", "patch"},
        CHEAT: {"name", "exercise", "description", "bodies", "patch"}}
WANTED_PER_STAGE = 3  # alternatives per stage the issue asks for: fewer is reported, not an error
CAUGHT_STATUSES = (FAILED, ERROR, TIMEOUT)
PYTEST_ARGS = ["-q", "--kata-summary=no", "--tb=no"]


@dataclass(frozen=True)
class Entry:
    kind: str  # ALTERNATIVE or CHEAT
    name: str
    description: str
    stage: Stage  # the stage of the file it comes from
    stages: tuple[Stage, ...]  # whose tests run: every test must pass (alternative), one must fail (cheat)
    exercise: str | None  # a cheat's exercise: only its tests run
    sources: dict[str, str]  # file name -> text: the whole package, ready to write

    def cost(self) -> float:
        return sum(s.cost for s in self.stages)


@dataclass
class Verdict:
    entry: Entry
    ok: bool  # the alternative passed, the cheat was caught
    detail: str  # the failures of an alternative, the test that caught a cheat, or why not
    tests: int = 0
    seconds: float = 0.0


@dataclass
class Corpus:
    entries: list[Entry] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- building a variant


def reference_sources(manifest: Manifest, reference: Path) -> dict[str, str]:
    """File name -> text of every stage module of the reference."""
    return {f"{s.module}.py": (reference / f"{s.module}.py").read_text(encoding="utf-8") for s in manifest.stages}


def covered_functions(manifest: Manifest) -> dict[str, tuple[str, str]]:
    """Each function or method any exercise ``covers``, as written there ("log", "primitives:log")
    -> (the module that holds it, its qualified name in that module)."""
    return {cover: (manifest.cover_module(e, cover), split_cover(cover)[1])
            for e in manifest.exercises for cover in e.covers}


def _lines(code: str) -> list[str]:
    return [line.rstrip() for line in textwrap.dedent(code).strip("\n").splitlines()]


def build_variant(manifest: Manifest, reference: dict[str, str], bodies: dict[str, str], patches: list[Patch],
                  default_module: str, where: str = "solutions") -> dict[str, str]:
    """The whole package: ``reference`` with ``bodies`` in place of their regions, then ``patches``."""
    sources = dict(reference)
    covered = covered_functions(manifest)
    for function, body in bodies.items():
        if function not in covered:
            raise CorpusError(f"bodies: {function!r} is no function or method that an exercise covers "
                              f"(see `covers` in exercises.toml); change other code with a [[patch]]")
        module, qualname = covered[function]
        name = f"{module}.py"
        try:
            text, replaced = replace_region(sources[name], qualname, body, f"{where}/{name}")
        except MarkerError as exc:
            raise CorpusError(f"bodies: {exc}") from None
        if _lines(replaced) == _lines(body):
            raise CorpusError(f"bodies: the body of {function} is the reference's own code, it changes nothing")
        check_syntax(text, f"{where}/{name} with the body of {function}")
        sources[name] = text
    modules = dict.fromkeys(p.module or default_module for p in patches)
    for module in modules:
        name = f"{module}.py"
        own = [p for p in patches if (p.module or default_module) == module]
        sources[name] = apply_patches(sources[name], own, f"{where}/{name}")
    return sources


# ---------------------------------------------------------------- reading the corpus


def parse_entry(kind: str, table: object, manifest: Manifest, file_stage: Stage, reference: dict[str, str],
                where: str) -> Entry:
    """One [[alternative]] or [[cheat]] table, checked and built into its package."""
    if not isinstance(table, dict):
        raise CorpusError(f"{where}: a [[{kind}]] must be a table")
    unknown = set(table) - KEYS[kind]
    if unknown:
        raise CorpusError(f"{where}: unknown keys {sorted(unknown)} (a {kind} has {', '.join(sorted(KEYS[kind]))})")
    name = text_field(table, "name", where)
    where = f"{kind} {name!r}"
    description = text_field(table, "description", where)
    exercise = None
    if kind == CHEAT:
        exercise = text_field(table, "exercise", where)
        try:
            owner = manifest.exercise(exercise).stage
        except ManifestError as exc:
            raise CorpusError(f"{where}: {exc}") from None
        if owner != file_stage.name:
            raise CorpusError(f"{where}: exercise {exercise!r} belongs to stage {owner!r}; put it in alternatives/{owner}.toml")
        stages = (file_stage,)
    else:
        names = table.get("stages", [file_stage.name])
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise CorpusError(f"{where}: 'stages' must be a list of stage names")
        try:
            stages = tuple(sorted({manifest.stage(n) for n in names}, key=lambda s: s.index))
        except ManifestError as exc:
            raise CorpusError(f"{where}: stages: {exc}") from None
        if file_stage not in stages:
            raise CorpusError(f"{where}: its 'stages' must include {file_stage.name!r}, the stage of its file")
    bodies = table.get("bodies", {})
    if not isinstance(bodies, dict) or not all(isinstance(b, str) and b.strip() for b in bodies.values()):
        raise CorpusError(f"{where}: [{kind}.bodies] maps function names to non-empty code strings")
    patches = parse_patches(table.get("patch", []), where, [s.module for s in manifest.stages])
    if not bodies and not patches:
        raise CorpusError(f"{where}: no bodies and no patch: it would be the reference itself")
    try:
        sources = build_variant(manifest, reference, bodies, patches, file_stage.module)
    except CorpusError as exc:
        raise CorpusError(f"{where}: {exc}") from None
    return Entry(kind, name, description, file_stage, stages, exercise, sources)


def load_corpus(directory: Path, manifest: Manifest, reference: Path = REFERENCE_DIR) -> Corpus:
    """Every entry of every ``<stage>.toml`` in ``directory``; problems are collected, not raised."""
    corpus = Corpus()
    if not Path(directory).is_dir():
        corpus.problems.append(f"{directory}: no such corpus directory")
        return corpus
    seen: dict[str, str] = {}
    try:
        base = reference_sources(manifest, reference)
    except OSError as exc:
        corpus.problems.append(f"the reference {reference} lacks a stage module: {exc}")
        return corpus
    for path in sorted(Path(directory).glob("*.toml")):
        if path.stem not in manifest.stage_names:
            corpus.problems.append(f"{path.name}: not a stage of exercises.toml ({', '.join(manifest.stage_names)})")
            continue
        stage = manifest.stage(path.stem)
        try:
            with open(path, "rb") as f:
                data = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError) as exc:
            corpus.problems.append(f"{path.name}: unreadable TOML: {exc}")
            continue
        if set(data) - set(KEYS):
            corpus.problems.append(f"{path.name}: unknown top-level keys {sorted(set(data) - set(KEYS))}")
        for kind in KEYS:
            tables = data.get(kind, [])
            for i, table in enumerate(tables if isinstance(tables, list) else [tables], 1):
                try:
                    entry = parse_entry(kind, table, manifest, stage, base, f"{kind} #{i}")
                except CorpusError as exc:
                    corpus.problems.append(f"{path.name}: {exc}")
                    continue
                if entry.name in seen:
                    corpus.problems.append(f"{path.name}: {kind} {entry.name!r}: the name is also used in {seen[entry.name]}")
                    continue
                seen[entry.name] = path.name
                corpus.entries.append(entry)
    return corpus


# ---------------------------------------------------------------- running and judging


def run_package(sources: dict[str, str], stages: tuple[Stage, ...], exercises: list[str] | None,
                timeout: float, extra: tuple[str, ...] = ()) -> PytestRun:
    """Write the package to a scratch folder and run its stages' tests there, cumulatively.

    After one test of an exercise times out the plugin fails the rest of it unrun, so a run can
    use about ``timeout`` of CPU time per exercise at worst: beyond that and a margin it is abandoned
    (or at ten times that on the clock, as the check's runs are: ``check.run_limits``).
    """
    manifest = load_manifest()
    count = len(exercises) if exercises else sum(len(manifest.exercises_of(s.name)) for s in stages)
    with tempfile.TemporaryDirectory(prefix="kata-corpus-") as scratch:
        write_package(Path(scratch), sources)
        budget = timeout * count + RUN_MARGIN
        return runs.run(scratch, [s.tests for s in stages], exercises, "cumulative",
                        [*PYTEST_ARGS, f"--kata-timeout={timeout:g}", *extra], **run_limits(budget))


def warm_sklearn_answers(stages: list[Stage], reference: Path) -> str | None:
    """Ask scikit-learn's answers once, on the reference, before the timed runs (None, or a problem).

    The tests that compare with scikit-learn read its stored answers (tests/sklearn_oracle.py);
    where none is stored yet (a fresh clone) the first one imports scikit-learn, seconds of a 5 s
    limit. A learner's first check pays that once; the corpus must not, in every child at once.
    """
    tests = [s.tests for s in stages if "asks_sklearn" in (ROOT / s.tests).read_text(encoding="utf-8")]
    if not tests:
        return None
    # A guard against a hang on the clock, not a limit: CI runs this at the lowest priority, beside busy lines.
    run = run_suite(reference, tests=tests, extra=["-m", "asks_sklearn", *PYTEST_ARGS, "--kata-timeout=300"],
                    timeout=1800, autoload=False)
    if run.returncode in (0, 5):  # 5: no test selected
        return None
    return f"the reference fails its scikit-learn comparisons ({run.problem or f'exit {run.returncode}'}):\n{run.output[-2000:]}"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


def no_report(run: PytestRun) -> str:
    return f"no results from pytest ({run.problem}):\n{run.output[-2000:]}"


def judge_alternative(entry: Entry, run: PytestRun, manifest: Manifest) -> Verdict:
    """Passed when every test of every stage of the alternative passed."""
    if run.report is None:
        return Verdict(entry, False, no_report(run))
    tests = run.report.tests
    bad = [t for t in tests if t.status != PASSED]
    ran = {manifest.exercise(t.exercise).stage for t in tests}
    silent = [s.name for s in entry.stages if s.name not in ran]
    if not bad and not silent:
        return Verdict(entry, True, f"all {len(tests)} tests of {', '.join(s.name for s in entry.stages)} passed", len(tests))
    lines = [f"{len(bad)} of {len(tests)} tests did not pass, the first:"] if bad else []
    for i, t in enumerate(bad[:3]):  # the first failure in full (a few lines), the next ones by name
        message = "\n  ".join(t.message.strip().splitlines()[:6]) if i == 0 else first_line(t.message)[:200]
        lines.append(f"{t.nodeid} {t.status}: {message}")
    lines += [f"no test of stage {name!r} ran (pytest exit {run.returncode})" for name in silent]
    return Verdict(entry, False, "\n".join(lines), len(tests))


def judge_cheat(entry: Entry, run: PytestRun) -> Verdict:
    """Caught when a test of the cheat's exercise failed, errored or timed out."""
    if run.report is None:
        return Verdict(entry, False, no_report(run))
    own = [t for t in run.report.tests if t.exercise == entry.exercise]
    catcher = next((t for t in own if t.status in CAUGHT_STATUSES), None)
    if catcher is not None:
        return Verdict(entry, True, f"{catcher.nodeid} {catcher.status}: {first_line(catcher.message)}"[:300], len(own))
    if not own:
        return Verdict(entry, False, f"no test of exercise {entry.exercise!r} ran (pytest exit {run.returncode})")
    statuses = "/".join(sorted({t.status for t in own}))
    return Verdict(entry, False, f"all {len(own)} tests of {entry.exercise!r} ended {statuses}", len(own))


def check_entry(entry: Entry, manifest: Manifest, timeout: float) -> Verdict:
    started = time.monotonic()
    if entry.kind == ALTERNATIVE:
        verdict = judge_alternative(entry, run_package(entry.sources, entry.stages, None, timeout), manifest)
    else:  # one failure is enough: stop at the first
        run = run_package(entry.sources, entry.stages, [entry.exercise], timeout, ("--maxfail=1",))
        verdict = judge_cheat(entry, run)
    verdict.seconds = time.monotonic() - started
    return verdict


def control_run(manifest: Manifest, reference: dict[str, str], exercises: list[str], timeout: float) -> str | None:
    """The reference on the cheats' exercises, through the same machinery: every test must pass,
    or no catch means anything."""
    stages = tuple(sorted({manifest.stage(manifest.exercise(e).stage) for e in exercises}, key=lambda s: s.index))
    run = run_package(reference, stages, exercises, timeout)
    report: RunReport | None = run.report
    if report is None:
        return f"the control run of the reference gave {no_report(run)}"
    bad = [t for t in report.tests if t.status != PASSED]
    if bad or not report.tests:
        first = f"{bad[0].nodeid} {bad[0].status}: {first_line(bad[0].message)}"[:300] if bad else "no test ran"
        return f"the reference itself does not pass the cheats' exercises here, so no catch can be trusted: {first}"
    return None


# ---------------------------------------------------------------- the command


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m katatools corpus", description=__doc__.splitlines()[0])
    parser.add_argument("--stage", action="append", default=[], metavar="S",
                        help="only the entries of alternatives/S.toml (repeatable)")
    parser.add_argument("--name", action="append", default=[], metavar="NAME", help="only this entry (repeatable)")
    parser.add_argument("--corpus", type=Path, default=CORPUS_DIR, metavar="DIR",
                        help="the corpus directory (default: alternatives/)")
    parser.add_argument("--reference", type=Path, default=REFERENCE_DIR, metavar="DIR",
                        help="the reference package the bodies and patches apply to (default: solutions/)")
    parser.add_argument("--jobs", type=int, default=available_cpus(), metavar="N",
                        help=f"child pytest processes at once (default: the CPUs, {available_cpus()} here)")
    parser.add_argument("--timeout", type=float, default=CHECK_TIMEOUT, metavar="SECONDS",
                        help=f"time limit per test (default: the check's, {CHECK_TIMEOUT:g})")
    parser.add_argument("--neighbours", type=int, default=0, metavar="N",
                        help="N CPU-bound processes beside the whole run, as on a busy machine (default 0); "
                             "they are ended with it")
    parser.add_argument("--verbose", "-v", action="store_true", help="one line per entry, with its time and catching test")
    args = parser.parse_args(argv)
    if args.neighbours < 0:
        parser.error("--neighbours must be 0 or more")
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    manifest = load_manifest()
    try:
        for name in args.stage:
            manifest.stage(name)
    except ManifestError as exc:
        print(f"corpus: --stage: {exc}", file=sys.stderr)
        return 2
    started = time.monotonic()
    reference = args.reference.resolve()
    corpus = load_corpus(args.corpus, manifest, reference)
    problems = list(corpus.problems)
    entries = [e for e in corpus.entries if (not args.stage or e.stage.name in args.stage)
               and (not args.name or e.name in args.name)]
    for name in args.name:
        if name not in {e.name for e in corpus.entries}:
            problems.append(f"--name {name!r}: no such entry in {args.corpus.name}/")
    missing = [s for s in manifest.stages if not (ROOT / s.tests).is_file()]
    for entry in entries:
        if any(s in missing for s in entry.stages):
            problems.append(f"{entry.kind} {entry.name!r}: a stage it runs has no tests yet")
    entries = [e for e in entries if not any(s in missing for s in e.stages)]

    with cpu_bound_neighbours(args.neighbours):  # for the whole run, scikit-learn's answers included
        warm = warm_sklearn_answers(sorted({s for e in entries for s in e.stages}, key=lambda s: s.index), reference)
        if warm:
            problems.append(warm)
        cheat_exercises = sorted({e.exercise for e in entries if e.kind == CHEAT and e.exercise})
        tasks: list[Callable[[], object]] = []
        if cheat_exercises:  # the corpus loaded cheats, so the reference has every stage module
            base = reference_sources(manifest, reference)
            tasks.append(lambda: control_run(manifest, base, cheat_exercises, args.timeout))
        ordered = sorted(entries, key=lambda e: -e.cost())  # the longest first, so the workers end together
        tasks += [(lambda e=e: check_entry(e, manifest, args.timeout)) for e in ordered]
        with runs.warm_runs([s.tests for e in entries for s in e.stages]):
            results = run_parallel(args.jobs, tasks)
    if cheat_exercises and results[0]:
        problems.append(str(results[0]))
    verdicts: list[Verdict] = list(results[1 if cheat_exercises else 0:])  # type: ignore[arg-type]
    return report(manifest, args, verdicts, problems, missing, time.monotonic() - started)


def report(manifest: Manifest, args: argparse.Namespace, verdicts: list[Verdict], problems: list[str],
           missing: list[Stage], seconds: float) -> int:
    """Print the verdicts per stage, the corpus errors and a total; the exit code."""
    beside = (f", beside {args.neighbours} CPU-bound process{'es' if args.neighbours > 1 else ''}"
              if args.neighbours > 0 else "")
    print(f"Alternatives and cheats in {args.corpus.name}/ (cumulative, {args.timeout:g} s of CPU time per test{beside})")
    for stage in manifest.stages:
        own = [v for v in verdicts if v.entry.stage == stage]
        if args.stage and stage.name not in args.stage:
            continue
        if not own and (args.name or stage in missing):
            continue
        print(f"  {stage.title}")
        for kind, good, bad in ((ALTERNATIVE, "pass", "FAILED"), (CHEAT, "caught", "ESCAPED")):
            mine = [v for v in own if v.entry.kind == kind]
            if kind == ALTERNATIVE and not mine and not args.name:
                print(f"    {kind + 's':<13} none yet ({WANTED_PER_STAGE} wanted)")
            elif mine:
                few = len(mine) < WANTED_PER_STAGE and kind == ALTERNATIVE and not args.name
                note = f"  (fewer than {WANTED_PER_STAGE} alternatives)" if few else ""
                print(f"    {kind + 's':<13} {sum(v.ok for v in mine)} of {len(mine)} {good}{note}")
            for v in mine:
                if not v.ok:
                    print(f"      {bad} {v.entry.name}: {v.entry.description}")
                    print(textwrap.indent(v.detail, " " * 8))
                elif args.verbose:
                    print(f"      {good:<6} {v.entry.name} ({v.seconds:.1f} s): {v.detail}")
    for problem in problems:
        print(f"  ERROR {problem}")
    alternatives = [v for v in verdicts if v.entry.kind == ALTERNATIVE]
    cheats = [v for v in verdicts if v.entry.kind == CHEAT]
    wrong = [v for v in verdicts if not v.ok]
    total = (f"{sum(v.ok for v in alternatives)} of {len(alternatives)} alternatives passed, "
             f"{sum(v.ok for v in cheats)} of {len(cheats)} cheats caught in {seconds:.1f} s ({args.jobs} jobs)")
    if wrong or problems:
        print(f"corpus: FAILED: {total}; {len(problems)} corpus errors")
        return 1
    print(f"corpus: {total}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""``nox -s check``: where you stand in the katas, and what to do next.

    nox -s check                           every exercise against katas/
    nox -s check -- mul variable           only these exercises or stages
    nox -s check -- --isolated             each stage on the reference's earlier stages
    nox -s check -- --verbose              also pytest's full output
    nox -s check -- --hint mul [--level N] the hints of one exercise, one level at a time
    nox -s check -- --jobs 1               one pytest process (default: one per CPU)
    nox -s check -- --fresh                run every test, even of exercises whose pass still holds

It imports pytest, numpy and hypothesis once and runs the kata tests in pytest children forked
from it (``worker.Worker``; separate processes where there is no fork), the exercises shared
among up to one child per CPU by how long their tests took in the last check (``share``), and
prints the same table and next step as the end of a plain ``pytest`` run
(``report.render_progress``). The exit code is 0 only when every selected exercise passes.
An exercise that passed in an earlier check, and none of whose files has changed since, is not
run again (``reuse_verdicts``; see verdicts.py). ``watch`` reuses these pieces: ``make_plan``,
``reuse_verdicts``, ``start_runs``, ``gather``, ``keep_verdicts``, ``render``.

Hints are asked for by level (``--level 2``) rather than remembered in a state file: the
command is repeatable, leaves nothing behind, and the learner decides when to see more.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from ..manifest import ROOT, Exercise, Manifest, ManifestError, Stage, load_manifest
from ..report import DONE, PASSED, TIMEOUT, TestRecord, check_command, render_progress, summarize, use_colour, wrap_line
from ..runner import available_cpus
from .verdicts import Files, VerdictStore, kata_files, save_json, tooling_key
from .worker import Run, Worker, ignore_stop_signals, raise_on_stop_signals

# CPU seconds per test (plugin.deadline: the wall clock does not count, so a busy machine changes no
# verdict, and scikit-learn's answers are asked with the clock stopped). The slowest reference test
# must fit well inside it, also with a Variable ten times slower; after a test of an exercise times
# out, the plugin fails the rest of that exercise at once, so an infinite loop costs about this much
# CPU per exercise it reaches.
CHECK_TIMEOUT = 5.0
RUN_MARGIN = 120.0  # CPU seconds beyond the per-test budget before the whole child run is abandoned
# A run's budget counts CPU time too, with a wall-clock backstop at WALL_FACTOR times it, as each test's
# limit does (plugin.WALL_FACTOR; not imported from the plugin, which imports pytest): on a machine busy
# with other work a run gets a fraction of a core, and must not be abandoned for it.
WALL_FACTOR = 10.0
OUTPUT_TAIL = 40  # lines of pytest output shown when it could not run the tests
TIMEOUT_MESSAGE_LINES = 6  # lines of a timed-out test's message shown under the note, when not shown above
KATAS = ROOT / "katas"
COSTS_FILE = ROOT / ".kata-cache" / "check-costs.json"  # seconds per exercise, measured by the last check
COLLECT_COST = 0.05  # seconds a process spends collecting one more test module (its modules already imported)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nox -s check --",
        description="Run the kata tests against katas/ and show your progress and the next step.",
    )
    parser.add_argument("names", nargs="*", metavar="NAME", help="exercises or stages to check (default: all)")
    parser.add_argument("--isolated", action="store_true",
                        help="test each stage on top of the reference's earlier stages, so a bug in an "
                             "early stage does not hide your progress in a later one")
    parser.add_argument("-v", "--verbose", action="store_true", help="also show pytest's full output")
    parser.add_argument("--hint", metavar="NAME", help="show the hints of exercise NAME (no tests run)")
    parser.add_argument("--level", type=int, default=1, help="with --hint: show hints 1 to LEVEL (default 1)")
    parser.add_argument("--timeout", type=float, default=CHECK_TIMEOUT, metavar="SECONDS",
                        help=f"CPU seconds per test (default {CHECK_TIMEOUT:g})")
    parser.add_argument("--fresh", action="store_true",
                        help="run every selected exercise, even those that passed before and whose files have "
                             "not changed since (by default their verdicts are reused)")
    parser.add_argument("--jobs", type=int, default=available_cpus(), metavar="N",
                        help=f"pytest processes to share the exercises among (default: the CPUs, {available_cpus()} here)")
    return parser


def exercise_costs(manifest: Manifest, path: Path = COSTS_FILE) -> dict[str, float]:
    """Seconds each exercise's tests took in the last check that ran them (``.kata-cache/``), else an
    equal share of its stage's ``cost`` in the manifest. Only the sharing of work depends on them."""
    costs = {e.name: manifest.stage(e.stage).cost / len(manifest.exercises_of(e.stage)) for e in manifest.exercises}
    try:
        measured = json.loads(path.read_text(encoding="utf-8"))
        costs.update({name: float(measured[name]) for name in costs if isinstance(measured.get(name), (int, float))})
    except (OSError, ValueError, AttributeError):
        pass  # none yet, or unreadable: the manifest's figures will do
    return costs


def save_costs(records: list[TestRecord], path: Path = COSTS_FILE) -> None:
    """Remember how long each exercise's tests took, for the next check's sharing (best effort)."""
    measured: dict[str, float] = {}
    for record in records:
        measured[record.exercise] = measured.get(record.exercise, 0.0) + record.duration
    try:
        known = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
        known = known if isinstance(known, dict) else {}
    except (OSError, ValueError):
        known = {}
    known.update({name: round(seconds, 3) for name, seconds in measured.items()})
    save_json(path, known)


def share(exercises: list[Exercise], jobs: int, costs: dict[str, float]) -> list[list[Exercise]]:
    """At most ``jobs`` groups of exercises with about equal total cost, each in learning order.

    The costliest exercise goes first, each onto the group with the least cost so far (longest
    processing time first); a group that takes on a new stage also pays for collecting its test
    module (``COLLECT_COST``). Groups come in the order of their first exercise.
    """
    groups: list[list[Exercise]] = [[] for _ in range(max(1, min(jobs, len(exercises))))]

    def load(group: list[Exercise], adding: Exercise | None = None) -> float:
        members = group + ([adding] if adding else [])
        return sum(costs.get(e.name, 0.0) for e in members) + COLLECT_COST * len({e.stage for e in members})

    for exercise in sorted(exercises, key=lambda e: (-costs.get(e.name, 0.0), e.index)):
        min(groups, key=lambda group: load(group, exercise)).append(exercise)
    ordered = [sorted(group, key=lambda e: e.index) for group in groups if group]
    return sorted(ordered, key=lambda group: group[0].index)


def show_hints(manifest: Manifest, name: str, level: int, command: str) -> int:
    """Print hints 1..level of one exercise, and how to see the next one."""
    if name in manifest.stage_names:
        names = ", ".join(e.name for e in manifest.exercises_of(name))
        print(f"check: --hint takes an exercise; stage {name!r} has: {names}", file=sys.stderr)
        return 2
    try:
        exercise = manifest.exercise(name)
    except ManifestError as exc:
        print(f"check: {exc}", file=sys.stderr)
        return 2
    levels = len(exercise.hints)
    if not 1 <= level <= levels:
        print(f"check: --level must be between 1 and {levels}", file=sys.stderr)
        return 2
    modules = manifest.exercise_modules(exercise)
    files = " and ".join(f"katas/{m}.py" for m in modules)
    lines = [f"Hints for {exercise.name}, in {files}: {exercise.description}"]
    lines += [f"  {number}. {hint}" for number, hint in enumerate(exercise.hints[:level], start=1)]
    if level < levels:
        lines.append(f"Next hint: {command} --hint {exercise.name} --level {level + 1}")
    else:
        compare = (f"compare with {files.replace('katas/', 'solutions/')}" if (ROOT / "solutions").is_dir()
                   else "compare your code with a classmate's, or ask for the reference")
        lines.append(f"That was the last hint. Once the tests pass, {compare}.")
    print("\n".join(wrapped for line in lines for wrapped in wrap_line(line)))
    return 0


def unknown_name(manifest: Manifest, exc: ManifestError) -> str:
    """The manifest's message for an unknown name, plus the stage names (also accepted)."""
    return f"{exc}; or a stage: {', '.join(manifest.stage_names)}"


@dataclass
class Plan:
    """What one check runs: the parsed arguments, the exercises selected and their stages."""

    args: argparse.Namespace
    manifest: Manifest
    selected: list[Exercise]
    stages: list[Stage]  # the selected exercises' stages that have a test module
    untested: list[Stage]  # ... and those that have none yet
    command: str

    @property
    def mode(self) -> str:
        return "isolated" if self.args.isolated else "cumulative"

    @property
    def tests(self) -> list[str]:
        return [s.tests for s in self.stages]

    @property
    def runnable(self) -> list[Exercise]:
        names = {s.name for s in self.stages}
        return [e for e in self.selected if e.stage in names]


def make_plan(argv: list[str], parser: argparse.ArgumentParser | None = None) -> Plan | int:
    """Parse and validate the arguments: a Plan, or the exit code once hints or an error are printed."""
    parser = parser or build_parser()
    args = parser.parse_args(argv)
    manifest = load_manifest()
    command = check_command()
    if args.hint is not None:
        if args.names:
            parser.error("--hint takes one exercise; give no other names")
        return show_hints(manifest, args.hint, args.level, command)
    if args.level != 1:
        parser.error("--level goes with --hint NAME")
    if args.timeout <= 0:
        parser.error("--timeout must be positive")
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        selected = manifest.select(args.names)
    except ManifestError as exc:
        print(f"check: {unknown_name(manifest, exc)}", file=sys.stderr)
        return 2
    if args.isolated and not (ROOT / "solutions").is_dir():
        print("check: --isolated runs each stage on the reference's earlier stages, and this copy of the katas has "
              "no reference (solutions/): it is a learner's edition. Without --isolated, each stage runs on yours.",
              file=sys.stderr)
        return 2
    stages = [s for s in manifest.stages if any(e.stage == s.name for e in selected)]
    tested = [s for s in stages if (ROOT / s.tests).is_file()]
    return Plan(args, manifest, selected, tested, [s for s in stages if s not in tested], command)


def pytest_options(plan: Plan) -> list[str]:
    """The options of every pytest run of the check (beyond what to run)."""
    extra = ["--kata-summary=no", f"--kata-timeout={plan.args.timeout:g}", f"--kata-timeout-flag={plan.command} --timeout"]
    return extra + (["-rfE"] if plan.args.verbose else ["-q", "--tb=no"])


def budget(plan: Plan, exercises: int) -> float:
    """CPU seconds a run of ``exercises`` exercises may use before it is abandoned."""
    return plan.args.timeout * exercises + RUN_MARGIN


def run_limits(cpu_seconds: float) -> dict[str, float]:
    """A run's limits (``Worker.start``'s, ``runner.run_suite``'s): ``cpu_seconds`` of its CPU time, and
    WALL_FACTOR times that on the clock, for a run that waits without computing."""
    return {"cpu_limit": cpu_seconds, "timeout": WALL_FACTOR * cpu_seconds}


def start_runs(worker: Worker, plan: Plan, exercises: list[Exercise], jobs: int | None = None) -> list[Run]:
    """The tests of ``exercises`` in at most ``jobs`` (default --jobs) pytest runs started at once."""
    runs = []
    for group in share(exercises, jobs or plan.args.jobs, exercise_costs(plan.manifest)):
        stages = [s for s in plan.stages if any(e.stage == s.name for e in group)]
        runs.append(worker.start("katas", tests=[s.tests for s in stages], exercises=[e.name for e in group],
                                 mode=plan.mode, extra=pytest_options(plan), **run_limits(budget(plan, len(group)))))
    return runs


@dataclass
class Reused:
    """The verdicts a check takes from earlier checks instead of running (see verdicts.py)."""

    store: VerdictStore | None  # None: --fresh or --verbose, nothing reused or kept
    before: Files  # the kata files as they were when the runs started
    records: list[TestRecord]
    exercises: list[str]


def reuse_verdicts(plan: Plan, exercises: list[Exercise]) -> tuple[Reused, list[Exercise]]:
    """Split ``exercises`` into those whose earlier pass still holds (nothing they read has changed)
    and those to run. ``--fresh`` and ``--verbose`` run them all."""
    if plan.args.fresh or plan.args.verbose:
        return Reused(None, {}, [], []), exercises
    store = VerdictStore(tooling_key({"mode": plan.mode, "timeout": plan.args.timeout}))
    before = kata_files(KATAS)
    reused = Reused(store, before, [], [])
    to_run = []
    for exercise in exercises:
        records = store.reuse(exercise.name, before)
        if records is None:
            to_run.append(exercise)
        else:
            reused.records += records
            reused.exercises.append(exercise.name)
    return reused, to_run


def keep_verdicts(plan: Plan, reused: Reused, records: list[TestRecord]) -> None:
    """Remember the passes among ``records`` (just run), unless the kata files changed meanwhile."""
    if reused.store is not None:
        reused.store.remember(plan.manifest, records, reused.before, kata_files(KATAS))


def reuse_note(plan: Plan, reused: Reused) -> list[str]:
    if not reused.exercises:
        return []
    count = len(reused.exercises)
    return wrap_line(f"({count} exercise{'s' if count > 1 else ''} passed in an earlier check and nothing "
                     f"{'they' if count > 1 else 'it'} read has changed since: not run again. "
                     f"{plan.command} --fresh runs {'them' if count > 1 else 'it'}.)")


def gather(plan: Plan, runs: list[Run]) -> tuple[list[TestRecord] | None, list[str]]:
    """Wait for ``runs``: their records, and what to print first (pytest's output with --verbose, or
    why the tests could not run, in which case the records are None)."""
    records: list[TestRecord] = []
    lines: list[str] = []
    for run in [r.result() for r in runs]:
        if plan.args.verbose:
            lines += [run.output.rstrip(), ""]
        if run.report is None or run.returncode not in (0, 1):
            if not plan.args.verbose:
                lines += run.output.rstrip().splitlines()[-OUTPUT_TAIL:]
            why = run.problem or f"pytest exit code {run.returncode}"
            return None, lines + [f"check: the kata tests could not run ({why}); pytest's output is above."]
        records += run.report.tests
    return records, lines


def render(plan: Plan, records: list[TestRecord], colour: bool = False) -> list[str]:
    """The table and the next step, then the notes: untested stages, time-outs, --verbose."""
    lines = render_progress(plan.manifest, records, plan.mode, colour, plan.args.verbose, plan.command) if records else []
    lines += [f"(stage {stage.name!r} has no tests yet: {stage.tests} is missing)" for stage in plan.untested]
    lines += timeout_note(plan, records, shown="\n".join(lines))
    if records and not plan.args.verbose and any(r.status != PASSED for r in records):
        lines.append(f"Full pytest output: {plan.command} --verbose")
    return lines


def timeout_note(plan: Plan, records: list[TestRecord], shown: str) -> list[str]:
    """Which test ran out of time, and (unless it is the failure already shown) how far its code got."""
    timed_out = [r for r in records if r.status == TIMEOUT]
    if not timed_out:
        return []
    first, others = timed_out[0], len(timed_out) - 1
    more = f" (and {others} more test{'s' if others > 1 else ''})" if others else ""
    lines = wrap_line(f"{first.nodeid} ran out of time ({plan.args.timeout:g} s per test){more}.")
    if first.nodeid not in shown:
        lines += ["  " + line for line in first.message.strip().splitlines()[:TIMEOUT_MESSAGE_LINES]]
    return lines + wrap_line(f"Its message says how far your code got. Correct but slow code passes with more time "
                             f"({plan.command} --timeout 30); a loop that never ends does not.")


def exit_code(plan: Plan, records: list[TestRecord]) -> int:
    """0 when every selected exercise passes, else 1."""
    passed = {r.exercise.name for r in summarize(plan.manifest, records) if r.status == DONE}
    return 0 if all(e.name in passed for e in plan.selected) else 1


def main(argv: list[str]) -> int:
    worker = Worker()
    raise_on_stop_signals(KeyboardInterrupt)  # SIGTERM and SIGHUP end the check as Ctrl-C does
    try:
        return check(argv, worker)
    except KeyboardInterrupt:
        ignore_stop_signals()
        worker.kill_all()  # the children run in their own process groups: Ctrl-C does not reach them
        print("\ncheck: interrupted.", flush=True)
        return 130


def check(argv: list[str], worker: Worker) -> int:
    plan = make_plan(argv)
    if isinstance(plan, int):
        return plan
    records: list[TestRecord] = []
    notes: list[str] = []
    if plan.runnable:
        reused, to_run = reuse_verdicts(plan, plan.runnable)
        if to_run:
            worker.warm([])  # one round: the libraries once, and each child imports the test modules it runs
            found, lines = gather(plan, start_runs(worker, plan, to_run))
            if lines:
                print("\n".join(lines))
            if found is None:
                return 2
            save_costs(found)
            keep_verdicts(plan, reused, found)
            records = found
        records = reused.records + records
        notes = reuse_note(plan, reused)
    print("\n".join(render(plan, records, use_colour(sys.stdout)) + notes))
    return exit_code(plan, records)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

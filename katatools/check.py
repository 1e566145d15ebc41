"""``nox -s check``: where you stand in the katas, and what to do next.

    nox -s check                           every exercise against katas/
    nox -s check -- mul variable           only these exercises or stages
    nox -s check -- --isolated             each stage on the reference's earlier stages
    nox -s check -- --verbose              also pytest's full output
    nox -s check -- --hint mul [--level N] the hints of one exercise, one level at a time
    nox -s check -- --jobs 1               one pytest process (default: one per CPU)

It runs the kata tests in child pytest processes (``runner.run_suite``), the stages shared among
up to one process per CPU by their ``cost`` in the manifest, and prints the same table and next
step as the end of a plain ``pytest`` run (``report.render_progress``). The exit code is 0 only
when every selected exercise passes.

Hints are asked for by level (``--level 2``) rather than remembered in a state file: the
command is repeatable, leaves nothing behind, and the learner decides when to see more.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys

from .manifest import ROOT, Exercise, Manifest, ManifestError, Stage, load_manifest
from .report import DONE, PASSED, TIMEOUT, check_command, render_progress, summarize, use_colour, wrap_line
from .runner import PytestRun, available_cpus, run_suite, stop_all

# Seconds per test. The slowest reference test must fit well inside it (sklearn's import alone
# is ~2 s on a slow machine); after a test of an exercise times out, the plugin fails the rest
# of that exercise at once, so an infinite loop costs about this much per exercise it reaches.
CHECK_TIMEOUT = 5.0
RUN_MARGIN = 120.0  # seconds beyond the per-test budget before the whole child run is abandoned
OUTPUT_TAIL = 40  # lines of pytest output shown when it could not run the tests


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
                        help=f"time limit per test (default {CHECK_TIMEOUT:g})")
    parser.add_argument("--jobs", type=int, default=available_cpus(), metavar="N",
                        help=f"pytest processes to share the stages among (default: the CPUs, {available_cpus()} here)")
    return parser


def share_stages(stages: list[Stage], jobs: int) -> list[list[Stage]]:
    """At most ``jobs`` groups of stages with about equal total ``cost``, all in learning order.

    The costliest stage goes first, each onto the group with the least cost so far (longest
    processing time first): 1.5, 0.6, 0.4, 0.3 on two processes gives {1.5} and {0.6, 0.4, 0.3}.
    """
    groups: list[list[Stage]] = [[] for _ in range(max(1, min(jobs, len(stages))))]
    for stage in sorted(stages, key=lambda s: (-s.cost, s.index)):
        min(groups, key=lambda group: sum(s.cost for s in group)).append(stage)
    ordered = [sorted(group, key=lambda s: s.index) for group in groups if group]
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
        lines.append(f"That was the last hint. Once the tests pass, compare with {files.replace('katas/', 'solutions/')}.")
    print("\n".join(wrapped for line in lines for wrapped in wrap_line(line)))
    return 0


def unknown_name(manifest: Manifest, exc: ManifestError) -> str:
    """The manifest's message for an unknown name, plus the stage names (also accepted)."""
    return f"{exc}; or a stage: {', '.join(manifest.stage_names)}"


def main(argv: list[str]) -> int:
    try:
        return check(argv)
    except KeyboardInterrupt:
        stop_all()  # the children run in their own process groups: Ctrl-C does not reach them
        print("\ncheck: interrupted.", flush=True)
        return 130


def run_groups(groups: list[list[Stage]], args: argparse.Namespace, selected: list[Exercise],
               mode: str) -> list[PytestRun]:
    """One child pytest per group of stages, all at once; their runs in the groups' order."""
    extra = ["--kata-summary=no", f"--kata-timeout={args.timeout:g}"]
    extra += ["-rfE"] if args.verbose else ["-q", "--tb=no"]

    def run(group: list[Stage]) -> PytestRun:
        names = {s.name for s in group}
        exercises = [e for e in selected if e.stage in names]
        wanted = [n for n in args.names if n in names or any(e.name == n for e in exercises)]
        budget = args.timeout * len(exercises) + RUN_MARGIN
        return run_suite("katas", tests=[s.tests for s in group], exercises=wanted, mode=mode, extra=extra,
                         timeout=budget)

    if len(groups) <= 1:
        return [run(group) for group in groups]
    pool = concurrent.futures.ThreadPoolExecutor(len(groups))
    try:
        futures = [pool.submit(run, group) for group in groups]
        return [future.result() for future in futures]
    except BaseException:  # Ctrl-C: end the children now, or the pool would wait for them to finish
        stop_all()
        raise
    finally:
        pool.shutdown(wait=True)


def check(argv: list[str]) -> int:
    parser = build_parser()
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

    stages = [s for s in manifest.stages if any(e.stage == s.name for e in selected)]
    untested = [s for s in stages if not (ROOT / s.tests).is_file()]
    mode = "isolated" if args.isolated else "cumulative"
    records = []
    groups = share_stages([s for s in stages if s not in untested], args.jobs)
    runs = run_groups(groups, args, selected, mode)
    for run in runs:
        if args.verbose:
            print(run.output.rstrip())
            print()
        if run.report is None or run.returncode not in (0, 1):
            if not args.verbose:
                print("\n".join(run.output.rstrip().splitlines()[-OUTPUT_TAIL:]))
            why = run.problem or f"pytest exit code {run.returncode}"
            print(f"check: the kata tests could not run ({why}); pytest's output is above.")
            return 2
        records += run.report.tests

    if records:
        for line in render_progress(manifest, records, mode, use_colour(sys.stdout), args.verbose, command):
            print(line)
    for stage in untested:
        print(f"(stage {stage.name!r} has no tests yet: {stage.tests} is missing)")
    if any(r.status == TIMEOUT for r in records):
        for line in wrap_line(f"A test that runs out of time ({args.timeout:g} s) usually means a loop that never "
                              f"ends; if your code is only slow, try {command} --timeout 30"):
            print(line)
    if records and not args.verbose and any(r.status != PASSED for r in records):
        print(f"Full pytest output: {command} --verbose")
    results = summarize(manifest, records)
    passed = {r.exercise.name for r in results if r.status == DONE}
    return 0 if all(e.name in passed for e in selected) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

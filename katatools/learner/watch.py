"""``nox -s watch``: a verdict half a second after you save a file in katas/.

    nox -s watch                 every exercise
    nox -s watch -- mul          any arguments go to the check (names, --isolated, --timeout, --jobs)

On every save, the exercise you are working on is checked first and its verdict printed at once:
the exercise whose code changed (the functions and methods its ``covers`` lists in
exercises.toml), or else the first one not done. The table of every selected exercise follows,
as ``nox -s check`` prints it; as there, a pass whose files have not changed is reused, not run.

It is quick because it keeps a warm worker (katatools/learner/worker.py): pytest, numpy, hypothesis and
the tests are imported once, and each run is a child forked from it, which imports your kata
modules afresh. It never shows a stale verdict: the files are looked at every ``INTERVAL``
seconds, also while a check runs, and a save made during a check stops it and starts again
from the new files. Only what was checked against the files as they are now is printed.

It reads the files' contents, not only their times (no file-watching service to install), and
stops on Ctrl-C, SIGTERM or SIGHUP, or when the process that started it (nox) has gone, ending
the checks it started first. A change to the tests, the tools or the manifest restarts it.
``--max-runs N`` (hidden, for tests) stops after N tables.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import os
import sys
import time
from pathlib import Path

from ..manifest import ROOT, Exercise, Manifest, split_cover
from ..report import DONE, ExerciseResult, TestRecord, next_exercise, render_verdict, summarize, use_colour
from ..stubs import _enclosing_functions
from . import check
from .worker import Run, Worker, ignore_stop_signals, raise_on_stop_signals

KATAS = check.KATAS
INTERVAL = 0.05  # seconds between two looks at the files
CLEAR = "\033[2J\033[H"  # erase the screen, cursor to the top-left corner
# What the warm worker has imported or read: a change there restarts watch (never a kata module).
TOOLING = ("tests/*.py", "katatools/**/*.py", "solutions/*.py", "exercises.toml", "pyproject.toml")

Snapshot = dict[str, bytes]


class Stopped(Exception):
    """SIGTERM or SIGHUP arrived, or the process that started watch has gone."""


class Changed(Exception):
    """The kata files changed while a check ran: its results no longer describe them."""

    def __init__(self, now: Snapshot) -> None:
        super().__init__("the kata files changed")
        self.now = now


def snapshot(directory: Path = KATAS) -> Snapshot:
    """Name -> contents of every kata module; backups (*.py.bak-...) are not modules."""
    state: Snapshot = {}
    for path in sorted(directory.glob("*.py")):
        try:
            state[path.name] = path.read_bytes()
        except OSError:  # removed between glob and read
            continue
    return state


def tooling_state(root: Path = ROOT) -> dict[str, tuple[int, int]]:
    """Name -> (mtime, size) of what the warm worker imported: the tests, the tools, the reference, the manifest."""
    state = {}
    for pattern in TOOLING:
        for path in root.glob(pattern):
            try:
                info = path.stat()
            except OSError:
                continue
            state[str(path.relative_to(root))] = (info.st_mtime_ns, info.st_size)
    return state


def changed_functions(old: str, new: str) -> set[str]:
    """The functions and methods (``Variable.__mul__``, ``log``) whose lines differ between two versions.

    Lines are compared with difflib; each changed line is placed in its innermost function, in
    whichever version parses (a half-typed line does not stop it: the other version still does).
    """
    old_lines, new_lines = old.splitlines(), new.splitlines()
    touched_old: set[int] = set()
    touched_new: set[int] = set()
    matcher = difflib.SequenceMatcher(a=old_lines, b=new_lines, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag != "equal":  # 1-based line numbers; an insertion touches the lines on both sides of it
            touched_old.update(range(i1 + 1, i2 + 1) if i2 > i1 else (i1, i1 + 1))
            touched_new.update(range(j1 + 1, j2 + 1) if j2 > j1 else (j1, j1 + 1))
    names: set[str] = set()
    for text, touched in ((old, touched_old), (new, touched_new)):
        try:
            functions = _enclosing_functions(ast.parse(text))
        except SyntaxError:
            continue
        for line in touched:
            inside = [(first, name) for first, last, name in functions if first <= line <= last]
            if inside:
                names.add(max(inside)[1])  # the innermost: the one that starts last
    return names


def changed_exercises(manifest: Manifest, exercises: list[Exercise], before: Snapshot, now: Snapshot) -> list[Exercise]:
    """The exercises whose code changed between two snapshots of katas/, in learning order: those with a
    function or method of their ``covers`` among the changed ones, in its module (a save in variable.py
    can be stage 1's add, stage 5's arrays or stage 7's nested)."""
    found: list[Exercise] = []
    for name in sorted(set(before) | set(now)):
        if before.get(name) == now.get(name) or not name.endswith(".py"):
            continue
        module = name[: -len(".py")]
        old = before.get(name, b"").decode("utf-8", errors="replace")
        functions = changed_functions(old, now.get(name, b"").decode("utf-8", errors="replace"))
        found += [e for e in exercises if e not in found and any(
            manifest.cover_module(e, cover) == module and split_cover(cover)[1] in functions for cover in e.covers)]
    return sorted(found, key=lambda e: e.index)


class KataFiles:
    """Looking at the files: katas/ for the learner's saves, the tests and tools for a restart.

    ``look`` raises Stopped when the process that started watch has gone; ``wait`` raises Changed
    as soon as katas/ differs from what a check is checking.
    """

    def __init__(self, worker: Worker, argv: list[str], interval: float = INTERVAL, katas: Path = KATAS) -> None:
        self.worker, self.argv, self.interval, self.katas = worker, argv, interval, katas
        self.parent = os.getppid()
        self.tooling = tooling_state()

    def look(self) -> Snapshot:
        """The kata files now; Stopped when the process that started watch has gone."""
        if os.name != "nt" and os.getppid() != self.parent:
            raise Stopped("the process that started watch has ended")
        return snapshot(self.katas)

    def settled(self, now: Snapshot) -> Snapshot:
        """An editor may save in several writes: look again until two looks agree."""
        while True:
            time.sleep(self.interval)
            again = self.look()
            if again == now:
                return now
            now = again

    def wait_for_change(self, before: Snapshot) -> Snapshot:
        while True:
            time.sleep(self.interval)
            now = self.look()
            if now != before:
                return self.settled(now)
            if self.worker.fork and tooling_state() != self.tooling:
                self.restart()

    def restart(self) -> None:
        """The tests, the tools or the manifest changed: start again, so that the worker imports them anew."""
        print("\nwatch: the tests or the tools changed; restarting.", flush=True)
        self.worker.kill_all()
        os.execv(sys.executable, [sys.executable, "-m", "katatools", "watch", *self.argv])

    def wait(self, runs: list[Run], checked: Snapshot) -> None:
        """Wait for ``runs``, looking at the files meanwhile: Changed as soon as they differ from ``checked``."""
        for run in runs:
            while not run.finished.wait(self.interval):
                now = self.look()
                if now != checked:
                    raise Changed(now)
        now = self.look()  # a save in the last moments of the run, too
        if now != checked:
            raise Changed(now)


class Watch:
    """The loop: wait for a save (``KataFiles``), check the exercise being worked on, then the whole table."""

    def __init__(self, plan: check.Plan, worker: Worker, argv: list[str], interval: float = INTERVAL,
                 katas: Path = KATAS) -> None:
        self.plan, self.worker = plan, worker
        self.files = KataFiles(worker, argv, interval, katas)
        self.terminal = sys.stdout.isatty()
        self.colour = use_colour(sys.stdout)
        self.results: list[ExerciseResult] = []  # the last complete table's
        self.durations: dict[str, float] = {}  # node id -> seconds its test took last time

    # ------------------------------------------------------------ what to check first

    def focus(self, before: Snapshot, now: Snapshot) -> Exercise | None:
        """The exercise being worked on: one whose code changed, else the first not done (None: all done)."""
        done = {r.exercise.name for r in self.results if r.status == DONE}
        changed = changed_exercises(self.plan.manifest, self.plan.runnable, before, now)
        if changed:
            return next((e for e in changed if e.name not in done), changed[0])
        upcoming = next_exercise(self.results)
        if upcoming is not None:
            return upcoming.exercise
        runnable = self.plan.runnable
        return None if self.results else (runnable[0] if runnable else None)

    def focus_runs(self, focus: Exercise) -> list[Run]:
        """The tests of the exercise being worked on, shared among the CPUs one by one, balanced by how
        long each took last time (their ids come from the worker's warm-up collection)."""
        ids = [nodeid for nodeid, exercise in self.worker.collected.items() if exercise == focus.name]
        jobs = min(self.plan.args.jobs, len(ids))
        if jobs <= 1:
            return check.start_runs(self.worker, self.plan, [focus], jobs=1)
        groups: list[list[str]] = [[] for _ in range(jobs)]
        loads = [0.0] * jobs
        for nodeid in sorted(ids, key=lambda n: -self.durations.get(n, 0.0)):
            emptiest = loads.index(min(loads))
            groups[emptiest].append(nodeid)
            loads[emptiest] += self.durations.get(nodeid, 0.0) or 0.01
        return [self.worker.start("katas", tests=group, exercises=[focus.name], mode=self.plan.mode,
                                  extra=check.pytest_options(self.plan),
                                  **check.run_limits(check.budget(self.plan, 1)))
                for group in groups if group]

    # ------------------------------------------------------------ one round

    def records_of(self, runs: list[Run], checked: Snapshot) -> list[TestRecord] | None:
        """Wait for the runs; their records, or None after printing why the tests could not run."""
        self.files.wait(runs, checked)
        records, lines = check.gather(self.plan, runs)
        if lines:
            print("\n".join(lines), flush=True)
        return records

    def round(self, before: Snapshot, now: Snapshot) -> None:
        """Check ``now``: the focused exercise first, then the rest; Changed if the files change meanwhile."""
        focus = self.focus(before, now) if before else None
        if self.terminal:
            sys.stdout.write(CLEAR)
        what = f"; {focus.name} first" if focus else ""
        print(f"watch: checking katas/ ({time.strftime('%H:%M:%S')}{what})", flush=True)
        reused, rest = check.reuse_verdicts(self.plan, self.plan.runnable)
        records: list[TestRecord] = list(reused.records)
        fresh: list[TestRecord] = []
        if focus is not None:
            if focus.name in reused.exercises:
                found = [r for r in reused.records if r.exercise == focus.name]
                records = [r for r in records if r.exercise != focus.name]
            else:
                found = self.records_of(self.focus_runs(focus), now)
                if found is None:
                    return
                fresh += found
            order = {nodeid: index for index, nodeid in enumerate(self.worker.collected)}
            found.sort(key=lambda r: order.get(r.nodeid, len(order)))  # the first failure in collection order
            records += found
            verdict = [r for r in summarize(self.plan.manifest, found) if r.exercise.name == focus.name]
            for line in render_verdict(self.plan.manifest, verdict[0], self.colour, self.plan.args.verbose,
                                       self.plan.command) if verdict else []:
                print(line)
            sys.stdout.flush()
            rest = [e for e in rest if e.name != focus.name]
            if rest:
                print(f"watch: checking the other {len(rest)} exercises...", flush=True)
        if rest:
            found = self.records_of(check.start_runs(self.worker, self.plan, rest), now)
            if found is None:
                return
            records += found
            fresh += found
        check.keep_verdicts(self.plan, reused, fresh)
        print()
        print("\n".join(check.render(self.plan, records, self.colour) + check.reuse_note(self.plan, reused)), flush=True)
        self.results = summarize(self.plan.manifest, records)
        self.durations.update({r.nodeid: r.duration for r in fresh})

    def loop(self, max_runs: int = 0) -> int:
        before: Snapshot = {}
        now = self.files.look()
        rounds = 0
        while True:
            try:
                self.round(before, now)
            except Changed as change:
                self.worker.kill_all()
                print("\nwatch: katas/ changed during the check; checking again.", flush=True)
                before, now = now, self.files.settled(change.now)
                continue
            rounds += 1
            if max_runs and rounds >= max_runs:
                print(f"watch: stopped after {rounds} run{'s' if rounds > 1 else ''}.", flush=True)
                return 0
            print("\nwatch: waiting for you to save a file in katas/ (Ctrl-C stops)", flush=True)
            before, now = now, self.files.wait_for_change(now)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nox -s watch --", description=__doc__.splitlines()[0],
                                     epilog="Other arguments are passed to the check (see nox -s check -- --help).")
    parser.add_argument("--interval", type=float, default=INTERVAL, help=argparse.SUPPRESS)
    parser.add_argument("--max-runs", type=int, default=0, help=argparse.SUPPRESS)
    args, check_args = parser.parse_known_args(argv)
    if "--hint" in check_args:
        parser.error("--hint shows hints without running tests: use nox -s check -- --hint NAME")
    plan = check.make_plan(check_args, check.build_parser())
    if isinstance(plan, int):
        return plan
    worker = Worker()
    raise_on_stop_signals(Stopped)
    try:
        worker.warm(plan.tests)
        return Watch(plan, worker, argv, args.interval).loop(args.max_runs)
    except (KeyboardInterrupt, Stopped):
        ignore_stop_signals()  # a second signal must not cut the clean-up short
        worker.kill_all()
        worker.wait_all()
        print("\nwatch: stopped.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

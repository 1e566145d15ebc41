"""From a child's results file to a stage's outcome: what each exercise of a run earns, and why not.

An exercise earns its points only when every one of its tests passes. A test the grader collected
but the child did not report counts as an error; a child that died, hung past its limit, or left a
missing or malformed results file is a problem of the stage, said in words that hold no temporary
path or memory address (``stable``), so that grading twice gives the same files.
"""

from __future__ import annotations

import os
import re
import signal
from pathlib import Path

from .. import report as results
from ..guard import GUARD_MARK
from ..manifest import Manifest, Stage
from ..runner import NO_REPORT, PytestRun
from .gradebook import StageOutcome
from .isolation import Run
from .workspace import TARGET_DIR

ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")  # a memory address in a repr, different at every run
TEMPORARY_NAME = re.compile(r"\b(kata-[a-z]+-|tmp)[a-z0-9_]{8}\b")  # tempfile's random folder names


def stable(text: str, workspace: Path, *scratches: Path) -> str:
    """A message without the run's temporary paths and memory addresses, so that outputs are
    reproducible: paths in the workspace become relative, scratch folders ``<scratch>``."""
    for path, name in [(workspace, "")] + [(s, "<scratch>") for s in scratches]:
        for form in sorted({str(path), str(path.resolve())}, key=len, reverse=True):
            text = text.replace(form + os.sep, name + os.sep if name else "").replace(form, name or ".")
    text = TEMPORARY_NAME.sub(r"\1", text)
    return ADDRESS.sub("0x...", text)


class Scorer:
    """Scores the runs of one grading against ``expected`` (stage name -> {test node id: exercise},
    what the grader collected); ``scratch``: the grading's scratch folder, never named in a message."""

    def __init__(self, manifest: Manifest, expected: dict[str, dict[str, str]], test_timeout: float,
                 scratch: Path) -> None:
        self.manifest, self.expected, self.test_timeout, self.scratch = manifest, expected, test_timeout, scratch

    def outcome(self, stage: Stage, mode: str, exercises: list[str], reported: dict[str, results.TestRecord],
                problem: str) -> StageOutcome:
        """Per-exercise results of ``exercises`` of a stage; a collected test without a reported result
        counts as an error."""
        records = []
        for nodeid, exercise in self.expected[stage.name].items():
            if exercise not in exercises:
                continue
            got = reported.get(nodeid)
            if got is None:
                records.append(results.TestRecord(nodeid, exercise, results.ERROR, f"no result: {problem or 'not reported'}"))
            else:
                records.append(results.TestRecord(nodeid, exercise, got.status, got.message))
        return StageOutcome(stage, mode, results.summarize(self.manifest, records), problem, records)

    def score(self, run: Run, mode: str, child: PytestRun, folder: Path) -> StageOutcome:
        """The outcome of ``run``, whose child ran on the workspace ``folder``/ws."""
        stage, workspace, scratch = run.stage, folder / "ws", folder / "scratch"
        report, problem = child.report, child_problem(child)
        if child.timed_out:
            report = child.partial  # the tests that ended before the limit: those that passed keep their points
        target = workspace / TARGET_DIR
        if report is not None and (report.mode != mode or Path(report.target) != target.resolve()):
            problem, report = "malformed results file (for another target or mode)", None
        known = {n: e for n, e in self.expected[stage.name].items() if e in run.exercises}
        reported = {t.nodeid: t for t in (report.tests if report else []) if t.nodeid in known}
        for record in reported.values():
            record.message = stable(record.message, workspace, scratch, self.scratch)
            if record.status == results.TIMEOUT:  # how far a slow test got depends on the machine: not said
                record.message = (f"[{record.exercise}] timed out: a test of this exercise used more than "
                                  f"{self.test_timeout:g} s of CPU time (--test-timeout); slow but correct code needs "
                                  "a longer one")
        outcome = self.outcome(stage, mode, list(run.exercises), reported, problem)
        if report and any(t.nodeid not in self.expected[stage.name] for t in report.tests):
            outcome.problem = outcome.problem or "the results file names tests the grader does not have"
        unfinished = (results.ERROR, results.TIMEOUT)
        if not outcome.problem and reported and all(t.status in unfinished for t in reported.values()):
            outcome.problem = first_line(next(iter(reported.values())).message)  # e.g. "cannot import ..."
        slow = {known[n] for n, t in reported.items() if t.status == results.TIMEOUT}
        timed_out = [r.exercise.name for r in outcome.results if r.exercise.name in slow]
        if not outcome.problem and timed_out:
            outcome.problem = f"timed out (more than {self.test_timeout:g} s of CPU time for a test) in {', '.join(timed_out)}"
        return outcome


def child_problem(child: PytestRun) -> str:
    """What went wrong with the child process itself, if anything: a hang, a crash, no results."""
    if child.timed_out:
        return ("stopped at the wall limit: its tests did not all finish (a hang, or output without end?); "
                "exercises whose tests had all ended and passed keep their points")
    if child.report is None and child.returncode < 0:
        return f"the test process was killed by {signal_name(-child.returncode)} (did the code crash the interpreter?)"
    if child.report is None and child.problem == NO_REPORT:
        return (f"the test process ended (exit code {child.returncode}) without writing valid results: "
                "does a kata module exit the interpreter (sys.exit, os._exit)?")
    if child.report is None:
        return f"the test process ended (exit code {child.returncode}) without writing valid results: malformed file"
    if child.returncode not in (0, 1):
        return f"pytest ended with exit code {child.returncode} (interrupted or internal error)"
    return ""


def merged(manifest: Manifest, stage: Stage, mode: str, parts: list[StageOutcome]) -> StageOutcome:
    """One stage's outcome from the outcomes of its runs: every record, and each run's problem,
    named by its exercises when the stage had several runs."""
    records = [r for part in parts for r in part.records]
    problems = []
    for part in parts:
        if part.problem:
            names = ", ".join(r.exercise.name for r in part.results)
            problems.append(part.problem if len(parts) == 1 else f"({names}) {part.problem}")
    return StageOutcome(stage, mode, results.summarize(manifest, records), "; ".join(problems), records)


def guard_flags(outcomes: list[StageOutcome]) -> list[str]:
    """A review flag for each stage where the grading guard refused something (guard.py): the code
    went looking outside its workspace, for the reference or anything else."""
    flags = []
    for outcome in outcomes:
        refused = sorted({line.strip() for r in outcome.records for line in r.message.splitlines() if GUARD_MARK in line})
        if refused:
            flags.append(f"{outcome.stage.module}.py ({outcome.mode}): {refused[0]}"
                         + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
    return sorted(set(flags))


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""

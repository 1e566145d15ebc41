"""The grader's outputs: gradebook.csv, one Gradescope results.json per submission, the summary.

Everything here is a pure function of the grades, sorted by submission id: no time, no temporary
path, no order of completion, so that grading the same submissions twice gives identical bytes.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .. import report as results
from ..manifest import Exercise, Stage
from .submissions import Submission

MESSAGE_LIMIT = 1500  # characters of a failure shown per exercise in results.json


class GradingSetup(Protocol):
    modes: tuple[str, ...]
    exercises: list[Exercise]


@dataclass
class StageOutcome:
    stage: Stage
    mode: str
    results: list[results.ExerciseResult]
    problem: str = ""  # "" when the stage ran to its end with its module importable
    records: list[results.TestRecord] = field(default_factory=list)  # every test the grader expected


@dataclass
class Graded:
    submission: Submission
    modes: tuple[str, ...]
    outcomes: list[StageOutcome] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    sandbox: str = ""  # how its code ran: "bwrap", or "none (...)"

    def points(self, mode: str) -> dict[str, int]:
        return {r.exercise.name: (r.exercise.points if r.status == results.DONE else 0)
                for o in self.outcomes if o.mode == mode for r in o.results}

    def total(self, mode: str) -> int:
        return sum(self.points(mode).values())

    @property
    def problems(self) -> list[str]:
        head = [self.submission.problem] if self.submission.problem else []
        return head + [f"{o.mode} {o.stage.name}: {o.problem}" for o in self.outcomes if o.problem]

    @property
    def status(self) -> str:
        return "error" if self.problems else "ok"



def column(mode: str, name: str, modes: tuple[str, ...]) -> str:
    return name if len(modes) == 1 else f"{mode}:{name}"


def gradebook_csv(grader: GradingSetup, graded: list[Graded]) -> str:
    modes = grader.modes
    header = ["id", "status"]
    for mode in modes:
        header += [column(mode, e.name, modes) for e in grader.exercises] + [column(mode, "total", modes)]
    header += ["maximum", "sandbox", "flags", "notes"]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    maximum = sum(e.points for e in grader.exercises)
    for g in graded:
        row: list[object] = [g.submission.id, g.status]
        for mode in modes:
            points = g.points(mode)
            row += [points.get(e.name, 0) for e in grader.exercises] + [g.total(mode)]
        row += [maximum, g.sandbox, "; ".join(g.flags), "; ".join(g.problems + g.notes)]
        writer.writerow(row)
    return out.getvalue()


def exercise_title(exercise: Exercise) -> str:
    """An exercise as every grading report names it: ``stage/exercise: description``."""
    return f"{exercise.stage}/{exercise.name}: {exercise.description}"


def exercise_output(result: results.ExerciseResult, problem: str) -> str:
    if result.status == results.DONE:
        return f"done: all {result.total} tests pass"
    lines = [f"{result.status}: {result.passed} of {result.total} tests pass"]
    if problem:
        lines.append(f"stage error: {problem}")
    failure = result.first_failure
    if failure is not None and failure.message:
        message = failure.message if len(failure.message) <= MESSAGE_LIMIT else failure.message[:MESSAGE_LIMIT] + " [...]"
        lines += [f"first failure: {failure.nodeid}", message]
    return "\n".join(lines)


def gradescope_results(grader: GradingSetup, g: Graded) -> dict:
    """Gradescope's autograder results (its specification's fields and types): one test per
    exercise of the first mode, scored all or nothing, every one visible.

    Review flags are for staff only, and a hidden test would hide the student's total score on
    Gradescope; so they go in ``extra_data`` (stored, never shown to students) and to
    ``run_autograder``'s standard output, which ``"stdout_visibility": "hidden"`` shows to staff only
    (see gradescope.py).
    """
    scored = grader.modes[0]
    tests = []
    for outcome in (o for o in g.outcomes if o.mode == scored):
        for r in outcome.results:
            earned = r.exercise.points if r.status == results.DONE else 0
            tests.append({"name": exercise_title(r.exercise), "score": earned,
                          "max_score": r.exercise.points, "status": "passed" if earned else "failed",
                          "output": exercise_output(r, outcome.problem), "output_format": "text",
                          "visibility": "visible", "extra_data": {"exercise": r.exercise.name, "result": r.status}})
    lines = [f"Graded in {scored} mode: {g.total(scored)} of {sum(e.points for e in grader.exercises)} points."]
    lines += [f"Problem: {p}" for p in g.problems] + [f"Note: {n}" for n in g.notes]
    for mode in grader.modes[1:]:
        lines.append(f"For comparison, {mode} mode: {g.total(mode)} points "
                     f"({', '.join(f'{k} {v}' for k, v in g.points(mode).items())}).")
    return {"score": g.total(scored), "output": "\n".join(lines), "output_format": "text",
            "test_output_format": "text", "test_name_format": "text", "visibility": "visible",
            "stdout_visibility": "hidden", "tests": tests,
            "extra_data": {"review_flags": list(g.flags), "sandbox": g.sandbox, "mode": scored}}


def summary_lines(grader: GradingSetup, graded: list[Graded]) -> list[str]:
    maximum = sum(e.points for e in grader.exercises)
    width = max([len(g.submission.id) for g in graded] + [10])
    totals = "  ".join(f"{mode:>10}" for mode in grader.modes)
    lines = [f"{'submission':<{width}}  status  {totals}  flags  problem"]
    for g in graded:
        scores = "  ".join(f"{f'{g.total(m)}/{maximum}':>10}" for m in grader.modes)
        problem = g.problems[0] if g.problems else ""
        problem = problem if len(problem) <= 70 else problem[:67] + "..."
        lines.append(f"{g.submission.id:<{width}}  {g.status:<6}  {scores}  {len(g.flags):>5}  {problem}".rstrip())
    return lines


def write_outputs(out: Path, grader: GradingSetup, graded: list[Graded]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "gradebook.csv").write_text(gradebook_csv(grader, graded), encoding="utf-8", newline="")
    for g in graded:
        folder = out / g.submission.id
        folder.mkdir(exist_ok=True)
        text = json.dumps(gradescope_results(grader, g), indent=2, ensure_ascii=False) + "\n"
        (folder / "results.json").write_text(text, encoding="utf-8", newline="")

"""Per-test results, per-exercise progress, and the progress table shared by pytest and `check`."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .manifest import Exercise, Manifest

# Statuses of one test.
PASSED = "passed"
FAILED = "failed"
NOT_STARTED = "not_started"  # the stub's NotImplementedError reached the test
ERROR = "error"  # setup failed (e.g. the module could not be imported)
TIMEOUT = "timeout"

# Statuses of one exercise.
DONE = "done"
FAILING = "failing"
NOT_STARTED_EXERCISE = "not started"

REPORT_VERSION = 1


@dataclass
class TestRecord:
    nodeid: str
    exercise: str
    status: str
    message: str = ""


@dataclass
class ExerciseResult:
    exercise: Exercise
    status: str
    passed: int
    total: int
    first_failure: TestRecord | None = None

    @property
    def failing(self) -> int:
        return self.total - self.passed


@dataclass
class RunReport:
    target: str
    mode: str
    tests: list[TestRecord] = field(default_factory=list)

    def to_json(self) -> str:
        data = {"version": REPORT_VERSION, "target": self.target, "mode": self.mode}
        data["tests"] = [asdict(t) for t in self.tests]
        return json.dumps(data, indent=1, sort_keys=True)

    def write(self, path: Path) -> None:
        """Write atomically, so a reader never sees half a file."""
        path = Path(path)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)


class MalformedReport(ValueError):
    """A results file is missing, truncated, or not in the expected shape."""


def read_report(path: Path) -> RunReport:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("version") != REPORT_VERSION:
            raise MalformedReport(f"{path}: unknown report version {data.get('version')!r}")
        tests = [TestRecord(**{k: str(t[k]) for k in ("nodeid", "exercise", "status", "message")}) for t in data["tests"]]
        return RunReport(target=str(data["target"]), mode=str(data["mode"]), tests=tests)
    except MalformedReport:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise MalformedReport(f"{path}: unreadable results ({type(exc).__name__}: {exc})") from exc


def summarize(manifest: Manifest, tests: list[TestRecord]) -> list[ExerciseResult]:
    """One result per exercise that had tests in this run, in manifest order."""
    by_exercise: dict[str, list[TestRecord]] = {}
    for record in tests:
        by_exercise.setdefault(record.exercise, []).append(record)
    results = []
    for exercise in manifest.exercises:
        records = by_exercise.get(exercise.name)
        if not records:
            continue
        passed = sum(r.status == PASSED for r in records)
        unfinished = [r for r in records if r.status != PASSED]
        if not unfinished:
            status = DONE
        elif passed == 0 and all(r.status == NOT_STARTED for r in unfinished):
            status = NOT_STARTED_EXERCISE
        else:
            status = FAILING
        first = next((r for r in unfinished if r.status != NOT_STARTED), unfinished[0] if unfinished else None)
        results.append(ExerciseResult(exercise, status, passed, len(records), first))
    return results


def next_exercise(results: list[ExerciseResult]) -> ExerciseResult | None:
    """The first exercise, in learning order, that is not done."""
    return next((r for r in results if r.status != DONE), None)


# ---------------------------------------------------------------- rendering

WIDTH = 80
_COLOURS = {DONE: "32", FAILING: "31", NOT_STARTED_EXERCISE: "33"}
_MARKS = {DONE: "[x]", FAILING: "[!]", NOT_STARTED_EXERCISE: "[ ]"}


def use_colour(stream: object) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def _paint(text: str, status: str, colour: bool) -> str:
    return f"\033[{_COLOURS[status]}m{text}\033[0m" if colour else text


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def render_table(manifest: Manifest, results: list[ExerciseResult], mode: str, colour: bool = False) -> list[str]:
    """The progress table: grouped by stage, one line per exercise, then the totals."""
    lines = [f"Progress ({mode} mode)".center(WIDTH, "=")]
    stages = [s for s in manifest.stages if any(r.exercise.stage == s.name for r in results)]
    for stage in stages:
        lines.append(stage.title)
        for r in (r for r in results if r.exercise.stage == stage.name):
            if r.status == FAILING:
                detail = f"failing ({r.failing} of {r.total} tests)"
            else:
                detail = r.status
            left = f"  {_MARKS[r.status]} {r.exercise.name:<20} "
            desc = _clip(r.exercise.description, WIDTH - len(left) - len(detail) - 2)
            pad = " " * max(1, WIDTH - len(left) - len(desc) - len(detail))
            lines.append(left + desc + pad + _paint(detail, r.status, colour))
    done = sum(r.status == DONE for r in results)
    total = len(results)
    percent = 100 * done // total if total else 0
    points = sum(r.exercise.points for r in results if r.status == DONE)
    max_points = sum(r.exercise.points for r in results)
    lines.append(f"{done} of {total} exercises done ({percent}%), {points} of {max_points} points")
    return lines


def render_next_step(manifest: Manifest, result: ExerciseResult | None, verbose: bool = False) -> list[str]:
    """What to do next: the exercise, its description, its first hint, the first failure."""
    if result is None:
        return ["Every selected exercise passes. Well done!"]
    ex = result.exercise
    lines = [
        f"Next: {ex.name} in katas/{manifest.stage(ex.stage).module}.py - {ex.description}",
        f"Hint: {ex.hints[0]}",
    ]
    if result.first_failure is not None and result.first_failure.message:
        message = result.first_failure.message.strip()
        if not verbose:
            message = "\n".join(message.splitlines()[:8])
        lines.append("First failure: " + result.first_failure.nodeid)
        lines.extend("  " + line for line in message.splitlines())
    return lines

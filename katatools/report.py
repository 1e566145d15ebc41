"""Per-test results, per-exercise progress, and the progress table shared by pytest and `check`."""

from __future__ import annotations

import json
import os
import textwrap
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .manifest import Exercise, Manifest

# Statuses of one test.
PASSED = "passed"
FAILED = "failed"
NOT_STARTED = "not_started"  # the stub's NotImplementedError reached the test
ERROR = "error"  # setup failed (e.g. the module could not be imported)
TIMEOUT = "timeout"
COLLECTED = "collected"  # only in a --collect-only run's report: the test exists, it did not run

# Statuses of one exercise.
DONE = "done"
FAILING = "failing"
NOT_STARTED_EXERCISE = "not started"

REPORT_VERSION = 2  # JSON lines: a header, one line per test as it ends, an end mark


@dataclass
class TestRecord:
    nodeid: str
    exercise: str
    status: str
    message: str = ""
    duration: float = 0.0  # seconds of setup, call and teardown (the check balances its processes by it)
    sources: list[str] = field(default_factory=list)  # the kata files imported when it ended (verdicts.py)


@dataclass
class ExerciseResult:
    exercise: Exercise
    status: str
    passed: int
    total: int
    first_failure: TestRecord | None = None
    timed_out: bool = False  # at least one test ran out of time

    @property
    def failing(self) -> int:
        return self.total - self.passed


@dataclass
class RunReport:
    target: str
    mode: str
    tests: list[TestRecord] = field(default_factory=list)
    complete: bool = True  # False: the run was stopped before its end (only the tests that ended are here)

    def header(self) -> str:
        return json.dumps({"version": REPORT_VERSION, "target": self.target, "mode": self.mode}, sort_keys=True)

    def to_json(self) -> str:
        lines = [self.header()] + [json.dumps(asdict(t), sort_keys=True) for t in self.tests] + [END_LINE]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> None:
        """Write the whole report atomically, so a reader never sees half a file."""
        path = Path(path)
        tmp = path.with_name(path.name + ".partial")
        tmp.write_text(self.to_json(), encoding="utf-8", newline="\n")
        os.replace(tmp, path)


END_LINE = json.dumps({"end": True})


class ReportWriter:
    """The results file written as the run goes: the header first, then one line per test as soon
    as its result is final, flushed, then an end mark. A run killed half-way (the grader's wall
    limit) so leaves the results of every test that ended; ``read_report(partial=True)`` reads them."""

    def __init__(self, path: Path, target: str, mode: str) -> None:
        self.file = open(path, "w", encoding="utf-8", newline="\n")  # closed by finish()
        self._line(RunReport(target, mode).header())

    def _line(self, text: str) -> None:
        if not self.file.closed:
            self.file.write(text + "\n")
            self.file.flush()

    def add(self, record: TestRecord) -> None:
        self._line(json.dumps(asdict(record), sort_keys=True))

    def finish(self, records: list[TestRecord] = ()) -> None:
        for record in records:
            self.add(record)
        self._line(END_LINE)
        self.file.close()


class MalformedReport(ValueError):
    """A results file is missing, truncated, or not in the expected shape."""


def record_from(data: dict) -> TestRecord:
    """A TestRecord from its JSON form (``asdict``); KeyError, TypeError or ValueError if malformed."""
    return TestRecord(**{k: str(data[k]) for k in ("nodeid", "exercise", "status", "message")},
                      duration=float(data.get("duration", 0.0)),
                      sources=[str(source) for source in data.get("sources", [])])


def read_report(path: Path, partial: bool = False) -> RunReport:
    """A results file. Without its end mark it is malformed, unless ``partial``: then the tests it
    holds are returned (a last line cut short is dropped) with ``complete=False``. A test written
    twice keeps its last record, in its first place."""
    try:
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        head = json.loads(lines[0])
        if not isinstance(head, dict) or head.get("version") != REPORT_VERSION:
            version = head.get("version") if isinstance(head, dict) else None
            raise MalformedReport(f"{path}: unknown report version {version!r}")
        body = [line.strip() for line in lines[1:] if line.strip()]
        complete = bool(body) and body[-1] == END_LINE
        if complete:
            body = body[:-1]
        elif not partial:
            raise MalformedReport(f"{path}: the results end before the run's end mark (the run was stopped?)")
        records: dict[str, TestRecord] = {}
        for i, line in enumerate(body):
            try:
                data = json.loads(line)
            except ValueError:
                if not complete and i == len(body) - 1:
                    break  # the line being written when the run was stopped
                raise
            record = record_from(data)
            records[record.nodeid] = record
        return RunReport(str(head["target"]), str(head["mode"]), list(records.values()), complete)
    except MalformedReport:
        raise
    except (OSError, ValueError, KeyError, TypeError, AttributeError, IndexError) as exc:
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
        timed_out = any(r.status == TIMEOUT for r in records)
        results.append(ExerciseResult(exercise, status, passed, len(records), first, timed_out))
    return results


def next_exercise(results: list[ExerciseResult]) -> ExerciseResult | None:
    """The first exercise, in learning order, that is not done."""
    return next((r for r in results if r.status != DONE), None)


# ---------------------------------------------------------------- rendering
# One renderer for the end of a plain pytest run (plugin.py) and for `check`, so both show
# the same table and the same next step. Every line fits WIDTH columns and reads without colour,
# except a test id longer than that: it stands alone on its line, whole, to be copied.

WIDTH = 100
_COLOURS = {DONE: "32", FAILING: "31", NOT_STARTED_EXERCISE: "33"}
_MARKS = {DONE: "[x]", FAILING: "[!]", NOT_STARTED_EXERCISE: "[ ]"}
MODE_NOTES = {
    "cumulative": "each stage on your own earlier stages",
    "isolated": "each stage on the reference's earlier stages",
}
MESSAGE_LINES = 8  # lines of the first failure's message shown without --verbose


def use_colour(stream: object) -> bool:
    """Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org)."""
    if os.environ.get("NO_COLOR"):
        return False
    return bool(getattr(stream, "isatty", lambda: False)())


def check_command() -> str:
    """How the learner runs the check from here: through nox when nox started us, else python."""
    return "nox -s check --" if os.environ.get("NOX_CURRENT_SESSION") else "python -m katatools check"


def _paint(text: str, status: str, colour: bool) -> str:
    return f"\033[{_COLOURS[status]}m{text}\033[0m" if colour else text


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def wrap_line(line: str, width: int = WIDTH) -> list[str]:
    """Wrap one line to ``width`` between words, continuing under its own indentation (plus two spaces).

    A word is never broken: one longer than the line (a test id, a path) gets a line of its own.
    """
    if len(line) <= width:
        return [line]
    indent = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(line.strip(), width, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_long_words=False, break_on_hyphens=False) or [line]


def _status_text(r: ExerciseResult) -> str:
    if r.status != FAILING:
        return r.status
    return f"failing {r.failing} of {r.total}{', timed out' if r.timed_out else ''}"


def render_table(manifest: Manifest, results: list[ExerciseResult], mode: str, colour: bool = False) -> list[str]:
    """The progress table: grouped by stage, one line per exercise, then the totals."""
    note = MODE_NOTES.get(mode)
    lines = [f" Progress ({mode} mode{': ' + note if note else ''}) ".center(WIDTH, "=")]
    name_width = max((len(r.exercise.name) for r in results), default=0)
    status_width = max((len(_status_text(r)) for r in results), default=0)
    # The manifest keeps descriptions short enough (MAX_DESCRIPTION) to fit whole beside any status;
    # clipping is only the last resort of an unforeseen width.
    desc_width = WIDTH - (2 + 3 + 1 + name_width + 2 + status_width + 2)
    for stage in manifest.stages:
        rows = [r for r in results if r.exercise.stage == stage.name]
        if not rows:
            continue
        lines.append(_clip(stage.title, WIDTH))
        for r in rows:
            status = _status_text(r)
            row = f"  {_paint(_MARKS[r.status], r.status, colour)} {r.exercise.name:<{name_width}}  "
            row += _paint(status, r.status, colour)
            if desc_width >= 12:
                row += " " * (status_width - len(status) + 2) + _clip(r.exercise.description, desc_width)
            lines.append(row.rstrip())
    done = sum(r.status == DONE for r in results)
    total = len(results)
    percent = 100 * done // total if total else 0
    points = sum(r.exercise.points for r in results if r.status == DONE)
    max_points = sum(r.exercise.points for r in results)
    lines.append(f"{done} of {total} exercises done ({percent}%), {points} of {max_points} points")
    return lines


def render_next_step(
    manifest: Manifest, result: ExerciseResult | None, verbose: bool = False, command: str | None = None
) -> list[str]:
    """What to do next: the exercise, its description, its first hint, the first failure.

    ``command`` is how the learner runs the check (for the "more hints" line); None omits it.
    """
    if result is None:
        return ["Every selected exercise passes. Well done!"]
    ex = result.exercise
    lines = [
        f"Next: {ex.name}, in {' and '.join(f'katas/{m}.py' for m in manifest.exercise_modules(ex))}",
        f"  {ex.description}",
        *_hint_lines(ex, command),
    ]
    return [wrapped for line in lines for wrapped in wrap_line(line)] + _failure_lines(result, verbose)


def _hint_lines(ex: Exercise, command: str | None) -> list[str]:
    lines = [f"Hint 1 of {len(ex.hints)}: {ex.hints[0]}"]
    if command:
        lines.append(f"  (next hint: {command} --hint {ex.name} --level 2)")
    return lines


def _failure_lines(result: ExerciseResult, verbose: bool) -> list[str]:
    """The first failing test: its id on a line of its own (whole, to be copied), then its message."""
    failure = result.first_failure
    if failure is None or not failure.message:
        return []
    message = failure.message.strip().splitlines()
    if not verbose and len(message) > MESSAGE_LINES:
        message = message[:MESSAGE_LINES] + ["..."]
    lines = ["First failing test:", "  " + failure.nodeid]
    return lines + [wrapped for line in message for wrapped in wrap_line("  " + line)]


def render_verdict(manifest: Manifest, result: ExerciseResult, colour: bool = False, verbose: bool = False,
                   command: str | None = None) -> list[str]:
    """One exercise's verdict on its own (watch prints it first): its status, and unless it is
    done, its first hint and its first failing test."""
    ex = result.exercise
    status = f"{ex.name}: {_status_text(result)}" + (f" ({result.total} tests)" if result.status == DONE else "")
    lines = [f"{_paint(_MARKS[result.status], result.status, colour)} {status}"]
    if result.status == DONE:
        return lines
    lines += [f"  in katas/{manifest.stage(ex.stage).module}.py: {ex.description}",
              *("  " + line for line in _hint_lines(ex, command))]
    return [wrapped for line in lines for wrapped in wrap_line(line)] + _failure_lines(result, verbose)


def render_tips(results: list[ExerciseResult], mode: str, command: str | None) -> list[str]:
    """A pointer to isolated mode when a later stage cannot run because of an earlier one."""
    upcoming = next_exercise(results)
    if mode != "cumulative" or upcoming is None or not command:
        return []
    blocked = [r for r in results if r.exercise.index > upcoming.exercise.index and r.exercise.stage != upcoming.exercise.stage
               and r.first_failure is not None and r.first_failure.status == ERROR]
    if not blocked:
        return []
    return wrap_line(f"Tip: later stages could not run on your earlier ones; `{command} --isolated` runs each "
                 "stage on the reference's earlier stages instead.")


def render_progress(manifest: Manifest, tests: list[TestRecord], mode: str, colour: bool = False,
                    verbose: bool = False, command: str | None = None) -> list[str]:
    """The whole end-of-run report: the table, then the next step (and a tip when one applies)."""
    results = summarize(manifest, tests)
    lines = render_table(manifest, results, mode, colour)
    lines.append("")
    lines.extend(render_next_step(manifest, next_exercise(results), verbose, command))
    lines.extend(render_tips(results, mode, command))
    return lines

"""Graded submissions built by hand, as the grader builds them, for tests of the class report that
need no grading: per exercise, one status for all its tests or one per test."""

from __future__ import annotations

from pathlib import Path

from learner_repo import MANIFEST

from katatools import report as results
from katatools.grading.gradebook import Graded, StageOutcome
from katatools.grading.submissions import Submission
from katatools.manifest import Stage

MODE = "isolated"
TESTS_PER_EXERCISE = 3
NO_RESULT = "no result: not reported"  # what the grader records for a test that never reported


def node_ids(stage: Stage, exercise: str) -> list[str]:
    return [f"{stage.tests}::test_{exercise}_{i}" for i in range(TESTS_PER_EXERCISE)]


def stage_outcome(stage: Stage, problem: str = "", default: str = results.PASSED,
                  **statuses: list[str] | str) -> StageOutcome:
    """A stage's outcome: per exercise, one status for all its tests or a status per test
    (``default`` for the exercises not named); an error's message is the grader's "no result"."""
    records = []
    for exercise in MANIFEST.exercises_of(stage.name):
        given = statuses.get(exercise.name, default)
        per_test = [given] * TESTS_PER_EXERCISE if isinstance(given, str) else given
        for nodeid, status in zip(node_ids(stage, exercise.name), per_test, strict=True):
            message = NO_RESULT if status == results.ERROR else "" if status == results.PASSED else f"{status} here"
            records.append(results.TestRecord(nodeid, exercise.name, status, message))
    return StageOutcome(stage, MODE, results.summarize(MANIFEST, records), problem, records)


def submission(sid: str, *outcomes: StageOutcome, problem: str = "") -> Graded:
    graded = Graded(Submission(sid, Path(sid), problem=problem), (MODE,))
    graded.outcomes = list(outcomes)
    return graded

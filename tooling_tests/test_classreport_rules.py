"""The class report's counting rules and its mistake runs, on classes built by hand (no grading).

Each submission is a ``Graded`` made of ``StageOutcome`` objects as the grader builds them: a
refused one (``Submission.problem``), stages that could not run (an import error, the wall limit),
a stage whose only problem is a slow test, learners who slipped. The known mistakes' signatures
come from a stub in place of the grader's stage runs, so the rules are checked in milliseconds.
"""

from __future__ import annotations

import re

import pytest
from hand_graded import MODE, NO_RESULT, TESTS_PER_EXERCISE, node_ids, stage_outcome, submission
from learner_repo import MANIFEST

from katatools import report as results
from katatools.grading.classreport import mistake_groups, page, summarize_class, write_report
from katatools.manifest import ROOT, Stage
from katatools.mistakes import load_corpus

TANGENTS = MANIFEST.stage("tangents")
SECOND_ORDER = MANIFEST.stage("second_order")
EXERCISES = MANIFEST.exercises_of(TANGENTS.name)
CORPUS = load_corpus(ROOT / "mistakes", MANIFEST, ROOT / "solutions")
REFERENCE = ROOT / "solutions"
ARRAYS = node_ids(TANGENTS, "arrays")


WALL = "stopped at the wall limit: its tests did not all finish"
CLASS = [
    submission("ref", stage_outcome(TANGENTS)),
    submission("slip", stage_outcome(TANGENTS, arrays=[results.FAILED, results.FAILED, results.PASSED])),
    submission("slip-2", stage_outcome(TANGENTS, arrays=[results.FAILED, results.FAILED, results.PASSED])),
    submission("novel", stage_outcome(TANGENTS, arrays=[results.PASSED, results.PASSED, results.FAILED])),
    submission("stub", stage_outcome(TANGENTS, default=results.NOT_STARTED)),
    # no kata modules: the grader gives every stage only "no result" records, and no stage problem
    submission("refused", stage_outcome(TANGENTS, default=results.ERROR), problem="no kata modules found"),
    submission("broken", stage_outcome(TANGENTS, "[tangents] cannot import katas/variable.py: SyntaxError",
                                       default=results.ERROR)),
    # stopped at the wall limit: arrays had passed (it keeps its points), reductions was half-way
    submission("walled", stage_outcome(TANGENTS, WALL, default=results.ERROR, arrays=results.PASSED,
                                       reductions=[results.PASSED, results.ERROR, results.ERROR])),
    # a test ran out of time: the stage ran normally, arrays is failing (every test of it stopped)
    submission("slow", stage_outcome(TANGENTS, "timed out (more than 30 s for a test) in arrays",
                                     arrays=results.TIMEOUT)),
]
# Stubbed signatures: two arrays mistakes whose failing tests are those of slip and of slow (and of
# refused and broken, who must still match nothing); every other mistake a set nobody fails.
SIGNATURES = {"add_not_lined_up": tuple(ARRAYS[:2]), "exp_with_math_on_arrays": tuple(ARRAYS)}


def stub_signature(calls: list[str]):
    def signature(mistake) -> tuple[str, ...]:
        calls.append(mistake.name)
        return SIGNATURES.get(mistake.name, (f"never-{mistake.name}",))
    return signature


def cells(html: str, exercise: str) -> dict[str, str]:
    row = re.search(rf'<tr data-exercise="{exercise}">(.*?)</tr>', html, re.S)
    assert row, f"no row for {exercise} in the exercises table"
    return dict(re.findall(r'data-key="([\w-]+)">([^<]*)<', row.group(1)))


def mistake_rows(html: str) -> list[tuple[str, str, int]]:
    """(exercise, mistakes, matches) of every row of the known-mistakes table."""
    table = html[html.index('<table id="mistakes">'):]
    table = table[: table.index("</table>")]
    return [(exercise, names, int(matches)) for exercise, names, matches in re.findall(
        r'<tr data-exercise="([^"]*)" data-mistakes="([^"]*)">.*?data-key="matches">(\d+)<', table)]


def summary(html: str) -> dict[str, str]:
    text = html[html.index('<p id="summary">'):]
    return dict(re.findall(r'data-key="([\w-]+)">([^<]*)<', text[: text.index("</p>")]))


def test_each_exercise_is_done_failing_not_started_or_could_not_run():
    summaries = summarize_class(CLASS, EXERCISES, MODE)
    got = {name: (s.done, s.failing, s.not_started, s.could_not_run) for name, s in summaries.items()}
    # done, failing, not started, could not run; refused is in none of them
    assert got == {"arrays": (2, 4, 1, 1),  # ref, walled | slip, slip-2, novel, slow | stub | broken
                   "reductions": (5, 0, 1, 2),  # ..., slow | - | stub | broken, walled (half-way)
                   "jvp": (5, 0, 1, 2), "gradient": (5, 0, 1, 2)}, got
    assert {s.total for s in summaries.values()} == {len(CLASS) - 1}


def test_only_what_ran_and_failed_has_a_first_failure_and_is_matched():
    calls: list[str] = []
    summaries = summarize_class(CLASS, EXERCISES, MODE)
    groups = mistake_groups(summaries, stub_signature(calls), jobs=1)
    assert set(calls) == {m.name for m in CORPUS.mistakes if m.exercise == "arrays"}, \
        f"only arrays is failing, so only its mistakes should run; ran {sorted(calls)}"
    html = page(CLASS, EXERCISES, MODE, groups)
    assert mistake_rows(html) == [("arrays", "add_not_lined_up", 2),  # slip, slip-2
                                  ("arrays", "exp_with_math_on_arrays", 1),  # slow, not refused nor broken
                                  ("arrays", "", 1)], mistake_rows(html)  # novel: no known mistake
    row = cells(html, "arrays")
    assert (row["done"], row["failing"], row["not-started"], row["could-not-run"], row["pass-rate"]) == \
        ("2", "4", "1", "1", "25%"), row
    assert row["first-failure-count"] == "3" and ARRAYS[0] in html, row  # slip, slip-2, slow; of 4
    assert NO_RESULT not in html


def test_the_summary_counts_refused_and_could_not_run_apart():
    html = page(CLASS, EXERCISES, MODE, {})
    totals = {g.submission.id: g.total(MODE) for g in CLASS if not g.submission.problem}
    assert summary(html) == {"submissions": "9", "refused": "1", "graded": "8", "could-not-run": "2",
                             "maximum": str(sum(e.points for e in EXERCISES)),
                             "mean": f"{sum(totals.values()) / len(totals):.1f}", "median": "8"}, summary(html)
    histogram = html[html.index('<figure id="histogram">'):html.index("</figure>")]
    drawn = sum(int(n) for n in re.findall(r'data-count="(\d+)"', histogram))
    assert drawn == 8, f"the histogram should draw the 8 graded submissions, drew {drawn}"


def test_a_class_where_nobody_could_be_graded_still_has_a_report():
    html = page([g for g in CLASS if g.submission.id == "refused"], EXERCISES, MODE, {})
    assert summary(html)["refused"] == "1" and "No submission could be graded" in html


class RecordingGrader:
    """The grader's side of write_report: which modules each mistake ran with."""

    def __init__(self, stages: list[Stage]) -> None:
        self.modes = (MODE,)
        self.exercises = [e for s in stages for e in MANIFEST.exercises_of(s.name)]
        self.runs: dict[str, set[str]] = {}

    def failing_tests(self, modules: dict[str, bytes], stage: Stage, exercise: str) -> list[str]:
        changed = {name for name, source in modules.items() if (REFERENCE / name).read_bytes() != source}
        self.runs[f"{stage.name}/{exercise}/{len(self.runs)}"] = changed
        return []


@pytest.mark.parametrize("exercise, stage", [("arrays", TANGENTS), ("nested", SECOND_ORDER)])
def test_each_patch_of_a_mistake_is_applied_to_its_own_module(tmp_path, exercise, stage):
    """Mistakes of arrays and nested patch variable.py and primitives.py, not their stage's module."""
    failing = stage_outcome(stage, **{exercise: [results.FAILED] * TESTS_PER_EXERCISE})
    grader = RecordingGrader([stage])
    write_report(tmp_path / "report.html", grader, [submission("slip", failing)], jobs=2)
    assert (tmp_path / "report.html").is_file()
    expected = sorted(sorted({f"{p.module or stage.module}.py" for p in m.patches})
                      for m in CORPUS.mistakes if m.exercise == exercise)
    assert sorted(sorted(changed) for changed in grader.runs.values()) == expected
    assert any(changed != {f"{stage.module}.py"} for changed in grader.runs.values())  # the case at stake

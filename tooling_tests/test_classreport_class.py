"""The class report of a class that fails stages 5 and 7, graded on those two stages only.

The class: the reference; the reference with a known arrays mistake patched into variable.py and
one with a known nested mistake patched into primitives.py (their mistakes live outside their
stage's module: the report must apply each patch to its own module); a folder without kata
modules (refused); the pristine stubs; and the reference with a variable.py that does not parse
(the exercises whose runs take it cannot run; the others run on the reference's). And what a failing report does to the grading: the
gradebook, the results and the summary stay, the error comes after them.
"""

from __future__ import annotations

import csv
import re
import subprocess
import sys

import pytest
from learner_repo import MANIFEST, stubs_dir

from katatools.manifest import ROOT
from katatools.mistakes import load_corpus, patched_sources

pytestmark = pytest.mark.slow  # minutes: a proof end to end (nox -s proofs runs it)

STAGES = [MANIFEST.stage("tangents"), MANIFEST.stage("second_order")]
EXERCISES = [e for s in STAGES for e in MANIFEST.exercises_of(s.name)]
CORPUS = load_corpus(ROOT / "mistakes", MANIFEST, ROOT / "solutions")
SLIPS = {"arrays_slip": "tangent_axis_broadcast_the_wrong_way",  # arrays, in variable.py
         "nested_slip": "relu_step_one_level_down"}  # nested, in primitives.py
GRADED = ["arrays_slip", "nested_slip", "reference", "stubs", "unparseable"]


def mistake(name: str):
    return next(m for m in CORPUS.mistakes if m.name == name)


def reference_modules() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((ROOT / "solutions").glob("*.py")) if p.name != "__init__.py"}


def write_class(folder) -> None:
    ref = reference_modules()
    made = {"reference": ref, "unparseable": {**ref, "variable.py": ref["variable.py"] + "\ndef broken(:\n"}}
    for sid, name in SLIPS.items():
        made[sid] = {**ref, **patched_sources(mistake(name), ROOT / "solutions")}
    for sid, modules in made.items():
        (folder / sid).mkdir(parents=True)
        for file_name, text in modules.items():
            (folder / sid / file_name).write_text(text)
    stubs_dir(folder / "stubs")
    (folder / "refused").mkdir()
    (folder / "refused" / "README.txt").write_text("my homework is in my other folder\n")


def grade(folder, out, *extra: str, prelude: str = "") -> subprocess.CompletedProcess:
    """``python -m katatools grade`` on the two stages, output and errors in one stream, in order."""
    args = [str(folder), "--out", str(out), *[f"--stage={s.name}" for s in STAGES], "--jobs=2",
            "--test-timeout=60", *extra]
    code = f"import sys\n{prelude}\nfrom katatools.grading.grade import main\nsys.exit(main({args!r}))\n"
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=900)


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class57")
    write_class(root / "subs")
    done = grade(root / "subs", root / "grades")
    assert done.returncode == 0, done.stdout
    assert (root / "grades" / "report.html").is_file(), done.stdout
    with open(root / "grades" / "gradebook.csv", newline="") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    return {"rows": rows, "html": (root / "grades" / "report.html").read_text(), "stdout": done.stdout,
            "subs": root / "subs"}


def data_keys(fragment: str) -> dict[str, str]:
    return dict(re.findall(r'data-key="([\w-]+)">([^<]*)<', fragment))


def exercise_cells(html: str, exercise: str) -> dict[str, str]:
    row = re.search(rf'<tr data-exercise="{exercise}"><td>.*?</tr>', html, re.S)
    assert row, f"no row for {exercise} in the exercises table"
    return data_keys(row.group(0))


def mistake_rows(html: str) -> list[tuple[str, str, int]]:
    table = html[html.index('<table id="mistakes">'):]
    table = table[: table.index("</table>")]
    return [(exercise, names, int(n)) for exercise, names, n in re.findall(
        r'<tr data-exercise="([^"]*)" data-mistakes="([^"]*)">.*?data-key="matches">(\d+)<', table)]


def test_the_summary_counts_the_refused_and_the_stage_that_could_not_run(graded_class):
    rows = graded_class["rows"]
    assert sorted(rows) == sorted(GRADED + ["refused"])
    assert "no kata modules" in rows["refused"]["notes"] and "SyntaxError" in rows["unparseable"]["notes"]
    summary = data_keys(graded_class["html"][graded_class["html"].index('<p id="summary">'):].split("</p>")[0])
    assert (summary["submissions"], summary["refused"], summary["graded"], summary["could-not-run"]) == \
        ("6", "1", "5", "1"), summary
    totals = [int(rows[sid]["total"]) for sid in GRADED]
    assert float(summary["mean"]) == pytest.approx(sum(totals) / len(totals), abs=0.05)


@pytest.mark.parametrize("exercise", [e.name for e in EXERCISES])
def test_each_exercise_counts_each_graded_submission_once_in_its_column(graded_class, exercise):
    """stubs is not started; unparseable could not run where the exercise's run takes its variable.py (isolated
    mode grades jvp on the reference's, where it is done); done and failing are the gradebook's."""
    rows, points = graded_class["rows"], next(e.points for e in EXERCISES if e.name == exercise)
    done = sum(int(rows[sid][exercise]) == points for sid in GRADED)
    failing = sum(int(rows[sid][exercise]) != points for sid in ("arrays_slip", "nested_slip", "reference"))
    stage = MANIFEST.stage(MANIFEST.exercise(exercise).stage)
    could_not_run = "1" if "variable" in MANIFEST.learner_modules(stage, [exercise]) else "0"
    assert could_not_run == "1" or int(rows["unparseable"][exercise]) == points, rows["unparseable"]
    cells = exercise_cells(graded_class["html"], exercise)
    assert (cells["done"], cells["failing"], cells["not-started"], cells["could-not-run"]) == \
        (str(done), str(failing), "1", could_not_run), cells
    assert cells["pass-rate"] == f"{100 * done / len(GRADED):.0f}%"


def test_each_slip_matches_its_own_mistake_and_only_matched_mistakes_are_listed(graded_class):
    rows, html = graded_class["rows"], graded_class["html"]
    listed = mistake_rows(html)
    for sid, name in SLIPS.items():
        exercise = mistake(name).exercise
        assert int(rows[sid][exercise]) == 0, rows[sid]
        own = [r for r in listed if name in r[1].split()]
        assert own and own[0][0] == exercise and own[0][2] == 1, f"{name} should match {sid} only: {listed}"
    failing = {e.name: int(exercise_cells(html, e.name)["failing"]) for e in EXERCISES}
    assert {r[0] for r in listed} == {name for name, n in failing.items() if n}, listed
    for exercise, n in failing.items():
        own = [r for r in listed if r[0] == exercise]
        assert [r for r in own if not r[1]] == own[-1:] or not n, f"{exercise}: one 'no known mistake' row, last"
        assert all(r[2] >= 1 for r in own if r[1]), f"a listed mistake matches nobody: {own}"
        assert sum(r[2] for r in own) == n, f"{exercise}: rows add up to {sum(r[2] for r in own)}, not {n}"
    messages = re.findall(r'<div class="message">(.*?)</div>', html)
    assert messages and not [m for m in messages if m.startswith("no result")], messages  # refused's, before


def test_a_failing_report_keeps_the_grades_and_says_so_after_them(tmp_path):
    """The summary first, then the error naming report.html and its cause; exit code 3."""
    subs = tmp_path / "subs"
    stubs_dir(subs / "stubs")
    out = tmp_path / "grades"
    out.mkdir()
    (out / "report.html").write_text("an older grading's report")
    boom = ("import katatools.grading.classreport as report\n"
            "def write_report(*args, **kwargs):\n    raise RuntimeError('the report broke here')\n"
            "report.write_report = write_report")
    done = grade(subs, out, prelude=boom)
    assert done.returncode == 3, done.stdout
    assert (out / "gradebook.csv").is_file() and (out / "stubs" / "results.json").is_file()
    assert not (out / "report.html").exists(), "an older report must not pass for this grading's"
    lines = done.stdout.splitlines()
    summary = next(i for i, line in enumerate(lines) if line.startswith("stubs "))
    error = next(i for i, line in enumerate(lines) if line.startswith("grade: error:"))
    assert summary < error == len(lines) - 1, done.stdout
    assert "report.html" in lines[error] and "RuntimeError: the report broke here" in lines[error], lines[error]

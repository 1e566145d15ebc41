"""The class report (katatools/grading/classreport.py), rendered by a real browser and checked against the gradebook.

A small class is graded on the first stage: the reference, the stubs, two submissions making one
known mistake of pow_variable, one making another, and one with a slip no mistake of mistakes/
describes (pow_variable is the stage's last exercise: no other exercise fails with it, so only its
mistakes need running).
The report is opened in the system's headless Chromium, driven by Playwright (its own browser
downloads are not used): its figures must be drawn (bars of the sizes their numbers say) and its
numbers must be those of gradebook.csv and of how the class was built. A class of 300, built by
hand (hand_graded.py), is drawn too: no two labels of a figure may overlap, in a wide window or
a narrow one.
"""

from __future__ import annotations

import csv
import json
import os
import random
import shutil
import subprocess
import sys

import pytest
from hand_graded import stage_outcome, submission
from learner_repo import MANIFEST, reference, stub_bytes

from katatools import report as results
from katatools.grading import classreport
from katatools.manifest import ROOT
from katatools.mistakes import load_corpus
from katatools.patching import Patch, apply_patches

FIRST = MANIFEST.stages[0]
EXERCISES = MANIFEST.exercises_of(FIRST.name)
CORPUS = load_corpus(ROOT / "mistakes", MANIFEST, ROOT / "solutions")
SLIPPED = "pow_variable"
# Two known mistakes of different code paths (a ** b and number ** b): the tests tell them apart.
MISTAKES = [next(m for m in CORPUS.mistakes if m.name == name)
            for name in ("pow_variable_drops_log_term", "rpow_operands_reversed")]
NOVEL_FIND = "grad = grad + value * log_base * other.grad"  # the a^b ln(a) b' term...
NOVEL_REPLACE = "grad = grad + value * log_base * other.grad if self.value > 1 else grad"  # ...dropped for a <= 1


def chromium() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def graded_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("class")
    subs = root / "subs"
    source = reference(FIRST.module)
    made = {"ann": source, "bob": stub_bytes(FIRST.module).decode(),
            "cid": apply_patches(source, MISTAKES[0].patches), "dee": apply_patches(source, MISTAKES[0].patches),
            "eve": apply_patches(source, MISTAKES[1].patches),
            "fay": apply_patches(source, (Patch(NOVEL_FIND, NOVEL_REPLACE),))}
    for name, text in made.items():
        (subs / name).mkdir(parents=True)
        (subs / name / f"{FIRST.module}.py").write_text(text)
    command = [sys.executable, "-m", "katatools", "grade", str(subs), "--out", str(root / "grades"),
               f"--stage={FIRST.name}", "--jobs=2", "--test-timeout=60"]
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(root / "grades" / "gradebook.csv", newline="") as f:
        rows = {row["id"]: row for row in csv.DictReader(f)}
    return {"grades": root / "grades", "rows": rows, "html": (root / "grades" / "report.html").read_text()}


@pytest.fixture(scope="module")
def browser():
    """The system's headless Chromium."""
    browser_path = chromium()
    if browser_path is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs chromium (.ci/run): the report must be rendered by a real browser")
        pytest.skip("no chromium on this machine (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=browser_path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="module")
def page(graded_class, browser):
    """The report open in headless Chromium; the URLs it asked for."""
    tab = browser.new_page(viewport={"width": 1100, "height": 900})
    requested: list[str] = []
    tab.on("request", lambda request: requested.append(request.url))
    url = (graded_class["grades"] / "report.html").as_uri()
    tab.goto(url)
    tab.screenshot(path=str(graded_class["grades"] / "report.png"), full_page=True)
    yield {"tab": tab, "requested": requested, "url": url}
    tab.close()


@pytest.mark.slow
def test_the_report_is_one_self_contained_file(graded_class, page):
    assert page["requested"] == [page["url"]]  # no stylesheet, script, image or font fetched
    text = graded_class["html"]
    assert "<script" not in text and "<link" not in text and "src=" not in text


def test_the_histogram_counts_the_gradebooks_totals_and_draws_them(graded_class, page):
    totals = [int(row["total"]) for row in graded_class["rows"].values()]
    maximum = int(next(iter(graded_class["rows"].values()))["maximum"])
    bars = page["tab"].eval_on_selector_all("#histogram rect.bar", """bars => bars.map(b => ({
        low: +b.dataset.low, high: +b.dataset.high, count: +b.dataset.count,
        height: b.getBoundingClientRect().height}))""")
    assert bars[0]["low"] == 0 and bars[-1]["high"] == maximum
    assert all(a["high"] + 1 == b["low"] for a, b in zip(bars, bars[1:], strict=False))  # the bins cover every score once
    for bar in bars:
        assert bar["count"] == sum(bar["low"] <= t <= bar["high"] for t in totals), bar
    tallest = max(bars, key=lambda b: b["count"])
    assert tallest["height"] > 50
    for bar in bars:  # drawn to scale
        assert bar["height"] == pytest.approx(tallest["height"] * bar["count"] / tallest["count"], abs=0.6)
    summary = page["tab"].eval_on_selector_all("#summary [data-key]", "s => s.map(x => [x.dataset.key, x.textContent])")
    assert dict(summary)["submissions"] == str(len(totals))
    assert float(dict(summary)["mean"]) == pytest.approx(sum(totals) / len(totals), abs=0.05)


def test_the_pass_rates_are_the_gradebooks_and_drawn_to_scale(graded_class, page):
    rows = list(graded_class["rows"].values())
    rates = page["tab"].eval_on_selector_all("#pass-rates rect.rate", """bars => bars.map(b => ({
        exercise: b.dataset.exercise, done: +b.dataset.done, total: +b.dataset.total,
        width: b.getBoundingClientRect().width,
        full: b.previousElementSibling.getBoundingClientRect().width}))""")
    assert [r["exercise"] for r in rates] == [e.name for e in EXERCISES]
    for rate, exercise in zip(rates, EXERCISES, strict=True):
        done = sum(int(row[exercise.name]) == exercise.points for row in rows)
        assert (rate["done"], rate["total"]) == (done, len(rows)), rate
        assert rate["width"] == pytest.approx(rate["full"] * done / len(rows), abs=0.6)
        cells = page["tab"].eval_on_selector_all(f'#exercises tr[data-exercise="{exercise.name}"] td[data-key]',
                                                 "c => c.map(x => [x.dataset.key, x.innerText])")
        assert dict(cells)["done"] == str(done)
        assert dict(cells)["pass-rate"] == f"{100 * done / len(rows):.0f}%"


def test_the_most_common_first_failure_is_the_one_the_results_name(graded_class, page):
    """cid and dee make the same mistake: their first failing test of the exercise is the most common one."""
    firsts = []
    for sid in ("cid", "dee"):
        results = json.loads((graded_class["grades"] / sid / "results.json").read_text())
        output = next(t["output"] for t in results["tests"] if t["extra_data"]["exercise"] == SLIPPED)
        firsts.append(next(line.split(": ", 1)[1] for line in output.splitlines() if line.startswith("first failure: ")))
    assert firsts[0] == firsts[1]
    cell = page["tab"].inner_text(f'#exercises tr[data-exercise="{SLIPPED}"] td:last-child')
    assert firsts[0] in cell and "of 4" in cell, cell  # cid, dee, eve and fay fail it


def test_failing_submissions_are_matched_to_the_known_mistakes_they_make(page):
    rows = page["tab"].eval_on_selector_all("#mistakes tr[data-exercise]", """rows => rows.map(r => ({
        exercise: r.dataset.exercise, mistakes: r.dataset.mistakes.split(' ').filter(Boolean),
        matches: +r.querySelector('[data-key=matches]').textContent}))""")

    def matches(exercise: str, mistake: str | None) -> int:
        found = [r for r in rows if r["exercise"] == exercise and
                 ((mistake in r["mistakes"]) if mistake else not r["mistakes"])]
        assert len(found) == 1, (exercise, mistake, rows)
        return found[0]["matches"]

    assert matches(SLIPPED, MISTAKES[0].name) == 2
    assert matches(SLIPPED, MISTAKES[1].name) == 1
    assert matches(SLIPPED, None) == 1  # fay's slip is no known mistake
    assert {r["exercise"] for r in rows} == {SLIPPED}  # no other exercise failed


# ---------------------------------------------------------------- a class of 300, drawn


def class_of_300() -> list:
    """300 submissions across every stage (no grading): 120 with full marks (a count of three
    digits), 30 not started, 150 with a seeded random half of the exercises done; and 5 refused."""
    chooser = random.Random(300)
    stages = [s for s in MANIFEST.stages if MANIFEST.exercises_of(s.name)]

    def learner(sid: str, done) -> object:
        return submission(sid, *[stage_outcome(s, default=results.FAILED,
                                               **{e.name: results.PASSED for e in MANIFEST.exercises_of(s.name)
                                                  if done(e)}) for s in stages])
    made = [learner(f"full-{i}", lambda e: True) for i in range(120)]
    made += [learner(f"none-{i}", lambda e: False) for i in range(30)]
    made += [learner(f"half-{i}", lambda e: chooser.random() < 0.5) for i in range(150)]
    made += [submission(f"refused-{i}", problem="no kata modules found") for i in range(5)]
    return made


def overlaps(boxes: list[dict]) -> list[tuple[str, str]]:
    """The pairs of labels whose boxes overlap (by more than a rounding's half pixel)."""
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            wide = min(a["x"] + a["width"], b["x"] + b["width"]) - max(a["x"], b["x"])
            high = min(a["y"] + a["height"], b["y"] + b["height"]) - max(a["y"], b["y"])
            if wide > 0.5 and high > 0.5:
                found.append((a["text"], b["text"]))
    return found


BOXES = """svg => { const frame = svg.getBoundingClientRect();
    return { frame: {x: frame.x, y: frame.y, width: frame.width, height: frame.height},
             labels: [...svg.querySelectorAll('text')].map(t => { const r = t.getBoundingClientRect();
                 return {text: t.textContent, x: r.x, y: r.y, width: r.width, height: r.height}; }) }; }"""


@pytest.mark.parametrize("width", [1100, 560])
def test_the_histogram_of_300_submissions_has_no_overlapping_labels(tmp_path, browser, width):
    graded = class_of_300()
    path = tmp_path / "report.html"
    path.write_text(classreport.page(graded, MANIFEST.exercises, "isolated", {}), encoding="utf-8")
    tab = browser.new_page(viewport={"width": width, "height": 900})
    try:
        tab.goto(path.as_uri())
        tab.screenshot(path=str(tmp_path / "report.png"), full_page=True)
        counts = tab.eval_on_selector_all("#histogram rect.bar", "bars => bars.map(b => +b.dataset.count)")
        assert sum(counts) == 300 and max(counts) == 120, counts  # the refused are not drawn
        for figure in ("#histogram svg", "#pass-rates svg"):
            drawn = tab.eval_on_selector(figure, BOXES)
            frame, labels = drawn["frame"], drawn["labels"]
            assert len(labels) > 20, labels
            assert overlaps(labels) == [], f"{figure} at {width} px: these labels overlap"
            outside = [t["text"] for t in labels if t["x"] < frame["x"] - 0.5 or t["y"] < frame["y"] - 0.5
                       or t["x"] + t["width"] > frame["x"] + frame["width"] + 0.5
                       or t["y"] + t["height"] > frame["y"] + frame["height"] + 0.5]
            assert outside == [], f"{figure} at {width} px: labels cut off at the figure's edge"
            assert frame["x"] + frame["width"] <= width, f"{figure} is wider than the window"
    finally:
        tab.close()

"""The class at a glance: ``grades/report.html``, written by every grading (``--no-report`` skips it).

One self-contained HTML file (styles and figures inline: SVG, no script, nothing fetched), with,
in the scored mode:

- a summary: submissions, how many were refused, the mean and median score of the graded ones,
  how many had exercises that could not run; and the histogram of the graded ones' scores;
- each exercise's pass rate (done / graded submissions), as a figure and in a table with how many
  are done, failing, not started, and could not run;
- each exercise's most common first failure: of the submissions failing it, the test that most
  often fails first, with how many fail first there;
- how many failing submissions match each known mistake of ``mistakes/`` (only the mistakes some
  submission matches are listed).

**What is counted where.** A *refused* submission (``Submission.problem``: no kata modules, copies
in two places, an unsafe zip) had nothing to grade: it is counted apart, and nowhere else (not in
the histogram, the mean, the exercises, the mistakes). Of a graded submission, each exercise is
*done* (every test passes), *not started* (every unfinished test reached the stub), *could not
run* (its stage did not run normally, i.e. the stage outcome has a ``problem``: the module could not
be imported, the test process died, the wall limit stopped it; and some of the exercise's tests
have no result of their own, status error), or else *failing*. Only failing exercises have a first
failure and are matched to mistakes: a test that never ran tells nothing about the code.

**Matching a known mistake.** Each mistake of ``mistakes/<stage>.toml`` is the reference with one
small patch, applied to the module each of its patches names (the stage's own by default). The
grader runs it exactly as it runs a submission's stage (isolated mode, the ``grade`` hypothesis
profile, the same limits) and records which tests of its exercise fail: its signature. A
submission failing that exercise matches the mistake when it fails exactly the same tests of the
exercise, no more and no fewer. The tests cannot tell apart two mistakes with the same signature,
so such mistakes are listed together; a submission matching none is counted as "no known
mistake". Only the exercises some submission fails are run, each mistake once.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import count
from math import ceil
from pathlib import Path
from typing import Protocol

from .. import report as results
from ..manifest import ROOT, Exercise, Stage, load_manifest
from ..mistakes import Mistake, load_corpus, patched_sources
from .gradebook import Graded, StageOutcome

MISTAKES_DIR = ROOT / "mistakes"
REFERENCE_DIR = ROOT / "solutions"
BARS = 20  # at most this many bars in the histogram: scores are grouped into bins of equal width
COULD_NOT_RUN = "could not run"  # an exercise's fate besides results.DONE, FAILING and NOT_STARTED_EXERCISE


class ReportGrader(Protocol):
    """What the report asks of the grader (katatools.grading.grade.Grader)."""
    modes: tuple[str, ...]
    exercises: list[Exercise]

    def failing_tests(self, modules: dict[str, bytes], stage: Stage, exercise: str) -> list[str]: ...


@dataclass
class ExerciseSummary:
    exercise: Exercise
    done: int = 0
    failing: int = 0
    not_started: int = 0
    could_not_run: int = 0
    first_failures: Counter = field(default_factory=Counter)  # test id -> failing submissions failing first there
    example: dict[str, str] = field(default_factory=dict)  # test id -> a message (of the first submission by id)
    failing_sets: list[tuple[str, ...]] = field(default_factory=list)  # per failing submission, its failing tests

    @property
    def total(self) -> int:
        return self.done + self.failing + self.not_started + self.could_not_run


@dataclass
class MistakeGroup:
    """Known mistakes with one signature (the failing tests of their exercise), and who matches it."""
    mistakes: list[Mistake]
    signature: tuple[str, ...]
    matches: int = 0


# ---------------------------------------------------------------- counting


def refused(g: Graded) -> bool:
    """Nothing of the submission could be graded (no kata modules, copies in two places, an unsafe zip)."""
    return bool(g.submission.problem)


def fate(outcome: StageOutcome, result: results.ExerciseResult) -> str:
    """An exercise's column in the report: done, not started, failing, or could not run (its stage
    did not run normally and some of its tests have no result of their own)."""
    if outcome.problem and result.status != results.DONE and any(
            t.status == results.ERROR for t in outcome.records if t.exercise == result.exercise.name):
        return COULD_NOT_RUN
    return result.status


def scored(graded: list[Graded], mode: str) -> Iterator[tuple[Graded, StageOutcome, results.ExerciseResult]]:
    """Every exercise result of the graded (not refused) submissions, in ``mode``."""
    for g in graded:
        if not refused(g):
            for outcome in (o for o in g.outcomes if o.mode == mode):
                for r in outcome.results:
                    yield g, outcome, r


def could_not_run_somewhere(graded: list[Graded], mode: str) -> int:
    """How many graded submissions have an exercise that could not run."""
    return len({g.submission.id for g, outcome, r in scored(graded, mode) if fate(outcome, r) == COULD_NOT_RUN})


def summarize_class(graded: list[Graded], exercises: list[Exercise], mode: str) -> dict[str, ExerciseSummary]:
    summaries = {e.name: ExerciseSummary(e) for e in exercises}
    for _, outcome, r in scored(graded, mode):
        s = summaries[r.exercise.name]
        kind = fate(outcome, r)
        if kind == results.DONE:
            s.done += 1
        elif kind == results.NOT_STARTED_EXERCISE:
            s.not_started += 1
        elif kind == COULD_NOT_RUN:
            s.could_not_run += 1
        else:
            s.failing += 1
            s.failing_sets.append(tuple(sorted(t.nodeid for t in outcome.records
                                               if t.exercise == r.exercise.name and t.status != results.PASSED)))
            if r.first_failure is not None:
                s.first_failures[r.first_failure.nodeid] += 1
                s.example.setdefault(r.first_failure.nodeid, first_line(r.first_failure.message))
    return summaries


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else ""


# ---------------------------------------------------------------- known mistakes


def mistake_groups(summaries: dict[str, ExerciseSummary], signature: Callable[[Mistake], tuple[str, ...]],
                   jobs: int, directory: Path = MISTAKES_DIR) -> dict[str, list[MistakeGroup]]:
    """Exercise -> its known mistakes grouped by signature, with their matches; only for the
    exercises some submission fails."""
    failing = {name for name, s in summaries.items() if s.failing}
    if not failing:
        return {}
    corpus = load_corpus(directory, load_manifest(), REFERENCE_DIR)
    mistakes = [m for m in corpus.mistakes if m.exercise in failing]
    pool = ThreadPoolExecutor(max(1, jobs))
    try:
        signatures = list(pool.map(signature, mistakes))
    finally:  # on Ctrl-C or an error, start no other mistake
        pool.shutdown(wait=True, cancel_futures=True)
    groups: dict[str, list[MistakeGroup]] = {}
    for mistake, sig in zip(mistakes, signatures, strict=True):
        own = groups.setdefault(mistake.exercise, [])
        group = next((g for g in own if g.signature == sig), None)
        if group is None:
            own.append(MistakeGroup([mistake], sig))
        else:
            group.mistakes.append(mistake)
    for name, own in groups.items():
        for group in own:
            group.matches = sum(failed == group.signature for failed in summaries[name].failing_sets)
    return groups


def mistake_signature(grader: ReportGrader, reference: Path = REFERENCE_DIR) -> Callable[[Mistake], tuple[str, ...]]:
    """A mistake's signature: the failing tests of its exercise when its stage runs on the
    reference with each patch applied to the module it names."""
    pristine = {p.name: p.read_bytes() for p in sorted(reference.glob("*.py")) if p.name != "__init__.py"}

    def signature(mistake: Mistake) -> tuple[str, ...]:
        patched = {name: text.encode("utf-8") for name, text in patched_sources(mistake, reference).items()}
        return tuple(grader.failing_tests({**pristine, **patched}, mistake.stage, mistake.exercise))
    return signature


# ---------------------------------------------------------------- figures (inline SVG)

CHAR_WIDTH = 7.0  # px per character of an 11 px label, with room to spare (a digit is about 6.1 px wide)


def label_width(text: str) -> int:
    return ceil(len(text) * CHAR_WIDTH)


def bin_widths() -> Iterator[int]:
    """1, 2, 5, 10, 20, 50...: bins that read as round numbers."""
    for power in count():
        for step in (1, 2, 5):
            yield step * 10 ** power


def histogram_bins(maximum: int) -> list[tuple[int, int]]:
    """(low, high) score bins of one round width covering 0..maximum, at most BARS of them."""
    width = next(w for w in bin_widths() if ceil((maximum + 1) / w) <= BARS)
    return [(low, min(low + width - 1, maximum)) for low in range(0, maximum + 1, width)]


def histogram_svg(totals: list[int], maximum: int) -> str:
    """One bar per bin, its count above it and its range below it; bars are as wide as the widest
    of those labels needs, so that no two labels overlap."""
    bins = histogram_bins(maximum)
    counts = [sum(low <= t <= high for t in totals) for low, high in bins]
    labels = [f"{low}" if low == high else f"{low}-{high}" for low, high in bins]
    pitch = max(26, max(label_width(text) for text in labels + [str(n) for n in counts]) + 8)
    bar, top, height, left, bottom = pitch - 4, 20, 180, 36, 40
    axis = top + height
    width = left + len(bins) * pitch + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{axis + bottom}" '
             f'viewBox="0 0 {width} {axis + bottom}" aria-label="Score histogram">']
    parts.append(f'<line x1="{left}" y1="{axis}" x2="{width - 5}" y2="{axis}" class="axis"/>')
    parts.append(f'<text x="{left - 6}" y="{axis + 4}" text-anchor="end" class="tick">0</text>')
    top_count = max(counts + [1])
    for i, (label, (low, high), n) in enumerate(zip(labels, bins, counts, strict=True)):
        x = left + i * pitch
        h = height * n / top_count
        parts.append(f'<rect class="bar" x="{x}" y="{axis - h:.2f}" width="{bar}" height="{h:.2f}" '
                     f'data-low="{low}" data-high="{high}" data-count="{n}"><title>{label} points: {n} '
                     f'submission{"s" if n != 1 else ""}</title></rect>')
        if n:
            parts.append(f'<text x="{x + bar / 2}" y="{axis - h - 4:.2f}" text-anchor="middle" class="count">{n}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{axis + 16}" text-anchor="middle" class="tick">{label}</text>')
    parts.append(f'<text x="{left + (width - left) / 2}" y="{axis + bottom - 6}" text-anchor="middle" '
                 f'class="label">points (of {maximum})</text></svg>')
    return "".join(parts)


def pass_rate_svg(summaries: list[ExerciseSummary]) -> str:
    row, full = 20, 360
    label = max([150] + [label_width(s.exercise.name) + 12 for s in summaries])
    height = row * len(summaries) + 30
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{label + full + 70}" height="{height}" '
             f'viewBox="0 0 {label + full + 70} {height}" aria-label="Pass rate per exercise">']
    for i, s in enumerate(summaries):
        y = 5 + i * row
        rate = s.done / s.total if s.total else 0.0
        parts.append(f'<text x="{label - 6}" y="{y + 13}" text-anchor="end" class="tick">'
                     f'{html.escape(s.exercise.name)}</text>')
        parts.append(f'<rect class="track" x="{label}" y="{y + 2}" width="{full}" height="{row - 6}"/>')
        parts.append(f'<rect class="rate" x="{label}" y="{y + 2}" width="{full * rate:.2f}" height="{row - 6}" '
                     f'data-exercise="{html.escape(s.exercise.name)}" data-done="{s.done}" data-total="{s.total}">'
                     f'<title>{html.escape(s.exercise.name)}: {s.done} of {s.total} done</title></rect>')
        parts.append(f'<text x="{label + full + 6}" y="{y + 13}" class="count">{percent(s.done, s.total)}</text>')
    parts.append(f'<text x="{label + full / 2}" y="{height - 5}" text-anchor="middle" class="label">'
                 'share of graded submissions with every test of the exercise passing</text></svg>')
    return "".join(parts)


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}%" if whole else "-"


# ---------------------------------------------------------------- the page

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 70em; color: #222; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.92em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
code { font-size: 0.9em; } .message { color: #555; font-size: 0.9em; }
svg { max-width: 100%; height: auto; }
svg .bar, svg .rate { fill: #3b6ea5; } svg .track { fill: #e6e6e6; } svg .axis { stroke: #444; }
svg text { font-size: 11px; fill: #333; } svg .label { font-size: 12px; }
"""

COLUMNS = ("<p>Per exercise, each graded submission is counted once: <b>done</b>, every test passes; "
           "<b>failing</b>, its tests ran and one failed or ran out of time; <b>not started</b>, every unfinished "
           "test reached the stub; <b>could not run</b>, its stage did not run normally (its module could not be "
           "imported, the test process died, the wall limit stopped it: see gradebook.csv's notes) and some of its "
           "tests have no result: nothing is known of that code, so it is neither failing nor matched to a known "
           "mistake. The pass rate is done of the graded submissions; the first failure is of the failing ones."
           "</p>\n")


def summary_paragraph(graded: list[Graded], maximum: int, mode: str) -> str:
    kept = [g for g in graded if not refused(g)]
    totals = [g.total(mode) for g in kept]
    text = (f'<p id="summary"><span data-key="submissions">{len(graded)}</span> submissions: '
            f'<span data-key="refused">{len(graded) - len(kept)}</span> refused (nothing could be graded: no kata '
            'modules, copies in two places, an unsafe or unreadable zip; they score 0 in gradebook.csv, whose notes '
            'say why, and are left out of everything below), '
            f'<span data-key="graded">{len(kept)}</span> graded in {mode} mode')
    if not kept:
        return text + '. No submission could be graded.</p>\n'
    return text + (f', out of <span data-key="maximum">{maximum}</span> points: mean '
                   f'<span data-key="mean">{statistics.mean(totals):.1f}</span>, median '
                   f'<span data-key="median">{statistics.median(totals):g}</span>. Of the graded, '
                   f'<span data-key="could-not-run">{could_not_run_somewhere(graded, mode)}</span> had exercises '
                   'that could not run (their stage did not run normally: see "could not run" below).</p>\n')


def exercise_row(s: ExerciseSummary) -> str:
    esc = html.escape
    common = ""
    if s.first_failures:
        test, n = sorted(s.first_failures.items(), key=lambda item: (-item[1], item[0]))[0]
        common = (f'<code>{esc(test)}</code>: <span data-key="first-failure-count">{n}</span> of {s.failing}'
                  f'<div class="message">{esc(s.example[test])}</div>')
    numbers = [("done", s.done), ("failing", s.failing), ("not-started", s.not_started),
               ("could-not-run", s.could_not_run)]
    return (f'<tr data-exercise="{esc(s.exercise.name)}"><td>{esc(s.exercise.stage)}</td>'
            f'<td>{esc(s.exercise.name)}</td><td class="n">{s.exercise.points}</td>'
            + "".join(f'<td class="n" data-key="{key}">{n}</td>' for key, n in numbers)
            + f'<td class="n" data-key="pass-rate">{percent(s.done, s.total)}</td><td>{common}</td></tr>\n')


def page(graded: list[Graded], exercises: list[Exercise], mode: str,
         groups: dict[str, list[MistakeGroup]] | None) -> str:
    """The report; ``groups`` None where the known mistakes cannot be run (no mistakes/ or no reference)."""
    summaries = summarize_class(graded, exercises, mode)
    maximum = sum(e.points for e in exercises)
    totals = [g.total(mode) for g in graded if not refused(g)]
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Class report</title>\n',
           f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>Class report</h1>\n",
           summary_paragraph(graded, maximum, mode)]
    out.append(f'<h2>Scores</h2>\n<figure id="histogram">{histogram_svg(totals, maximum)}'
               '<figcaption>Graded submissions per total score (refused ones are not drawn).</figcaption></figure>\n')
    ordered = [summaries[e.name] for e in exercises]
    out.append(f'<h2>Exercises</h2>\n<figure id="pass-rates">{pass_rate_svg(ordered)}'
               '<figcaption>Pass rate: the share of graded submissions where every test of the exercise passes.'
               '</figcaption></figure>\n' + COLUMNS)
    out.append('<table id="exercises">\n<tr><th>stage</th><th>exercise</th><th>points</th><th>done</th>'
               '<th>failing</th><th>not started</th><th>could not run</th><th>pass rate</th>'
               '<th>most common first failure (of the failing)</th></tr>\n')
    out += [exercise_row(s) for s in ordered]
    out.append("</table>\n")
    out.append(mistakes_section(ordered, groups))
    out.append("</body>\n</html>\n")
    return "".join(out)


def mistakes_section(ordered: list[ExerciseSummary], groups: dict[str, list[MistakeGroup]] | None) -> str:
    """Per exercise someone fails: the known mistakes some submission matches, then those matching none."""
    esc = html.escape
    if groups is None:
        return ('<h2>Known mistakes</h2>\n<p id="mistakes">Not matched: this copy of the katas has no '
                '<code>mistakes/</code> or no reference to run them on (a learner\'s edition).</p>\n')
    out = ['<h2>Known mistakes</h2>\n<p>A failing submission matches a known mistake of <code>mistakes/</code> '
           'when it fails exactly the tests of the exercise that the mistake fails, run the same way. Mistakes '
           'the tests cannot tell apart (the same failing tests) share a row. Only the mistakes some submission '
           'matches are listed; per exercise someone fails, "no known mistake" counts the failing submissions '
           'matching none. A failure that comes from an earlier exercise (a quotient failing through a wrong '
           'product) counts as no known mistake of its own exercise.</p>\n<table id="mistakes">\n'
           '<tr><th>exercise</th><th>known mistake</th><th>failing tests</th><th>matching submissions</th></tr>\n']
    for s in ordered:
        if not s.failing:
            continue
        own = groups.get(s.exercise.name, [])
        for group in sorted((g for g in own if g.matches), key=lambda g: (-g.matches, g.mistakes[0].name)):
            names = "<br>".join(f"<code>{esc(m.name)}</code>: {esc(m.description)}" for m in group.mistakes)
            out.append(f'<tr data-exercise="{esc(s.exercise.name)}" data-mistakes="'
                       f'{esc(" ".join(m.name for m in group.mistakes))}"><td>{esc(s.exercise.name)}</td>'
                       f'<td>{names}</td><td class="n">{len(group.signature)}</td>'
                       f'<td class="n" data-key="matches">{group.matches}</td></tr>\n')
        unmatched = s.failing - sum(g.matches for g in own)
        out.append(f'<tr data-exercise="{esc(s.exercise.name)}" data-mistakes=""><td>{esc(s.exercise.name)}</td>'
                   f'<td>no known mistake</td><td></td><td class="n" data-key="matches">{unmatched}</td></tr>\n')
    out.append("</table>\n")
    return "".join(out)


def write_report(path: Path, grader: ReportGrader, graded: list[Graded], jobs: int = 1,
                 mistakes: Path = MISTAKES_DIR) -> None:
    """Run the known mistakes the class's failures call for (on ``grader``), then write the page."""
    mode = grader.modes[0]
    summaries = summarize_class(graded, grader.exercises, mode)
    # A learner's edition has neither mistakes/ nor the reference their signatures are run on.
    known = mistakes.is_dir() and REFERENCE_DIR.is_dir()
    groups = mistake_groups(summaries, mistake_signature(grader), jobs, mistakes) if known else None
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(graded, grader.exercises, mode, groups), encoding="utf-8", newline="\n")

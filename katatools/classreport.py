"""The class at a glance: ``grades/report.html``, written by every grading (``--no-report`` skips it).

One self-contained HTML file (styles and figures inline: SVG, no script, nothing fetched), with,
in the scored mode:

- the score histogram and a summary (submissions, mean, median, errors);
- each exercise's pass rate (done / submissions), as a figure and in a table with how many
  submissions are failing it and how many have not started it;
- each exercise's most common first failure: of the submissions failing it (started, not done),
  the test that most often fails first, with how many fail first there;
- how many failing submissions match each known mistake of ``mistakes/``.

**Matching a known mistake.** Each mistake of ``mistakes/<stage>.toml`` is the reference with one
small patch. The grader runs it exactly as it runs a submission's stage (isolated mode, the
``grade`` hypothesis profile, the same limits) and records which tests of its exercise fail: its
signature. A submission failing that exercise matches the mistake when it fails exactly the same
tests of the exercise, no more and no fewer. The tests cannot tell apart two mistakes with the
same signature, so such mistakes are listed together; a submission matching none is counted as
"no known mistake". Only the exercises some submission fails are run, each mistake once.
"""

from __future__ import annotations

import html
import statistics
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from . import report as results
from .gradebook import Graded
from .manifest import ROOT, Exercise, load_manifest
from .mutants import Mistake, apply_patches, load_corpus

MISTAKES_DIR = ROOT / "mistakes"
BARS = 25  # at most this many bars in the histogram: scores are grouped into bins of equal width


@dataclass
class ExerciseSummary:
    exercise: Exercise
    done: int = 0
    failing: int = 0
    not_started: int = 0
    first_failures: Counter = field(default_factory=Counter)  # test id -> failing submissions failing first there
    example: dict[str, str] = field(default_factory=dict)  # test id -> a message (of the first submission by id)
    failing_sets: list[tuple[str, ...]] = field(default_factory=list)  # per failing submission, its failing tests

    @property
    def total(self) -> int:
        return self.done + self.failing + self.not_started


@dataclass
class MistakeGroup:
    """Known mistakes with one signature (the failing tests of their exercise), and who matches it."""
    mistakes: list[Mistake]
    signature: tuple[str, ...]
    matches: int = 0


def summarize_class(graded: list[Graded], exercises: list[Exercise], mode: str) -> dict[str, ExerciseSummary]:
    summaries = {e.name: ExerciseSummary(e) for e in exercises}
    for g in graded:
        for outcome in (o for o in g.outcomes if o.mode == mode):
            for r in outcome.results:
                s = summaries[r.exercise.name]
                if r.status == results.DONE:
                    s.done += 1
                elif r.status == results.NOT_STARTED_EXERCISE:
                    s.not_started += 1
                else:
                    s.failing += 1
                    failed = tuple(sorted(t.nodeid for t in outcome.records
                                          if t.exercise == r.exercise.name and t.status != results.PASSED))
                    s.failing_sets.append(failed)
                    if r.first_failure is not None:
                        s.first_failures[r.first_failure.nodeid] += 1
                        s.example.setdefault(r.first_failure.nodeid, first_line(r.first_failure.message))
    return summaries


def first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0][:300] if lines else ""


def mistake_groups(summaries: dict[str, ExerciseSummary], signature: Callable[[Mistake], tuple[str, ...]],
                   jobs: int, directory: Path = MISTAKES_DIR) -> dict[str, list[MistakeGroup]]:
    """Exercise -> its known mistakes grouped by signature, with their matches; only for the
    exercises some submission fails."""
    failing = {name for name, s in summaries.items() if s.failing}
    if not failing:
        return {}
    corpus = load_corpus(directory, load_manifest(), ROOT / "solutions")
    mistakes = [m for m in corpus.mistakes if m.exercise in failing]
    with ThreadPoolExecutor(max(1, jobs)) as pool:
        signatures = list(pool.map(signature, mistakes))
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


# ---------------------------------------------------------------- figures (inline SVG)


def histogram_bins(maximum: int) -> list[tuple[int, int]]:
    """(low, high) score bins of equal width covering 0..maximum, at most BARS of them."""
    width = max(1, -(-(maximum + 1) // BARS))
    return [(low, min(low + width - 1, maximum)) for low in range(0, maximum + 1, width)]


def histogram_svg(totals: list[int], maximum: int) -> str:
    bins = histogram_bins(maximum)
    counts = [sum(low <= t <= high for t in totals) for low, high in bins]
    top = max(counts + [1])
    bar, gap, height, left, bottom = 22, 4, 180, 36, 40
    width = left + len(bins) * (bar + gap) + 10
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height + bottom + 10}" '
             f'viewBox="0 0 {width} {height + bottom + 10}" aria-label="Score histogram">']
    parts.append(f'<line x1="{left}" y1="{height + 10}" x2="{width - 5}" y2="{height + 10}" class="axis"/>')
    parts.append(f'<text x="{left - 6}" y="{height + 14}" text-anchor="end" class="tick">0</text>')
    for i, ((low, high), count) in enumerate(zip(bins, counts, strict=True)):
        x = left + i * (bar + gap)
        h = height * count / top
        label = f"{low}" if low == high else f"{low}-{high}"
        parts.append(f'<rect class="bar" x="{x}" y="{10 + height - h:.2f}" width="{bar}" height="{h:.2f}" '
                     f'data-low="{low}" data-high="{high}" data-count="{count}"><title>{label} points: {count} '
                     f'submission{"s" if count != 1 else ""}</title></rect>')
        if count:
            parts.append(f'<text x="{x + bar / 2}" y="{10 + height - h - 3:.2f}" text-anchor="middle" '
                         f'class="count">{count}</text>')
        parts.append(f'<text x="{x + bar / 2}" y="{height + 26}" text-anchor="middle" class="tick">{label}</text>')
    parts.append(f'<text x="{left + (width - left) / 2}" y="{height + bottom + 5}" text-anchor="middle" '
                 f'class="label">points (of {maximum})</text></svg>')
    return "".join(parts)


def pass_rate_svg(summaries: list[ExerciseSummary]) -> str:
    row, label, full = 20, 150, 360
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
                 'share of submissions with every test of the exercise passing</text></svg>')
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
svg .bar, svg .rate { fill: #3b6ea5; } svg .track { fill: #e6e6e6; } svg .axis { stroke: #444; }
svg text { font-size: 11px; fill: #333; } svg .label { font-size: 12px; }
"""


def page(graded: list[Graded], exercises: list[Exercise], mode: str,
         groups: dict[str, list[MistakeGroup]]) -> str:
    summaries = summarize_class(graded, exercises, mode)
    maximum = sum(e.points for e in exercises)
    totals = [g.total(mode) for g in graded]
    errors = sum(g.status == "error" for g in graded)
    esc = html.escape
    out = ['<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>Class report</title>\n',
           f"<style>{STYLE}</style>\n</head>\n<body>\n<h1>Class report</h1>\n"]
    if totals:
        out.append(f'<p id="summary"><span data-key="submissions">{len(graded)}</span> submissions graded in {mode} '
                   f'mode, out of <span data-key="maximum">{maximum}</span> points: mean '
                   f'<span data-key="mean">{statistics.mean(totals):.1f}</span>, median '
                   f'<span data-key="median">{statistics.median(totals):g}</span>; '
                   f'<span data-key="errors">{errors}</span> with a grading error (see gradebook.csv\'s notes).</p>\n')
    else:
        out.append('<p id="summary">No submission was graded.</p>\n')
    out.append(f'<h2>Scores</h2>\n<figure id="histogram">{histogram_svg(totals, maximum)}'
               '<figcaption>Submissions per total score.</figcaption></figure>\n')
    ordered = [summaries[e.name] for e in exercises]
    out.append(f'<h2>Exercises</h2>\n<figure id="pass-rates">{pass_rate_svg(ordered)}'
               '<figcaption>Pass rate: the share of submissions where every test of the exercise passes.'
               '</figcaption></figure>\n')
    out.append('<table id="exercises">\n<tr><th>stage</th><th>exercise</th><th>points</th><th>done</th>'
               '<th>failing</th><th>not started</th><th>pass rate</th><th>most common first failure (of the failing)'
               '</th></tr>\n')
    for s in ordered:
        common = ""
        if s.first_failures:
            test, count = sorted(s.first_failures.items(), key=lambda item: (-item[1], item[0]))[0]
            common = (f'<code>{esc(test)}</code>: <span data-key="first-failure-count">{count}</span> of {s.failing}'
                      f'<div class="message">{esc(s.example[test])}</div>')
        out.append(f'<tr data-exercise="{esc(s.exercise.name)}"><td>{esc(s.exercise.stage)}</td>'
                   f'<td>{esc(s.exercise.name)}</td><td class="n">{s.exercise.points}</td>'
                   f'<td class="n" data-key="done">{s.done}</td><td class="n" data-key="failing">{s.failing}</td>'
                   f'<td class="n" data-key="not-started">{s.not_started}</td>'
                   f'<td class="n" data-key="pass-rate">{percent(s.done, s.total)}</td><td>{common}</td></tr>\n')
    out.append("</table>\n")
    out.append(mistakes_section(ordered, groups))
    out.append("</body>\n</html>\n")
    return "".join(out)


def mistakes_section(ordered: list[ExerciseSummary], groups: dict[str, list[MistakeGroup]]) -> str:
    esc = html.escape
    out = ['<h2>Known mistakes</h2>\n<p>A failing submission matches a known mistake of <code>mistakes/</code> '
           'when it fails exactly the tests of the exercise that the mistake fails, run the same way. Mistakes '
           'the tests cannot tell apart (the same failing tests) share a row. A failure that comes from an earlier '
           'exercise (a quotient failing through a wrong product) counts as no known mistake of its own exercise.'
           '</p>\n<table id="mistakes">\n'
           '<tr><th>exercise</th><th>known mistake</th><th>failing tests</th><th>matching submissions</th></tr>\n']
    for s in ordered:
        if not s.failing:
            continue
        own = sorted(groups.get(s.exercise.name, []), key=lambda g: (-g.matches, g.mistakes[0].name))
        for group in own:
            names = "<br>".join(f"<code>{esc(m.name)}</code>: {esc(m.description)}" for m in group.mistakes)
            out.append(f'<tr data-exercise="{esc(s.exercise.name)}" data-mistakes="'
                       f'{esc(" ".join(m.name for m in group.mistakes))}"><td>{esc(s.exercise.name)}</td>'
                       f'<td>{names}</td><td class="n">{len(group.signature)}</td>'
                       f'<td class="n" data-key="matches">{group.matches}</td></tr>\n')
        unmatched = sum(not any(failed == g.signature for g in own) for failed in s.failing_sets)
        out.append(f'<tr data-exercise="{esc(s.exercise.name)}" data-mistakes=""><td>{esc(s.exercise.name)}</td>'
                   f'<td>no known mistake</td><td></td><td class="n" data-key="matches">{unmatched}</td></tr>\n')
    out.append("</table>\n")
    return "".join(out)


def write_report(path: Path, grader: object, graded: list[Graded], jobs: int = 1,
                 mistakes: Path = MISTAKES_DIR) -> None:
    """Run the known mistakes the class's failures call for (on ``grader``, a katatools.grade.Grader),
    then write the page."""
    mode = grader.modes[0]
    summaries = summarize_class(graded, grader.exercises, mode)
    reference = ROOT / "solutions"

    def signature(mistake: Mistake) -> tuple[str, ...]:
        module = reference / f"{mistake.stage.module}.py"
        patched = apply_patches(module.read_text(encoding="utf-8"), mistake.patches, str(module))
        modules = {p.name: p.read_bytes() for p in sorted(reference.glob("*.py")) if p.name != "__init__.py"}
        modules[module.name] = patched.encode("utf-8")
        return tuple(grader.failing_tests(modules, mistake.stage, mistake.exercise))

    groups = mistake_groups(summaries, signature, jobs, mistakes)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(graded, grader.exercises, mode, groups), encoding="utf-8", newline="\n")

"""The project's documents agree with the manifest: every total they quote is the manifest's.

A figure such as "17/96 points" or "10/36 exercises" is an example of what a tool prints; its
denominator must be today's total, whatever stage is added later (issue 22: the README gave 42
where the grader's total was 93).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from katatools.manifest import load_manifest

ROOT = Path(__file__).resolve().parent.parent
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
MANIFEST = load_manifest()
TOTALS = {"points": MANIFEST.max_points, "exercises": len(MANIFEST.exercises)}
QUOTED = re.compile(r"\b\d+\s*/\s*(\d+)\s+(points|exercises)\b")


def quoted_totals(text: str) -> list[tuple[str, int, str]]:
    return [(match.group(0), int(match.group(1)), match.group(2)) for match in QUOTED.finditer(text)]


def test_a_quoted_total_is_found_and_a_wrong_one_is_caught():
    assert quoted_totals("scored 17/42 points, 3 / 35 exercises") == [("17/42 points", 42, "points"),
                                                                      ("3 / 35 exercises", 35, "exercises")]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_every_quoted_total_is_the_manifests(document):
    wrong = [(quote, TOTALS[kind]) for quote, total, kind in quoted_totals(document.read_text(encoding="utf-8"))
             if total != TOTALS[kind]]
    assert not wrong, f"{document.name}: totals that are not the manifest's (quoted, manifest's): {wrong}"

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


# Relative links between the documents (issue 25): every [text](path) or [text](path#anchor) in README.md and
# docs/*.md points to a file that exists and, where an anchor is given, to a heading of that file.

README_MAX_LINES = 250
FENCE = re.compile(r"^\s*(```|~~~)")
LINK = re.compile(r"(?<!!)\[(?:[^\[\]]|\[[^\[\]]*\])*\]\(([^()\s]+)\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$")
EXTERNAL = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # https:, mailto:...


def prose_lines(text: str) -> list[str]:
    """The lines of a markdown text outside fenced code blocks."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
        elif not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, markup and punctuation but '-' and '_' removed, spaces to '-'."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    return re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")


def anchors(text: str) -> set[str]:
    """Every heading's anchor, the repeated ones numbered as GitHub numbers them (-1, -2...)."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(text):
        match = HEADING.match(line)
        if match:
            base = slug(match.group(1))
            count = seen.get(base, 0)
            seen[base] = count + 1
            found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(text: str) -> list[str]:
    """The targets of the relative links in a markdown text (outside code), in order."""
    targets = []
    for line in prose_lines(text):
        line = re.sub(r"`[^`]*`", "", line)  # inline code is not a link
        targets += [target for target in LINK.findall(line) if not EXTERNAL.match(target)]
    return targets


def broken_links(document: Path) -> list[str]:
    """The relative links of ``document`` that point to no file, or to no heading of their file."""
    broken = []
    for target in relative_links(document.read_text(encoding="utf-8")):
        path, _, anchor = target.partition("#")
        file = (document.parent / path).resolve() if path else document
        if not file.exists():
            broken.append(f"{target}: no file {file}")
        elif anchor and (file.is_dir() or anchor not in anchors(file.read_text(encoding="utf-8"))):
            broken.append(f"{target}: no heading #{anchor} in {file.name}")
    return broken


def test_a_broken_link_or_anchor_is_caught(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "guide.md").write_text("# Guide\n\n## What \"done\" means, in `check`\n\n## Notes\n\n## Notes\n")
    (tmp_path / "README.md").write_text(
        "See [the guide](docs/guide.md), [done](docs/guide.md#what-done-means-in-check), [notes](docs/guide.md#notes-1),\n"
        "[top](#readme) and [the web](https://example.com/missing.md).\n\n# README\n\n```sh\n[not a link](nowhere.md)\n```\n"
        "`[code](nowhere.md)`\n")
    assert broken_links(tmp_path / "README.md") == []
    (tmp_path / "README.md").write_text("[gone](docs/gone.md) [anchor](docs/guide.md#notes-2) [self](#nothing)\n")
    assert [b.split(":")[0] for b in broken_links(tmp_path / "README.md")] == [
        "docs/gone.md", "docs/guide.md#notes-2", "#nothing"]


@pytest.mark.parametrize("document", DOCUMENTS, ids=[d.name for d in DOCUMENTS])
def test_every_relative_link_points_to_a_file_and_a_heading(document):
    assert relative_links(document.read_text(encoding="utf-8")) or document.name != "README.md"  # the README links
    assert not broken_links(document), f"{document.name}: broken links: {broken_links(document)}"


def test_the_readme_is_the_learners_page_of_at_most_250_lines():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, f"README.md has {len(lines)} lines, more than {README_MAX_LINES}"
    for document in ("docs/instructors.md", "docs/maintainers.md", "docs/modes.md"):
        assert f"]({document})" in "\n".join(lines), f"the README does not link to {document}"

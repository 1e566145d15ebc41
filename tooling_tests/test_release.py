"""The learner's edition (``nox -s release -- DIR``, katatools/grading/release.py): the repository a learner
gets, without the reference, and the learner's tools and one graded step working inside it."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from learner_repo import MANIFEST, reference, stub_bytes

from katatools.manifest import ROOT
from katatools.stubs import BEGIN, find_regions, generated_stubs

FIRST = MANIFEST.stages[0]


def run(edition: Path, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NOX_CURRENT_SESSION")}
    env["KATA_SKLEARN_CACHE"] = "off"  # the edition has no answers stored yet, as on a learner's machine
    return subprocess.run([sys.executable, "-m", "katatools", *args], cwd=edition, env=env, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    dest = tmp_path_factory.mktemp("release") / "edition"
    done = run(ROOT, "release", str(dest), "--classroom")
    assert done.returncode == 0, done.stdout + done.stderr
    return dest


def reference_lines() -> set[str]:
    """Every line of code inside a marked region of the reference that is not trivial (a return, a blank...)
    and that the stubs themselves do not show (a docstring may quote a ready-made call)."""
    shown = "\n".join(generated_stubs(MANIFEST).values())
    found = set()
    for stage in MANIFEST.stages:
        text = (ROOT / "solutions" / f"{stage.module}.py").read_text()
        lines = text.splitlines()
        for region in find_regions(text, stage.module):
            for line in lines[region.begin + 1:region.end]:
                code = line.strip()
                if len(code) > 30 and not code.startswith(("#", "raise ", "if ", "return Variable(", "\"\"\"")) \
                        and code not in shown:
                    found.add(code)
    return found


def test_the_edition_holds_no_reference(edition):
    for name in ("solutions", "alternatives", "mistakes", "benchmarks", "tooling_tests", ".ci"):
        assert not (edition / name).exists(), name
    code = reference_lines()
    assert len(code) > 100  # the check below has something to find
    for path in edition.rglob("*"):
        if path.is_file() and path.suffix in (".py", ".toml", ".md", ".yml", ".txt"):
            text = path.read_text(encoding="utf-8")
            if path.parts[-2] in ("katas", "pristine", "tests"):  # (katatools' docstrings show a marker)
                assert not any(BEGIN.match(line) for line in text.splitlines()), path  # no marked region
            if "tests" not in path.relative_to(edition).parts:  # the tests ship in every edition, as they are
                leaked = [line for line in code if line in text]
                assert not leaked, (path, leaked[:3])


def test_every_link_of_the_editions_documents_works_there(edition):
    """The edition carries the README and the documents it links to: no relative link in them is broken."""
    from test_documents import broken_links, relative_links

    documents = [edition / "README.md", *sorted((edition / "docs").glob("*.md"))]
    assert len(documents) > 1 and relative_links((edition / "README.md").read_text(encoding="utf-8"))
    for document in documents:
        assert not broken_links(document), (document.relative_to(edition), broken_links(document))


def test_its_katas_and_pristine_stubs_are_the_generated_stubs(edition):
    for stage in MANIFEST.stages:
        assert (edition / "katas" / f"{stage.module}.py").read_bytes() == stub_bytes(stage.module)
        assert (edition / "pristine" / f"{stage.module}.py").read_bytes() == stub_bytes(stage.module)


def test_the_release_never_writes_over_a_folder_in_use(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("my work")
    done = run(ROOT, "release", str(tmp_path / "mine"))
    assert done.returncode == 2 and "not empty" in done.stderr
    assert (tmp_path / "mine" / "notes.txt").read_text() == "my work"


def test_check_and_hints_work_in_the_edition(edition):
    done = run(edition, "check", FIRST.name)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"0 of \d+ exercises done", done.stdout) and "not started" in done.stdout
    hint = run(edition, "check", "--hint", "add", "--level", "3")
    assert hint.returncode == 0 and "solutions/" not in hint.stdout, hint.stdout


def test_what_needs_the_reference_says_so_in_the_edition(edition):
    isolated = run(edition, "check", "--isolated")
    assert isolated.returncode == 2 and "no reference" in isolated.stderr and "edition" in isolated.stderr
    for command in ("corpus", "mutants", "independence", "prove-stubs", "release"):
        done = run(edition, command)
        assert done.returncode == 2 and "needs the reference" in done.stderr, (command, done.stderr)


def test_reset_restores_the_pristine_stub_in_the_edition(edition):
    kata = edition / "katas" / f"{FIRST.module}.py"
    kata.write_text(reference(FIRST.module))
    done = run(edition, "reset", "add")
    assert done.returncode == 0, done.stdout + done.stderr
    assert kata.read_bytes() == stub_bytes(FIRST.module)
    backups = list(kata.parent.glob(f"{kata.name}.bak-*"))
    assert [b.read_text() for b in backups] == [reference(FIRST.module)]
    for backup in backups:
        backup.unlink()


def test_a_classroom_step_grades_in_the_edition_in_cumulative_mode(edition):
    kata = edition / "katas" / f"{FIRST.module}.py"
    kata.write_text(reference(FIRST.module))
    try:
        done = run(edition, "classroom", "run", "mul", "--test-timeout=60")
        assert done.returncode == 0, done.stdout + done.stderr
        assert "variable/mul: 2 of 2 points (cumulative mode)" in done.stdout
        failing = run(edition, "classroom", "run", "log", "--test-timeout=60")
        assert failing.returncode == 1 and "primitives/log: 0 of" in failing.stdout, failing.stdout
    finally:
        kata.write_bytes(stub_bytes(FIRST.module))
    workflow = (edition / ".github" / "workflows" / "classroom.yml").read_text()
    assert "python -m katatools classroom run mul" in workflow

"""Stage 7 and the tools: where its exercises are written, what reset does with them, and the
failure message that points at the line of a primitive that is not generic."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from learner_repo import MANIFEST, make_repo, stub_bytes, tool

from katatools.manifest import ROOT
from katatools.runner import run_suite


def test_an_exercise_is_written_in_the_modules_its_covers_name():
    assert MANIFEST.exercise_modules(MANIFEST.exercise("add")) == ["variable"]
    assert MANIFEST.exercise_modules(MANIFEST.exercise("nested")) == ["second_order", "primitives", "variable"]
    assert MANIFEST.exercise_modules(MANIFEST.exercise("derivative")) == ["second_order"]
    assert MANIFEST.exercise_modules(MANIFEST.exercise("newton")) == ["second_order"]


def test_hints_name_every_file_of_the_exercise(tmp_path):
    run = tool(make_repo(tmp_path / "repo"), "check", "--hint", "nested")
    assert run.returncode == 0
    assert "Hints for nested, in katas/second_order.py and katas/primitives.py and katas/variable.py" in run.stdout


def test_reset_of_nested_restores_second_order_and_says_what_stays(tmp_path):
    repo = make_repo(tmp_path / "repo")
    mine = b"# my second_derivative\n"
    (repo / "katas" / "second_order.py").write_bytes(mine)
    variable = (repo / "katas" / "variable.py").read_bytes()
    run = tool(repo, "reset", "nested")
    assert run.returncode == 0, run.stderr
    assert (repo / "katas" / "second_order.py").read_bytes() == stub_bytes("second_order")
    assert (repo / "katas" / "variable.py").read_bytes() == variable
    assert "exercise nested also has code in earlier stages' modules, not reset: katas/primitives.py" in run.stdout
    assert [p.read_bytes() for p in (repo / "katas").glob("second_order.py.bak-*")] == [mine]


@pytest.fixture
def math_exp_package(tmp_path: Path) -> Path:
    """The reference, its exp calling math.exp on a value that is a Variable (a stage-2 exp, not generic)."""
    package = tmp_path / "package"
    shutil.copytree(ROOT / "solutions", package, ignore=shutil.ignore_patterns("__pycache__"))
    path = package / "primitives.py"
    text = path.read_text()
    nested = "        value = exp(u.value)\n        return Variable(value, u.grad * value)\n"
    assert text.count(nested) == 1
    path.write_text(text.replace(nested, "        e = math.exp(u.value)\n        return Variable(e, e * u.grad)\n"))
    return package


def test_a_primitive_that_is_not_generic_is_shown_with_its_line(math_exp_package):
    run = run_suite(math_exp_package, tests=["tests/test_second_order.py"], exercises=["nested"],
                    extra=["-q", "-k", "exp"])
    assert run.report is not None and run.returncode == 1, run.output[-2000:]
    assert "TypeError" in run.output
    assert "at primitives.py, line" in run.output and "in exp: e = math.exp(u.value)" in run.output
    assert "math's functions (and float()) take one plain number" in run.output

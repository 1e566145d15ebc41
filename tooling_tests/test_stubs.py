"""Tests of katatools/stubs.py: the stubs in katas/ are generated from the marked reference."""

from __future__ import annotations

import ast

import pytest

from katatools import stubs
from katatools.manifest import Exercise, Manifest, Stage, load_manifest

MANIFEST = load_manifest()

STAGE = Stage("toy", "Toy stage", "toy", "tests/test_toy.py", 0)


def exercise(name: str, covers: tuple[str, ...], index: int) -> Exercise:
    return Exercise(name, "toy", 1, f"the {name} exercise", ("a", "b", "c"), index, f"rule of {name}", covers)


TOY = Manifest((STAGE,), (exercise("double", ("double", "Box.scale"), 0), exercise("signed", ("Box.scale",), 1)))
TOY_SOURCE = '''"""A toy module."""


def double(x: float) -> float:
    """Twice x."""
    # BEGIN double
    return 2 * x
    # END double


class Box:
    def scale(self, k: float) -> float:
        """Scale, later with a sign."""
        value = k
        # BEGIN double
        value = 2 * value
        # BEGIN signed when k < 0
        if k < 0:
            value = -value
        # END signed
        # END double
        return value
'''


def run_toy(text: str) -> dict:
    namespace: dict = {}
    exec(compile(text, "toy.py", "exec"), namespace)  # noqa: S102 - the toy module above, nothing else
    return namespace


def test_every_region_becomes_a_stub_and_the_rest_is_kept():
    out = stubs.stub_source(TOY_SOURCE, TOY, where="toy.py")
    assert "# BEGIN" not in out and "# END" not in out
    assert '"""Twice x."""' in out and "value = k" in out and "return value" in out
    toy = run_toy(out)
    with pytest.raises(NotImplementedError, match="exercise 'double': the double exercise. Rule: rule of double"):
        toy["double"](3.0)
    with pytest.raises(NotImplementedError, match="exercise 'double'"):
        toy["Box"]().scale(2.0)  # the outer region took the inner one with it
    ast.parse(out)


def test_a_guarded_region_stubbed_alone_raises_only_when_its_guard_holds():
    out = stubs.stub_source(TOY_SOURCE, TOY, exercises=["signed"], where="toy.py")
    toy = run_toy(out)
    assert toy["double"](3.0) == 6.0 and toy["Box"]().scale(2.0) == 4.0
    with pytest.raises(NotImplementedError, match="exercise 'signed'"):
        toy["Box"]().scale(-2.0)
    untouched = run_toy(stubs.stub_source(TOY_SOURCE, TOY, exercises=[], where="toy.py"))
    assert untouched["Box"]().scale(-2.0) == 4.0
    assert stubs.stub_source(TOY_SOURCE, TOY, exercises=[]) == stubs.solution_source(TOY_SOURCE)


def test_the_markers_are_checked_against_covers():
    assert stubs.check_covers(TOY_SOURCE, STAGE, TOY, "toy.py") == []
    moved = TOY_SOURCE.replace("    # BEGIN double\n    return 2 * x\n    # END double\n", "    return 2 * x\n")
    assert stubs.check_covers(moved, STAGE, TOY, "toy.py") == [
        "toy.py: double is in the `covers` of 'double' but holds no region of it"]
    narrower = Manifest((STAGE,), (exercise("double", ("double",), 0), TOY.exercises[1]))
    [problem] = stubs.check_covers(TOY_SOURCE, STAGE, narrower, "toy.py")
    assert problem.startswith("toy.py:15: a region of 'double' in Box.scale") and "does not list" in problem


@pytest.mark.parametrize("source, message", [
    ("# BEGIN a\nx = 1\n", "has no END"),
    ("# END a\n", "where no END was due"),
    ("# BEGIN a\n# BEGIN b\n# END a\n# END b\n", "'# END a' where # END b was due"),
    ("    # BEGIN a\n# END a\n", "not indented like its BEGIN"),
    ("# BEGIN a when x\n# END a\n", "must sit inside another region"),
    ("# BEGIN\n", "malformed marker"),
])
def test_malformed_markers_are_refused_with_their_line(source, message):
    with pytest.raises(stubs.MarkerError, match=message):
        stubs.find_regions(source, "toy.py")


def test_an_unknown_exercise_in_a_marker_is_refused():
    with pytest.raises(stubs.MarkerError, match="unknown exercise 'tripple'"):
        stubs.stub_source("# BEGIN tripple\nx = 1\n# END tripple\n", TOY, where="toy.py")


def test_long_messages_are_split_at_spaces_and_read_back_whole():
    long = Exercise("double", "toy", 1, "a description " * 8, ("a", "b", "c"), 0, "a rule " * 6, ("double",))
    lines = stubs.stub_lines(long, "        ", None)
    assert len(lines) > 3 and all(len(line) <= stubs.MESSAGE_WIDTH for line in lines)
    code = "def f():\n" + "\n".join(lines) + "\n"
    with pytest.raises(NotImplementedError) as raised:
        run_toy(code)["f"]()
    assert str(raised.value) == stubs.stub_message(long)


def test_the_reference_markers_agree_with_the_manifest():
    for stage in MANIFEST.stages:
        path = stubs.module_path(stubs.REFERENCE_DIR, stage)
        assert stubs.check_covers(path.read_text(encoding="utf-8"), stage, MANIFEST, path.name) == []


def stub_messages(source: str) -> set[str]:
    """The messages of every ``raise NotImplementedError("...")`` in a module."""
    return {node.exc.args[0].value for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call) and node.exc.args
            and isinstance(node.exc.args[0], ast.Constant)}


def test_every_exercise_has_a_stub_that_names_it():
    generated = stubs.generated_stubs(MANIFEST)
    for e in MANIFEST.exercises:
        modules = {MANIFEST.cover_module(e, cover) for cover in e.covers}
        assert any(stubs.stub_message(e) in stub_messages(generated[f"{m}.py"]) for m in modules), e.name


def test_the_stubs_of_later_exercises_leave_the_earlier_ones_working(tmp_path):
    """The independence proof's package: exercise neg done with everything before it, the rest stubs."""
    package = stubs.write_package(tmp_path / "midway", stubs.later_stubbed(MANIFEST, "neg"))
    text = (package / "variable.py").read_text()
    later_here = {"constants", "pow_variable", "arrays", "reductions", "nested"}  # stages 5 and 7 extend it
    assert {m.split("'")[1] for m in stub_messages(text)} == later_here
    assert "return Variable(-self.value, -self.grad)" in text


def test_check_mode_reports_a_stale_kata_and_changes_nothing(tmp_path, monkeypatch):
    stale = tmp_path / "katas"
    stubs.write_package(stale, stubs.generated_stubs(MANIFEST))
    monkeypatch.setattr(stubs, "KATAS_DIR", stale)
    assert stubs.main(["--check"]) == 0
    first = stale / f"{MANIFEST.stages[0].module}.py"
    first.write_text(first.read_text() + "# a learner's edit\n")
    assert stubs.main(["--check"]) == 1
    assert first.read_text().endswith("# a learner's edit\n")


# ---------------------------------------------------------------- an exercise that extends an earlier stage's module

LATER = Stage("later", "Later stage", "later", "tests/test_later.py", 1)
EXTENDED = Manifest((STAGE, LATER), (
    exercise("double", ("double", "Box.scale"), 0), exercise("signed", ("Box.scale",), 1),
    Exercise("boxes", "later", 1, "boxes of arrays", ("a", "b", "c"), 2, "rule of boxes", ("toy:double", "pack")),
))
EXTENDED_SOURCE = TOY_SOURCE.replace("    # BEGIN double\n    return 2 * x\n", """    # BEGIN double
    # BEGIN boxes when isinstance(x, list)
    if isinstance(x, list):
        return [2 * v for v in x]
    # END boxes
    return 2 * x
""")


def test_a_later_exercise_names_the_earlier_module_it_extends():
    assert stubs.check_covers(EXTENDED_SOURCE, STAGE, EXTENDED, "toy.py") == []
    midway = run_toy(stubs.stub_source(EXTENDED_SOURCE, EXTENDED, exercises=["boxes"], where="toy.py"))
    assert midway["double"](3.0) == 6.0
    with pytest.raises(NotImplementedError, match="exercise 'boxes'"):
        midway["double"]([1.0])
    assert EXTENDED.learner_modules(LATER) == ["later", "toy"] and EXTENDED.learner_modules(STAGE) == ["toy"]


def test_a_region_in_another_module_needs_that_module_in_covers():
    plain = Manifest(EXTENDED.stages, EXTENDED.exercises[:2] + (
        Exercise("boxes", "later", 1, "boxes", ("a", "b", "c"), 2, "rule", ("double", "pack")),))
    [problem] = stubs.check_covers(EXTENDED_SOURCE, STAGE, plain, "toy.py")
    assert "a region of 'boxes' in double" in problem and "as 'toy:double'" in problem
    unused = Manifest(EXTENDED.stages, EXTENDED.exercises[:2] + (
        Exercise("boxes", "later", 1, "boxes", ("a", "b", "c"), 2, "rule", ("toy:double", "toy:Box.scale")),))
    assert stubs.check_covers(EXTENDED_SOURCE, STAGE, unused, "toy.py") == [
        "toy.py: toy:Box.scale is in the `covers` of 'boxes' but holds no region of it"]


def test_an_earlier_exercise_has_no_region_in_a_later_module():
    source = "def pack(x):\n    # BEGIN double\n    return x\n    # END double\n"
    problems = stubs.check_covers(source, LATER, EXTENDED, "later.py")
    assert any("exercise 'double' belongs to stage 'toy', not 'later'" in p for p in problems)


THREE = Manifest(
    tuple(Stage(f"s{i}", f"Stage {i}", "toy", f"tests/test_s{i}.py", i) for i in range(3)),
    (Exercise("base", "s0", 1, "the base", ("a", "b", "c"), 0, "rule of base", ("f",)),
     Exercise("wide", "s1", 1, "wide inputs", ("a", "b", "c"), 1, "rule of wide", ("f",)),
     Exercise("deep", "s2", 1, "deep inputs", ("a", "b", "c"), 2, "rule of deep", ("f",))))
THREE_SOURCE = '''
def f(x):
    # BEGIN base
    # BEGIN wide when x > 10
    if x > 10:
        return "wide"
    # END wide
    # BEGIN deep when x > 100
    if x > 100:
        return "deep"
    # END deep
    return "base"
    # END base
'''


def test_the_latest_stages_guard_comes_first_in_a_stub():
    """An input of a later stage (x > 100, which also passes the earlier guard, as a nested Variable's ndim is its
    value's) must stop at its own stage's guard, not at the earlier one that the learner replaces first."""
    out = stubs.stub_source(THREE_SOURCE, THREE, where="toy.py")
    f = run_toy(out)["f"]
    with pytest.raises(NotImplementedError, match="exercise 'deep'"):
        f(1000)
    with pytest.raises(NotImplementedError, match="exercise 'wide'"):
        f(50)
    with pytest.raises(NotImplementedError, match="exercise 'base'"):
        f(1)
    assert out.index("exercise 'deep'") < out.index("exercise 'wide'") < out.index("exercise 'base'")


def test_a_nested_variable_holding_arrays_stops_at_nesteds_stub_in_pow(tmp_path):
    """The pristine __pow__: a learner writes pow below the later stages' guards, then arrays in place of its
    guard. Stage 7's input (a nested Variable holding arrays, whose ndim is its value's) must meet nested's guard
    first, so that nested shows "not started" until the learner comes back to it, whatever their arrays code."""
    import importlib.util

    import numpy as np

    (tmp_path / "variable_stub.py").write_text(stubs.generated_stubs(MANIFEST)["variable.py"], encoding="utf-8")
    spec = importlib.util.spec_from_file_location("variable_stub", tmp_path / "variable_stub.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    Variable = module.Variable
    for given, expected in [(Variable(Variable(np.ones(3), np.eye(3)), Variable(np.zeros(3), 0.0)), "nested"),
                            (Variable(np.ones(3), np.eye(3)), "arrays"), (Variable(2.0, 1.0), "pow")]:
        with pytest.raises(NotImplementedError, match=f"exercise '{expected}'"):
            given ** Variable(3.0, 0.0)

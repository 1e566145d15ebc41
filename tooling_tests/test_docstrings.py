"""Docstrings state what; hints give how: no exercise's docstring holds the reference's code.

A learner reads the docstrings of the functions an exercise covers, and the docstring of each
module its code is in, before anything else: what they hold is the contract (inputs, outputs,
shapes, errors, edge cases) and the idea. The method is the hints' (exercises.toml), shown one
level at a time. So each of those docstrings is compared, as test_hints.py compares the hints,
with every statement the reference hides from the learner (inside a ``# BEGIN``/``# END``
region of solutions/), using test_hints.py's normalisation and matching. Not compared:

- ``raise`` statements: the error an exercise raises is part of its contract;
- statements shorter than SHORTEST_STATEMENT normalised characters, which say too little;
- a single call of ready-made helpers (functions of solutions/ that hold no region), such as
  ``xs, ys = as_batch(x, y, labels=True)``: the docstring names the checks to call.
"""

from __future__ import annotations

import ast

import pytest
from test_hints import GIVEAWAY, LONGEST_PIECE, MANIFEST, docstrings, giveaway, hidden_statements, normalised

from katatools.manifest import ROOT
from katatools.stubs import find_regions

SHORTEST_STATEMENT = 20  # normalised characters below which a hidden statement says too little to give anything away


def ready_made() -> set[str]:
    """The names of the functions and classes of solutions/ that hold no region: the helpers a learner calls."""
    names: set[str] = set()
    for stage in MANIFEST.stages:
        path = ROOT / "solutions" / f"{stage.module}.py"
        text = path.read_text(encoding="utf-8")
        starts = [r.begin + 1 for r in find_regions(text, path.name)]  # 1-based lines of the BEGIN markers
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                last = node.end_lineno or node.lineno
                if not any(node.lineno <= start <= last for start in starts):
                    names.add(node.name)
    return names


READY_MADE = ready_made()


def called(function: ast.expr) -> str | None:
    """The name a call calls: ``f`` for f(...), ``m`` for x.m(...)."""
    if isinstance(function, ast.Name):
        return function.id
    return function.attr if isinstance(function, ast.Attribute) else None


def calls_ready_made_only(statement: ast.stmt) -> bool:
    """True for a statement that is one call of ready-made helpers (or a tuple of them), bare or assigned."""
    value = statement.value if isinstance(statement, (ast.Expr, ast.Assign, ast.AnnAssign)) else None
    parts = value.elts if isinstance(value, ast.Tuple) else [value]
    if not parts or not all(isinstance(part, ast.Call) for part in parts):
        return False
    return all(called(node.func) in READY_MADE for node in ast.walk(statement) if isinstance(node, ast.Call))


def compared_statements() -> list[tuple[str, str]]:
    """(where, normalised code) of the hidden statements a docstring may not hold."""
    return [(where, code) for where, statement, code in hidden_statements()
            if len(code) >= SHORTEST_STATEMENT and not isinstance(statement, ast.Raise)
            and not calls_ready_made_only(statement)]


COMPARED = compared_statements()
PIECE = min(int(min(GIVEAWAY * len(code), LONGEST_PIECE)) for _, code in COMPARED)  # the shortest match giveaway flags


def holds(text: str) -> str | None:
    """giveaway(text, COMPARED), fast: only the statements sharing a piece of PIECE characters with the text
    can be given away, and only those go through giveaway's comparison."""
    text_pieces = pieces(normalised(text))
    near = [(where, code) for where, code in COMPARED if not text_pieces.isdisjoint(pieces(code))]
    return giveaway(text, near) if near else None


def pieces(code: str) -> set[str]:
    return {code[i:i + PIECE] for i in range(len(code) - PIECE + 1)}


def exercise_docstrings(exercise) -> dict[str, str]:
    """"module:name" -> docstring, for each function an exercise covers and each module its code is in."""
    found = {}
    for module in MANIFEST.exercise_modules(exercise):
        texts = docstrings(ROOT / "solutions" / f"{module}.py")
        found[f"{module}:<module>"] = texts["<module>"]
        for cover in exercise.covers:
            if MANIFEST.cover_module(exercise, cover) == module:
                name = cover.split(":")[-1]
                found[f"{module}:{name}"] = texts[name]
    return found


def given_away(exercise) -> dict[str, str]:
    """Docstring -> the hidden statement it holds, for the docstrings of an exercise that hold one."""
    return {name: line for name, text in exercise_docstrings(exercise).items() if (line := holds(text))}


@pytest.mark.parametrize("exercise", MANIFEST.exercises, ids=lambda e: e.name)
def test_no_docstring_holds_the_references_code(exercise):
    held = given_away(exercise)
    assert not held, (f"{exercise.name}: docstrings that hold the reference's code (state the contract there, "
                      f"and move the method into the hints): {held}")


def test_the_comparison_catches_a_recipe_and_spares_a_contract():
    assert COMPARED, "the reference has no hidden statements to compare with"
    recipe = "Each iteration: m, b = m - lr * loss.grad[0], b - lr * loss.grad[1], from one seeded evaluation."
    assert giveaway(recipe, COMPARED) is not None and holds(recipe)
    contract = ("Return (m, b) as floats; ValueError for a bad label, checked with as_batch(x, y, labels=True), "
                "even with iters = 0.")
    assert giveaway(contract, COMPARED) is None and holds(contract) is None
    assert calls_ready_made_only(ast.parse("xs, ys = as_batch(x, y, labels=True)").body[0])
    assert not calls_ready_made_only(ast.parse("result = f(Variable(x, v[np.newaxis]))").body[0])

"""Hints teach rather than tell: no hint is the reference's code, and the stub names each rule once.

Every hint of every exercise in exercises.toml (whatever its stage, including stages added later)
is compared with every line of code the reference hides from the learner (inside a
``# BEGIN``/``# END`` region of solutions/): a hint that holds most of such a line, up to spaces,
punctuation and the spelling of numbers, gives the answer away. The rule of each exercise is in
its stub's NotImplementedError: the docstrings the stub keeps must not say it again.
"""

from __future__ import annotations

import ast
import re
from difflib import SequenceMatcher

import pytest

from katatools.manifest import ROOT, load_manifest
from katatools.stubs import find_regions

MANIFEST = load_manifest()
SHORTEST_LINE = 14  # characters of normalised code below which a statement says too little to give anything away
GIVEAWAY = 0.8  # the share of a hidden statement that a hint may not hold in one piece...
LONGEST_PIECE = 24  # ... nor this many characters of it (a whole expression: a product rule's two terms)


def normalised(text: str) -> str:
    """Code or prose reduced to what matters for a comparison: no spaces, no , ; : . between words, 1.0 as 1."""
    text = re.sub(r"(\d)\.0\b", r"\1", text.lower())
    return re.sub(r"[\s,;:`'\"]|\.(?=\s|$)", "", text)


def hidden_statements() -> list[tuple[str, ast.stmt, str]]:
    """(where, statement, normalised code) for every statement inside a region of a reference module: a
    simple statement whole, a compound one by its condition or iterable (its body is statements of its own)."""
    found = []
    for stage in MANIFEST.stages:
        path = ROOT / "solutions" / f"{stage.module}.py"
        text = path.read_text(encoding="utf-8")
        inside = [range(r.begin + 2, r.end + 1) for r in find_regions(text, path.name)]  # 1-based code lines
        for node in ast.walk(ast.parse(text)):
            if not isinstance(node, ast.stmt) or not any(node.lineno in lines for lines in inside):
                continue
            part = getattr(node, "test", None) or getattr(node, "iter", None)
            if isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.With, ast.Try)):
                continue
            code = normalised(ast.get_source_segment(text, part if part is not None else node) or "")
            found.append((f"solutions/{path.name}:{node.lineno}", node, code))
    return found


def hidden_lines() -> list[tuple[str, str]]:
    """(where, normalised code) for every hidden statement long enough to give something away."""
    return [(where, code) for where, _, code in hidden_statements() if len(code) >= SHORTEST_LINE]


HIDDEN = hidden_lines()


def giveaway(hint: str, lines: list[tuple[str, str]] | None = None) -> str | None:
    """The hidden line (of ``lines``, by default every one of HIDDEN) a hint gives away, if any."""
    text = normalised(hint)
    for where, line in HIDDEN if lines is None else lines:
        match = SequenceMatcher(None, text, line, autojunk=False).find_longest_match(0, len(text), 0, len(line))
        if match.size >= min(GIVEAWAY * len(line), LONGEST_PIECE):
            return f"{where}: {line}"
    return None


@pytest.mark.parametrize("exercise", MANIFEST.exercises, ids=lambda e: e.name)
def test_no_hint_is_the_references_code(exercise):
    given = {f"hint {n}": line for n, hint in enumerate(exercise.hints, start=1) if (line := giveaway(hint))}
    assert not given, f"{exercise.name}: hints that hold the reference's code: {given}"


def test_the_comparison_catches_a_line_copied_into_a_hint():
    assert HIDDEN, "the reference has no hidden lines to compare with"
    copied = "grad = self.grad * other.value + self.value * other.grad"  # the product rule's line, as the post has it
    assert giveaway(f"Write {copied}; keep both terms.") is not None
    assert giveaway("Think about which of the operands carries a derivative.") is None


def docstrings(path) -> dict[str, str]:
    """Qualified function name -> its docstring, and "<module>" -> the module's."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = {"<module>": ast.get_docstring(tree) or ""}

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found[prefix + child.name] = ast.get_docstring(child) or ""
                visit(child, prefix + child.name + ".")
            elif isinstance(child, ast.ClassDef):
                found[prefix + child.name] = ast.get_docstring(child) or ""
                visit(child, prefix + child.name + ".")

    visit(tree, "")
    return found


@pytest.mark.parametrize("exercise", MANIFEST.exercises, ids=lambda e: e.name)
def test_the_rule_is_named_once_in_the_stub_not_again_in_a_docstring(exercise):
    module = MANIFEST.stage(exercise.stage).module
    texts = docstrings(ROOT / "solutions" / f"{module}.py")
    rule = normalised(exercise.rule)
    # The rule itself, and each of its formulas (the clauses that hold a derivative or an equation).
    formulas = [normalised(part) for part in re.split(r",|;| for | with | which ", exercise.rule)
                if ("'" in part or "=" in part) and len(normalised(part)) >= 8]
    restated = {name: text for name, text in texts.items()
                if any(piece in normalised(text) for piece in [rule, *formulas])}
    assert not restated, f"{exercise.name}: the rule {exercise.rule!r} is restated in the docstrings of {list(restated)}"

"""When can a learner's stage module run on the reference's earlier stages (isolated mode)?

Isolated mode grades stage *k*'s module on top of the reference's modules for the stages before
it, so that one early bug costs only its own exercises. That only works when the module asks its
earlier stages for names the reference also has: a learner whose ``primitives.py`` imports a
helper it wrote in its own ``variable.py`` (``from .variable import _as_variable``, or
``variable._as_variable`` after ``from . import variable``) cannot be imported on the reference's
``variable.py``, which has no such helper; and one that imports its earlier stages by absolute name
(``from katas.variable import Variable``) would mix its own classes with the reference's.

The rule: such a stage runs on the submission's own earlier modules instead (as in cumulative
mode), and the grader says so in the notes. This is decided before anything runs, by reading the
module (``needs_own_stages``), so the same submission is always graded the same way, in every
mode. A name the module takes from an earlier stage is "the reference's" when the reference
module defines or imports it at its top level.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .manifest import Manifest, Stage

OWN_PACKAGES = ("katas", "solutions")  # absolute names a learner's code may use for its own modules
MODULE_ATTRIBUTES = {"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__", "__dict__",
                     "__builtins__", "__cached__", "__annotations__"}  # every module has them


def top_level_names(source: str | bytes) -> set[str]:
    """The names a module defines or imports at its top level (also inside top-level if/try/with)."""
    names: set[str] = set(MODULE_ATTRIBUTES)
    pending = list(ast.parse(source).body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
        elif isinstance(node, ast.If | ast.Try | ast.With):
            pending.extend(node.body + getattr(node, "orelse", []) + getattr(node, "finalbody", []))
            for handler in getattr(node, "handlers", []):
                pending.extend(handler.body)
    return names


def needs_own_stages(source: str | bytes, stage: Stage, manifest: Manifest, reference: Path) -> list[str]:
    """Why ``source`` (the learner's module of ``stage``) cannot run on the reference's earlier
    stages, one reason per name: e.g. ``"variable._as_variable, which the reference's variable.py
    lacks"``. Empty when it can (or when it does not parse: its own error will say why)."""
    earlier = {s.module for s in manifest.stages if s.index < stage.index}
    if not earlier:
        return []
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return []
    known: dict[str, set[str]] = {}

    def reference_has(module: str, name: str) -> bool:
        if module not in known:
            known[module] = top_level_names((reference / f"{module}.py").read_bytes())
        return name in known[module]

    reasons: list[str] = []
    aliases: dict[str, str] = {}  # local name -> earlier stage module bound by `from . import variable`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module in earlier:
                reasons += [f"{node.module}.{a.name}" for a in node.names
                            if a.name != "*" and not reference_has(node.module, a.name)]
            elif node.module is None:
                aliases.update({a.asname or a.name: a.name for a in node.names if a.name in earlier})
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] in OWN_PACKAGES and (parts[1:2] and parts[1] in earlier or
                                             any(a.name in earlier for a in node.names)):
                reasons.append(f"{node.module} by its absolute name")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] in OWN_PACKAGES and parts[1:2] and parts[1] in earlier:
                    reasons.append(f"{alias.name} by its absolute name")
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases
                and not reference_has(aliases[node.value.id], node.attr)):
            reasons.append(f"{aliases[node.value.id]}.{node.attr}")
    unique = sorted(set(reasons))
    return [r if r.endswith("absolute name") else f"{r}, which the reference's {r.split('.')[0]}.py lacks"
            for r in unique]

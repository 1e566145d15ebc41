"""Isolated mode, per exercise: which modules a run takes from the submission, and which from the reference.

Isolated mode grades each exercise with the learner's code only where that exercise's own code
lives (its stage's module, and the modules its ``covers`` name: stage 5's arrays is written in
``variable.py`` and ``primitives.py``), and with the reference everywhere else, so that one slip
costs only the exercises whose code holds it. The exercises of a stage that share those modules
are graded by one run (``plan_runs``): stage 5 has three (arrays; reductions; jvp and gradient).

A run cannot always take a module from the reference. A learner whose ``tangents.py`` imports a
helper it wrote in its own ``variable.py`` (``from .variable import _chain``, or ``variable._chain``
after ``from . import variable``) cannot run on the reference's ``variable.py``, which lacks it; a
reference module that imports a name from one of the learner's modules that the learner's lacks
cannot run on it either. Such a module then comes from the submission too, and the run says why
(``Run.reasons``). A module that imports its earlier stages by absolute name (``from
katas.variable import Variable``) would mix its own classes with the reference's: its stage runs
in cumulative mode. All of this is decided by reading the modules before anything runs, so the same
submission is always graded the same way.

A name a module takes from another is "there" when that module defines or imports it at its top
level (also inside top-level if/try/with).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from dataclasses import dataclass

from ..manifest import Manifest, Stage
from ..parsing import parse

OWN_PACKAGES = ("katas", "solutions")  # absolute names a learner's code may use for its own modules
MODULE_ATTRIBUTES = {"__name__", "__file__", "__doc__", "__spec__", "__loader__", "__package__", "__dict__",
                     "__builtins__", "__cached__", "__annotations__"}  # every module has them

Sources = Mapping[str, "str | bytes"]  # module name ("variable") -> its source


@dataclass(frozen=True)
class Run:
    """One pytest run of a submission's stage in isolated mode: the exercises it grades, the modules
    it takes from the submission (the rest of the earlier stages' come from the reference), and
    why some of those are the submission's beyond the exercises' own. ``cumulative``: every module
    is the submission's (its stage imports its own modules by absolute name)."""

    stage: Stage
    exercises: tuple[str, ...]
    own: tuple[str, ...]
    reasons: tuple[str, ...] = ()
    cumulative: bool = False


def top_level_names(source: str | bytes) -> set[str]:
    """The names a module defines or imports at its top level (also inside top-level if/try/with)."""
    names: set[str] = set(MODULE_ATTRIBUTES)
    tree = _parse(source)
    pending = list(tree.body) if tree is not None else []
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


def _parse(source: str | bytes) -> ast.Module | None:
    try:
        return parse(source)  # one thread at a time (parsing.py): the grader plans on several
    except (SyntaxError, ValueError):
        return None  # it cannot run anyway: its own error will say why


def names_taken(source: str | bytes, modules: set[str]) -> dict[str, set[str]]:
    """Module -> the names ``source`` takes from it, among ``modules`` (its sibling kata modules):
    ``from .variable import a`` and ``variable.a`` after ``from . import variable``."""
    tree = _parse(source)
    taken: dict[str, set[str]] = {}
    if tree is None:
        return taken
    aliases: dict[str, str] = {}  # local name -> sibling module bound by `from . import variable`
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            if node.module in modules:
                taken.setdefault(node.module, set()).update(a.name for a in node.names if a.name != "*")
            elif node.module is None:
                aliases.update({a.asname or a.name: a.name for a in node.names if a.name in modules})
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in aliases:
            taken.setdefault(aliases[node.value.id], set()).add(node.attr)
    return taken


def by_absolute_name(source: str | bytes, modules: set[str]) -> list[str]:
    """The sibling modules ``source`` imports by their absolute name (``katas.variable``)."""
    tree = _parse(source)
    found: list[str] = []
    for node in ast.walk(tree) if tree is not None else ():
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] in OWN_PACKAGES and (parts[1:2] and parts[1] in modules
                                             or any(a.name in modules for a in node.names)):
                found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names
                      if a.name.split(".")[0] in OWN_PACKAGES and a.name.split(".")[1:2] and a.name.split(".")[1] in modules]
    return sorted(set(found))


def own_modules(first: list[str], earlier: list[str], submission: Sources, reference: Sources) -> tuple[list[str], list[str]]:
    """The modules a run takes from the submission, starting from ``first`` (the graded exercises'
    own), and why each earlier module beyond them is added: until nothing changes, an earlier
    module is the submission's when a module of the run it takes names from (the submission's,
    or the reference's) lacks one of them. ``earlier``: the earlier stages' modules, in order."""
    own = list(first)
    reasons: list[str] = []
    everything = set(earlier) | set(first)
    known: dict[tuple[str, bool], set[str] | None] = {}

    def has(module: str, name: str, mine: bool) -> bool:
        if (module, mine) not in known:
            source = (submission if mine else reference).get(module)
            known[module, mine] = top_level_names(source) if source is not None and _parse(source) else None
        names = known[module, mine]
        return names is None or name in names  # a module that is missing or does not parse reports itself

    changed = True
    while changed:
        changed = False
        for module in list(everything):
            mine = module in own
            source = (submission if mine else reference).get(module)
            if source is None:
                continue
            for other, names in sorted(names_taken(source, everything - {module}).items()):
                other_mine = other in own
                missing = sorted(n for n in names if not has(other, n, other_mine))
                if not missing:
                    continue
                whose = "your" if mine else "the reference's"
                lacks = "yours" if other_mine else "the reference's"
                add = module if other_mine and not mine else other if mine and not other_mine else None
                if add is None or add in own:
                    continue
                own.append(add)
                reasons.append(f"{whose} {module}.py takes {', '.join(missing)} from {other}.py, which {lacks} lacks")
                changed = True
    return [m for m in first] + [m for m in earlier if m in own and m not in first], reasons


def plan_runs(stage: Stage, exercises: list[str], manifest: Manifest, submission: Sources,
              reference: Sources) -> list[Run]:
    """The runs that grade ``exercises`` (of ``stage``, in manifest order) in isolated mode: one per
    set of modules taken from the submission, in the order of their first exercise."""
    earlier = [s.module for s in manifest.stages if s.index < stage.index]
    mine = submission.get(stage.module)
    absolute = by_absolute_name(mine, set(earlier)) if mine is not None else []
    if absolute:
        reason = f"your {stage.module}.py imports {', '.join(absolute)} by its absolute name"
        return [Run(stage, tuple(exercises), tuple([stage.module] + earlier), (reason,), cumulative=True)]
    runs: list[Run] = []
    for name in exercises:
        first = manifest.learner_modules(stage, [name])
        own, reasons = own_modules(first, earlier, submission, reference)
        same = next((i for i, r in enumerate(runs) if set(r.own) == set(own)), None)
        if same is None:
            runs.append(Run(stage, (name,), tuple(own), tuple(reasons)))
        else:
            run = runs[same]
            runs[same] = Run(stage, run.exercises + (name,), run.own, tuple(dict.fromkeys(run.reasons + tuple(reasons))))
    return runs

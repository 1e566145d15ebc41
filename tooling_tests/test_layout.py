"""katatools/ by audience: imports go one way, from the subpackages to the core, and never in a circle.

The core is the top of katatools (the manifest, the plugin, the stub generator, ...); ``learner``,
``grading`` and ``proofs`` are its subpackages. Every module is read with ``ast`` (nothing is
imported), every import counts, also one inside a function:

- a core module imports no subpackage;
- a subpackage's module imports the core and its own subpackage, and a module of another
  subpackage only where ``EXCEPTIONS`` names it; each exception is named in that subpackage's
  ``__init__`` docstring too;
- no import cycle among the modules of katatools.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from katatools.grading.workspace import plugin_modules

KATATOOLS = Path(__file__).resolve().parent.parent / "katatools"
SUBPACKAGES = ("learner", "grading", "proofs")

# module -> the modules of other subpackages it may import. Say why in the subpackage's docstring.
EXCEPTIONS = {
    "proofs.corpus": {"learner.check"},  # they run each entry the way a learner's check does
    "proofs.independence": {"learner.check"},
    "proofs.runs": {"learner.worker"},
}

Graph = dict[str, set[str]]


def modules(package: Path) -> dict[str, Path]:
    """Dotted name inside the package (``grading.grade``; a subpackage's ``__init__``: ``grading``)."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        parts = path.relative_to(package).with_suffix("").parts
        found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of the package that ``name`` imports, relative or as ``katatools.…``."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    package = [p for p in package if p]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                if node.level - 1 > len(package):
                    raise AssertionError(f"{name}: a relative import above katatools")
                base = package[:len(package) - (node.level - 1)]
            elif (node.module or "").split(".")[0] == "katatools":
                base = []
            else:
                continue
            module = [*base, *(node.module.split(".") if node.module else [])]
            if not node.level:
                module = module[1:]  # katatools.x.y -> x.y
            for alias in node.names:
                submodule = ".".join([*module, alias.name])
                found.add(submodule if submodule in known else ".".join(module))
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("katatools.") for a in node.names if a.name.startswith("katatools.")}
    return {m for m in found if m in known and m not in ("", name)}


def import_graph(package: Path) -> Graph:
    found = modules(package)
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def group(module: str, subpackages: tuple[str, ...]) -> str:
    """``core`` or the subpackage ``module`` belongs to."""
    head = module.split(".")[0]
    return head if head in subpackages else "core"


def wrong_way(graph: Graph, subpackages: tuple[str, ...], exceptions: dict[str, set[str]]) -> list[str]:
    """Every import against the layout's direction, as ``importer -> imported``."""
    bad = []
    for importer, targets in sorted(graph.items()):
        home = group(importer, subpackages)
        for target in sorted(targets):
            there = group(target, subpackages)
            if there in ("core", home) or target in exceptions.get(importer, ()):
                continue
            bad.append(f"{importer} -> {target} ({home} may not import {there})")
    return bad


def cycles(graph: Graph) -> list[list[str]]:
    """One cycle per strongly connected part of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(node: str) -> None:  # Tarjan's algorithm; katatools is far too shallow for recursion limits
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                part.append(member)
                if member == node:
                    break
            if len(part) > 1 or node in graph.get(node, ()):
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


GRAPH = import_graph(KATATOOLS)


def test_the_graph_is_read():
    assert set(SUBPACKAGES) <= set(GRAPH)
    assert "grading.workspace" in GRAPH["grading.grade"] and "manifest" in GRAPH["plugin"]
    assert "learner.check" in GRAPH["learner.watch"]  # ``from . import check``
    assert "report" in GRAPH["grading.grade"]  # ``from .. import report as results``


def test_subpackages_are_the_folders_with_an_init():
    folders = {p.parent.name for p in KATATOOLS.glob("*/__init__.py")}
    assert folders == set(SUBPACKAGES)


def test_the_core_imports_no_subpackage_and_subpackages_import_only_the_core_and_themselves():
    assert wrong_way(GRAPH, SUBPACKAGES, EXCEPTIONS) == []


def test_every_exception_is_used_and_named_in_its_subpackage_docstring():
    for importer, allowed in EXCEPTIONS.items():
        assert allowed <= GRAPH[importer], f"{importer}: an exception it no longer needs: {allowed - GRAPH[importer]}"
        home, short = importer.split(".", 1)
        doc = ast.get_docstring(ast.parse((KATATOOLS / home / "__init__.py").read_text(encoding="utf-8"))) or ""
        for target in allowed:
            assert f"``{short}``" in doc and f"``{target}``" in doc, f"{home}/__init__.py does not name {importer} -> {target}"


@pytest.mark.parametrize("subpackage", SUBPACKAGES)
def test_each_subpackage_says_whom_it_serves_and_what_it_may_import(subpackage):
    doc = ast.get_docstring(ast.parse((KATATOOLS / subpackage / "__init__.py").read_text(encoding="utf-8"))) or ""
    assert "May import: the core" in doc
    assert "exception" in doc or not any(m.startswith(f"{subpackage}.") for m in EXCEPTIONS)


def test_no_import_cycle():
    assert cycles(GRAPH) == []


def test_a_graded_run_copies_exactly_the_plugin_s_closure():
    """The grader copies the top-level modules the plugin imports (workspace.plugin_modules): with the
    core importing no subpackage, that is the plugin's whole closure."""
    closure, pending = set(), ["plugin"]
    while pending:
        module = pending.pop()
        if module not in closure:
            closure.add(module)
            pending += GRAPH[module]
    assert all(group(m, SUBPACKAGES) == "core" for m in closure)
    assert set(plugin_modules(KATATOOLS)) == closure | {"__init__"}


def test_the_checks_catch_a_wrong_way_import_and_a_cycle(tmp_path):
    """A made-up package with every fault: the checks above can fail."""
    files = {
        "__init__.py": "",
        "core.py": "from .learner import check\n",  # the core imports a subpackage
        "learner/__init__.py": "",
        "learner/check.py": "def f():\n    from ..grading.grade import x\n",  # across, inside a function
        "grading/__init__.py": "",
        "grading/grade.py": "from katatools.learner import check\n",  # across, absolute; and a cycle
        "proofs/__init__.py": "",
        "proofs/corpus.py": "from ..learner.check import x\n",  # the allowed exception
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path)
    assert wrong_way(graph, SUBPACKAGES, {"proofs.corpus": {"learner.check"}}) == [
        "core -> learner.check (core may not import learner)",
        "grading.grade -> learner.check (grading may not import learner)",
        "learner.check -> grading.grade (learner may not import grading)",
    ]
    assert cycles(graph) == [["grading.grade", "learner.check"]]

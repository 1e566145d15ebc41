"""A static look at a kata module: what a kata has no reason to do, flagged for a human.

A kata needs numpy, math and its own earlier stages, and may use harmless parts of the standard
library (functools, itertools, dataclasses..., and ``sys`` for printing to ``sys.stderr``).
Anything else (another import, the reference's ``solutions`` above all, or its name in a string;
``open``, ``exec``, ``eval``, ``__import__``, any other use of ``sys``, ``os``, ``builtins``,
``pytest`` or ``_pytest``, or reaching into interpreter internals through attributes such as
``__globals__``) is flagged with its line. A flag is a prompt to read the code, not a verdict, and it never
changes a score. It is also no sandbox: a determined author can hide a call from any static
check, which is why the grader runs every submission in a separate process (see docs/instructors.md,
"What the grader defends against").
"""

from __future__ import annotations

import ast

from ..parsing import parse

# Modules a kata may import. Besides numpy and math: `from __future__ import annotations`
# (used by every stub), numbers / typing / collections.abc, which only describe types, and modules
# of the standard library that compute or organise code without reaching outside the process.
ALLOWED_IMPORTS = {"numpy", "math", "__future__", "numbers", "typing", "collections", "functools", "itertools",
                   "operator", "dataclasses", "enum", "abc", "copy", "fractions", "decimal", "cmath", "statistics",
                   "warnings", "sys"}
# `sys` is allowed for these only (printing to stderr, the float type's limits); any other use is flagged.
HARMLESS_SYS = {"stderr", "stdout", "float_info", "int_info", "maxsize", "version_info", "hash_info"}
FLAGGED_NAMES = {"open", "exec", "eval", "compile", "__import__", "breakpoint", "globals",
                 "sys", "os", "builtins", "__builtins__", "pytest", "_pytest", "importlib", "subprocess"}
FLAGGED_ATTRIBUTES = {"__globals__", "__builtins__", "__subclasses__", "__code__", "__closure__", "__import__",
                      "__loader__", "__spec__", "f_globals", "f_locals", "f_back", "gi_frame", "tb_frame"}
MAX_FLAGS_PER_MODULE = 20


REFERENCE_PACKAGE = "solutions"  # the reference: a kata never has a reason to name it


def _allowed(module: str, own: set[str]) -> bool:
    if any(module == a or module.startswith(a + ".") for a in ALLOWED_IMPORTS):
        return True
    parts = module.split(".")
    return (parts[0] == "katas" and len(parts) == 2 and parts[1] in own) or module in own


def reference_note(module: str) -> str:
    return ", the reference" if module.split(".")[0] == REFERENCE_PACKAGE else ""


def review_source(filename: str, source: str | bytes, own_modules: list[str]) -> list[str]:
    """Flags for one module, as ``"file:line what"``; none for a module that does not parse (it cannot run)."""
    try:
        tree = parse(source, filename)  # one thread at a time (parsing.py): the grader reviews on several
    except (SyntaxError, ValueError):
        return []
    own = set(own_modules)
    flags: list[tuple[int, str]] = []
    sys_names = {"sys"} | {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import)
                           for a in n.names if a.name == "sys"}
    harmless: set[int] = set()  # ids of the `sys` names used as `sys.stderr` and the like
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in sys_names:
            if node.attr in HARMLESS_SYS:
                harmless.add(id(node.value))
            else:
                flags.append((node.lineno, f"uses sys.{node.attr}"))
                harmless.add(id(node.value))  # flagged once, by what it reaches
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            flags += [(node.lineno, f"imports {a.name}" + reference_note(a.name)) for a in node.names
                      if not _allowed(a.name, own)]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: only the kata's own modules
                names = [node.module] if node.module else [a.name for a in node.names]
                flags += [(node.lineno, f"imports .{n}") for n in names if n.split(".")[0] not in own]
            elif node.module == "sys":
                flags += [(node.lineno, f"imports sys.{a.name}") for a in node.names if a.name not in HARMLESS_SYS]
            elif not _allowed(node.module or "", own):
                flags.append((node.lineno, f"imports {node.module}" + reference_note(node.module or "")))
        elif isinstance(node, ast.Name) and node.id in sys_names:
            if id(node) not in harmless:
                flags.append((node.lineno, f"uses {node.id}"))
        elif isinstance(node, ast.Name) and node.id in FLAGGED_NAMES:
            flags.append((node.lineno, f"uses {node.id}"))
        elif isinstance(node, ast.Attribute) and node.attr in FLAGGED_ATTRIBUTES:
            flags.append((node.lineno, f"uses .{node.attr}"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in FLAGGED_NAMES - {"os"}:
            flags.append((node.lineno, f"names {node.value!r} in a string"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and REFERENCE_PACKAGE in node.value.lower():
            flags.append((node.lineno, f"names the reference ({REFERENCE_PACKAGE!r}) in a string"))
    unique = sorted(set(flags))
    shown = [f"{filename}:{line} {what}" for line, what in unique[:MAX_FLAGS_PER_MODULE]]
    if len(unique) > MAX_FLAGS_PER_MODULE:
        shown.append(f"{filename}: {len(unique) - MAX_FLAGS_PER_MODULE} more flags")
    return shown


def review_modules(modules: dict[str, bytes], own_modules: list[str]) -> list[str]:
    """Flags for every module of a submission (``{"variable.py": source}``), in the order given."""
    flags: list[str] = []
    for name, source in modules.items():
        flags.extend(review_source(name, source, own_modules))
    return flags

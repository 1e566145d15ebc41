"""Parse Python source one thread at a time.

CPython 3.11 can fail with "SystemError: AST constructor recursion depth mismatch" when several
threads build syntax trees at once, and the grader plans, reviews and patches submissions on
several threads. Every parse and compile of source text the tools do from a thread goes through here.
"""

from __future__ import annotations

import ast
import threading

PARSING = threading.Lock()


def parse(source: str | bytes, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse``, one at a time; SyntaxError and ValueError (a null byte) as it raises them."""
    with PARSING:
        return ast.parse(source, filename=filename)


def check_compiles(source: str, filename: str) -> None:
    """``compile(source)`` for its SyntaxError only, one at a time."""
    with PARSING:
        compile(source, filename, "exec")

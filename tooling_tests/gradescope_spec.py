"""Gradescope's results.json, as its autograder specification describes it, for tests to validate against.

Source: Gradescope's "Autograder Specifications" page (gradescope-autograders.readthedocs.io,
"Output format"), read for this project: the top-level fields and the fields of each test, their
types, the visibility values ("hidden", "after_due_date", "after_published", "visible"), the
formats of output strings ("text", "html", "simple_format", "md", "ansi") and the test statuses
("passed", "failed"). A score is required at the top level or on every test. The page also says
that students cannot see their total score when tests are hidden.
"""

from __future__ import annotations

import numbers

VISIBILITIES = {"hidden", "after_due_date", "after_published", "visible"}
FORMATS = {"text", "html", "simple_format", "md", "ansi"}
STATUSES = {"passed", "failed"}


def _number(value: object) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _strings(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


TOP_LEVEL = {
    "score": _number,
    "execution_time": _number,
    "output": lambda v: isinstance(v, str),
    "output_format": lambda v: v in FORMATS,
    "test_output_format": lambda v: v in FORMATS,
    "test_name_format": lambda v: v in FORMATS,
    "visibility": lambda v: v in VISIBILITIES,
    "stdout_visibility": lambda v: v in VISIBILITIES,
    "extra_data": lambda v: isinstance(v, dict),
    "tests": lambda v: isinstance(v, list),
    "leaderboard": lambda v: isinstance(v, list),
}
TEST = {
    "score": _number,
    "max_score": _number,
    "status": lambda v: v in STATUSES,
    "name": lambda v: isinstance(v, str),
    "name_format": lambda v: v in FORMATS,
    "number": lambda v: isinstance(v, str),
    "output": lambda v: isinstance(v, str),
    "output_format": lambda v: v in FORMATS,
    "tags": _strings,
    "visibility": lambda v: v in VISIBILITIES,
    "extra_data": lambda v: isinstance(v, dict),
}


def problems(results: object) -> list[str]:
    """Everything in ``results`` that the specification does not allow (empty: valid)."""
    if not isinstance(results, dict):
        return ["results.json is not a JSON object"]
    found = [f"unknown top-level field {k!r}" for k in results if k not in TOP_LEVEL]
    found += [f"top-level {k!r} has a wrong type or value: {v!r}"[:200] for k, v in results.items()
              if k in TOP_LEVEL and not TOP_LEVEL[k](v)]
    tests = results.get("tests", [])
    for i, test in enumerate(tests if isinstance(tests, list) else []):
        if not isinstance(test, dict):
            found.append(f"tests[{i}] is not an object")
            continue
        found += [f"tests[{i}]: unknown field {k!r}" for k in test if k not in TEST]
        found += [f"tests[{i}]: {k!r} has a wrong type or value: {v!r}"[:200] for k, v in test.items()
                  if k in TEST and not TEST[k](v)]
    if "score" not in results and not (tests and all(isinstance(t, dict) and "score" in t for t in tests)):
        found.append("no score: neither at the top level nor on every test")
    return found


def total_hidden_from_students(results: dict) -> bool:
    """True when Gradescope would hide the student's total: some test is not always visible."""
    default = results.get("visibility", "visible")
    return any(t.get("visibility", default) != "visible" for t in results.get("tests", []))

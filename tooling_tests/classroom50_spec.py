"""Classroom 50's result.json (``classroom50/result/v1``), as its contract states it, for tests to validate against.

Sources, read for this project in foundation50/classroom50: the wiki's "Advanced Autograding" page
("The result.json contract": fields, types, ``datetime`` the graded commit's committer date in UTC,
integer scores that are the sums of the tests'), ``schemas/result-v1.schema.json`` (required
fields, no other top-level field, the ``^submit/`` tag, the ``YYYY-MM-DDTHH:MM:SSZ`` form, each
test's required ``test-name``, ``passed``, ``score``, ``max-score`` with extra fields allowed) and
the checks its runner makes before publishing (non-negative integers that are not booleans, a
score never above its maximum). Rules only, in our own words: none of their code.
"""

from __future__ import annotations

import re

SCHEMA = "classroom50/result/v1"
REQUIRED = ("schema", "classroom", "assignment", "assignment_type", "owner", "submission", "commit", "release",
            "review", "datetime", "score", "max-score", "tests")
OPTIONAL = ("graded_at", "submitted_by")
INSTANT = re.compile(r"^\d{4}-\d{2}-\d{2}T([01]\d|2[0-3]):[0-5]\d:[0-5]\dZ$")
TEST_REQUIRED = ("test-name", "passed", "score", "max-score")
STATUSES = ("success", "failure", "error")  # the commit status an autograder may report in $GITHUB_OUTPUT


def _count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)


def problems(result: object) -> list[str]:
    """Everything in ``result`` that the contract does not allow (empty: valid)."""
    if not isinstance(result, dict):
        return ["result.json is not a JSON object"]
    found = [f"missing field {k!r}" for k in REQUIRED if k not in result]
    found += [f"unknown top-level field {k!r}" for k in result if k not in REQUIRED + OPTIONAL]
    if result.get("schema") != SCHEMA:
        found.append(f"schema is {result.get('schema')!r}")
    for key in ("classroom", "assignment", "owner", "commit", "release", "review"):
        if key in result and not _text(result[key]):
            found.append(f"{key!r} must be a non-empty string")
    if result.get("assignment_type") not in ("individual", "group", "team"):
        found.append(f"assignment_type is {result.get('assignment_type')!r}")
    if not (_text(result.get("submission")) and result["submission"].startswith("submit/")):
        found.append("'submission' must be a submit/* tag")
    for key in ("datetime", "graded_at"):
        if key in result and not (isinstance(result[key], str) and INSTANT.match(result[key])):
            found.append(f"{key!r} is not YYYY-MM-DDTHH:MM:SSZ: {result[key]!r}")
    for key in ("score", "max-score"):
        if not _count(result.get(key)):
            found.append(f"{key!r} must be a non-negative integer")
    tests = result.get("tests")
    if not isinstance(tests, list):
        return found + ["'tests' is not a list"]
    for i, test in enumerate(tests):
        if not isinstance(test, dict):
            found.append(f"tests[{i}] is not an object")
            continue
        found += [f"tests[{i}]: missing {k!r}" for k in TEST_REQUIRED if k not in test]
        if not _text(test.get("test-name")):
            found.append(f"tests[{i}].test-name must be a non-empty string")
        if not isinstance(test.get("passed"), bool):
            found.append(f"tests[{i}].passed must be a boolean")
        if not (_count(test.get("score")) and _count(test.get("max-score"))):
            found.append(f"tests[{i}]: score and max-score must be non-negative integers")
        elif test["score"] > test["max-score"]:
            found.append(f"tests[{i}]: score above max-score")
    if not found:
        if result["score"] != sum(t["score"] for t in tests) or result["max-score"] != sum(t["max-score"] for t in tests):
            found.append("score / max-score are not the sums of the tests'")
        if result["score"] > result["max-score"]:
            found.append("score above max-score")
    return found


def outputs(text: str) -> dict[str, list[str]]:
    """``$GITHUB_OUTPUT``'s ``name=value`` lines, each name's values in order."""
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        name, _, value = line.partition("=")
        found.setdefault(name, []).append(value)
    return found

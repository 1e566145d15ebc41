"""GitHub Classroom: an autograding workflow with one step per exercise, generated from the manifest.

``python -m katatools classroom [--out .github/workflows/classroom.yml]`` writes the workflow that
GitHub Classroom's autograding runs on every push to a student's repository (a copy of this one):
Python and the grader's dependencies, then one step per exercise of exercises.toml using
Classroom's command grader (``classroom-resources/autograding-command-grader``, inputs
``test-name``, ``setup-command``, ``command``, ``timeout`` in minutes, ``max-score``), with
``max-score`` the exercise's points, then Classroom's reporter
(``classroom-resources/autograding-grading-reporter``: input ``runners``, the steps' ids, and one
``<ID>_RESULTS`` variable per step), which sums the points and sends them to Classroom. The
workflow, its job and its steps keep the names the reporter requires ("Autograding Tests",
``run-autograding-tests``). Generated again after the manifest changes; nothing else lists the
exercises.

Each step runs ``python -m katatools classroom run EXERCISE``: the grader (the same workspace,
isolated mode, sandbox where it works, limits) on that exercise alone of the repository it runs in,
printing the result and its first failure, and exiting 0 only when every test of the exercise
passes. It works the same on your machine: ``python -m katatools classroom run mul path/to/repo``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from pathlib import Path

from .. import report as results
from ..manifest import ROOT, Manifest, ManifestError, load_manifest
from ..stubs import reference_sources
from .grade import GradeError, Grader, invoked_from, say_how_code_runs
from .gradebook import exercise_output, exercise_title
from .options import DEFAULT_WALL_LIMIT, add_limits, parse_with_limits
from .submissions import Submission, SubmissionError, discover

COMMAND_GRADER = "classroom-resources/autograding-command-grader@v1"
REPORTER = "classroom-resources/autograding-grading-reporter@v1"
WORKFLOW_NAME = "Autograding Tests"  # the reporter sends scores only from a workflow of this name,
JOB_ID = "run-autograding-tests"  # and from this job
DEFAULT_OUT = Path(".github/workflows/classroom.yml")
PYTHON_VERSION = "3.12"


def step_id(exercise: str) -> str:
    """The step's id: the reporter reads its result from the variable ``<ID upper-cased>_RESULTS``."""
    return exercise.replace("-", "_")


def run_command(exercise: str) -> str:
    return f"python -m katatools classroom run {exercise}"


def workflow(manifest: Manifest, requirements: list[str], python: str = PYTHON_VERSION) -> dict:
    """The workflow as data: one command-grader step per exercise, in the manifest's order."""
    install = "python -m pip install --quiet " + " ".join(json.dumps(r) for r in requirements)
    minutes = max(1, math.ceil(DEFAULT_WALL_LIMIT / 60) + 2)  # the grader stops first, then Actions would
    steps: list[dict] = [
        {"name": "Checkout code", "uses": "actions/checkout@v4"},
        {"name": "Set up Python", "uses": "actions/setup-python@v5", "with": {"python-version": python}},
        {"name": "Install the grader's dependencies", "run": install},
    ]
    for e in manifest.exercises:
        name = exercise_title(e)
        steps.append({"name": name, "id": step_id(e.name), "uses": COMMAND_GRADER,
                      "with": {"test-name": name, "setup-command": "", "command": run_command(e.name),
                               "timeout": minutes, "max-score": e.points}})
    ids = [step_id(e.name) for e in manifest.exercises]
    steps.append({"name": "Autograding Reporter", "uses": REPORTER,
                  "env": {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids},
                  "with": {"runners": ",".join(ids)}})
    return {"name": WORKFLOW_NAME, "on": ["push", "repository_dispatch"],
            "permissions": {"checks": "write", "actions": "read", "contents": "read"},
            "jobs": {JOB_ID: {"runs-on": "ubuntu-latest", "if": "github.actor != 'github-classroom[bot]'",
                              "steps": steps}}}


PLAIN_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]*")
YAML_WORDS = {"on", "off", "yes", "no", "y", "n", "true", "false", "null"}  # keys YAML 1.1 reads as booleans


def yaml_key(key: str) -> str:
    return key if PLAIN_KEY.fullmatch(key) and key.lower() not in YAML_WORDS else json.dumps(key)


def to_yaml(value: object, indent: int = 0) -> list[str]:
    """Block-style YAML for dicts, lists, strings and numbers. Every string value is double-quoted
    the JSON way (valid YAML), so that none is read as another type (``3.10``, ``on``...)."""
    pad = " " * indent
    lines: list[str] = []
    items = value.items() if isinstance(value, dict) else enumerate(value)  # type: ignore[union-attr]
    for key, item in items:
        head = f"{pad}{yaml_key(key)}:" if isinstance(value, dict) else f"{pad}-"
        if isinstance(item, dict | list) and item:
            if isinstance(value, list) and isinstance(item, dict):
                nested = to_yaml(item, indent + 2)
                lines.append(f"{pad}- {nested[0].lstrip()}")
                lines.extend(nested[1:])
            else:
                lines.append(head)
                lines.extend(to_yaml(item, indent + 2))
        else:
            lines.append(f"{head} {json.dumps(item)}")
    return lines


def workflow_text(root: Path = ROOT) -> str:
    """The workflow for the repository at ``root`` (its manifest and its grader's dependencies)."""
    from .gradescope import requirements

    return render(load_manifest(root / "exercises.toml"), requirements(root / "pyproject.toml"))


def render(manifest: Manifest, requirements: list[str]) -> str:
    header = ["# GitHub Classroom's autograding: one step per exercise of exercises.toml, max-score = its points.",
              "# Generated by `python -m katatools classroom` (nox -s classroom): generate it again after",
              "# changing the manifest rather than editing it. Each step's command also works locally."]
    return "\n".join(header + to_yaml(workflow(manifest, requirements))) + "\n"


# ---------------------------------------------------------------- one step


def run_step(exercise: str, folder: Path, args: argparse.Namespace) -> int:
    """Grade one exercise of the repository (or katas/ folder) in ``folder``; 0 when it is done."""
    manifest = load_manifest()
    try:
        wanted = manifest.exercise(exercise)
        submissions = discover([folder], manifest)
    except (ManifestError, SubmissionError) as exc:
        print(f"classroom: {exc}", file=sys.stderr)
        return 2
    if len(submissions) != 1:
        print(f"classroom: {folder} holds {len(submissions)} submissions; give the one repository to grade",
              file=sys.stderr)
        return 2
    submission: Submission = submissions[0]
    mode = args.mode
    if mode == "auto":  # isolated where the reference is there; a learner's edition has none
        mode = "isolated" if reference_sources(manifest) is not None else "cumulative"
    modes = (mode,)
    try:
        grader = Grader(modes, args.test_timeout, args.wall_limit, sandbox=not args.no_sandbox,
                        exercises=[wanted.name])
    except GradeError as exc:
        print(f"classroom: {exc}", file=sys.stderr)
        return 2
    try:
        say_how_code_runs(grader)
        graded = grader.grade(submission)
    finally:
        grader.close()
    outcome = next(o for o in graded.outcomes if any(r.exercise.name == wanted.name for r in o.results))
    result = next(r for r in outcome.results if r.exercise.name == wanted.name)
    earned = wanted.points if result.status == results.DONE else 0
    print(f"{wanted.stage}/{wanted.name}: {earned} of {wanted.points} points ({modes[0]} mode)")
    print(exercise_output(result, outcome.problem if result.status != results.DONE else ""))
    for problem in ([submission.problem] if submission.problem else []):
        print(f"problem: {problem}")
    return 0 if earned else 1


# ---------------------------------------------------------------- command line


def main(argv: list[str]) -> int:
    if argv and argv[0] == "run":
        parser = argparse.ArgumentParser(prog="python -m katatools classroom run",
                                         description="Grade one exercise; exit 0 only when all its tests pass.")
        parser.add_argument("exercise", help="an exercise of exercises.toml")
        parser.add_argument("submission", nargs="?", type=Path, default=Path("."),
                            help="the repository (or katas/ folder) to grade (default: the current directory)")
        parser.add_argument("--mode", choices=("auto", "isolated", "cumulative"), default="auto",
                            help="auto (default): isolated where the repository has the reference (solutions/), "
                                 "else cumulative (a learner's edition)")
        add_limits(parser, "seconds for the exercise's stage", stages=False)
        args = parse_with_limits(parser, argv[1:])
        return run_step(args.exercise, invoked_from() / args.submission, args)
    parser = argparse.ArgumentParser(prog="python -m katatools classroom", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help=f"the workflow file to write (default: {DEFAULT_OUT}, from where you run the command)")
    args = parser.parse_args(argv)
    out = invoked_from() / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(workflow_text(), encoding="utf-8")
    manifest = load_manifest()
    print(f"classroom: wrote {out}: {len(manifest.exercises)} autograding steps, "
          f"{sum(e.points for e in manifest.exercises)} points; commit it to the assignment's template repository")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

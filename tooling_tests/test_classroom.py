"""The GitHub Classroom workflow (katatools/grading/classroom.py): valid for the actions it uses, and each
step's command grading its exercise, run here as Actions would run it in a student's repository.

The actions' inputs, as their READMEs document them (classroom-resources/autograding-command-grader
and classroom-resources/autograding-grading-reporter, read for this project): the command grader
takes ``test-name`` (required), ``setup-command``, ``command`` (required; exit code 0 is a pass),
``timeout`` (minutes, at most 6 hours) and ``max-score``; the reporter takes ``runners`` (required:
the graders' step ids, comma-separated) and reads each runner's result from the environment
variable ``<ID in capitals>_RESULTS``; it reports to Classroom only from a workflow named
"Autograding Tests" whose one job is ``run-autograding-tests``.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml
from learner_repo import MANIFEST, make_repo

from katatools.grading.classroom import COMMAND_GRADER, REPORTER, render
from katatools.grading.gradescope import requirements
from katatools.manifest import ROOT

pytestmark = pytest.mark.slow  # minutes: a proof end to end (nox -s proofs runs it)

GRADER_INPUTS = {"test-name", "setup-command", "command", "timeout", "max-score"}
GRADER_REQUIRED = {"test-name", "command"}
REPORTER_INPUTS = {"runners"}
MAX_TIMEOUT_MINUTES = 6 * 60
STEP_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")  # GitHub Actions' rule for a step's id
EXERCISES = [e for e in MANIFEST.exercises if (ROOT / MANIFEST.stage(e.stage).tests).is_file()]


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    out = tmp_path_factory.mktemp("classroom") / "classroom.yml"
    done = subprocess.run([sys.executable, "-m", "katatools", "classroom", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    text = out.read_text()
    assert text == render(MANIFEST, requirements())
    return yaml.safe_load(text)


def grader_steps(workflow: dict) -> list[dict]:
    return [s for s in workflow["jobs"]["run-autograding-tests"]["steps"] if s.get("uses") == COMMAND_GRADER]


def test_the_workflow_has_the_names_the_reporter_requires(workflow):
    assert workflow["name"] == "Autograding Tests"
    assert list(workflow["jobs"]) == ["run-autograding-tests"]
    assert "push" in workflow["on"]
    assert workflow["jobs"]["run-autograding-tests"]["runs-on"] == "ubuntu-latest"


def test_one_command_grader_step_per_exercise_with_its_points(workflow):
    steps = grader_steps(workflow)
    assert [s["with"]["command"].split()[-1] for s in steps] == [e.name for e in MANIFEST.exercises]
    for step, exercise in zip(steps, MANIFEST.exercises, strict=True):
        inputs = step["with"]
        assert set(inputs) <= GRADER_INPUTS and GRADER_REQUIRED <= set(inputs), inputs
        assert all(isinstance(inputs[k], str) for k in ("test-name", "setup-command", "command"))
        assert exercise.name in inputs["test-name"]
        assert inputs["max-score"] == exercise.points and isinstance(inputs["max-score"], int)
        assert isinstance(inputs["timeout"], int) and 1 <= inputs["timeout"] <= MAX_TIMEOUT_MINUTES
        assert STEP_ID.fullmatch(step["id"]), step["id"]
    assert len({s["id"] for s in steps}) == len(steps)


def test_the_reporter_reads_every_grader_step(workflow):
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    reporter = [s for s in steps if s.get("uses") == REPORTER]
    assert len(reporter) == 1 and steps[-1] is reporter[0]
    ids = [s["id"] for s in grader_steps(workflow)]
    assert set(reporter[0]["with"]) == REPORTER_INPUTS
    assert reporter[0]["with"]["runners"].split(",") == ids
    assert reporter[0]["env"] == {f"{i.upper()}_RESULTS": f"${{{{steps.{i}.outputs.result}}}}" for i in ids}


def test_the_dependencies_are_installed_before_the_first_step(workflow):
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    first = steps.index(grader_steps(workflow)[0])
    install = " ".join(s.get("run", "") for s in steps[:first])
    for requirement in requirements():
        assert shlex.quote(requirement) in install or f'"{requirement}"' in install, requirement


@pytest.fixture(scope="module")
def repositories(tmp_path_factory):
    """Two students' repositories, as Actions checks them out: one with the reference, one untouched."""
    root = tmp_path_factory.mktemp("repos")
    solved = make_repo(root / "solved")
    for module in {MANIFEST.stage(e.stage).module for e in EXERCISES}:
        (solved / "katas" / f"{module}.py").write_text((ROOT / "solutions" / f"{module}.py").read_text())
    return {"solved": solved, "fresh": make_repo(root / "fresh")}


def run_step(command: str, repository: Path) -> subprocess.CompletedProcess:
    """The step's command in the repository, as Actions runs it (no nox around it)."""
    words = shlex.split(command)
    assert words[0] == "python"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KATA_INVOKED_FROM")}
    return subprocess.run([sys.executable, *words[1:]], cwd=repository, env=env, capture_output=True, text=True,
                          timeout=900)


def test_each_steps_command_grades_its_exercise_in_a_students_repository(workflow, repositories):
    """Exit 0 (the step's points) for the reference, 1 for the untouched stubs, with the exercise named.

    Each stage's first and last step on the reference, and its first on the stubs: three runs a
    stage rather than every step twice. The steps' commands differ only in the exercise's name
    (checked above against the manifest, with each step's points); that the reference earns every
    exercise's points is test_grade's proof, and that every kata test fails on the stubs is
    prove-stubs'."""
    steps = [s for s in grader_steps(workflow) if s["id"] in {e.name for e in EXERCISES}]
    stages = {e.stage for e in EXERCISES}
    firsts = {next(e.name for e in EXERCISES if e.stage == stage) for stage in stages}
    lasts = {[e.name for e in EXERCISES if e.stage == stage][-1] for stage in stages}
    jobs = [(s, "solved") for s in steps if s["id"] in firsts | lasts]
    jobs += [(s, "fresh") for s in steps if s["id"] in firsts]
    assert len({s["id"] for s, kind in jobs if kind == "fresh"}) == len(stages)
    with ThreadPoolExecutor(2) as pool:
        done = list(pool.map(lambda job: run_step(job[0]["with"]["command"], repositories[job[1]]), jobs))
    for (step, kind), run in zip(jobs, done, strict=True):
        points = step["with"]["max-score"]
        expected = (0, f"{points} of {points} points") if kind == "solved" else (1, f"0 of {points} points")
        assert (run.returncode, expected[1] in run.stdout) == (expected[0], True), (step["id"], kind, run.stdout,
                                                                                   run.stderr[-2000:])
        assert step["id"] in run.stdout.splitlines()[0]

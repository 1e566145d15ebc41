"""Gradescope's autograder zip (katatools/grading/gradescope.py), run end to end in a simulated /autograder.

The zip is built by the command, unpacked as Gradescope does (``/autograder/source``), its
``run_autograder`` started from ``/autograder`` with a submission in ``/autograder/submission``;
what setup.sh would install is this environment (``/autograder/venv`` points at it). Every
``results.json`` must follow Gradescope's specification (gradescope_spec.py), keep the student's
total visible, and exist whatever happens: no kata module, copies in two places, the grader
failing, Python itself missing. The zip grades the first stage only, to keep the runs short.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import gradescope_spec
import pytest
from learner_repo import MANIFEST, reference

from katatools.grading.gradescope import requirements
from katatools.manifest import ROOT

FIRST = MANIFEST.stages[0]
FIRST_POINTS = sum(e.points for e in MANIFEST.exercises_of(FIRST.name))


@pytest.fixture(scope="module")
def autograder_zip(tmp_path_factory):
    """Built from another directory, with a relative --out, as an instructor would (nox passes the directory on)."""
    here = tmp_path_factory.mktemp("instructor")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["KATA_INVOKED_FROM"] = str(here)
    command = [sys.executable, "-m", "katatools", "gradescope", "--out", "course/autograder.zip",
               f"--stage={FIRST.name}", "--test-timeout=60"]
    path = here / "course" / "autograder.zip"
    built = []
    for _ in range(2):
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
        assert done.returncode == 0, done.stdout + done.stderr
        built.append(path.read_bytes())
    assert built[0] == built[1]  # the same repository gives the same bytes
    return path


def test_the_zip_holds_setup_sh_run_autograder_and_the_grading_files_at_its_root(autograder_zip):
    with zipfile.ZipFile(autograder_zip) as archive:
        names = archive.namelist()
        modes = {i.filename: (i.external_attr >> 16) & 0o777 for i in archive.infolist()}
        setup = archive.read("setup.sh").decode()
        run = archive.read("run_autograder").decode()
    for required in ("setup.sh", "run_autograder", "exercises.toml", "katatools/grading/grade.py", "tests/checks.py",
                     f"solutions/{FIRST.module}.py"):
        assert required in names
    assert not any("__pycache__" in n or n.startswith(("katas/", "submissions/", ".")) for n in names)
    assert modes["run_autograder"] & 0o111 and modes["setup.sh"] & 0o111
    assert run.startswith("#!/usr/bin/env bash\n") and setup.startswith("#!/usr/bin/env bash\n")
    install = shlex.split(setup.strip().splitlines()[-1])
    assert install[:4] == ["/autograder/venv/bin/python", "-m", "pip", "install"]
    assert set(requirements()) <= set(install)
    assert f"--stage={FIRST.name}" in run


def unpack(autograder_zip: Path, root: Path, submission: dict[str, str]) -> Path:
    """A simulated /autograder: the zip in source/, the submission, and the environment setup.sh makes."""
    with zipfile.ZipFile(autograder_zip) as archive:
        for info in archive.infolist():
            archive.extract(info, root / "source")
            os.chmod(root / "source" / info.filename, (info.external_attr >> 16) & 0o777)
    (root / "venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (root / "submission").mkdir()
    for name, text in submission.items():
        (root / "submission" / name).parent.mkdir(parents=True, exist_ok=True)
        (root / "submission" / name).write_text(text)
    return root


def run_autograder(root: Path, path: str = "/usr/bin:/bin") -> dict:
    env = {"PATH": path, "KATA_AUTOGRADER_ROOT": str(root), "LANG": "C.UTF-8"}
    done = subprocess.run([str(root / "source" / "run_autograder")], cwd=root, env=env, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    return {"results": results, "stdout": done.stdout + done.stderr}


FLAGGED = "import subprocess\n"
CASES = {
    "reference": {f"katas/{FIRST.module}.py": reference(FIRST.module)},
    "flagged": {f"{FIRST.module}.py": reference(FIRST.module).replace("import math", FLAGGED + "import math", 1)},
    "empty": {"README.md": "my notes\n"},
    "two_copies": {f"a/{FIRST.module}.py": reference(FIRST.module), f"b/{FIRST.module}.py": reference(FIRST.module)},
}


@pytest.fixture(scope="module")
def runs(autograder_zip, tmp_path_factory):
    """Each case in its own /autograder, two at a time; plus a grader that cannot start, and no Python at all."""
    root = tmp_path_factory.mktemp("autograder")
    layouts = {name: unpack(autograder_zip, root / name, files) for name, files in CASES.items()}
    broken = unpack(autograder_zip, root / "broken", CASES["reference"])
    (broken / "source" / "exercises.toml").write_text("this is [not toml\n")
    no_python = unpack(autograder_zip, root / "no_python", CASES["reference"])
    (no_python / "venv").unlink()
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(layouts, pool.map(run_autograder, layouts.values()), strict=True))
    done["broken"] = run_autograder(broken)
    bare = root / "bare-bin"  # a PATH with bash and coreutils but no python3
    bare.mkdir()
    for tool in ("bash", "mkdir", "cat", "printf", "dirname"):
        if shutil.which(tool):
            (bare / tool).symlink_to(shutil.which(tool))
    done["no_python"] = run_autograder(no_python, path=str(bare))
    return done


@pytest.mark.slow
@pytest.mark.parametrize("case", [*CASES, "broken", "no_python"])
def test_every_results_json_follows_gradescopes_specification(runs, case):
    results = runs[case]["results"]
    assert gradescope_spec.problems(results) == []
    assert not gradescope_spec.total_hidden_from_students(results)


def test_the_reference_earns_every_point(runs):
    results = runs["reference"]["results"]
    assert results["score"] == FIRST_POINTS == sum(t["max_score"] for t in results["tests"])
    assert all(t["status"] == "passed" for t in results["tests"])


def test_review_flags_reach_staff_only_and_the_student_keeps_the_total(runs):
    results, stdout = runs["flagged"]["results"], runs["flagged"]["stdout"]
    assert results["score"] == FIRST_POINTS
    assert results["stdout_visibility"] == "hidden"  # run_autograder's output: shown to staff only
    assert any("imports subprocess" in f for f in results["extra_data"]["review_flags"])
    assert "review flag: variable.py:" in stdout and "imports subprocess" in stdout
    assert "subprocess" not in results["output"] and all("subprocess" not in t["output"] for t in results["tests"])
    assert "review flags: none" in runs["reference"]["stdout"]


@pytest.mark.parametrize(("case", "why"), [("empty", "no kata modules found"), ("two_copies", "found in 2 places")])
def test_a_submission_that_cannot_be_read_scores_0_with_the_reason(runs, case, why):
    results = runs[case]["results"]
    assert results["score"] == 0 and why in results["output"] and "Nothing was graded" in results["output"]


def test_a_grader_that_fails_gives_0_and_tells_the_student(runs):
    results = runs["broken"]["results"]
    assert results["score"] == 0 and "autograder failed" in results["output"]
    assert "TOML" in runs["broken"]["stdout"] or "toml" in runs["broken"]["stdout"]


def test_without_python_run_autograder_still_writes_a_score_of_0(runs):
    results = runs["no_python"]["results"]
    assert results["score"] == 0 and "could not run" in results["output"]

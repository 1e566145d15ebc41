"""What a learner meets on the way through stages 5-8 (issue 24, item 3), each fixed and held here.

- An exercise written into an earlier stage's module (stage 5's arrays and reductions, stage 7's
  nested, in variable.py and primitives.py) is "not started" until the learner touches its own
  code: the stub of each earlier exercise keeps a marker for it (``if _holds_array(self, other):
  raise NotImplementedError("exercise 'arrays': ...")``) that a learner writing stages 1-4 leaves
  where it is.
- No "uv binary not found." line from nox where uv is absent.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from learner_repo import MANIFEST, make_repo, reference, tool, write_kata
from test_check import status_of

from katatools.manifest import ROOT
from katatools.stubs import stub_source

LATER = [e.name for e in MANIFEST.exercises if MANIFEST.stage(e.stage).index >= MANIFEST.stage("tangents").index]


def as_a_learner_leaves_it(module: str, started: list[str] = ()) -> str:
    """A module of stages 1-4 written as a learner writes it from the stubs: their own code (here the
    reference's) in place of each stub, the later stages' markers left where the stubs put them;
    ``started``: the exercises whose markers the learner has since replaced by code of their own."""
    return stub_source(reference(module), MANIFEST, [e for e in LATER if e not in started])


def test_exercises_in_earlier_modules_are_not_started_until_touched(tmp_path):
    repo = make_repo(tmp_path / "repo")
    for module in ("variable", "primitives"):
        write_kata(repo, module, as_a_learner_leaves_it(module))
    for module in ("losses", "training"):
        write_kata(repo, module, reference(module))
    run = tool(repo, "check", "tangents", "second_order")
    for name in ("arrays", "reductions", "jvp", "gradient", "nested", "derivative", "hessian", "newton"):
        assert status_of(run.stdout, name) == "not started", (name, run.stdout)
    # The learner starts arrays: its markers give way to code (here: with a slip in one operator).
    variable = as_a_learner_leaves_it("variable", started=["arrays"])
    slipped = variable.replace("self, other = lined_up(self, other)", "pass", 1)
    assert slipped != variable
    write_kata(repo, "variable", slipped)
    write_kata(repo, "primitives", as_a_learner_leaves_it("primitives", started=["arrays"]))
    run = tool(repo, "check", "tangents", "second_order")
    assert status_of(run.stdout, "arrays").startswith("failing"), run.stdout
    assert status_of(run.stdout, "nested") == "not started", run.stdout


def test_the_stubs_keep_a_marker_for_each_later_exercise_written_in_their_functions():
    stub = (ROOT / "katas" / "variable.py").read_text()
    add = re.sub(r'"\s*\n\s*"', "", stub[stub.index("def __add__"):stub.index("def __sub__")])  # one string each
    assert add.index("exercise 'arrays'") < add.index("exercise 'add'")  # the marker first, add's own stub last
    assert "stage 5 comes back to this line" in add


def test_nox_says_nothing_about_a_missing_uv(tmp_path):
    """nox logs "uv binary not found." on every session where uv is absent; the noxfile drops that line."""
    python = shutil.which("python3") or shutil.which("python")  # where .ci/run installs nox
    has_nox = python and subprocess.run([python, "-c", "import nox"], capture_output=True).returncode == 0
    if not has_nox:
        if os.environ.get("CI"):
            pytest.fail("CI installs nox (.ci/run)")
        pytest.skip("no python3 on PATH with nox")
    without_uv = ("import sys; sys.modules['uv'] = None; sys.argv = ['nox'] + sys.argv[1:]; "
                  "from nox.__main__ import main; main()")  # nox then looks for a uv binary on PATH only
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep)
                           if p and not (Path(p) / "uv").exists())
    env = {**os.environ, "PATH": path}
    env.pop("PYTHONPATH", None)
    done = subprocess.run([python, "-c", without_uv, "-f", str(ROOT / "noxfile.py"), "-s", "check", "--", "--hint",
                           "add"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Hints for add" in done.stdout and "uv binary" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_hints_of_nested_point_variable_py_at_the_primitive_methods():
    nested = MANIFEST.exercise("nested")
    assert any(".log()" in hint for hint in nested.hints), nested.hints
    assert Path(ROOT / "solutions" / "primitives.py").read_text().count("setattr(Variable,") == 1

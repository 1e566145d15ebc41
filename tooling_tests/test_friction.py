"""What a learner meets on the way through stages 5-8 (issue 24, item 3), each fixed and held here.

- An exercise written into an earlier stage's module (stage 5's arrays and reductions, stage 7's
  nested, in variable.py and primitives.py) is "not started" until the learner touches its own
  code: the stub of each earlier exercise keeps a marker for it (``if _holds_array(self, other):
  raise NotImplementedError("exercise 'arrays': ...")``) that a learner writing stages 1-4 leaves
  where it is.
- No "uv binary not found." line from nox where uv is absent.
- The arrays tests' labels state the shapes of each operand's value and grad (a scalar c carries
  3 tangents of its own).
- Each exercise whose tests count evaluations (of f, of the loss, sweeps) states its budget in
  the docstring of the function counted: the exercises come from a grep of the tests.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from learner_repo import MANIFEST, make_repo, reference, tool, write_kata
from test_check import status_of

from katatools.manifest import ROOT
from katatools.stubs import stub_source, write_package

LATER = [e.name for e in MANIFEST.exercises if MANIFEST.stage(e.stage).index >= MANIFEST.stage("tangents").index]


def as_a_learner_leaves_it(module: str, started: list[str] = ()) -> str:
    """A module of stages 1-4 written as a learner writes it from the stubs: their own code (here the
    reference's) in place of each stub, the later stages' markers left where the stubs put them;
    ``started``: the exercises whose markers the learner has since replaced by code of their own."""
    return stub_source(reference(module), MANIFEST, [e for e in LATER if e not in started])


@pytest.mark.slow
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


@pytest.mark.slow
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


# ---------------------------------------------------------------- the shapes in the arrays tests' labels

OPERAND_SHAPES = {  # what the label says of each operand of the arrays tests (3 tangents each)
    "x": "x = [0.5, 1.5, 2.5] (value (3,), grad (3, 3): 3 tangents)",
    "c": "c = 1.5 (a number, grad (3,): 3 tangents of its own)",
    "m": "value (2, 3), grad (3, 2, 3): 3 tangents",
}


def test_the_arrays_labels_state_the_shapes_of_value_and_grad(tmp_path):
    """A learner who forgot to line the tangents up (lined_up returns its operands as they are) reads, in each
    failing test's label, the shapes of every operand's value and grad."""
    variable = reference("variable")
    slipped = variable.replace("    if shapes[0] == shapes[1]:\n        return u, v\n", "    return u, v\n", 1)
    assert slipped != variable
    sources = {f"{stage.module}.py": reference(stage.module) for stage in MANIFEST.stages} | {"variable.py": slipped}
    package = write_package(tmp_path / "slipped", sources)
    run = subprocess.run([sys.executable, "-m", "pytest", "tests/test_tangents.py", "-q", "-p", "no:cacheprovider",
                          "--target", str(package), "--kata-summary", "no", "-k",
                          "test_arrays_exact or test_arrays_finite_difference"],
                         cwd=ROOT, capture_output=True, text=True, timeout=1800)
    labels = [line for line in run.stdout.splitlines() if line.startswith("[arrays] ") and " with " in line]
    assert any(line.startswith("[arrays] x + c with ") for line in labels), run.stdout[-3000:]
    for line in labels:
        for name, said in OPERAND_SHAPES.items():
            if re.search(rf"\b{name} = ", line):
                assert said in line, (name, line)


# ---------------------------------------------------------------- the evaluation budgets

COUNTING = re.compile(r"\.calls\b|len\(seen\)|expect_one_evaluation|expect_one_pass|len\((?:sweep|backward)_calls\)")
BUDGETS = {  # exercise -> the functions its tests count, each with the budget its docstring states
    "jvp": {"jvp": "budget: f is evaluated exactly once"},
    "gradient": {"gradient": "budget: f is evaluated exactly once", "jacobian": "budget: f is evaluated exactly once"},
    "batched_fits": {"fit_linear_regression_batched": "budget: one evaluation of the loss per iteration",
                     "fit_logistic_regression_batched": "budget: one evaluation of the loss per iteration",
                     "deep_model_batched": "budget: one forward pass",
                     "train_deep_model_batched": "budget: one evaluation of the loss (one deep_model_batched) per "
                                                 "iteration"},
    "real_data": {"fit_logistic_regression_l2": "budget: one evaluation of that objective per iteration",
                  "network_loss": "budget: one evaluation of the network",
                  "train_network": "budget: one evaluation (one network_loss) per iteration"},
    "nested": {"second_derivative": "budget: f is evaluated exactly once"},
    "derivative": {"derivative": "budget: each call of the returned function evaluates f exactly once"},
    "hessian": {"hvp": "budget: f is evaluated exactly once", "hessian": "budget: at most n evaluations of f"},
    "grad": {"grad": "budget: each call evaluates f exactly once, on nodes, and runs one backward()"},
    "both_ways": {"deep_model_reverse": "budget: one backward()",
                  "train_deep_model_reverse": "budget: each iteration's gradients come from at least one backward()"},
    "jacrev": {"jacrev": "budget: f is evaluated exactly once, on nodes, and backward() runs at most m times"},
    "crossover": {"jacfwd": "budget: f is evaluated exactly n times", "costs": "budget: n + 1 evaluations of f"},
}


def counted_exercises() -> dict[str, list[str]]:
    """Exercise -> its tests that count evaluations of f or of the loss, or sweeps, found in tests/."""
    found: dict[str, list[str]] = {}
    for stage in MANIFEST.stages:
        text = (ROOT / stage.tests).read_text(encoding="utf-8")
        for node in ast.walk(ast.parse(text)):
            if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
                continue
            marks = [d.args[0].value for d in node.decorator_list if isinstance(d, ast.Call)
                     and ast.unparse(d.func) == "pytest.mark.exercise" and d.args]
            if marks and COUNTING.search(ast.get_source_segment(text, node) or ""):
                found.setdefault(marks[0], []).append(node.name)
    return found


def test_the_budgets_cover_every_exercise_whose_tests_count_evaluations():
    counted = counted_exercises()
    assert set(counted) == set(BUDGETS), (f"exercises whose tests count evaluations: {counted}; with a budget "
                                          f"here: {sorted(BUDGETS)}")


def stated(text: str) -> str:
    return re.sub(r"\s+", " ", text.replace("``", "")).lower()


@pytest.mark.parametrize("exercise", sorted(BUDGETS))
def test_each_counted_exercise_states_its_budget_in_its_docstrings(exercise):
    module = MANIFEST.stage(MANIFEST.exercise(exercise).stage).module
    tree = ast.parse((ROOT / "solutions" / f"{module}.py").read_text(encoding="utf-8"))
    texts = {node.name: stated(ast.get_docstring(node) or "") for node in ast.walk(tree)
             if isinstance(node, ast.FunctionDef)}
    missing = {function: budget for function, budget in BUDGETS[exercise].items()
               if budget not in texts.get(function, "")}
    assert not missing, f"{exercise}: docstrings that do not state the budget the tests count: {missing}"

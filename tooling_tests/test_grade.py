"""End-to-end tests of `python -m katatools grade` on submissions built here, honest and hostile.

Each submission is built in a temporary folder from the reference (solutions/) and the pristine
stubs; its expected points are computed from exercises.toml for the stages that have tests, so
the tests hold whatever stages exist. To keep the run time down, most gradings cover only the
first two stages (``--stage``), which is enough to show one stage's failure not spreading, and
share one grading run (a folder of submissions in isolated mode) or two (a few in both modes);
one test grades the reference and the stubs over every stage.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import gradescope_spec
import pytest

from katatools.grading.grade import Grader
from katatools.grading.review import review_modules
from katatools.grading.submissions import SubmissionError, discover, locate, read_zip
from katatools.manifest import ROOT, load_manifest
from katatools.runner import run_suite
from katatools.stubs import generated_stubs

pytestmark = pytest.mark.slow  # minutes: a proof end to end (nox -s proofs runs it)

MANIFEST = load_manifest()
ALL_STAGES = [s for s in MANIFEST.stages if (ROOT / s.tests).is_file()]
STAGES = ALL_STAGES[:2]  # what most tests grade
STAGE_ARGS = [f"--stage={s.name}" for s in STAGES]
EXERCISES = [e for s in STAGES for e in MANIFEST.exercises_of(s.name)]
MAXIMUM = sum(e.points for e in EXERCISES)
MODULES = [s.module for s in MANIFEST.stages]
TEST_TIMEOUT = 10  # seconds per test in stages 1-2: well above their slowest reference test, and what a loop costs
# The stage whose module gets the syntax error: a later one, so that cumulative mode differs.
BROKEN = STAGES[1] if len(STAGES) > 1 else STAGES[0]
FIRST = STAGES[0]


def points(lost_stages=(), lost_exercises=()) -> int:
    return sum(e.points for e in EXERCISES if e.stage not in lost_stages and e.name not in lost_exercises)


def stages_from(stage) -> set[str]:
    return {s.name for s in STAGES if s.index >= stage.index}


# ---------------------------------------------------------------- building submissions


def reference_source(module: str) -> str:
    return (ROOT / "solutions" / f"{module}.py").read_text()


def pristine_source(module: str) -> str | None:
    return generated_stubs(MANIFEST).get(f"{module}.py")


def write_katas(folder: Path, sources: dict[str, str | None]) -> Path:
    folder.mkdir(parents=True)
    for module, source in sources.items():
        if source is not None:
            (folder / f"{module}.py").write_text(source)
    return folder


def reference(**changes: str) -> dict[str, str | None]:
    return {m: changes.get(m, reference_source(m)) for m in MODULES}


def stubs() -> dict[str, str | None]:
    return {m: pristine_source(m) for m in MODULES}


def prepend(source: str, code: str) -> str:
    """``code`` at the top of a module, after its docstring and ``from __future__`` line."""
    marker = "from __future__ import annotations\n"
    if marker in source:
        head, tail = source.split(marker, 1)
        return head + marker + code + tail
    return code + source


def replace_method(source: str, method: str, body: str) -> str:
    """The reference with one method's body replaced (the method's first line after `def` and docstring)."""
    lines = source.splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip().startswith(f"def {method}("))
    indent = " " * (len(lines[start]) - len(lines[start].lstrip()) + 4)
    return "\n".join(lines[: start + 1] + [indent + line for line in body.splitlines()] + lines[start + 1 :]) + "\n"


SHARED_HELPER = '''

def _chain(u, value, derivative):
    """A helper of the learner's own, which the reference's variable.py does not have."""
    return Variable(value, derivative * u.grad)
'''


def shares_helpers() -> dict[str, str | None]:
    """A correct submission whose primitives.py uses a helper of its own variable.py, imported both ways."""
    primitives = reference_source("primitives")
    for find, replace in [("from .variable import Variable", "from . import variable as own\nfrom .variable import _chain, Variable"),
                          ("    return Variable(e, e * u.grad)\n", "    return own._chain(u, e, e)\n")]:
        assert primitives.count(find) == 1, find
        primitives = primitives.replace(find, replace)
    return reference(variable=reference_source("variable") + SHARED_HELPER, primitives=primitives)


def fails_to_import(code: str) -> dict[str, str | None]:
    """The reference, with ``code`` run when primitives.py is imported."""
    return reference(primitives=prepend(reference_source("primitives"), code))


# Two ways for primitives.py to fail on import: a name its own variable.py lacks, and a file next
# to the variable.py it runs on (in isolated mode, a temporary copy of the reference's).
MISSING_NAME = "from .variable import _nowhere\n"
MISSING_FILE = "from . import variable as _v\nopen(_v.__file__ + '.data')\n"
PRIMITIVES = [e for e in EXERCISES if e.stage == "primitives"]


FORCE_PASS_CONFTEST = '''
import pytest

@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    report.outcome = "passed"
    report.longrepr = None
'''


def build_submissions(folder: Path) -> dict[str, dict]:
    """The hostile and honest submissions, each with its expected isolated-mode points."""
    folder.mkdir()
    cases: dict[str, dict] = {}

    write_katas(folder / "stubs", stubs())
    cases["stubs"] = {"points": 0}

    repo = folder / "reference"  # a repository copy: only katas/ counts, not its other copies
    write_katas(repo / "katas", reference())
    write_katas(repo / "solutions", stubs())
    cases["reference"] = {"points": MAXIMUM}

    write_katas(folder / "half_done", {**stubs(), FIRST.module: reference_source(FIRST.module)})
    cases["half_done"] = {"points": points(lost_stages={s.name for s in STAGES[1:]})}

    broken = reference_source(BROKEN.module) + "\ndef oops(:\n    pass\n"
    write_katas(folder / "syntax_error", reference(**{BROKEN.module: broken}))
    cases["syntax_error"] = {"points": points(lost_stages={BROKEN.name}), "status": "error"}

    exits = prepend(reference_source(FIRST.module), "import os\nos._exit(0)\n")
    write_katas(folder / "os_exit", reference(**{FIRST.module: exits}))
    cases["os_exit"] = {"points": points(lost_stages={FIRST.name}), "status": "error", "flag": "os"}

    loops = replace_method(reference_source("variable"), "__neg__", "while True:\n    pass")
    write_katas(folder / "loops", reference(variable=loops))
    cases["loops"] = {"points": points(lost_exercises={"neg"}), "status": "error"}

    prints = prepend(reference_source(FIRST.module), "for _line in range(50_000):\n    print('x' * 1023)\n")
    write_katas(folder / "prints", reference(**{FIRST.module: prints}))
    cases["prints"] = {"points": MAXIMUM}

    cheat = folder / "conftest_pass"
    write_katas(cheat / "katas", stubs())
    for where in (cheat, cheat / "katas", cheat / "tests"):
        where.mkdir(exist_ok=True)
        (where / "conftest.py").write_text(FORCE_PASS_CONFTEST)
    cases["conftest_pass"] = {"points": 0}

    edited = folder / "edited_tests"
    write_katas(edited / "katas", stubs())
    (edited / "tests").mkdir()
    for stage in STAGES:  # every kata test replaced by one that passes
        (edited / stage.tests).write_text("def test_nothing():\n    assert True\n")
    (edited / "pytest.ini").write_text("[pytest]\naddopts = -p no:katatools.plugin --deselect tests\n")
    (edited / "pyproject.toml").write_text('[tool.pytest.ini_options]\naddopts = "-x --co"\n')
    (edited / "sitecustomize.py").write_text("import os\nos._exit(0)\n")
    (edited / "katas" / "helpers.py").write_text("import os\nos._exit(0)\n")
    cases["edited_tests"] = {"points": 0}

    garble = ("import atexit\nimport sys\n\n\ndef _garble():\n"
              "    path = next(a.split('=', 1)[1] for a in sys.argv if a.startswith('--kata-report='))\n"
              "    with open(path, 'w') as f:\n        f.write('{not json')\n\n\natexit.register(_garble)\n")
    write_katas(folder / "garbles_results", reference(**{FIRST.module: prepend(reference_source(FIRST.module), garble)}))
    cases["garbles_results"] = {"points": points(lost_stages={FIRST.name}), "status": "error", "flag": "sys"}

    spy = prepend(reference_source(FIRST.module), "import _pytest\n")
    write_katas(folder / "imports_pytest", reference(**{FIRST.module: spy}))
    cases["imports_pytest"] = {"points": MAXIMUM, "flag": "_pytest"}

    exits_zip = prepend(reference_source(FIRST.module), "import sys\nsys.exit(3)\n")
    with zipfile.ZipFile(folder / "sys_exit.zip", "w") as archive:  # a zipped repository copy
        for module, source in reference(**{FIRST.module: exits_zip}).items():
            archive.writestr(f"autodiff-katas-main/katas/{module}.py", source)
        archive.writestr("autodiff-katas-main/tests/conftest.py", FORCE_PASS_CONFTEST)
    cases["sys_exit"] = {"points": points(lost_stages={FIRST.name}), "status": "error", "flag": "sys"}

    write_katas(folder / "shares_helpers" / "katas", shares_helpers())
    cases["shares_helpers"] = {"points": MAXIMUM}

    with zipfile.ZipFile(folder / "unsafe.zip", "w") as archive:
        for module, source in reference().items():
            archive.writestr(f"katas/{module}.py", source)
        archive.writestr("../escaped.py", "print('outside')\n")
    cases["unsafe"] = {"points": 0, "status": "error"}
    return cases


def grade(*args: str, test_timeout: float = TEST_TIMEOUT) -> subprocess.CompletedProcess:
    """The grader on the command line; without the class report (tested in test_classreport.py), which
    would run the mistakes of every failing exercise."""
    command = [sys.executable, "-m", "katatools", "grade", *args, f"--test-timeout={test_timeout:g}", "--jobs=2",
               "--no-report"]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)


def read_gradebook(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "gradebook.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Every submission, graded once in isolated mode (the default)."""
    root = tmp_path_factory.mktemp("grade")
    cases = build_submissions(root / "submissions")
    started = time.monotonic()
    done = grade(str(root / "submissions"), "--out", str(root / "out"), *STAGE_ARGS)
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    return {"cases": cases, "out": root / "out", "rows": read_gradebook(root / "out"), "stdout": done.stdout,
            "elapsed": elapsed}


CASES = ["stubs", "reference", "half_done", "syntax_error", "os_exit", "loops", "prints", "conftest_pass",
         "edited_tests", "garbles_results", "imports_pytest", "sys_exit", "unsafe", "shares_helpers"]


@pytest.mark.parametrize("case", CASES)
def test_every_submission_earns_exactly_what_its_kata_code_earns(graded, case):
    expected = graded["cases"][case]
    row = graded["rows"][case]
    assert int(row["total"]) == expected["points"], row
    assert int(row["maximum"]) == MAXIMUM
    assert row["status"] == expected.get("status", "ok"), row
    assert sum(int(row[e.name]) for e in EXERCISES) == expected["points"]
    results = json.loads((graded["out"] / case / "results.json").read_text())
    assert gradescope_spec.problems(results) == []
    assert not gradescope_spec.total_hidden_from_students(results)  # flagged or not, the student sees the total
    assert results["score"] == expected["points"]
    assert [t["max_score"] for t in results["tests"]] == [e.points for e in EXERCISES]
    assert sum(t["score"] for t in results["tests"]) == expected["points"]
    for test in results["tests"]:
        assert test["status"] == ("passed" if test["score"] == test["max_score"] else "failed")
    if "flag" in expected:
        assert expected["flag"] in row["flags"], row["flags"]
        assert any(expected["flag"] in f for f in results["extra_data"]["review_flags"])
    else:
        assert row["flags"] == "" and results["extra_data"]["review_flags"] == []


def test_each_error_names_its_cause(graded):
    rows = graded["rows"]
    assert "SyntaxError" in rows["syntax_error"]["notes"]
    assert "exit code 0" in rows["os_exit"]["notes"]
    assert "sys.exit(3)" in rows["sys_exit"]["notes"]
    assert "timed out" in rows["loops"]["notes"] and "neg" in rows["loops"]["notes"]
    assert "wall limit" not in rows["loops"]["notes"]  # the per-test timeout, not the wall limit, stopped it
    assert "unsafe zip" in rows["unsafe"]["notes"]
    assert "malformed" in rows["garbles_results"]["notes"]


def test_outputs_stay_small_and_hold_no_temporary_paths(graded):
    for path in graded["out"].rglob("*"):
        if path.is_file():
            assert path.stat().st_size < 200_000, path
            assert_reproducible_text(path)


def test_summary_has_one_line_per_submission(graded):
    lines = graded["stdout"].splitlines()
    for case in CASES:
        assert sum(line.startswith(case + " ") for line in lines) == 1, case


@pytest.fixture(scope="module")
def both_modes(tmp_path_factory):
    """Two submissions in both modes, graded twice (the outputs must be byte-identical)."""
    root = tmp_path_factory.mktemp("both")
    folder = root / "submissions"
    exits = prepend(reference_source(FIRST.module), "import os\nos._exit(0)\n")
    write_katas(folder / "os_exit", reference(**{FIRST.module: exits}))
    broken = reference_source(BROKEN.module) + "\ndef oops(:\n    pass\n"
    write_katas(folder / "syntax_error", reference(**{BROKEN.module: broken}))
    write_katas(folder / "shares_helpers", shares_helpers())
    write_katas(folder / "missing_name", fails_to_import(MISSING_NAME))
    write_katas(folder / "missing_file", fails_to_import(MISSING_FILE))
    outs = []
    for run in ("first", "second"):
        done = grade(str(folder), "--out", str(root / run), "--mode", "both", *STAGE_ARGS)
        assert done.returncode == 0, done.stdout + done.stderr
        outs.append(root / run)
    return outs


def test_cumulative_mode_grades_the_learners_own_stack(both_modes):
    rows = read_gradebook(both_modes[0])
    assert int(rows["os_exit"]["isolated:total"]) == points(lost_stages={FIRST.name})
    assert int(rows["os_exit"]["cumulative:total"]) == 0  # every stage imports the first one
    assert int(rows["syntax_error"]["isolated:total"]) == points(lost_stages={BROKEN.name})
    assert int(rows["syntax_error"]["cumulative:total"]) == points(lost_stages=stages_from(BROKEN))
    results = json.loads((both_modes[0] / "os_exit" / "results.json").read_text())
    assert results["score"] == points(lost_stages={FIRST.name})  # isolated is the scored mode
    assert "cumulative mode: 0 points" in results["output"]


def test_a_submission_sharing_helpers_between_its_modules_earns_every_point_in_every_mode(both_modes):
    row = read_gradebook(both_modes[0])["shares_helpers"]
    assert row["status"] == "ok", row
    assert int(row["isolated:total"]) == int(row["cumulative:total"]) == MAXIMUM, row
    assert "isolated primitives (log, exp, sigmoid, tanh, relu): graded on your own variable.py too" in row["notes"]
    assert "takes _chain from variable.py, which the reference's lacks" in row["notes"]


@pytest.mark.parametrize("case", ["missing_name", "missing_file"])
def test_a_module_that_fails_to_import_costs_its_stage_and_says_why_without_temporary_paths(both_modes, case):
    row = read_gradebook(both_modes[0])[case]
    for mode in ("isolated", "cumulative"):
        assert int(row[f"{mode}:total"]) == points(lost_stages={"primitives"}), row
    assert row["status"] == "error" and "cannot import katas/primitives.py" in row["notes"], row
    assert ("_nowhere" if case == "missing_name" else "FileNotFoundError") in row["notes"]
    for path in both_modes[0].rglob("*"):
        if path.is_file():
            assert_reproducible_text(path)


def assert_reproducible_text(path: Path) -> None:
    """No temporary path, tempfile name or memory address: what differs between two gradings."""
    text = path.read_text()
    for run_specific in ("kata-grade-", "/tmp", ".tmp", "kata-isolated-", "kata-run-", "<scratch>"):
        assert run_specific not in text, (path, run_specific)
    assert re.search(r"0x[0-9a-f]{6,}", text) is None, path


def test_grading_twice_gives_byte_identical_files(both_modes):
    first, second = both_modes
    names = sorted(p.relative_to(first) for p in first.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(second) for p in second.rglob("*") if p.is_file())
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name


def test_a_hang_that_swallows_the_timeout_is_stopped_at_the_wall_limit(tmp_path):
    stage = STAGES[-1]  # the last stage's module hangs on import, ignoring the timeout alarm
    # Ignoring SIGALRM disarms the per-test timeout deterministically (a loop that catches the
    # timeout's exception can still be hit outside its try block and let it through).
    hang = "import signal\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.signal(signal.SIGPROF, signal.SIG_IGN)\nwhile True:\n    pass\n"
    write_katas(tmp_path / "subs" / "hangs", reference(**{stage.module: prepend(reference_source(stage.module), hang)}))
    per_stage = 20
    started = time.monotonic()
    done = grade(str(tmp_path / "subs"), "--out", str(tmp_path / "out"), f"--wall-limit={per_stage * len(STAGES)}",
                 *STAGE_ARGS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert time.monotonic() - started < per_stage * len(STAGES) + 30
    row = read_gradebook(tmp_path / "out")["hangs"]
    assert row["status"] == "error" and "wall limit" in row["notes"], row
    assert int(row["total"]) == points(lost_stages={stage.name})


# The losses module rewrites every stored scikit-learn answer it can reach (tests/sklearn_oracle.py).
POISON_ANSWERS = """
import os as _os

import numpy as _np

_folder = _os.environ.get("KATA_SKLEARN_CACHE", "")
for _name in (_os.listdir(_folder) if _os.path.isdir(_folder) else []):
    _path = _os.path.join(_folder, _name)
    with _np.load(_path) as _stored:
        _poisoned = {_key: _stored[_key] * 1000 + 7 for _key in _stored.files}
    _np.savez(_path, **_poisoned)
"""


@pytest.fixture(scope="module")
def every_stage(tmp_path_factory):
    """The reference, and a reference whose losses module poisons the answers it is given, over every stage."""
    root = tmp_path_factory.mktemp("every-stage")
    write_katas(root / "subs" / "reference" / "katas", reference())
    write_katas(root / "subs" / "poisons_answers" / "katas", reference(losses=prepend(reference_source("losses"),
                                                                                        POISON_ANSWERS)))
    done = grade(str(root / "subs"), "--out", str(root / "out"), test_timeout=120)  # a busy machine
    assert done.returncode == 0, done.stdout + done.stderr
    return read_gradebook(root / "out")


def test_the_reference_earns_every_point_of_every_stage(every_stage):
    row = every_stage["reference"]
    everything = sum(e.points for s in ALL_STAGES for e in MANIFEST.exercises_of(s.name))
    assert (row["status"], int(row["total"])) == ("ok", everything), row
    assert int(row["maximum"]) == everything
    assert all(int(row[e.name]) == e.points for s in ALL_STAGES for e in MANIFEST.exercises_of(s.name))


def test_answers_a_submission_rewrites_reach_no_other_stage(every_stage):
    """Each stage run gets its own copy of scikit-learn's answers: the poison costs only the stage that wrote it."""
    row = every_stage["poisons_answers"]
    for stage in ALL_STAGES:
        for exercise in MANIFEST.exercises_of(stage.name):
            asks = exercise.name in ("mse", "logloss")  # their tests compare with scikit-learn
            assert int(row[exercise.name]) == (0 if asks else exercise.points), (exercise.name, row)


# ---------------------------------------------------------------- the parts, without running pytest


def test_review_flags_what_a_kata_has_no_reason_to_do():
    source = b"import numpy as np\nimport math\nimport _pytest\nfrom .variable import Variable\nx = open('f')\n" \
             b"import os\nf = eval\ng = (lambda: 0).__globals__\nfrom .. import secrets\n"
    flags = review_modules({"losses.py": source}, MODULES)
    joined = "\n".join(flags)
    for expected in ("losses.py:3 imports _pytest", "losses.py:5 uses open", "losses.py:6 imports os",
                     "losses.py:7 uses eval", "losses.py:8 uses .__globals__", "losses.py:9 imports .secrets"):
        assert expected in joined
    assert not any(":1 " in f or ":2 " in f or ":4 " in f for f in flags)


HARMLESS = b"""import functools
import sys
from functools import lru_cache
from itertools import pairwise
from sys import stderr

import numpy as np


@functools.lru_cache(maxsize=None)
def slope(a, b):
    print("debugging", a, b, file=sys.stderr)
    sys.stderr.write(f"{sys.float_info.epsilon}\\n")
    print("again", file=stderr)
    return b - a
"""


def test_printing_to_stderr_and_harmless_standard_modules_raise_no_flag():
    assert review_modules({"variable.py": HARMLESS}, MODULES) == []


def test_sys_for_anything_but_printing_is_still_flagged():
    source = b"import sys\nimport sys as s\nfrom sys import modules\nsys.exit(1)\nx = s.argv\ny = sys\n"
    flags = "\n".join(review_modules({"losses.py": source}, MODULES))
    for expected in ("losses.py:3 imports sys.modules", "losses.py:4 uses sys.exit", "losses.py:5 uses sys.argv",
                     "losses.py:6 uses sys"):
        assert expected in flags, flags


@pytest.mark.parametrize("folder", ["solutions", "katas"])
def test_the_reference_and_the_stubs_raise_no_flag(folder):
    modules = {p.name: p.read_bytes() for p in sorted((ROOT / folder).glob("*.py")) if p.stem in MODULES}
    assert modules and review_modules(modules, MODULES) == []


def test_locate_prefers_katas_over_other_copies():
    files = ["solutions/variable.py", "katas/variable.py", "katatools/pristine/variable.py", "x/katas/variable.py"]
    assert locate(files, ["variable.py"]) == "katas"
    assert locate(["variable.py", "tests/test_variable.py"], ["variable.py"]) == ""
    assert locate(["a/variable.py", "b/variable.py"], ["variable.py"]) is None  # ambiguous
    assert locate(["README.md"], ["variable.py"]) is None


@pytest.mark.parametrize("member", ["../x/katas/variable.py", "/etc/katas/variable.py", "C:/katas/variable.py"])
def test_zips_with_paths_outside_the_archive_are_refused(tmp_path, member):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, "x = 1\n")
    with pytest.raises(SubmissionError, match="unsafe zip"):
        read_zip(path, ["variable.py"])


def test_zips_with_symlinks_or_absurd_sizes_are_refused(tmp_path, monkeypatch):
    path = tmp_path / "s.zip"
    with zipfile.ZipFile(path, "w") as archive:
        link = zipfile.ZipInfo("katas/variable.py")
        link.external_attr = 0o120777 << 16
        archive.writestr(link, "/etc/passwd")
    with pytest.raises(SubmissionError, match="symlink"):
        read_zip(path, ["variable.py"])
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("katas/variable.py", "x = 1\n" + " " * 2_000_000)
    with pytest.raises(SubmissionError, match="larger than"):
        read_zip(path, ["variable.py"])
    import katatools.grading.submissions as submissions

    monkeypatch.setattr(submissions, "ZIP_TOTAL_LIMIT", 1000)
    with pytest.raises(SubmissionError, match="uncompressed"):
        read_zip(path, ["variable.py"])


def test_discover_names_each_submission_by_its_folder_or_zip(tmp_path):
    write_katas(tmp_path / "all" / "ann" / "katas", stubs())
    write_katas(tmp_path / "all" / "bob", stubs())
    with zipfile.ZipFile(tmp_path / "all" / "ann.zip", "w") as archive:
        archive.writestr("katas/variable.py", "x = 1\n")
    (tmp_path / "all" / "notes.txt").write_text("not a submission")
    found = discover([tmp_path / "all"], MANIFEST)
    assert [s.id for s in found] == ["ann", "ann-2", "bob"]
    assert all(not s.problem for s in found)
    single = discover([tmp_path / "all" / "bob"], MANIFEST)
    assert [s.id for s in single] == ["bob"] and "variable.py" in single[0].modules
    with pytest.raises(SubmissionError):
        discover([tmp_path / "all" / "notes.txt"], MANIFEST)


# ---------------------------------------------------------------- wall limits


HANG_IN_ONE_TEST = """
import os as _os
import signal as _signal

_TRIGGER = {nodeid!r}


def _hang_in_the_trigger_test():
    if _os.environ.get("PYTEST_CURRENT_TEST", "").startswith(_TRIGGER + " "):
        _signal.signal(_signal.SIGALRM, _signal.SIG_IGN)  # no per-test timeout: only the wall limit stops it
        _signal.signal(_signal.SIGPROF, _signal.SIG_IGN)
        while True:
            pass


_made = Variable.__init__


def _init(self, *args, **kwargs):  # every test makes Variables: the trigger test hangs at its first
    _hang_in_the_trigger_test()
    _made(self, *args, **kwargs)


Variable.__init__ = _init
"""


def test_a_stage_stopped_at_its_wall_limit_keeps_the_exercises_whose_tests_all_passed(tmp_path):
    """The stage hangs in its last test: every exercise whose tests had all ended keeps its points."""
    collected = run_suite("solutions", tests=[FIRST.tests], extra=["--collect-only", "-q"]).report.tests
    trigger = collected[-1]
    kept = {e.name for e in EXERCISES if e.stage == FIRST.name and e.name != trigger.exercise}
    variable = reference_source(FIRST.module) + HANG_IN_ONE_TEST.format(nodeid=trigger.nodeid)
    write_katas(tmp_path / "subs" / "hangs_late", reference(**{FIRST.module: variable}))
    done = grade(str(tmp_path / "subs"), "--out", str(tmp_path / "out"), "--wall-limit=40", f"--stage={FIRST.name}")
    assert done.returncode == 0, done.stdout + done.stderr
    row = read_gradebook(tmp_path / "out")["hangs_late"]
    assert row["status"] == "error" and "wall limit" in row["notes"], row
    earned = {e.name for e in EXERCISES if e.stage == FIRST.name and int(row[e.name]) > 0}
    assert earned == kept, (earned, kept, trigger.nodeid)


def test_every_stage_run_gets_the_same_share_of_the_wall_limit_in_every_mode(tmp_path):
    """So that a stage's isolated score is the same under --mode isolated and --mode both: each stage gets
    the same share in every mode, split among its runs, and a run both modes share runs once."""
    limits: dict[tuple[str, ...], list[tuple]] = {}

    class Recording(Grader):
        def _grade_run(self, run, modules, limit):
            limits.setdefault(self.modes, []).append((run.stage.name, run.exercises, self.layer_modules(run), limit))
            return self._outcome(run.stage, "cumulative" if run.cumulative else "isolated", list(run.exercises), {}, "")

    write_katas(tmp_path / "subs" / "reference", reference())
    submission = discover([tmp_path / "subs" / "reference"], MANIFEST)[0]
    for modes in (("isolated",), ("isolated", "cumulative")):
        grader = Recording(modes, 10, 240, [s.name for s in STAGES], sandbox=False)
        try:
            grader.grade(submission)
        finally:
            grader.close()
    share = 240 / len(STAGES)
    isolated = limits[("isolated",)]
    assert [run[0] for run in isolated] == [s.name for s in STAGES] and {run[3] for run in isolated} == {share}
    both = limits[("isolated", "cumulative")]
    assert set(isolated) <= set(both) and {run[3] for run in both} == {share}
    assert len(both) == len(set(both))  # a run both modes share (stage 1: no earlier module) runs once


def test_relative_paths_are_taken_from_the_directory_nox_was_run_in(tmp_path):
    """nox changes to the repository's root; the grade session passes the instructor's directory on."""
    nox = shutil.which("nox")
    if nox is None:
        if os.environ.get("CI"):
            pytest.fail("CI installs nox (.ci/run)")
        pytest.skip("nox is not on PATH")
    write_katas(tmp_path / "class" / "ann", {FIRST.module: reference_source(FIRST.module)})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    command = [nox, "-f", str(ROOT / "noxfile.py"), "-s", "grade", "--", "class", "--out", "marks",
               f"--stage={FIRST.name}", "--no-report", "--jobs=1"]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    assert int(read_gradebook(tmp_path / "marks")["ann"]["total"]) == sum(
        e.points for e in EXERCISES if e.stage == FIRST.name)
    assert not (ROOT / "marks").exists() and not (ROOT / "class").exists()

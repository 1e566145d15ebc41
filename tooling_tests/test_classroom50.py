"""Classroom 50's autograder bundle (katatools/grading/classroom50.py), run as its runner runs it.

The contract, as foundation50/classroom50 states it (the wiki's "Advanced Autograding" page, its
result schema, its runner): the bundle is ``CLASSROOM/autograders/ASSIGNMENT/``, published as a
tarball on GitHub Pages that anyone can fetch without credentials, extracted by the runner into
``ASSIGNMENT/`` of a temporary folder; the runner runs ``autograder.py`` there with its own Python
(``python autograder.py``), in the learner's checkout, with CLASSROOM, ASSIGNMENT, SUBMISSION_TAG,
COMMIT_URL, RELEASE_URL, REVIEW_URL, USERNAME/OWNER, ASSIGNMENT_TYPE, CLASSROOM50_BUNDLE_DIR and
GITHUB_* set; the autograder writes ``./result.json`` (classroom50_spec.py), optionally
``./release-body.md`` and ``status=``/``summary=`` lines in ``$GITHUB_OUTPUT``, and exits 0 when it
ran, whatever the grade; a non-zero exit is an infrastructure error.

Here the bundle is built by the command, packed as Pages serves it and extracted as the runner
does; ``KATA_CLASSROOM50_SKIP_INSTALL=1`` makes autograder.py grade with this Python (which has the
grader's dependencies) instead of installing them. It grades stages primitives and losses only
(built with ``--stage``), so that the runs stay short, and a cumulative grading still depends on
the learner's own variable.py and asks scikit-learn (losses) without a reference. The four
submissions are graded once more, by one local ``Grader`` in cumulative mode over the whole
repository, and must score the same.
"""

from __future__ import annotations

import ast
import json
import os
import shutil
import subprocess
import sys
import tarfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import classroom50_spec as spec
import pytest
from learner_repo import MANIFEST, child_env, reference

from katatools.grading.classroom50 import first_failure, markdown_text, status_and_summary
from katatools.grading.grade import Grader, grade_all
from katatools.grading.gradescope import requirements
from katatools.grading.options import DEFAULT_TEST_TIMEOUT, DEFAULT_WALL_LIMIT
from katatools.grading.submissions import load, module_files
from katatools.manifest import ROOT, tomllib
from katatools.stubs import BEGIN, END, find_regions, generated_stubs

pytestmark = pytest.mark.slow  # minutes: a proof end to end (nox -s proofs runs it)

GRADED = ["primitives", "losses"]  # the bundle's stages: cumulative, so variable.py counts too
ASSIGNMENT = "autodiff"
RUNNER = {  # what the runner gives autograder.py (GITHUB_OUTPUT and the bundle's folder are per run)
    "CLASSROOM": "ml-fall", "ASSIGNMENT": ASSIGNMENT, "SUBMISSION_TAG": "submit/2026-06-01T14-32-05Z-a1b2c3d",
    "PAGES_BASE_URL": "https://example-org.github.io/classroom50", "USERNAME": "alice", "OWNER": "alice",
    "ASSIGNMENT_TYPE": "individual", "COMMIT_URL": "https://github.com/example-org/ml-fall-autodiff-alice/commit/a1b2c3d",
    "RELEASE_URL": "https://github.com/example-org/ml-fall-autodiff-alice/releases/tag/submit%2F2026-06-01",
    "REVIEW_URL": "https://github.com/example-org/ml-fall-autodiff-alice/compare/0000000...a1b2c3d",
    "GITHUB_ACTIONS": "true", "GITHUB_REPOSITORY": "example-org/ml-fall-autodiff-alice", "GITHUB_ACTOR": "alice",
}
FIELDS = {"classroom": "CLASSROOM", "assignment": "ASSIGNMENT", "submission": "SUBMISSION_TAG", "owner": "OWNER",
          "assignment_type": "ASSIGNMENT_TYPE", "commit": "COMMIT_URL", "release": "RELEASE_URL",
          "review": "REVIEW_URL"}  # result.json's field -> the runner's variable it comes from
COMMITTED = ("2026-06-01T16:32:01+02:00", "2026-06-01T14:32:01Z")  # the solved checkout's commit date, and in UTC
PAGES_LIMIT = 10 * 1024 * 1024  # bytes: the runner fetches no larger bundle
SUBMISSIONS = ("solved", "partial", "broken", "empty")


def exercises_of(stages: list[str]) -> list:
    return [e for e in MANIFEST.exercises if e.stage in stages]


# ---------------------------------------------------------------- the bundle


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The bundle, built from another directory with a relative --out, as an instructor would."""
    here = tmp_path_factory.mktemp("instructor")
    env = child_env(KATA_INVOKED_FROM=str(here))
    command = [sys.executable, "-m", "katatools", "classroom50", "--out", "course/bundle",
               *[f"--stage={s}" for s in GRADED]]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    return {"folder": here / "course" / "bundle", "again": again}


@pytest.fixture(scope="module")
def bundle(built, tmp_path_factory):
    """The bundle as the runner has it: packed as Pages serves it, extracted into RUNTIME/ASSIGNMENT/."""
    work = tmp_path_factory.mktemp("pages")
    staged = work / "classroom50" / "ml-fall" / "autograders" / ASSIGNMENT
    shutil.copytree(built["folder"], staged)
    tarball = work / f"{ASSIGNMENT}.tar.gz"
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(staged, arcname=ASSIGNMENT)
    runtime = work / "runtime"
    with tarfile.open(tarball) as archive:
        if sys.version_info >= (3, 12):
            archive.extractall(runtime, filter="data")
        else:
            archive.extractall(runtime)
    return {"folder": runtime / ASSIGNMENT, "tarball": tarball}


def files_of(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_the_bundle_holds_autograder_py_and_the_grader_and_stays_under_the_runners_fetch_limit(built, bundle):
    files = files_of(built["folder"])
    assert {"autograder.py", "autograder.json", "exercises.toml", "pyproject.toml", "katatools/grading/grade.py",
            "katatools/grading/classroom50.py", "tests/checks.py", *[f"tests/test_{s.name}.py" for s in MANIFEST.stages],
            *[f"pristine/{name}" for name in module_files(MANIFEST)]} <= set(files)
    assert {name.split("/")[0] for name in files} == {"autograder.py", "autograder.json", "exercises.toml",
                                                      "pyproject.toml", "katatools", "tests", "pristine"}
    assert not any("__pycache__" in name or name.endswith((".pyc", ".partial")) for name in files)
    assert files["autograder.py"] == (ROOT / "katatools" / "grading" / "classroom50_autograder.py").read_bytes()
    assert {f"pristine/{n}": t.encode() for n, t in generated_stubs(MANIFEST).items()}.items() <= files.items()
    config = json.loads(files["autograder.json"])
    assert config["requirements"] == requirements()  # pyproject.toml's test and grade groups
    assert [o for o in config["options"] if o.startswith("--stage=")] == [f"--stage={s}" for s in GRADED]
    assert f"--test-timeout={DEFAULT_TEST_TIMEOUT:g}" in config["options"]
    assert f"--wall-limit={DEFAULT_WALL_LIMIT:g}" in config["options"]
    assert bundle["tarball"].stat().st_size < PAGES_LIMIT
    assert files_of(bundle["folder"]) == files  # what the runner extracts is what was built
    tree = ast.parse(files["autograder.py"])  # it runs before anything is installed: the standard library only
    imported = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert imported <= set(sys.stdlib_module_names), imported - set(sys.stdlib_module_names)


def test_the_bundle_holds_no_reference(built):
    """Public on Pages: no reference folder, no reference module, no run of lines of an exercise's code
    (a marked region of solutions/) nor of a correct alternative's body."""
    files = files_of(built["folder"])
    assert not any(set(name.split("/")) & {"solutions", "alternatives", "mistakes", "katas"} for name in files)
    modules = {p.read_bytes() for p in (ROOT / "solutions").glob("*.py") if p.stat().st_size > 100}
    regions = []
    for path in sorted((ROOT / "solutions").glob("*.py")):
        lines = path.read_text().splitlines()
        for region in find_regions(path.read_text(), path.name):
            code = [line.strip() for line in lines[region.begin + 1:region.end]
                    if line.strip() and not BEGIN.match(line) and not END.match(line)]
            regions.append((f"{path.name}:{region.exercise}", code))
    assert len(regions) >= len(MANIFEST.exercises)
    for path in sorted((ROOT / "alternatives").glob("*.toml")):  # correct implementations, written otherwise
        for alternative in tomllib.loads(path.read_text()).get("alternative", []):
            for function, body in alternative.get("bodies", {}).items():
                code = [line.strip() for line in body.splitlines() if line.strip()]
                regions.append((f"{path.name}:{alternative['name']}:{function}", code))
    for name, content in files.items():
        assert content not in modules, name
        text = [line.strip() for line in content.decode("utf-8", "replace").splitlines() if line.strip()]
        for where, code in regions:
            assert not any(text[i:i + len(code)] == code for i in range(len(text) - len(code) + 1)), (name, where)


def test_the_bundle_is_never_written_over(built):
    again = built["again"]
    assert again.returncode == 2 and "not empty" in again.stderr


# ---------------------------------------------------------------- the submissions


@pytest.fixture(scope="module")
def edition(tmp_path_factory):
    """The learner's edition, as a learner's repository starts."""
    dest = tmp_path_factory.mktemp("edition") / "edition"
    done = subprocess.run([sys.executable, "-m", "katatools", "release", str(dest)], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    return dest


def commit(checkout: Path, date: str) -> str:
    """Make ``checkout`` a git repository of one commit dated ``date``; its sha."""
    env = {**os.environ, "GIT_AUTHOR_NAME": "alice", "GIT_AUTHOR_EMAIL": "alice@example.org",
           "GIT_COMMITTER_NAME": "alice", "GIT_COMMITTER_EMAIL": "alice@example.org",
           "GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date}
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "submit"]):
        subprocess.run(["git", "-C", str(checkout), *command], env=env, check=True, capture_output=True, timeout=60)
    return subprocess.run(["git", "-C", str(checkout), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True, timeout=60).stdout.strip()


HOSTILE = '''"""Reaches for the reference three ways; where none works, runs the pristine stub."""
import os

_FOUND_BY = ""
_WAYS = os.environ.get("KATA_TEST_CHEAT", "import,path,walk").split(",")


def _by_import():
    from solutions import {module} as found
    return open(found.__file__).read()


def _by_path():
    return open(__file__.replace("katas", "solutions")).read()


def _by_walk():
    here = os.path.dirname(os.path.abspath(__file__))
    for _ in range(5):
        here = os.path.dirname(here)
        for folder, _dirs, files in os.walk(here):
            if os.path.basename(folder) == "solutions" and "{module}.py" in files:
                return open(os.path.join(folder, "{module}.py")).read()
    raise FileNotFoundError("no reference nearby")


_source = None
for _way in _WAYS:
    try:
        _source = {{"import": _by_import, "path": _by_path, "walk": _by_walk}}[_way]()
        _FOUND_BY = _way
        break
    except Exception:
        pass
exec(compile(_source if _source is not None else {stub!r}, __file__, "exec"))
'''


@pytest.fixture(scope="module")
def checkouts(edition, tmp_path_factory):
    """Learners' checkouts: solved (the reference, committed), partial (stages 1-2), broken (a syntax
    error in variable.py), empty (no kata module), and hostile (the whole repository's solutions/
    beside katas/, its own variable.py, and primitives.py and losses.py reaching for the reference)."""
    root = tmp_path_factory.mktemp("checkouts")
    made = {name: root / name for name in (*SUBMISSIONS, "hostile")}
    for folder in made.values():
        shutil.copytree(edition, folder)
    for stage in MANIFEST.stages:
        (made["solved"] / "katas" / f"{stage.module}.py").write_text(reference(stage.module))
        (made["broken"] / "katas" / f"{stage.module}.py").write_text(reference(stage.module))
    for module in ("variable", "primitives"):
        (made["partial"] / "katas" / f"{module}.py").write_text(reference(module))
    (made["broken"] / "katas" / "variable.py").write_text(reference("variable").replace("def ", "def (", 1))
    shutil.rmtree(made["empty"] / "katas")
    hostile = made["hostile"]
    shutil.copytree(ROOT / "solutions", hostile / "solutions", ignore=shutil.ignore_patterns("__pycache__"))
    (hostile / "katas" / "variable.py").write_text(reference("variable"))
    stubs = generated_stubs(MANIFEST)
    for module in ("primitives", "losses"):
        (hostile / "katas" / f"{module}.py").write_text(HOSTILE.format(module=module, stub=stubs[f"{module}.py"]))
    return {"paths": made, "sha": commit(made["solved"], COMMITTED[0])}


def run_autograder(bundle: Path, checkout: Path, *args: str, skip_install: bool = True,
                   **env: str) -> dict:
    """autograder.py as the runner runs it: its Python, the checkout as the working directory."""
    output = checkout.parent / f"{checkout.name}.github_output"
    output.write_text("")
    variables = {**RUNNER, "GITHUB_OUTPUT": str(output), "CLASSROOM50_BUNDLE_DIR": str(bundle), **env}
    if skip_install:
        variables["KATA_CLASSROOM50_SKIP_INSTALL"] = "1"
    done = subprocess.run([sys.executable, str(bundle / "autograder.py"), *args], cwd=checkout,
                          env=child_env(**variables), capture_output=True, text=True, timeout=900)
    result, body = checkout / "result.json", checkout / "release-body.md"
    return {"code": done.returncode, "stdout": done.stdout, "stderr": done.stderr,
            "result": json.loads(result.read_text()) if result.is_file() else None,
            "body": body.read_text() if body.is_file() else None, "outputs": spec.outputs(output.read_text())}


@pytest.fixture(scope="module")
def runs(bundle, checkouts):
    """Each checkout graded by autograder.py, two at a time; the hostile one with stage variable added
    on the command line (so its own variable.py is graded too)."""
    paths = checkouts["paths"]
    jobs = [("solved", "solved", [], {"GITHUB_SHA": checkouts["sha"]})]
    jobs += [(name, name, [], {}) for name in SUBMISSIONS[1:]]
    jobs += [("hostile", "hostile", ["--stage", "variable"], {}),  # in bwrap where it works, and the guard
             ("hostile_guard_only", "hostile", ["--stage", "variable"], {"KATA_BWRAP": "off"})]  # as on GitHub's runners
    folders = [copy_of(paths[source], name) for name, source, _, _ in jobs]  # each run its own checkout
    with ThreadPoolExecutor(2) as pool:
        done = pool.map(lambda job, folder: run_autograder(bundle["folder"], folder, *job[2], **job[3]), jobs, folders)
        return dict(zip([job[0] for job in jobs], done, strict=True))


def copy_of(checkout: Path, name: str) -> Path:
    """``checkout``, or a copy of it named ``name`` beside it."""
    if checkout.name == name:
        return checkout
    copy = checkout.with_name(name)
    shutil.copytree(checkout, copy)
    return copy


@pytest.fixture(scope="module")
def local(checkouts):
    """The same four submissions graded by the grader on this repository (with its reference): one
    Grader, cumulative mode, the default limits, the bundle's stages."""
    grader = Grader(("cumulative",), DEFAULT_TEST_TIMEOUT, DEFAULT_WALL_LIMIT, GRADED)
    try:
        submissions = [load(checkouts["paths"][name], name, module_files(MANIFEST)) for name in SUBMISSIONS]
        return {g.submission.id: g for g in grade_all(grader, submissions, jobs=2, show_progress=False)}
    finally:
        grader.close()


@pytest.mark.parametrize("case", [*SUBMISSIONS, "hostile", "hostile_guard_only"])
def test_every_grade_exits_0_with_a_valid_result_json(runs, case):
    run = runs[case]
    assert run["code"] == 0, run["stdout"] + run["stderr"][-3000:]
    result = run["result"]
    assert spec.problems(result) == []
    for key, variable in FIELDS.items():
        assert result[key] == RUNNER[variable], key
    stages = GRADED + (["variable"] if case.startswith("hostile") else [])
    expected = exercises_of(stages)
    assert [t["test-name"] for t in result["tests"]] == [f"{e.stage}/{e.name}: {e.description}" for e in expected]
    assert [t["max-score"] for t in result["tests"]] == [e.points for e in expected]
    assert result["max-score"] == sum(e.points for e in expected)
    for test in result["tests"]:
        assert test["score"] == (test["max-score"] if test["passed"] else 0)
        assert test["passed"] or test["first-failure"]


def test_datetime_is_the_graded_commits_committer_date_in_utc(runs):
    assert runs["solved"]["result"]["datetime"] == COMMITTED[1]


@pytest.mark.parametrize("case", SUBMISSIONS)
def test_the_scores_are_those_of_a_local_cumulative_grading(runs, local, case):
    result, graded = runs[case]["result"], local[case]
    assert {t["exercise"]: t["score"] for t in result["tests"]} == graded.points("cumulative")
    assert result["score"] == graded.total("cumulative")


def test_the_four_submissions_score_as_expected(runs):
    scores = {case: runs[case]["result"]["score"] for case in SUBMISSIONS}
    everything = sum(e.points for e in exercises_of(GRADED))
    assert scores == {"solved": everything, "partial": sum(e.points for e in exercises_of(["primitives"])),
                      "broken": 0, "empty": 0}


def table_rows(body: str) -> list[list[str]]:
    """The release body's table, one list of cells per exercise (cells split on unescaped |)."""
    lines = body.splitlines()
    start = lines.index("| Exercise | Result | Score | First failure |")
    assert lines[start + 1] == "|---|---|---|---|"
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells, cell, escaped = [], "", False
        for char in line[1:]:
            if char == "|" and not escaped:
                cells.append(cell.strip())
                cell = ""
            else:
                cell += char
            escaped = char == "\\" and not escaped
        rows.append(cells)
    return rows


@pytest.mark.parametrize("case", [*SUBMISSIONS, "hostile"])
def test_release_body_has_the_score_and_a_pass_fail_table_with_each_first_failure(runs, case):
    result, body = runs[case]["result"], runs[case]["body"]
    assert body.startswith(f"### autodiff-katas: {result['score']}/{result['max-score']} points\n")
    rows = table_rows(body)
    assert len(rows) == len(result["tests"])
    for row, test in zip(rows, result["tests"], strict=True):
        assert len(row) == 4, row
        assert row[1] == ("PASS" if test["passed"] else "FAIL")
        assert row[2] == f"{test['score']} / {test['max-score']}"
        assert bool(row[3]) == (not test["passed"])
        assert test["exercise"] in row[0].replace("\\", "")


def test_release_body_says_why_an_empty_or_broken_submission_scores_0(runs):
    empty = runs["empty"]["body"]
    assert "Nothing was graded: no kata modules found" in empty and "katas/" in empty
    assert all(row[3].startswith("not graded: no kata modules found") for row in table_rows(empty))
    broken = runs["broken"]
    assert "SyntaxError" in broken["body"] or "syntax" in broken["body"].lower()
    assert "**Problems:**" in broken["body"]


@pytest.mark.parametrize("case", [*SUBMISSIONS, "hostile"])
def test_status_and_summary_reach_github_output(runs, case):
    run = runs[case]
    outputs = run["outputs"]
    assert list(outputs) == ["status", "summary"] and len(outputs["status"]) == len(outputs["summary"]) == 1
    every = all(t["passed"] for t in run["result"]["tests"])
    assert outputs["status"] == ["success" if every else "failure"] and outputs["status"][0] in spec.STATUSES
    summary = outputs["summary"][0]
    assert f"{run['result']['score']}/{run['result']['max-score']}" in summary and len(summary) <= 140


# ---------------------------------------------------------------- a hostile submission


@pytest.mark.parametrize("case", ["hostile", "hostile_guard_only"])
def test_a_hostile_submission_earns_only_what_its_own_code_earns(runs, case):
    """Its own variable.py earns its points; primitives.py and losses.py find no reference (no
    solutions/ in the workspace; the guard refuses every folder around it; bwrap, where it works,
    shows none) and run their stubs: 0. Without bwrap too, as on GitHub's hosted runners, where
    Ubuntu's AppArmor forbids the user namespaces it needs."""
    run = runs[case]
    assert run["code"] == 0 and spec.problems(run["result"]) == []
    points = {t["exercise"]: t["score"] for t in run["result"]["tests"]}
    assert points == {e.name: (e.points if e.stage == "variable" else 0) for e in exercises_of(["variable", *GRADED])}
    for test in run["result"]["tests"]:
        if not test["passed"]:  # the stub ran: "[log] not started yet: exercise 'log': ..."
            assert f"not started yet: exercise '{test['exercise']}'" in test["first-failure"], test
    assert "review flag: primitives.py" in run["stdout"] and "the reference" in run["stdout"]
    if case == "hostile_guard_only":
        assert "sandbox: none (bwrap unavailable)" in run["stdout"]


@pytest.mark.parametrize("way", ["import", "path", "walk"])
def test_each_of_the_hostile_modules_ways_finds_the_reference_when_it_is_there(checkouts, way):
    """The control: in the learner's own checkout, where solutions/ sits beside katas/, each way works."""
    probe = "import katas.primitives as p, katas.losses as l; print(p._FOUND_BY, l._FOUND_BY, p.log is not None)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=checkouts["paths"]["hostile"],
                          env=child_env(KATA_TEST_CHEAT=way), capture_output=True, text=True, timeout=1800)
    assert done.stdout.split() == [way, way, "True"], done.stdout + done.stderr


# ---------------------------------------------------------------- infrastructure failures


def assert_infrastructure_failure(run: dict, message: str) -> None:
    assert run["code"] != 0
    assert message in run["stderr"], run["stderr"][-3000:]
    assert run["result"] is None and run["body"] is None
    assert "status" not in run["outputs"]  # the runner reports status=error itself


def test_without_the_runners_variables_nothing_is_installed_or_graded(bundle, checkouts, tmp_path):
    checkout = tmp_path / "checkout"
    shutil.copytree(checkouts["paths"]["partial"], checkout)
    run = run_autograder(bundle["folder"], checkout, skip_install=False, SUBMISSION_TAG="", OWNER="", USERNAME="")
    assert_infrastructure_failure(run, "variables SUBMISSION_TAG, OWNER (or USERNAME) are not set")
    assert not (bundle["folder"] / ".venv").exists()


def test_a_failed_install_is_an_infrastructure_error(bundle, checkouts, tmp_path):
    """No package index: pip fails, and autograder.py says so (exit code non-zero, no result)."""
    copy = tmp_path / ASSIGNMENT
    shutil.copytree(bundle["folder"], copy)
    checkout = tmp_path / "checkout"
    shutil.copytree(checkouts["paths"]["partial"], checkout)
    run = run_autograder(copy, checkout, skip_install=False, PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1",
                         PIP_FIND_LINKS="")
    assert_infrastructure_failure(run, "installing the grader's dependencies failed")


def test_a_grader_that_crashes_is_an_infrastructure_error(bundle, checkouts, tmp_path):
    copy = tmp_path / ASSIGNMENT
    shutil.copytree(bundle["folder"], copy)
    (copy / "exercises.toml").write_text("this is [not toml\n")
    checkout = tmp_path / "checkout"
    shutil.copytree(checkouts["paths"]["solved"], checkout)
    (checkout / "result.json").write_text('{"stale": true}')  # left by a former run: must not pass for this one
    run = run_autograder(copy, checkout)
    assert_infrastructure_failure(run, "the grader failed")
    assert "grading failed" in run["stderr"]


# ---------------------------------------------------------------- the pieces


def test_markdown_text_keeps_a_message_inside_its_table_cell():
    nasty = "a | b\n`code` [link](http://x) <img src=x> *bold* _it_ \\| ## head & ~~no~~ ![i](y)"
    shown = markdown_text(nasty)
    assert "\n" not in shown
    for char in "|`[]<>*_#&~!":
        assert all(shown[i - 1] == "\\" for i, c in enumerate(shown) if c == char), (char, shown)


def test_a_first_failure_is_one_short_line():
    from katatools import report

    record = report.TestRecord("tests/test_x.py::test_y", "add", report.FAILED, "AssertionError: " + "x" * 500 + "\nmore")
    result = report.ExerciseResult(MANIFEST.exercise("add"), report.FAILING, 3, 4, record)
    line = first_failure(result, "", "")
    assert line.startswith("test_y: AssertionError: xxx") and len(line) <= 160 and "\n" not in line
    assert first_failure(result, "", "no kata modules found: looked for ...") == "not graded: no kata modules found"


def test_status_is_success_only_when_every_exercise_passes():
    tests = [{"passed": True, "score": 2, "max-score": 2}, {"passed": False, "score": 0, "max-score": 1}]
    assert status_and_summary({"score": 2, "max-score": 3, "tests": tests})[0] == "failure"
    assert status_and_summary({"score": 2, "max-score": 2, "tests": tests[:1]})[0] == "success"

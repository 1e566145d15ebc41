"""A graded submission never reaches the reference, on any grading path (issue 22, item 1).

Three layers, each tested on its own and end to end:

- what a graded run can see: a probe submission lists, from inside its own test process, every
  kata-named file it can find on the whole filesystem; the grader must show it only its own
  modules and the earlier stages' reference modules its run needs, with the graded exercises' code
  (and every later exercise's) stubbed out, and nothing named solutions;
- the grading guard (katatools/guard.py), the fallback where bwrap cannot start: reads outside the
  run's folders, writes outside its scratch folder, other programs and links are refused;
- the four kinds of hostile submission the issue names (a star import of the reference, its names
  copied in, a read by path beside the module's own file, a walk of the folders around it) earn
  only what their own code earns, with and without the sandbox, through Gradescope's
  run_autograder, and in a GitHub Classroom step run in a learner's repository that holds
  solutions/. Each hostile module is the pristine stub followed by the attempt, so its own code
  earns nothing unless the attempt succeeds; variable.py is the reference, honestly, so the
  expected total is exactly stage 1's points.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from learner_repo import MANIFEST, make_repo, reference
from test_gradescope import run_autograder, unpack

from katatools.grading.isolation import plan_runs
from katatools.grading.workspace import reference_layer
from katatools.guard import GUARD_MARK, GUARD_VARIABLE
from katatools.manifest import ROOT
from katatools.stubs import generated_stubs

pytestmark = pytest.mark.slow  # minutes: a proof end to end (nox -s proofs runs it)

STUBS = generated_stubs(MANIFEST)
MODULES = [s.module for s in MANIFEST.stages]
REFERENCE = {m: reference(m) for m in MODULES}
FIRST = MANIFEST.stages[0]
FIRST_POINTS = sum(e.points for e in MANIFEST.exercises_of(FIRST.name))

ATTEMPTS = {
    "star_import": "from solutions.{m} import *  # noqa: F403\n",
    "copied_names": ("import solutions.{m} as _reference\n"
                     "globals().update({{k: v for k, v in vars(_reference).items() if not k.startswith('__')}})\n"),
    "read_by_path": "exec(open(__file__.replace('katas', 'solutions')).read())\n",
    "walk": ("import os as _os\n_top = _os.path.dirname(_os.path.abspath(__file__))\n"
             "for _ in range(8):\n    _top = _os.path.dirname(_top)\n"
             "for _dir, _subs, _files in _os.walk(_top):\n"
             "    _path = _os.path.join(_dir, '{m}.py')\n"
             "    if '{m}.py' in _files and _os.path.abspath(_path) != _os.path.abspath(__file__):\n"
             "        _text = open(_path).read()\n"
             "        if 'NotImplementedError(\"exercise' not in _text:\n"
             "            exec(_text)\n            break\n"),
}


def hostile(kind: str, module: str) -> str:
    """The pristine stub, then an attempt at the reference that falls back to the stub when it fails."""
    attempt = textwrap.indent(ATTEMPTS[kind].format(m=module), "    ")
    return STUBS[f"{module}.py"] + f"\n\ntry:\n{attempt}except BaseException:\n    pass\n"


def hostile_submission(kind: str) -> dict[str, str]:
    """variable.py honest (the reference), every other module hostile."""
    return {m: REFERENCE[m] if m == FIRST.module else hostile(kind, m) for m in MODULES}


def control_submission() -> dict[str, str]:
    """What the hostile submissions' own code is: the same honest variable.py, the other modules stubs."""
    return {m: REFERENCE[m] if m == FIRST.module else STUBS[f"{m}.py"] for m in MODULES}


def points(row: dict[str, str]) -> dict[str, int]:
    return {e.name: int(row[e.name]) for e in MANIFEST.exercises if e.name in row}


def write_submission(folder: Path, modules: dict[str, str]) -> Path:
    (folder / "katas").mkdir(parents=True)
    for module, text in modules.items():
        (folder / "katas" / f"{module}.py").write_text(text)
    return folder


def grade(submissions: Path, out: Path, *options: str) -> dict[str, dict[str, str]]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KATA_BWRAP")}
    command = [sys.executable, "-m", "katatools", "grade", str(submissions), "--out", str(out), "--no-report",
               "--jobs=2", "--test-timeout=60", *options]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


# ---------------------------------------------------------------- the guard, on its own


GUARD_PROBE = """
import os, subprocess, sys
sys.path.insert(0, {katatools!r})
from katatools import guard
guard.install_from_environment()
def attempt(code):
    try:
        exec(code)
        return "allowed"
    except PermissionError as exc:
        return "refused" if guard.GUARD_MARK in str(exc) else f"other: {{exc}}"
    except Exception as exc:
        return f"error: {{type(exc).__name__}}"
for name, code in {attempts!r}.items():
    print(name, attempt(code))
"""


def test_the_guard_refuses_what_lies_outside_the_runs_folders(tmp_path):
    workspace, scratch = tmp_path / "ws", tmp_path / "scratch"
    (workspace / "katas").mkdir(parents=True)
    (workspace / "katas" / "mine.py").write_text("x = 1\n")
    scratch.mkdir()
    outside = ROOT / "solutions" / f"{FIRST.module}.py"
    attempts = {
        "read_own_module": f"open({str(workspace / 'katas' / 'mine.py')!r}).read()",
        "write_scratch": f"open({str(scratch / 'out.txt')!r}, 'w').write('x')",
        "read_the_reference": f"open({str(outside)!r}).read()",
        "read_it_by_a_relative_path": f"open({os.path.relpath(outside, workspace)!r}).read()",
        "list_the_repository": f"os.listdir({str(ROOT)!r})",
        "import_it_by_name": f"sys.path.insert(0, {str(ROOT)!r}); import solutions.{FIRST.module}",
        "write_the_workspace": f"open({str(workspace / 'katas' / 'mine.py')!r}, 'a').write('y')",
        "start_a_program": "subprocess.run(['true'])",
        "make_a_link": f"os.symlink({str(ROOT)!r}, {str(scratch / 'link')!r})",
    }
    env = {**os.environ, GUARD_VARIABLE: json.dumps({"read": [str(workspace)], "write": [str(scratch)]})}
    code = GUARD_PROBE.format(katatools=str(ROOT), attempts=attempts)
    done = subprocess.run([sys.executable, "-c", code], cwd=workspace, env=env, capture_output=True, text=True,
                          timeout=60)
    outcome = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert outcome.pop("read_own_module") == "allowed" and outcome.pop("write_scratch") == "allowed", done.stdout
    imported = outcome.pop("import_it_by_name")  # refused, or not found: its folder cannot be listed
    assert imported == "refused" or imported.startswith("error: ModuleNotFound"), done.stdout
    assert set(outcome.values()) == {"refused"}, done.stdout + done.stderr


# ---------------------------------------------------------------- what a graded run sees

PROBE = """

def _visible():
    import hashlib, os, sys
    names = {names!r}
    python = tuple(os.path.realpath(p) for p in {{sys.prefix, sys.base_prefix, sys.exec_prefix}})
    seen = set()
    for top in ("/", os.getcwd()):  # under the guard alone, "/" cannot be listed: the workspace can
        for folder, subs, files in os.walk(top):
            subs[:] = [s for s in subs if s not in ("proc", "sys", "dev")]
            for name in files:
                path = os.path.join(folder, name)
                if (name in names or "solutions" in path) and not os.path.realpath(path).startswith(python):
                    with open(path, "rb") as f:
                        seen.add(f"{{path}}={{hashlib.sha256(f.read()).hexdigest()[:12]}}")
    return sorted(seen)


raise ImportError("SEEN " + " ".join(_visible()) + " END")
"""


def seen_files(notes: str, exercises: tuple[str, ...]) -> dict[str, str]:
    """Path -> digest of every kata-named file the probe found in the run grading ``exercises``, from
    the import error its stage's problem quotes in the gradebook's notes (one "(exercises) ..." per run)."""
    text = notes.split(f"({', '.join(exercises)}) ", 1)[1].split("SEEN ", 1)[1].split(" END", 1)[0]
    return dict(entry.rsplit("=", 1) for entry in text.split())


def digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


@pytest.mark.parametrize("sandbox", ["bwrap", "guard only"])
def test_a_graded_run_sees_its_own_modules_and_the_earlier_reference_it_needs_and_nothing_else(tmp_path, sandbox):
    graded_stages = [MANIFEST.stage("tangents"), MANIFEST.stage("second_order")]
    names = {f"{m}.py" for m in MODULES}
    for stage in graded_stages:
        modules = dict(REFERENCE)
        modules[stage.module] = REFERENCE[stage.module] + PROBE.format(names=sorted(names))
        write_submission(tmp_path / "subs" / f"probe_{stage.name}", modules)
    options = [f"--stage={s.name}" for s in graded_stages] + (["--no-sandbox"] if sandbox == "guard only" else [])
    rows = grade(tmp_path / "subs", tmp_path / "out", *options)
    for stage in graded_stages:
        sid = f"probe_{stage.name}"
        assert rows[sid]["sandbox"] == ("bwrap" if sandbox == "bwrap" else "none (--no-sandbox)")
        own = {f"{m}.py": digest(REFERENCE[m]) for m in MODULES if m != stage.module}
        mine = {m: REFERENCE[m] for m in MODULES}
        runs = plan_runs(stage, [e.name for e in MANIFEST.exercises_of(stage.name)], MANIFEST, mine, REFERENCE)
        assert len(runs) > 1  # stages 5 and 7 are graded in several runs, one per set of the learner's modules
        for run in runs:
            seen = seen_files(rows[sid]["notes"], run.exercises)
            assert not [p for p in seen if "solutions" in p], seen
            katas = {Path(p).name: d for p, d in seen.items() if Path(p).parent.name == "katas"}
            layer = {Path(p).name: d for p, d in seen.items() if Path(p).parent.name == "reference"}
            assert set(seen) == {p for p in seen if Path(p).parent.name in ("katas", "reference")}, seen
            assert {n: d for n, d in katas.items() if n != f"{stage.module}.py"} == own  # the submission's own
            earlier = [s.module for s in MANIFEST.stages if s.index < stage.index and s.module not in run.own]
            expected = reference_layer(MANIFEST, REFERENCE, earlier, run.exercises)
            assert layer == {n: digest(t) for n, t in expected.items()}, (run, sorted(layer))
            for name, text in expected.items():  # none of the graded or later exercises' code is there
                later = [e for e in MANIFEST.exercises if e.index >= min(MANIFEST.exercise(x).index for x in run.exercises)]
                assert all(f"# BEGIN {e.name}" not in text for e in later), name


# ---------------------------------------------------------------- hostile submissions


@pytest.fixture(scope="module")
def hostile_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    for kind in ATTEMPTS:
        write_submission(root / "subs" / kind, hostile_submission(kind))
    write_submission(root / "subs" / "control", control_submission())
    return root


@pytest.mark.parametrize("sandbox", ["bwrap", "guard only"])
def test_hostile_submissions_earn_only_what_their_own_code_earns(hostile_class, sandbox):
    options = ["--no-sandbox"] if sandbox == "guard only" else []
    rows = grade(hostile_class / "subs", hostile_class / f"out-{sandbox.replace(' ', '-')}", *options)
    assert set(rows) == {*ATTEMPTS, "control"}
    control = rows.pop("control")
    assert int(control["total"]) >= FIRST_POINTS and not control["flags"]  # the honest variable.py's points
    for kind, row in rows.items():
        assert points(row) == points(control), (kind, row)  # exercise by exercise, nothing more
        assert row["flags"], (kind, row)


def test_hostile_submissions_are_flagged_for_naming_the_reference():
    from katatools.grading.review import review_modules

    for kind in ("star_import", "copied_names", "read_by_path"):
        flags = review_modules({f"{m}.py": t.encode() for m, t in hostile_submission(kind).items()}, MODULES)
        assert any("the reference" in f for f in flags), (kind, flags)
    assert not review_modules({f"{m}.py": REFERENCE[m].encode() for m in MODULES}, MODULES)


def test_gradescope_gives_a_hostile_submission_only_what_its_own_code_earns(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    zip_path = tmp_path / "autograder.zip"
    stages = ["--stage=variable", "--stage=tangents", "--stage=reverse"]
    done = subprocess.run([sys.executable, "-m", "katatools", "gradescope", "--out", str(zip_path), *stages,
                           "--test-timeout=60"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    scores = {}
    for kind, modules in [("control", control_submission()), ("read_by_path", hostile_submission("read_by_path")),
                          ("walk", hostile_submission("walk"))]:
        root = unpack(zip_path, tmp_path / kind, {f"katas/{m}.py": t for m, t in modules.items()})
        scores[kind] = run_autograder(root)["results"]["score"]
    assert scores["control"] >= FIRST_POINTS
    assert scores["read_by_path"] == scores["walk"] == scores["control"], scores


def test_a_classroom_step_in_a_repository_holding_solutions_earns_nothing_from_it(tmp_path):
    repo = make_repo(tmp_path / "repo")  # a learner's repository made from the full template: solutions/ is there
    assert (repo / "solutions" / "tangents.py").is_file()
    for module, text in hostile_submission("walk").items():
        (repo / "katas" / f"{module}.py").write_text(text)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    step = subprocess.run([sys.executable, "-m", "katatools", "classroom", "run", "jvp", "--test-timeout=60"],
                          cwd=repo, env=env, capture_output=True, text=True, timeout=900)
    assert step.returncode == 1, step.stdout + step.stderr
    assert "tangents/jvp: 0 of" in step.stdout, step.stdout


def test_a_guard_refusal_becomes_a_review_flag(tmp_path):
    reads = REFERENCE[FIRST.module] + f"\n\nopen({str(ROOT / 'solutions' / 'tangents.py')!r})\n"
    write_submission(tmp_path / "subs" / "reads", {**REFERENCE, FIRST.module: reads})
    rows = grade(tmp_path / "subs", tmp_path / "out", f"--stage={FIRST.name}", "--no-sandbox")
    assert GUARD_MARK in rows["reads"]["flags"] and "solutions/tangents.py" in rows["reads"]["flags"], rows["reads"]

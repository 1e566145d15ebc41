"""End-to-end tests of `python -m katatools check` in temporary copies of the repository.

Learner states are built from the reference and the pristine stubs: a kata with a syntax error,
one whose import raises, an exercise that loops forever, a wrong rule, untouched stubs. Stage
names come from the manifest and only stages with tests are used, so the tests hold while
stages are being added.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from learner_repo import (
    MANIFEST,
    STAGES,
    child_env,
    make_repo,
    reference,
    run_in_terminal,
    solve,
    tool,
    write_kata,
)

from katatools import report
from katatools.learner import check, verdicts
from katatools.learner.check import exercise_costs, save_costs, share
from katatools.report import WIDTH
from katatools.stubs import generated_stubs

FIRST = STAGES[0]
FIRST_EXERCISES = [e.name for e in MANIFEST.exercises_of(FIRST.name)]
ALL_EXERCISES = [e.name for s in STAGES for e in MANIFEST.exercises_of(s.name)]
ANSI = "\033["

# Overrides appended to the reference variable.py: one exercise wrong, one back to a stub.
WRONG_MUL_AND_STUB_NEG = '''

def _product_of_grads(self, other):
    other = other if isinstance(other, Variable) else Variable(other, 0.0)
    return Variable(self.value * other.value, self.grad * other.grad)


def _untouched(self):
    raise NotImplementedError("exercise 'neg': -Variable")


Variable.__mul__ = _product_of_grads
Variable.__neg__ = _untouched
'''

LOOPING_ADD = '''

def _forever(self, other):
    while True:
        pass


Variable.__add__ = _forever
'''


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def rows(output: str) -> dict[str, str]:
    """Exercise name -> its table row (status and description) from the check's output."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"  \[[x! ]\] (\w+) +(.*)$", line)
        if match:
            found[match.group(1)] = match.group(2)
    return found


def status_of(output: str, exercise: str) -> str:
    row = rows(output)[exercise]
    for status in ("done", "not started", "failing"):
        if row.startswith(status):
            return status
    raise AssertionError(f"no status in {row!r}")


def assert_readable(output: str) -> None:
    """What a learner reads: no traceback, no colour codes off a terminal, nothing wider than the screen
    but a test id longer than it, alone on its line and whole, to be copied."""
    assert "Traceback" not in output, output
    assert ANSI not in output, output
    too_wide = [line for line in output.splitlines() if len(line) > WIDTH and not re.fullmatch(r"  tests/\S+", line)]
    assert not too_wide, too_wide
    for line in output.splitlines():  # an id is never broken: every one shown is one that exists
        if line.startswith("  tests/"):
            assert re.fullmatch(r"  tests/test_\w+\.py::\w+(\[.*\])?", line), line


# ---------------------------------------------------------------- the table and the next step


def test_pristine_katas_are_all_not_started(repo):
    run = tool(repo, "check")
    assert run.returncode == 1, run.stdout + run.stderr
    assert_readable(run.stdout)
    assert set(rows(run.stdout)) >= set(ALL_EXERCISES)
    assert all(status_of(run.stdout, name) == "not started" for name in ALL_EXERCISES)
    for stage in STAGES:
        assert stage.title in run.stdout
    points = sum(e.points for e in MANIFEST.exercises if e.name in ALL_EXERCISES)
    assert f"0 of {len(ALL_EXERCISES)} exercises done (0%), 0 of {points} points" in run.stdout
    first = MANIFEST.exercises_of(FIRST.name)[0]
    assert f"Next: {first.name}, in katas/{FIRST.module}.py" in run.stdout
    assert first.hints[0] in run.stdout.replace("\n  ", " ")
    assert first.hints[1] not in run.stdout  # one level at a time
    assert "cumulative mode" in run.stdout


@pytest.mark.slow
def test_solved_katas_pass_and_exit_zero(repo):
    solve(repo)
    run = tool(repo, "check", *[s.name for s in STAGES])
    assert run.returncode == 0, run.stdout + run.stderr
    assert_readable(run.stdout)
    assert all(status_of(run.stdout, name) == "done" for name in ALL_EXERCISES)
    assert f"{len(ALL_EXERCISES)} of {len(ALL_EXERCISES)} exercises done (100%)" in run.stdout
    assert "Every selected exercise passes" in run.stdout


def test_partial_progress_shows_done_failing_and_not_started(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + WRONG_MUL_AND_STUB_NEG)
    run = tool(repo, "check", FIRST.name)
    assert run.returncode == 1
    assert_readable(run.stdout)
    assert status_of(run.stdout, "add") == "done"
    assert status_of(run.stdout, "neg") == "not started"
    mul = rows(run.stdout)["mul"]
    failing, total = map(int, re.match(r"failing (\d+) of (\d+)  ", mul).groups())
    assert 0 < failing <= total
    # The next step is the first exercise that is not done, with its first failure in short.
    next_step = run.stdout[run.stdout.index("Next:"):]
    assert next_step.startswith("Next: mul,")
    assert "First failing test:\n  tests/" in next_step and "[mul]" in next_step
    assert "expected:" in next_step and "received:" in next_step


@pytest.mark.slow
def test_one_process_or_several_give_the_same_report(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + WRONG_MUL_AND_STUB_NEG)
    runs = {jobs: tool(repo, "check", "--fresh", "--jobs", str(jobs)) for jobs in (1, 2, len(STAGES))}
    assert {run.returncode for run in runs.values()} == {1}
    assert runs[1].stdout == runs[2].stdout == runs[len(STAGES)].stdout
    # A selection across processes: each process gets only the names of its own stages.
    last = MANIFEST.exercises_of(STAGES[-1].name)[0].name
    across = tool(repo, "check", "add", last, "--jobs", str(len(STAGES)))
    assert set(rows(across.stdout)) == {"add", last}, across.stdout + across.stderr


def test_exercises_are_shared_by_cost_and_kept_in_learning_order():
    exercises = list(MANIFEST.exercises)
    costs = {e.name: 0.1 * (e.index % 5 + 1) for e in exercises}
    assert share(exercises, 1, costs) == [exercises]
    assert share(exercises, len(exercises) + 3, costs) == [[e] for e in exercises]
    groups = share(exercises, 2, costs)
    assert sorted(e.name for group in groups for e in group) == sorted(e.name for e in exercises)
    for group in groups:
        assert group == sorted(group, key=lambda e: e.index)
    loads = sorted(sum(costs[e.name] for e in group) for group in groups)
    assert loads[-1] - loads[0] <= max(costs.values()) + check.COLLECT_COST * len(STAGES)
    assert share([], 2, costs) == []
    # One costly exercise gets a process of its own, whatever its stage.
    heavy = exercises[-1]
    assert [heavy] in share(exercises, 2, {**costs, heavy.name: 100.0})


def test_costs_come_from_the_last_check_else_from_the_manifest(tmp_path):
    path = tmp_path / "check-costs.json"
    first = MANIFEST.exercises[0]
    stage = MANIFEST.stage(first.stage)
    assert exercise_costs(MANIFEST, path)[first.name] == stage.cost / len(MANIFEST.exercises_of(stage.name))
    save_costs([report.TestRecord("t1", first.name, "passed", duration=0.25), report.TestRecord("t2", first.name, "failed",
                                                                                  duration=0.5)], path)
    assert exercise_costs(MANIFEST, path)[first.name] == 0.75
    path.write_text("{not json")
    assert exercise_costs(MANIFEST, path)[first.name] == stage.cost / len(MANIFEST.exercises_of(stage.name))


def test_the_check_remembers_what_each_exercise_cost(repo):
    assert tool(repo, "check", FIRST.name).returncode == 1
    costs = exercise_costs(MANIFEST, repo / ".kata-cache" / "check-costs.json")
    assert set(FIRST_EXERCISES) <= set(costs) and all(costs[name] > 0 for name in FIRST_EXERCISES)


# ---------------------------------------------------------------- verdicts reused while nothing they read changes

REUSED = re.compile(r"\((\d+) exercises? passed in an earlier check and nothing")
LAST = STAGES[-1]


def reused(output: str) -> int:
    found = REUSED.search(output.replace("\n  ", " "))
    return int(found.group(1)) if found else 0


@pytest.mark.slow
def test_a_pass_is_reused_until_a_file_it_read_changes(repo):
    solve(repo)
    first = tool(repo, "check", FIRST.name, LAST.name)
    assert first.returncode == 0 and reused(first.stdout) == 0, first.stdout + first.stderr
    selected = FIRST_EXERCISES + [e.name for e in MANIFEST.exercises_of(LAST.name)]
    again = tool(repo, "check", FIRST.name, LAST.name)
    assert again.returncode == 0 and reused(again.stdout) == len(selected), again.stdout
    assert rows(again.stdout) == rows(first.stdout)
    assert_readable(again.stdout)
    # A change in the last stage's module: stage 1 never imported it, so its verdicts still hold.
    path = repo / "katas" / f"{LAST.module}.py"
    path.write_text(path.read_text() + "\n# a comment\n")
    edited = tool(repo, "check", FIRST.name, LAST.name)
    assert edited.returncode == 0 and reused(edited.stdout) == len(FIRST_EXERCISES), edited.stdout
    # A change that breaks stage 1: never a stale verdict.
    write_kata(repo, FIRST.module, reference(FIRST.module) + WRONG_MUL_AND_STUB_NEG)
    broken = tool(repo, "check", FIRST.name)
    assert broken.returncode == 1 and reused(broken.stdout) == 0, broken.stdout
    assert status_of(broken.stdout, "mul") == "failing" and status_of(broken.stdout, "neg") == "not started"
    # --fresh runs everything; a failing exercise is never kept.
    assert reused(tool(repo, "check", FIRST.name, "--fresh").stdout) == 0
    assert status_of(tool(repo, "check", "mul").stdout, "mul") == "failing"


def test_a_change_to_the_tests_runs_everything_again(repo):
    solve(repo, [FIRST])
    assert tool(repo, "check", FIRST.name).returncode == 0
    assert reused(tool(repo, "check", FIRST.name).stdout) == len(FIRST_EXERCISES)
    tests = repo / FIRST.tests
    tests.write_text(tests.read_text() + "\n# a comment\n")
    assert reused(tool(repo, "check", FIRST.name).stdout) == 0


def test_verdict_store_keeps_only_passes_measured_on_unchanged_files(tmp_path):
    path = tmp_path / "verdicts.json"
    add, mul = (MANIFEST.exercise(name) for name in ("add", "mul"))
    files = {f"{FIRST.module}.py": "1" * 64, "helpers.py": "2" * 64}
    passed = [report.TestRecord(f"t::{add.name}", add.name, report.PASSED, sources=[f"{FIRST.module}.py"])]
    failed = [report.TestRecord(f"t::{mul.name}", mul.name, report.FAILED, "wrong", sources=[f"{FIRST.module}.py"])]
    store = verdicts.VerdictStore("key", path)
    store.remember(MANIFEST, passed + failed, files, {**files, "helpers.py": "3" * 64})  # a save during the run
    assert verdicts.VerdictStore("key", path).reuse(add.name, files) is None
    store.remember(MANIFEST, passed + failed, files, files)
    kept = verdicts.VerdictStore("key", path)
    assert kept.reuse(add.name, files) == passed
    assert kept.reuse(add.name, {**files, "helpers.py": "3" * 64}) == passed  # a file it never read
    assert kept.reuse(add.name, {**files, f"{FIRST.module}.py": "4" * 64}) is None
    assert kept.reuse(add.name, {"helpers.py": "2" * 64}) is None  # its file is gone
    assert kept.reuse(mul.name, files) is None
    assert verdicts.VerdictStore("other tooling", path).reuse(add.name, files) is None
    # A record without sources (nothing known of what it read) is never kept.
    store.remember(MANIFEST, [report.TestRecord(f"t::{add.name}", add.name, report.PASSED)], files, files)
    assert verdicts.VerdictStore("key", path).reuse(add.name, files) is None
    for garbage in ("{not json", "[]", '{"version": 1, "key": "key", "exercises": {"add": {"files": 3}}}'):
        path.write_text(garbage)
        assert verdicts.VerdictStore("key", path).reuse(add.name, files) is None


def test_the_grader_never_reads_the_check_s_verdicts():
    """A learner's .kata-cache is theirs to edit: nothing on the grading side may import verdicts.py."""
    import ast

    from learner_repo import ROOT

    for module in ("grading/grade", "grading/gradescope", "grading/classroom", "grading/gradebook", "runner",
                   "grading/sandbox", "grading/submissions"):
        tree = ast.parse((ROOT / "katatools" / f"{module}.py").read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        assert not {"verdicts", "check", "learner.verdicts", "learner.check", "katatools.learner.verdicts",
                       "katatools.learner.check"} & {m or "" for m in imported}, module


def test_exit_code_follows_the_selection(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + WRONG_MUL_AND_STUB_NEG)
    passing = tool(repo, "check", "add", "sub")
    assert passing.returncode == 0, passing.stdout
    assert set(rows(passing.stdout)) == {"add", "sub"}
    failing = tool(repo, "check", "add", "mul")
    assert failing.returncode == 1
    assert set(rows(failing.stdout)) == {"add", "mul"}


def test_unknown_name_is_refused_without_running(repo):
    run = tool(repo, "check", "add", "multiply")
    assert run.returncode == 2
    assert "unknown exercise 'multiply'" in run.stderr
    assert FIRST.name in run.stderr  # stages are accepted too, and named
    assert "Traceback" not in run.stderr and run.stdout == ""


def test_plain_pytest_ends_with_the_same_summary(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + WRONG_MUL_AND_STUB_NEG)
    check = tool(repo, "check", FIRST.name)
    pytest_run = subprocess.run([sys.executable, "-m", "pytest", FIRST.tests, "-p", "no:cacheprovider"], cwd=repo,
                                env=child_env(), capture_output=True, text=True, timeout=1800)
    summary = check.stdout.splitlines()
    summary = summary[: next(i for i, line in enumerate(summary) if line.startswith("Full pytest output"))]
    lines = pytest_run.stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if "Progress (" in line)
    assert lines[start : start + len(summary)] == summary
    assert len(lines) == start + len(summary) + 1  # then only pytest's own last line
    # (", N warnings" appears where a third-party package in the environment warns on import)
    assert re.match(r"=+ \d+ failed, \d+ passed(, \d+ warnings?)? in ", lines[-1]), lines[-1]


# ---------------------------------------------------------------- broken katas


def test_syntax_error_names_the_file_and_line(repo):
    source = reference(FIRST.module).replace("class Variable", "class Variable(:", 1)
    write_kata(repo, FIRST.module, source)
    run = tool(repo, "check", FIRST.name)
    assert run.returncode == 1
    assert_readable(run.stdout)
    assert all(status_of(run.stdout, name) == "failing" for name in FIRST_EXERCISES)
    assert f"cannot import katas/{FIRST.module}.py: SyntaxError" in run.stdout
    assert re.search(r"\(line \d+\)", " ".join(run.stdout.split()))  # wrapping may split it


def test_import_that_raises_names_the_exception(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + '\nraise RuntimeError("half-finished edit")\n')
    run = tool(repo, "check", FIRST.name)
    assert run.returncode == 1
    assert_readable(run.stdout)
    assert all(status_of(run.stdout, name) == "failing" for name in FIRST_EXERCISES)
    assert "RuntimeError: half-finished edit" in run.stdout


NONE_KEYS = """

def _keys_of_nothing(self, other):
    grads = None
    return Variable(self.value * other.value, grads.keys())


Variable.__mul__ = _keys_of_nothing
"""


def test_an_exception_in_kata_code_says_where_it_was_raised(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + NONE_KEYS)
    run = tool(repo, "check", "mul")
    assert run.returncode == 1
    assert_readable(run.stdout)
    failure = run.stdout[run.stdout.index("First failing test:"):]
    line = 1 + reference(FIRST.module).count("\n") + NONE_KEYS[: NONE_KEYS.index("grads.keys")].count("\n")
    assert "AttributeError: 'NoneType' object has no attribute 'keys'" in failure
    assert f"raised at katas/{FIRST.module}.py, line {line}, in _keys_of_nothing" in failure
    assert "return Variable(self.value * other.value, grads.keys())" in failure  # the line's text


@pytest.mark.slow
def test_infinite_loop_times_out_and_names_the_exercise(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + LOOPING_ADD)
    run = tool(repo, "check", FIRST.name, "--timeout", "3")  # 3 s: room for mul's tests on a busy machine
    assert run.returncode == 1
    assert_readable(run.stdout)
    assert re.match(r"failing \d+ of \d+, timed out", rows(run.stdout)["add"])
    assert "[add] timed out after 3 s" in run.stdout
    assert f"It was running katas/{FIRST.module}.py, line" in run.stdout and "in _forever" in run.stdout
    assert status_of(run.stdout, "mul") == "done"  # the loop costs only the exercises that reach it


# ---------------------------------------------------------------- isolated mode


@pytest.mark.skipif(len(STAGES) < 2, reason="isolated mode needs a second stage with tests")
def test_isolated_mode_shows_progress_behind_a_broken_early_stage(repo):
    second = STAGES[1]
    names = [e.name for e in MANIFEST.exercises_of(second.name)]
    write_kata(repo, FIRST.module, "def broken(:\n")
    solve(repo, [second])
    cumulative = tool(repo, "check", FIRST.name, second.name)
    isolated = tool(repo, "check", FIRST.name, second.name, "--isolated")
    assert "cumulative mode" in cumulative.stdout and "isolated mode" in isolated.stdout
    assert all(status_of(cumulative.stdout, name) == "failing" for name in names)
    assert "--isolated" in cumulative.stdout  # the tip that points the way
    assert all(status_of(isolated.stdout, name) == "done" for name in names)
    assert all(status_of(isolated.stdout, name) == "failing" for name in FIRST_EXERCISES)
    assert isolated.returncode == 1
    assert_readable(isolated.stdout)


@pytest.mark.skipif(len(STAGES) < 2, reason="isolated mode needs a second stage with tests")
def test_isolated_mode_tests_the_learners_module_not_the_reference(repo):
    second = STAGES[1]
    names = [e.name for e in MANIFEST.exercises_of(second.name)]
    solve(repo, [FIRST])  # the second stage stays a pristine stub
    stubs = tool(repo, "check", second.name, "--isolated")
    assert all(status_of(stubs.stdout, name) == "not started" for name in names), stubs.stdout
    # One exercise of the second stage broken on purpose: only it fails.
    broken = names[0]
    write_kata(repo, second.module, reference(second.module) + f"\n\ndef {broken}(*args, **kwargs):\n    return None\n")
    one_wrong = tool(repo, "check", second.name, "--isolated")
    assert status_of(one_wrong.stdout, broken) == "failing"  # the reference's would pass
    assert status_of(one_wrong.stdout, names[-1]) == "done"


EXTENDING = [s for s in STAGES if len(MANIFEST.learner_modules(s)) > 1]  # stages that extend an earlier module


@pytest.mark.slow
@pytest.mark.skipif(not EXTENDING, reason="no stage with tests extends an earlier stage's module yet")
def test_isolated_mode_takes_an_extended_module_from_the_learner(repo):
    """Stage 5's arrays live in variable.py: with stages 1-4 solved the scalar way, they are not done, isolated or not."""
    stage = EXTENDING[0]
    own = [e.name for e in MANIFEST.exercises_of(stage.name)]
    midway = generated_stubs(MANIFEST, exercises=[e.name for e in MANIFEST.exercises
                                                  if MANIFEST.stage(e.stage).index >= stage.index])
    for module in MANIFEST.learner_modules(stage)[1:]:  # the earlier modules, with this stage's regions stubbed
        write_kata(repo, module, midway[f"{module}.py"])
    solve(repo, [s for s in STAGES if s.module not in MANIFEST.learner_modules(stage)])
    isolated = tool(repo, "check", stage.name, "--isolated")
    assert all(status_of(isolated.stdout, name) == "not started" for name in own), isolated.stdout
    solve(repo, STAGES)
    solved = tool(repo, "check", stage.name, "--isolated")
    assert all(status_of(solved.stdout, name) == "done" for name in own), solved.stdout


# ---------------------------------------------------------------- hints, verbose, terminals


def test_hints_come_one_level_at_a_time(repo):
    exercise = MANIFEST.exercise("mul")
    levels = []
    for level in range(1, len(exercise.hints) + 1):
        run = tool(repo, "check", "--hint", "mul", "--level", str(level))
        assert run.returncode == 0
        text = " ".join(run.stdout.split())
        assert [" ".join(h.split()) in text for h in exercise.hints] == [i < level for i in range(len(exercise.hints))]
        levels.append(run.stdout)
        assert all(len(line) <= WIDTH for line in run.stdout.splitlines())
    assert "--hint mul --level 2" in levels[0]
    assert "last hint" in levels[-1]
    assert tool(repo, "check", "--hint", "mul", "--level", "4").returncode == 2
    assert tool(repo, "check", "--hint", "multiply").returncode == 2
    assert FIRST_EXERCISES[0] in tool(repo, "check", "--hint", FIRST.name).stderr


def test_verbose_adds_pytests_output(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + WRONG_MUL_AND_STUB_NEG)
    run = tool(repo, "check", "mul", "--verbose")
    assert "short test summary info" in run.stdout
    assert "FAILED tests/" in run.stdout
    assert "Progress (" in run.stdout


def test_colour_only_on_a_terminal_and_never_with_no_color(repo):
    code, coloured = run_in_terminal(repo, ["check", "add"])
    assert code == 1
    assert ANSI in coloured
    code, plain = run_in_terminal(repo, ["check", "add"], NO_COLOR="1")
    assert code == 1
    assert ANSI not in plain and "not started" in plain


def test_a_test_out_of_time_is_named_with_its_message_when_another_failure_is_shown():
    """A learner saw "A test ran out of time" under a different test's failure, and never learnt which one."""
    plan = check.make_plan([FIRST.name])
    assert isinstance(plan, check.Plan)
    exercise = FIRST_EXERCISES[0]
    shown = report.TestRecord(f"{FIRST.tests}::test_shown", exercise, report.FAILED, "[add] wrong grad")
    slow = report.TestRecord(f"{FIRST.tests}::test_slow", exercise, report.TIMEOUT,
                             "[add] timed out after 5 s\nIt was running katas/variable.py, line 9, in _walk")
    lines = "\n".join(check.render(plan, [shown, slow]))
    assert f"{FIRST.tests}::test_shown" in lines, lines  # the first failure, in the next step
    note = lines[lines.index(f"{FIRST.tests}::test_slow"):]
    assert "ran out of time (5 s per test)" in note, note
    assert "It was running katas/variable.py, line 9" in note, note
    # The timed-out test shown as the first failure is named, its message not repeated.
    lines = "\n".join(check.render(plan, [slow]))
    assert lines.count("It was running katas/variable.py, line 9") == 1, lines
    assert "test_slow ran out of time" in lines.replace("\n", " "), lines

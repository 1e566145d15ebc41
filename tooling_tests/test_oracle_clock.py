"""An oracle's cost never counts against the learner (issue 23): its time is outside the test's clock,
and its answer is stored whatever the test does next.

``plugin.deadline`` limits a test's CPU time (and, ten times longer, its wall time);
``plugin.clock_paused`` and ``plugin.oracle`` stop both clocks while the tests compute an expected
answer; tests/sklearn_oracle.py asks scikit-learn that way. Here: the clocks themselves, then a
question that burns CPU and waits far beyond a tiny limit inside pytest with the plugin, then the
real scikit-learn oracle with an empty store.
"""

from __future__ import annotations

import inspect
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time

import pytest
from learner_repo import child_env, make_repo

from katatools import plugin
from katatools.manifest import ROOT
from katatools.report import FAILED, PASSED, TIMEOUT, read_report


def burn(seconds: float) -> None:
    """Use ``seconds`` of this process's CPU time."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


# ---------------------------------------------------------------- the clocks, in this process


def test_a_paused_clock_does_not_count_cpu_time():
    with plugin.deadline(0.3):
        with plugin.clock_paused():
            burn(0.6)
        burn(0.1)  # the clock resumes where it stopped: 0.2 s of the 0.3 left


def test_a_paused_clock_does_not_count_waiting():
    with plugin.deadline(0.05):  # the wall-clock backstop: 0.5 s
        with plugin.clock_paused():
            time.sleep(0.8)


def test_the_clock_runs_again_after_an_oracle():
    calls = []

    @plugin.oracle
    def expected_answer(x):
        burn(0.4)
        calls.append(x)
        return 2 * x

    with pytest.raises(plugin.KataTimeout) as stopped:
        with plugin.deadline(0.3):
            assert expected_answer(21) == 42 and calls == [21]
            burn(5.0)  # the test's own work: it runs out of time
    assert stopped.value.args[1] == "cpu"


STARVED = """
import json, os, time
from katatools import plugin
from katatools.runner import cpu_bound_neighbours

os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
with cpu_bound_neighbours(2):  # on this process's one CPU (they inherit it), at the usual priority
    os.nice(19)  # this process: about 1% of that CPU from now on
    time.sleep(0.5)
    seen = {}
    for name, work in (("computing", lambda: burn(0.02)), ("sleeping", lambda: time.sleep(3.0))):
        started, seen[name] = time.monotonic(), "passed"
        try:
            with plugin.deadline(0.05):  # 0.05 s of CPU time; the backstop: 0.5 s of waiting
                work()
        except plugin.KataTimeout as exc:
            seen[name] = exc.args[1]
        seen[name + " wall"] = time.monotonic() - started
print(json.dumps(seen))
"""


@pytest.mark.skipif(plugin.waiting_clock() is None or not hasattr(os, "sched_setaffinity"),
                    reason="the waiting clock reads Linux's schedstat; the test pins CPUs")
def test_a_test_ready_to_run_on_a_busy_machine_is_not_waiting():
    """The backstop counts only waiting: a test starved of its CPU far past ten times its limit, but
    computing whenever it runs, is not stopped; a test that sleeps is, after ten times its limit."""
    script = "import time\n" + inspect.getsource(burn) + STARVED
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=child_env(), capture_output=True, text=True,
                          timeout=1800)
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["computing wall"] > 1.0, f"not starved enough to prove anything: {seen}"
    assert seen["computing"] == "passed", seen
    assert seen["sleeping"] == "wall" and seen["sleeping wall"] < 2.5, seen


def test_pauses_nest():
    with plugin.deadline(0.3):
        with plugin.clock_paused():
            with plugin.clock_paused():
                burn(0.2)
            burn(0.2)
        burn(0.1)


# ---------------------------------------------------------------- a question far over the limit, in pytest

LIMIT = 0.25  # CPU seconds per test; the wall-clock backstop is ten times that
QUESTION_CPU = 0.6  # what the question burns: over the limit
QUESTION_WAIT = 3.0  # what it then waits: over the backstop

SLOW_QUESTIONS = textwrap.dedent(f'''
    """A stand-in for test_losses.py: tests whose question to the oracle takes far longer than they may."""

    import os
    import time

    import pytest
    from sklearn_oracle import remembered


    @remembered
    def slow_question(x: float) -> dict[str, object]:
        """Burns CPU, then waits: over the test's limit on both clocks. Each asking is logged."""
        with open(os.environ["QUESTION_LOG"], "a") as log:
            log.write(f"{{x}}\\n")
        end = time.process_time() + {QUESTION_CPU}
        while time.process_time() < end:
            pass
        time.sleep({QUESTION_WAIT})
        return {{"double": 2 * x}}


    @pytest.mark.exercise("mse")
    def test_asks_then_fails(kata):
        assert slow_question(2.0)["double"] == 4.0
        assert False, "the learner's code is wrong"


    @pytest.mark.exercise("logloss")
    def test_asks_then_passes(kata):
        assert slow_question(3.0)["double"] == 6.0


    @pytest.mark.exercise("logloss")
    def test_its_own_work_still_counts(kata):
        end = time.process_time() + 30
        while time.process_time() < end:
            pass
''')


def run_tests(cwd, tests, target, answers, report, *extra, **env):
    command = [sys.executable, "-m", "pytest", *tests, f"--target={target}", "-q", "-p", "no:cacheprovider",
               "--kata-summary=no", f"--kata-timeout={LIMIT}", f"--kata-report={report}", *extra]
    done = subprocess.run(command, cwd=cwd, env=child_env(KATA_SKLEARN_CACHE=str(answers), **env),
                          capture_output=True, text=True, timeout=1800)
    assert done.returncode in (0, 1), done.stdout + done.stderr
    return {record.nodeid.rpartition("::")[2]: record for record in read_report(report).tests}


@pytest.mark.slow
def test_a_slow_question_is_not_timed_out_and_its_answer_is_kept_when_the_test_fails(tmp_path):
    repo = make_repo(tmp_path / "repo")
    (repo / "tests" / "test_losses.py").write_text(SLOW_QUESTIONS, encoding="utf-8")
    answers, log = tmp_path / "answers", tmp_path / "asked.log"
    for run in (1, 2):
        records = run_tests(repo, ["tests/test_losses.py"], "solutions", answers, tmp_path / f"report-{run}.jsonl",
                            QUESTION_LOG=str(log))
        failed = records["test_asks_then_fails"]
        assert failed.status == FAILED and "the learner's code is wrong" in failed.message, failed
        assert records["test_asks_then_passes"].status == PASSED, records["test_asks_then_passes"]
        control = records["test_its_own_work_still_counts"]
        assert control.status == TIMEOUT and "CPU time" in control.message, control
        assert len(list(answers.glob("slow_question-*.npz"))) == 2, "an answer asked for was not stored"
    assert log.read_text().split() == ["2.0", "3.0"], "a stored answer was asked again"


def test_scikit_learn_with_an_empty_store_is_not_timed_out_and_its_answers_are_kept(tmp_path):
    """The real oracle: importing scikit-learn alone takes several times the limit. An mse 1% off fails
    its test on its merits (not timed out), logloss passes, and every answer asked for is stored."""
    wrong = tmp_path / "wrong"
    shutil.copytree(ROOT / "solutions", wrong, ignore=shutil.ignore_patterns("__pycache__"))
    losses = wrong / "losses.py"
    right = "return (true_val - pred_val) ** Variable(2.0, 0.0)"
    assert right in losses.read_text()
    losses.write_text(losses.read_text().replace(right, right + " * 1.01"))
    tests = ["tests/test_losses.py::test_mse_mean_matches_sklearn", "tests/test_losses.py::test_logloss_mean_matches_sklearn"]
    answers = tmp_path / "answers"
    records = run_tests(ROOT, tests, wrong, answers, tmp_path / "report.jsonl")
    mse = records["test_mse_mean_matches_sklearn"]
    assert mse.status == FAILED and "mean loss" in mse.message, mse
    assert records["test_logloss_mean_matches_sklearn"].status == PASSED, records["test_logloss_mean_matches_sklearn"]
    asked = sorted(path.name.partition("-")[0] for path in answers.glob("*.npz"))
    assert asked == ["dataset_column", "dataset_column", "metric_values", "metric_values"], asked

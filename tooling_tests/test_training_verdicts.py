"""Stage 4's verdicts: the slip detector's messages, the forward-mode check, and timeouts of slow loops.

- Every slip in mistakes/training.toml that the exact-step tests model is named by the failure
  message, however the learner wrote it (np.mean of a list, sum(list) / len(list), sum(list) / n,
  sums never reset), and the message shows only what differs, at the first iteration that differs.
- The forward-mode check (``seeds_scaled``) leaves the learner's Variable class as it found it,
  and scales only the Variables that training.py builds.
- A loop that is slow, not endless, times out with how far it got and how to allow more time.

The stage's alternatives and cheats (alternatives/training.toml) are run by the corpus runner.
"""

from __future__ import annotations

import itertools
import re
import sys
import types
from pathlib import Path

import pytest

from katatools import packages
from katatools.manifest import ROOT, load_manifest
from katatools.plugin import Progress, more_time, timeout_message
from katatools.proofs.mutants import apply_patches, load_corpus
from katatools.runner import run_suite

sys.path.insert(0, str(ROOT / "tests"))
import test_training as training_tests  # noqa: E402

MANIFEST = load_manifest()
STAGE = MANIFEST.stage("training")
_names = itertools.count()


def kata_with(tmp_path: Path, training_source: str) -> types.SimpleNamespace:
    """The reference's stages with this training.py, imported as the kata fixture gives them to tests."""
    folder = tmp_path / f"pkg{next(_names)}"
    folder.mkdir()
    for stage in MANIFEST.stages:
        source = (ROOT / "solutions" / f"{stage.module}.py").read_text()
        (folder / f"{stage.module}.py").write_text(training_source if stage is STAGE else source)
    package = packages.load_package(folder, f"_kata_verdicts_{folder.name}")
    modules = packages.import_stage_modules(package, MANIFEST.stages)
    namespace = types.SimpleNamespace(**modules)
    namespace.Variable = modules["variable"].Variable
    return namespace


def mistake_source(name: str) -> tuple[str, str]:
    """(exercise, training.py with the named mistake of mistakes/training.toml applied)."""
    corpus = load_corpus(ROOT / "mistakes", MANIFEST, ROOT / "solutions")
    mistake = next(m for m in corpus.mistakes if m.name == name)
    reference = (ROOT / "solutions" / "training.py").read_text()
    return mistake.exercise, apply_patches(reference, mistake.patches)


def failure_of(kata, exercise: str, iters: int = 3) -> str:
    """The message of the exact-step test of ``exercise`` after ``iters`` iterations (it must fail)."""
    with pytest.raises(pytest.fail.Exception) as failed:
        if exercise == "deep_training":
            training_tests.test_training_steps_exact(kata, iters, *training_tests.TRAIN_CASES[0])
        else:
            x, targets, labels, lr = training_tests.FIT_CASES[0]
            y = targets if exercise == "linear_regression" else labels
            training_tests.expect_fit_descent(kata, exercise, x, y, lr, iters)
    return str(failed.value)


HINTS = training_tests.SLIP_HINTS
SLIPS = {
    # mistake: the text its failure must name
    "line_sums_instead_of_mean": HINTS["sum"],
    "line_gradient_ascent": HINTS["ascent"],
    "line_seeds_both_parameters": HINTS["extra seed"].format(name="b"),
    "line_updates_m_before_b_gradient": HINTS["sequential"].format(order="m before b"),
    "line_gradient_sums_never_reset": HINTS["accumulated sum"],
    "classifier_sums_instead_of_mean": HINTS["sum"],
    "classifier_gradient_ascent": HINTS["ascent"],
    "classifier_updates_m_before_b_gradient": HINTS["sequential"].format(order="m before b"),
    "classifier_b_pass_seeds_m_too": HINTS["extra seed"].format(name="m"),
    "training_shallow_copy_accumulates_gradients": HINTS["accumulated average"],  # sum(lst) / len(lst)
    "training_shallow_copy_np_mean": HINTS["accumulated average"],  # np.mean(lst)
    "training_shallow_copy_sums_gradients": HINTS["accumulated sum"],  # sum(lst) / n
    "training_records_history_after_update": HINTS["history after update"],
    "training_loss_total_never_reset": HINTS["history accumulated"],
    "training_sums_instead_of_mean": HINTS["sum"],
    "training_updates_each_parameter_at_once": HINTS["sequential"].format(order="m0_0 before m0_1 before b0_0..."),
    "training_seeds_two_parameters": HINTS["extra seed"].format(name="b1"),
}


@pytest.mark.parametrize("mistake", SLIPS)
def test_each_known_slip_is_named(tmp_path, mistake):
    exercise, source = mistake_source(mistake)
    message = " ".join(failure_of(kata_with(tmp_path, source), exercise).split())
    assert f"your loop matches a known slip: {SLIPS[mistake]}" in message, message


def test_the_message_shows_the_first_differing_iteration_and_only_what_differs(tmp_path):
    exercise, source = mistake_source("training_records_history_after_update")
    message = failure_of(kata_with(tmp_path, source), exercise)
    expected, received = (re.search(rf"{key}: (.*)", message)[1] for key in ("expected", "received"))
    assert expected.startswith("after iteration 1 of 3, the first that differs: history[0] ")
    assert "m0_0" not in expected and "m0_0" not in received  # the parameters agree: not shown
    exercise, source = mistake_source("training_sums_instead_of_mean")
    message = failure_of(kata_with(tmp_path, source), exercise)
    expected = re.search(r"expected: (.*)", message)[1]
    assert expected.startswith("after iteration 1 of 3")
    numbers = re.findall(r"-?\d\.\d*(?:e-?\d+)?|-?\d+\.\d*", expected.split(": ", 1)[1])
    assert numbers and all(len(re.sub(r"e.*|[-.]", "", n).lstrip("0")) <= 6 for n in numbers), expected


def test_a_loop_close_to_exact_is_told_about_finite_differences(tmp_path):
    reference = (ROOT / "solutions" / "training.py").read_text()
    seeded = "m_total += logloss(y_, sigmoid(Variable(m, 1.0) * x_ + Variable(b, 0.0))).grad"
    by_difference = ("m_total += (logloss(y_, sigmoid((m + 1e-2) * x_ + b)).value"
                     " - logloss(y_, sigmoid((m - 1e-2) * x_ + b)).value) / 2e-2")
    assert reference.count(seeded) == 1
    message = " ".join(failure_of(kata_with(tmp_path, reference.replace(seeded, by_difference)),
                                  "logistic_regression").split())
    assert "close, but not exact" in message and "finite difference" in message, message


def test_significant_digits_grow_until_the_numbers_differ():
    assert training_tests.significant(1.23456789, 1.23456001) == ("1.23457", "1.23456")
    assert training_tests.significant(1.234561, 1.234562) == ("1.234561", "1.234562")
    assert training_tests.significant(0.5, 0.25) == ("0.5", "0.25")


# ---------------------------------------------------------------- the forward-mode check


def test_seeds_are_scaled_only_where_training_builds_them_and_the_class_is_restored(tmp_path):
    kata = kata_with(tmp_path, (ROOT / "solutions" / "training.py").read_text())
    before = dict(vars(kata.Variable))
    with training_tests.seeds_scaled(kata, 4.0):
        built_here = kata.Variable(1.0, 1.0)  # built by this test, not by training.py
        assert built_here.grad == 1.0
        assert (built_here * 3.0).grad == 3.0  # an operator's result: never scaled
        loss, grad = kata.training.deep_model(1.2, 1.0, training_tests.POINT, {"b1": 1.0})
    _, plain = kata.training.deep_model(1.2, 1.0, training_tests.POINT, {"b1": 1.0})
    assert grad == 4.0 * plain
    assert dict(vars(kata.Variable)) == before


# ---------------------------------------------------------------- timeouts: slow is not wrong


def test_timeout_messages():
    slow = timeout_message("mse", 5.0, Progress(37, 200, "iterations", 5.0), "nox -s check -- --timeout")
    assert slow.startswith("[mse] 37 of 200 iterations in 5 s of CPU time: correct but slow?")
    assert "`nox -s check -- --timeout 60`" in slow and "loop" not in slow  # 27 s needed: 1.5 x that
    stuck = timeout_message("mse", 5.0, Progress(0, 200), "--kata-timeout")
    assert "before the first of 200 iterations finished" in stuck and "`--kata-timeout 30`" in stuck
    unknown = timeout_message("add", 1.0, None, "--kata-timeout")
    assert unknown.startswith("[add] timed out after 1 s") and "`--kata-timeout 30`" in unknown
    assert more_time(5.0, Progress(199, 200, seconds=4.9)) == 10  # never less than the limit that ran out
    waiting = timeout_message("add", 1.0, None, "--kata-timeout", clock="wall")
    assert waiting.startswith("[add] timed out: the test waited 10 s without computing") and "sleep" in waiting


SLEEPY_LINE = "        m, b = m - lr * m_sum / n, b - lr * b_sum / n\n"


def run_line_test(tmp_path: Path, training_source: str, *options: str) -> str:
    """The failure message of the post's line test (seed 0) against this training.py, run by pytest."""
    folder = tmp_path / "target"
    folder.mkdir()
    for stage in MANIFEST.stages:
        (folder / f"{stage.module}.py").write_text((ROOT / "solutions" / f"{stage.module}.py").read_text())
    (folder / "training.py").write_text(training_source)
    run = run_suite(folder, tests=[STAGE.tests], extra=["-q", "--kata-summary=no", *options,
                                                        "-k", "test_line_recovers_the_post_line and 0"], timeout=1800)
    assert run.report is not None and len(run.report.tests) == 1, run.output
    return run.report.tests[0].message


def test_a_slow_loop_times_out_with_its_progress_and_how_to_allow_more_time(tmp_path):
    reference = (ROOT / "solutions" / "training.py").read_text()
    assert reference.count(SLEEPY_LINE) == 1
    busy = ("        _t = __import__('time').process_time()\n"  # 0.1 s of CPU per step: 20 steps, 2 s
            "        while __import__('time').process_time() - _t < 0.1:\n            pass\n")
    slow = reference.replace(SLEEPY_LINE, busy + SLEEPY_LINE)
    out = run_line_test(tmp_path, slow, "--kata-timeout=1", "--kata-timeout-flag=nox -s check -- --timeout")
    assert re.search(r"\[linear_regression\] \d+ of 20 iterations in 1 s of CPU time: correct but slow\? "
                     r"Allow more time: `nox -s check -- --timeout 10`", out), out
    assert "never ends" not in out


def test_a_loop_that_never_finishes_an_iteration_is_told_so(tmp_path):
    reference = (ROOT / "solutions" / "training.py").read_text()
    endless = reference.replace(SLEEPY_LINE, "        while True:\n            pass\n" + SLEEPY_LINE)
    out = run_line_test(tmp_path, endless, "--kata-timeout=1")
    assert "before the first of 20 iterations finished: a loop that never ends, or very slow code?" in out, out

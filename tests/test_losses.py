"""Stage 3 tests: the losses mse and logloss (katas/losses.py).

For every exercise: exact values at hand-picked points, central finite differences of the
plain loss, hypothesis properties over the domains below, and agreement with scikit-learn on
real batches (the mean of the per-sample loss against ``mean_squared_error`` and ``log_loss``,
and the mean grad against a finite difference of the scikit-learn metric). scikit-learn's
answers come through ``sklearn_oracle``, which remembers them: importing scikit-learn costs a
second or more, and a learner runs these tests hundreds of times.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from checks import (
    FD_STEP,
    expect_close,
    expect_dual,
    expect_error,
    expect_matches_difference_quotient,
    expect_matches_finite_difference,
    expect_unchanged,
    expect_variable,
    fail,
    reals,
    seeds,
    show,
)
from hypothesis import given
from hypothesis import strategies as st
from sklearn_oracle import dataset_column, metric_values

EPSILON = 1e-15  # the clip of logloss, stated by the exercise
probabilities = st.floats(0.001, 0.999)
labels = st.floats(0.0, 1.0)

SQUARE_HINT = "mse is (true - pred) ** 2: square the difference with your ** operator"
BOTH_TERMS_HINT = ("logloss is -(y log p + (1 - y) log(1 - p)): with y = 0 only -log(1 - p) remains, "
                   "and a label between 0 and 1 needs both terms")
SIGN_HINT = "the loss is minus the log-likelihood: -(y log p + (1 - y) log(1 - p)) is >= 0"
CLIP_HINT = ("clip p's value to [1e-15, 1 - 1e-15] before taking logs, and keep p's grad as it is: "
             "Variable(min(max(p.value, EPSILON), 1 - EPSILON), p.grad)")


def run_loss(kata, exercise, true_val, pred_val):
    """losses.<exercise>(true_val, pred_val), and a description of it for messages."""
    given_ = f"{exercise}({show(true_val)}, {show(pred_val)})"
    return getattr(kata.losses, exercise)(true_val, pred_val), given_


# ---------------------------------------------------------------- mse


MSE_EXACT = [
    # true, its seed, pred, its seed, value, grad
    (3.0, 0.0, 1.0, 1.0, 4.0, -4.0),
    (1.0, 0.0, 3.0, 1.0, 4.0, 4.0),
    (3.0, 1.0, 1.0, 0.0, 4.0, 4.0),
    (-1.5, 0.0, 0.5, 2.0, 4.0, 8.0),
    (2.0, 0.0, 2.0, 1.0, 0.0, 0.0),
    (0.5, 1.0, 0.25, 1.0, 0.0625, 0.0),
]


@pytest.mark.exercise("mse")
@pytest.mark.parametrize("t, st_, p, sp, value, grad", MSE_EXACT)
def test_mse_exact(kata, t, st_, p, sp, value, grad):
    V = kata.Variable
    result, given_ = run_loss(kata, "mse", V(t, st_), V(p, sp))
    expect_dual("mse", given_, result, value, grad, SQUARE_HINT)


@pytest.mark.exercise("mse")
@pytest.mark.parametrize("make, value, grad", [
    pytest.param(lambda V: (3.0, 1.0), 4.0, 0.0, id="two-floats"),
    pytest.param(lambda V: (np.float64(1.0), V(3.0, 1.0)), 4.0, 4.0, id="numpy-true"),
    pytest.param(lambda V: (3, V(1.0, 1.0)), 4.0, -4.0, id="int-true"),
    pytest.param(lambda V: (V(3.0, 1.0), 1.0), 4.0, 4.0, id="float-pred"),
])
def test_mse_plain_numbers(kata, make, value, grad):
    true_val, pred_val = make(kata.Variable)
    result, given_ = run_loss(kata, "mse", true_val, pred_val)
    expect_dual("mse", given_, result, value, grad,
                "a plain number is a constant: lift both arguments with lift() first")


@pytest.mark.exercise("mse")
@pytest.mark.parametrize("t, st_, p, sp", [(3.0, 0.0, 1.2, 1.0), (-0.7, 0.5, 2.4, -1.0), (10.0, 1.0, 9.5, 0.0)])
def test_mse_finite_difference(kata, t, st_, p, sp):
    V = kata.Variable
    result, given_ = run_loss(kata, "mse", V(t, st_), V(p, sp))
    expect_variable("mse", given_, result)
    expect_matches_finite_difference("mse", given_, result.grad, lambda h: ((t + h * st_) - (p + h * sp)) ** 2,
                                     hint=SQUARE_HINT)


@pytest.mark.exercise("mse")
@given(t=reals, st_=seeds, p=reals, sp=seeds)
def test_mse_properties(kata, t, st_, p, sp):
    mse, V = kata.losses.mse, kata.Variable
    forward, backward = mse(V(t, st_), V(p, sp)), mse(V(p, sp), V(t, st_))
    given_ = f"mse({show(V(t, st_))}, {show(V(p, sp))})"
    expect_variable("mse", given_, forward)
    expect_close("mse", given_, "value", forward.value, (t - p) ** 2, SQUARE_HINT)
    expect_dual("mse", given_ + " against the arguments swapped", backward, forward.value, forward.grad,
                "(a - b)**2 = (b - a)**2: the squared error does not care about the order", rel=1e-9, abs_=1e-9)
    expect_dual("mse", f"mse(u, u) with u = {show(V(t, st_))}", mse(V(t, st_), V(t, st_)), 0.0, 0.0,
                "a perfect prediction has loss 0 and grad 0")


@pytest.mark.exercise("mse")
@pytest.mark.asks_sklearn
def test_mse_mean_matches_sklearn(kata):
    """The mean of mse over a real batch is sklearn's mean_squared_error, and so is its derivative."""
    kata.losses.mse(1.0, kata.Variable(0.5, 1.0))  # a stub stops here, before asking scikit-learn
    diabetes = dataset_column("diabetes", 2, rows=120)
    x, y = diabetes["x"], diabetes["target"]  # body-mass index against disease progression
    slope, intercept = np.polyfit(x, y, 1)
    pred = slope * x + intercept
    direction = np.random.default_rng(3).normal(size=len(y))
    losses = [kata.losses.mse(y_, kata.Variable(p_, s_)) for y_, p_, s_ in zip(y, pred, direction, strict=True)]
    given_ = f"mse over {len(y)} samples of load_diabetes and a fitted line"
    expect_variable("mse", given_, losses[0])
    expected, slope_along = sklearn_metric_along("mean_squared_error", y, pred, direction)
    expect_close("mse", given_, "mean loss", float(np.mean([loss.value for loss in losses])),
                 expected, SQUARE_HINT, rel=1e-9, abs_=1e-9)
    expect_matches_difference_quotient("mse", given_ + ", mean grad along a random direction of the predictions",
                                       float(np.mean([loss.grad for loss in losses])), slope_along, SQUARE_HINT)


# ---------------------------------------------------------------- logloss


LOGLOSS_EXACT = [
    # label, p, p's seed, value, grad, hint
    (1, 0.8, 1.0, -math.log(0.8), -1.25, SIGN_HINT),
    (0, 0.8, 1.0, -math.log(0.2), 5.0, BOTH_TERMS_HINT),
    (1.0, 0.25, 2.0, math.log(4.0), -8.0, SIGN_HINT),
    (0.0, 0.25, 1.0, -math.log(0.75), 4.0 / 3.0, BOTH_TERMS_HINT),
    (0.5, 0.5, 1.0, math.log(2.0), 0.0, BOTH_TERMS_HINT),
    (0.25, 0.5, 1.0, math.log(2.0), 1.0, BOTH_TERMS_HINT),
    (0.3, 0.9, -2.0, -(0.3 * math.log(0.9) + 0.7 * math.log(0.1)), 2.0 * (0.3 / 0.9 - 0.7 / 0.1), BOTH_TERMS_HINT),
]


@pytest.mark.exercise("logloss")
@pytest.mark.parametrize("y, p, sp, value, grad, hint", LOGLOSS_EXACT, ids=[f"y={c[0]}-p={c[1]}" for c in LOGLOSS_EXACT])
def test_logloss_exact(kata, y, p, sp, value, grad, hint):
    V = kata.Variable
    result, given_ = run_loss(kata, "logloss", y, V(p, sp))
    expect_dual("logloss", given_, result, value, grad, hint)
    result, given_ = run_loss(kata, "logloss", V(float(y), 0.0), V(p, sp))
    expect_dual("logloss", given_ + " (the label as a Variable, as in the post)", result, value, grad, hint)


def logloss_or_fail(kata, y, pred, hint):
    """logloss(y, pred), failing with a teaching message if it raises anything but NotImplementedError."""
    given_ = f"logloss({show(y)}, {show(pred)})"
    try:
        return kata.losses.logloss(y, pred), given_
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - log(0), a division by zero...
        fail("logloss", given_, "a finite loss", f"{type(exc).__name__}: {exc}", hint)


CLIPPED_LOW, CLIPPED_HIGH = EPSILON, 1.0 - EPSILON
SIGMOID_40 = math.exp(-40.0) / (1.0 + math.exp(-40.0))  # a confident mistake for the label 1
CLIP_CASES = [
    # label, p, p's seed, value, grad: the clipped p's value, the grad of p passed through unchanged
    (1, 0.0, 1.0, -math.log(CLIPPED_LOW), -1.0 / CLIPPED_LOW),
    (1, 0.0, 2.0, -math.log(CLIPPED_LOW), -2.0 / CLIPPED_LOW),
    (0, 1.0, 1.0, -math.log(1.0 - CLIPPED_HIGH), 1.0 / (1.0 - CLIPPED_HIGH)),
    (1, 1.0, 1.0, -math.log(CLIPPED_HIGH), -1.0 / CLIPPED_HIGH),
    (0, 0.0, 1.0, -math.log(1.0 - CLIPPED_LOW), 1.0 / (1.0 - CLIPPED_LOW)),
    (0.5, 0.0, 1.0, -0.5 * (math.log(CLIPPED_LOW) + math.log(1.0 - CLIPPED_LOW)),
     -0.5 * (1.0 / CLIPPED_LOW - 1.0 / (1.0 - CLIPPED_LOW))),
    (1, 1e-10, 1.0, -math.log(1e-10), -1e10),  # inside the clip: unchanged
    # p = sigmoid(-40) seeded with its derivative along z: the clip's feeble signal, d loss/dz = -0.0042
    # where the true derivative is p - y = -1 (stage 6's logloss_from_logits computes it from z)
    (1, SIGMOID_40, SIGMOID_40 * (1 - SIGMOID_40), -math.log(CLIPPED_LOW), -SIGMOID_40 * (1 - SIGMOID_40) / CLIPPED_LOW),
    (0, 1.0 - 1e-10, 1.0, -math.log(1.0 - (1.0 - 1e-10)), 1.0 / (1.0 - (1.0 - 1e-10))),
]


@pytest.mark.exercise("logloss")
@pytest.mark.parametrize("y, p, sp, value, grad", CLIP_CASES, ids=[f"y={c[0]}-p={c[1]}-seed={c[2]}" for c in CLIP_CASES])
def test_logloss_clips_p(kata, y, p, sp, value, grad):
    pred = kata.Variable(p, sp)
    result, given_ = logloss_or_fail(kata, y, pred, CLIP_HINT)
    expect_dual("logloss", given_, result, value, grad, CLIP_HINT)
    expect_unchanged("logloss", given_, [pred], [(p, sp)], result)


# One sample: y and p's value are single numbers in any of numpy's forms (checks.real_number); a batch of samples
# is stage 6's logloss_from_logits, so arrays are not logloss's contract.
NUMPY_NUMBERS = [
    # label, p's value, its seed (numpy scalars and 0-d arrays), value, grad
    pytest.param(np.float64(1.0), np.float64(0.25), np.float64(2.0), math.log(4.0), -8.0, id="float64"),
    pytest.param(np.array(0.0), np.array(0.75), np.array(1.0), math.log(4.0), 4.0, id="0-d-arrays"),
    pytest.param(np.int64(1), np.array(0.0), 1.0, -math.log(CLIPPED_LOW), -1.0 / CLIPPED_LOW, id="0-d-p-at-0-clipped"),
    pytest.param(np.array(0.0), np.float64(1.0), np.array(1.0), -math.log(1.0 - CLIPPED_HIGH),
                 1.0 / (1.0 - CLIPPED_HIGH), id="float64-p-at-1-clipped"),
]


@pytest.mark.exercise("logloss")
@pytest.mark.parametrize("y, p, sp, value, grad", NUMPY_NUMBERS)
def test_logloss_takes_numpy_numbers(kata, y, p, sp, value, grad):
    pred = kata.Variable(p, sp)
    result, given_ = logloss_or_fail(kata, y, pred, CLIP_HINT)
    given_ += f" with numpy's numbers: y a {type(y).__name__}, p's value a {type(p).__name__}"
    expect_dual("logloss", given_, result, value, grad,
                "numpy's scalars and 0-d arrays are single numbers: clip and compute with them as with floats")


@pytest.mark.exercise("logloss")
@pytest.mark.parametrize("make", [
    pytest.param(lambda V: 1.5, id="above-one"),
    pytest.param(lambda V: -0.1, id="negative"),
    pytest.param(lambda V: 2, id="int-two"),
    pytest.param(lambda V: V(-1.0, 0.0), id="variable"),
    pytest.param(lambda V: float("nan"), id="nan"),
])
def test_logloss_rejects_labels_outside_0_1(kata, make):
    y = make(kata.Variable)
    given_ = f"logloss({show(y)}, Variable(0.5, 1.0))"
    expect_error("logloss", given_, ValueError, lambda: kata.losses.logloss(y, kata.Variable(0.5, 1.0)),
                 "ValueError (a label is a probability, in [0, 1])", "call check_label(y.value) first",
                 "call check_label(y.value) before computing the loss")


@pytest.mark.exercise("logloss")
@pytest.mark.parametrize("y, p, sp", [(1, 0.3, 1.0), (0, 0.7, -2.0), (0.4, 0.05, 1.0), (1, 0.999, 0.5)])
def test_logloss_finite_difference(kata, y, p, sp):
    result, given_ = run_loss(kata, "logloss", y, kata.Variable(p, sp))
    expect_variable("logloss", given_, result)
    expect_matches_finite_difference(
        "logloss", given_, result.grad,
        lambda h: -(y * math.log(p + h * sp) + (1 - y) * math.log(1 - (p + h * sp))), hint=BOTH_TERMS_HINT)


@pytest.mark.exercise("logloss")
@given(y=labels, p=probabilities, sp=seeds)
def test_logloss_properties(kata, y, p, sp):
    logloss, V = kata.losses.logloss, kata.Variable
    one, zero, mixed = logloss(1, V(p, sp)), logloss(0, V(p, sp)), logloss(y, V(p, sp))
    expect_variable("logloss", f"logloss(1, {show(V(p, sp))})", one)
    expect_dual("logloss", f"logloss(1, {show(V(p, sp))}), i.e. -log p", one, -math.log(p), -sp / p, SIGN_HINT,
                rel=1e-9, abs_=1e-12)
    flipped = logloss(1, V(1 - p, -sp))
    expect_dual("logloss", f"logloss(0, {show(V(p, sp))}) against logloss(1, {show(V(1 - p, -sp))})", zero,
                flipped.value, flipped.grad, "label 0 with p is label 1 with 1 - p: the loss is -log(1 - p)",
                rel=1e-7, abs_=1e-9)
    given_ = f"logloss({y!r}, {show(V(p, sp))}) against y logloss(1, p) + (1 - y) logloss(0, p)"
    expect_dual("logloss", given_, mixed, y * one.value + (1 - y) * zero.value, y * one.grad + (1 - y) * zero.grad,
                BOTH_TERMS_HINT, rel=1e-7, abs_=1e-9)
    if not mixed.value >= 0:
        fail("logloss", f"logloss({y!r}, {show(V(p, sp))})", "a loss >= 0", show(mixed), SIGN_HINT)


def sklearn_metric_along(metric: str, y, p, direction, labels: tuple | None = None) -> tuple[float, float]:
    """scikit-learn's metric at p, and its central difference along p + h direction at h = 0."""
    rows = np.stack([p, p + FD_STEP * direction, p - FD_STEP * direction])
    at, plus, minus = metric_values(metric, y, rows, labels)["values"]
    return float(at), float((plus - minus) / (2 * FD_STEP))


def sklearn_log_loss(y, p) -> float:
    return float(metric_values("log_loss", y, p[None, :], (0, 1))["values"][0])


def breast_cancer_batch(n: int = 120):
    """Labels and predicted probabilities from a one-feature logistic model on load_breast_cancer."""
    data = dataset_column("breast_cancer", 0, rows=n)
    radius, y = data["x"], data["target"]  # mean radius; label 1 = benign
    z = (radius - radius.mean()) / radius.std()
    return y, 1.0 / (1.0 + np.exp(3.0 * z - 0.5))  # larger tumours: lower probability of benign


@pytest.mark.exercise("logloss")
@pytest.mark.asks_sklearn
def test_logloss_mean_matches_sklearn(kata):
    """The mean of logloss over a real batch, with predictions at and near 0 and 1, is sklearn's log_loss.

    Predictions exactly at 0 or 1 on the right side, and near 0 or 1 on both sides: there the clip
    at 1e-15 and scikit-learn's own (1e-15 in old versions, machine epsilon since 1.5) agree.
    """
    kata.losses.logloss(1, kata.Variable(0.5, 1.0))  # a stub stops here, before asking scikit-learn
    y, p = breast_cancer_batch()
    ones, zeros = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    p[ones[:3]] = [1.0, 1.0 - 1e-12, 1e-12]  # certain and right, nearly certain, nearly certain and wrong
    p[zeros[:3]] = [0.0, 1e-12, 1.0 - 1e-12]
    losses = [kata.losses.logloss(y_, kata.Variable(p_, 1.0)) for y_, p_ in zip(y, p, strict=True)]
    given_ = f"logloss over {len(y)} samples of load_breast_cancer, p including 0, 1, 1e-12 and 1 - 1e-12"
    expect_variable("logloss", given_, losses[0])
    expect_close("logloss", given_, "mean loss", float(np.mean([loss.value for loss in losses])),
                 sklearn_log_loss(y, p), BOTH_TERMS_HINT, rel=1e-9, abs_=1e-12)


@pytest.mark.exercise("logloss")
@pytest.mark.asks_sklearn
def test_logloss_confident_mistakes_match_sklearn(kata):
    """p = 0 for a label 1 and p = 1 for a label 0: the clipped loss is sklearn's log_loss of the clipped p.

    scikit-learn clips at 1e-15 before version 1.5 and at machine epsilon since, so it is given
    the probabilities clipped at 1e-15 here; our logloss must do that clipping itself.
    """
    kata.losses.logloss(1, kata.Variable(0.5, 1.0))  # a stub stops here, before asking scikit-learn
    y, p = breast_cancer_batch()
    p[np.flatnonzero(y == 1)[:4]] = 0.0
    p[np.flatnonzero(y == 0)[:4]] = 1.0
    losses = [logloss_or_fail(kata, y_, kata.Variable(p_, 1.0), CLIP_HINT)[0] for y_, p_ in zip(y, p, strict=True)]
    given_ = f"logloss over {len(y)} samples of load_breast_cancer with 8 confident mistakes (p = 0 or 1)"
    mean = float(np.mean([loss.value for loss in losses]))
    expect_close("logloss", given_, "mean loss", mean, sklearn_log_loss(y, np.clip(p, EPSILON, 1 - EPSILON)),
                 CLIP_HINT, rel=1e-9, abs_=1e-12)


@pytest.mark.exercise("logloss")
@pytest.mark.asks_sklearn
def test_logloss_mean_grad_matches_sklearn(kata):
    """The mean grad of logloss along a direction is the derivative of sklearn's log_loss along it."""
    kata.losses.logloss(1, kata.Variable(0.5, 1.0))  # a stub stops here, before asking scikit-learn
    y, p = breast_cancer_batch()
    p = np.clip(p, 0.02, 0.98)  # away from the clip, where the finite difference is accurate
    direction = np.random.default_rng(5).normal(size=len(y))
    grads = [kata.losses.logloss(y_, kata.Variable(p_, s_)).grad for y_, p_, s_ in zip(y, p, direction, strict=True)]
    given_ = f"logloss over {len(y)} samples of load_breast_cancer, mean grad along a random direction of p"
    slope_along = sklearn_metric_along("log_loss", y, p, direction, (0, 1))[1]
    expect_matches_difference_quotient("logloss", given_, float(np.mean(grads)), slope_along, BOTH_TERMS_HINT)

"""Stage 3: losses, built from your own operators and primitives.

A loss measures how far a prediction is from the truth for one sample; training averages it
over the samples. Here you write no derivative by hand: build each loss as an expression of
Variables (with -, *, ** and log from the earlier stages) and its grad comes out by itself.
Seed the prediction's grad with 1 and the loss's grad is d loss / d prediction.

Ready-made: the first line of each function lifts plain numbers to constant Variables
(``lift``); ``check_label`` rejects labels outside [0, 1]; ``EPSILON`` is the clip of logloss.

Exercises, in order: mse, logloss. Run one with ``pytest --exercise mse``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .primitives import lift, log  # noqa: F401 - for your code
from .variable import Variable  # noqa: F401 - for your code

EPSILON = 1e-15  # logloss clips p to [EPSILON, 1 - EPSILON]


def check_label(label: object) -> None:
    """Raise ValueError unless the label (or every label of an array) lies in [0, 1]."""
    if type(label) is float or type(label) is int or isinstance(label, numbers.Real):
        inside = 0 <= label <= 1  # False for NaN too
    else:
        labels = np.asarray(label, dtype=float)
        inside = bool(np.all((labels >= 0) & (labels <= 1)))
    if not inside:
        raise ValueError(f"logloss needs a label in [0, 1] (the probability that y = 1), got {label!r}")


def mse(true_val: Variable | float, pred_val: Variable | float) -> Variable:
    """Exercise mse: the squared error of one sample.

    Both arguments may be Variables or plain numbers. The mean over samples is the training
    loop's job, not this function's.
    """
    true_val, pred_val = lift(true_val), lift(pred_val)
    # BEGIN mse
    return (true_val - pred_val) ** Variable(2.0, 0.0)
    # END mse


def logloss(true_val: Variable | float, pred_val: Variable | float) -> Variable:
    """Exercise logloss: the binary cross-entropy of one sample.

    y = true_val is the label, in [0, 1] (call check_label(true_val.value) first); p = pred_val is
    the predicted probability that y = 1. Both terms count: with y = 0 only log(1 - p) remains,
    with y = 1 only log p, and a label in between weighs the two.

    One sample: y and p's value are single numbers (a float, a numpy scalar or a 0-d array). p's
    grad is whatever its Variable carries (one derivative, or, from stage 5 on, P tangents) and
    passes through unchanged. Arrays of samples are not this function's job: stage 6 computes the
    loss of a whole batch from the logits, elementwise (``logloss_from_logits``).

    log(0) is undefined, so clip p's value to [EPSILON, 1 - EPSILON] first: p = 0 or 1 then gives
    a large but finite loss. Keep p's grad as it is (the exact derivative of a clipped p would be
    0 outside the interval).

    Passing the grad through keeps a signal for a confidently wrong prediction, but a feeble one.
    With p = sigmoid(z) and y = 1, the true derivative of the loss along z is p - y, close to -1
    when z = -40. Through the clip it is -(1 / 1e-15) * p (1 - p), about -0.0042; and beyond
    z = -745, where p itself rounds to 0, it is exactly 0. The cure is to compute the loss
    from z rather than from p: a later stage does (``logloss_from_logits``).
    """
    true_val, pred_val = lift(true_val), lift(pred_val)
    # BEGIN logloss
    y, p = true_val, pred_val
    check_label(y.value)
    clipped = min(max(p.value, EPSILON), 1.0 - EPSILON)
    p = Variable(clipped, p.grad)
    one = Variable(1.0, 0.0)
    return Variable(-1.0, 0.0) * (y * log(p) + (one - y) * log(one - p))
    # END logloss

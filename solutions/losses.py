"""Stage 3: losses built only from the Variable operators and the primitives.

No derivative is written by hand here: each loss is an expression of Variables, so its grad
comes out of the rules of stages 1 and 2.
"""

from __future__ import annotations

import numbers

import numpy as np

from .primitives import lift, log
from .variable import Variable

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
    """Squared error of one sample: (true - pred)^2 (the training loop averages it over samples)."""
    return (lift(true_val) - lift(pred_val)) ** Variable(2.0, 0.0)


def logloss(true_val: Variable | float, pred_val: Variable | float) -> Variable:
    """Binary cross-entropy of one sample: -(y log p + (1 - y) log(1 - p)), for a label y in [0, 1].

    p is clipped to [1e-15, 1 - 1e-15] so that p = 0 or 1 gives a large but finite loss instead
    of log(0). The clip changes the value only: the grad of p passes through unchanged. The
    exact derivative of a clipped p would be 0 outside the interval, and a prediction that is
    confidently wrong would then get no signal to move; passing the grad through (as the post
    does) keeps d loss/dp = -(y/p - (1-y)/(1-p)) evaluated at the clipped p, which is finite.
    """
    y, p = lift(true_val), lift(pred_val)
    check_label(y.value)
    if type(p.value) is float or isinstance(p.value, numbers.Real):
        clipped = min(max(p.value, EPSILON), 1.0 - EPSILON)
    else:
        clipped = np.clip(p.value, EPSILON, 1.0 - EPSILON)
    p = Variable(clipped, p.grad)
    one = Variable(1.0, 0.0)
    return Variable(-1.0, 0.0) * (y * log(p) + (one - y) * log(one - p))

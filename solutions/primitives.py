"""Stage 2: primitive functions on dual numbers, each a single application of the chain rule.

For an outer function f applied to an inner Variable u = (u, u'), the result is
(f(u), f'(u) * u'): the value goes through f and the derivative is scaled by f' at u.
Every primitive accepts a Variable or a plain number (lifted to a constant, grad 0).

Python floats go through ``math`` (fast, no numpy scalar per operation); numpy arrays go
through the matching numpy function, element-wise.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .variable import Variable


def lift(u: object) -> Variable:
    """A Variable as is; a real number (or numpy array) as a constant Variable(u, 0.0); else TypeError."""
    if isinstance(u, Variable):
        return u
    if type(u) is float or isinstance(u, (numbers.Real, np.ndarray)):  # float first: the common, fast case
        return Variable(u, 0.0)
    raise TypeError(f"expected a Variable or a real number, got {type(u).__name__} ({u!r})")


def _is_number(x: object) -> bool:
    """True for a Python or numpy real scalar: those take the ``math`` fast path."""
    return type(x) is float or isinstance(x, numbers.Real)


def log(u: Variable | float) -> Variable:
    """Natural logarithm: d log(u) = u' / u, defined for u > 0 only."""
    u = lift(u)
    if _is_number(u.value):
        if u.value <= 0:
            raise ValueError(f"log is only defined for positive values, got {u.value!r}")
        return Variable(math.log(u.value), u.grad / u.value)
    if np.any(np.asarray(u.value) <= 0):
        raise ValueError(f"log is only defined for positive values, got {u.value!r}")
    return Variable(np.log(u.value), u.grad / u.value)


def exp(u: Variable | float) -> Variable:
    """Exponential: d exp(u) = exp(u) * u' (exp is its own derivative)."""
    u = lift(u)
    e = math.exp(u.value) if _is_number(u.value) else np.exp(u.value)
    return Variable(e, e * u.grad)


def sigmoid(u: Variable | float) -> Variable:
    """Logistic function s = 1 / (1 + e^-u), with ds = s (1 - s) u'.

    Stable for any input: exp only ever sees a non-positive argument (for u < 0 the same s is
    e^u / (1 + e^u)), so nothing overflows and s -> 1 or 0 exactly at the extremes. The
    derivative is computed from the output s, which is both cheaper and exact at the limits.
    """
    u = lift(u)
    x = u.value
    if _is_number(x):
        if x >= 0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
    else:
        x = np.asarray(x, dtype=float)
        e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
        s = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
    return Variable(s, s * (1.0 - s) * u.grad)


def tanh(u: Variable | float) -> Variable:
    """Hyperbolic tangent: d tanh(u) = (1 - tanh(u)^2) u'."""
    u = lift(u)
    t = math.tanh(u.value) if _is_number(u.value) else np.tanh(u.value)
    return Variable(t, (1.0 - t * t) * u.grad)


def relu(u: Variable | float) -> Variable:
    """Rectifier max(0, u): grad u' where u > 0, and 0 where u <= 0.

    relu has no derivative at exactly 0; we take 0 there (the usual convention).
    """
    u = lift(u)
    if _is_number(u.value):
        return Variable(u.value, u.grad) if u.value > 0 else Variable(0.0, 0.0)
    positive = np.asarray(u.value) > 0
    return Variable(np.where(positive, u.value, 0.0), np.where(positive, u.grad, 0.0))

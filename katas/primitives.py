"""Stage 2: primitive functions on dual numbers.

Each primitive is one application of the chain rule. For an outer function f and an inner
Variable u carrying (u, u'), the result carries

    value  f(u)
    grad   f'(u) * u'

The factor u' is what lets primitives compose: sigmoid(m * x + b) is differentiated with
respect to whichever input was seeded with grad 1, because u' already holds the inner
derivative. Forget it and every composition goes wrong.

Every primitive takes a Variable or a plain number: the ready-made first line of each function,
``u = lift(u)``, turns a plain number into a constant Variable(c, 0.0) (and rejects anything
else with TypeError). Keep it, then return a new Variable; never modify ``u``. The ``math``
module has log, exp and tanh for floats.

Exercises, in order: log, exp, sigmoid, tanh, relu. Run one with ``pytest --exercise log``.
"""

from __future__ import annotations

import math  # noqa: F401 - for your code: math.log, math.exp, math.tanh
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


def log(u: Variable | float) -> Variable:
    """Exercise log: the natural logarithm.

    d log(u) = u' / u. log is defined for u > 0 only: for u.value <= 0 raise ValueError with a
    message that names the value, before computing anything.
    """
    u = lift(u)
    raise NotImplementedError("exercise 'log': d log(u) = u' / u, and ValueError for u <= 0")


def exp(u: Variable | float) -> Variable:
    """Exercise exp: the exponential.

    d exp(u) = exp(u) * u': exp is its own derivative, times the chain factor u'.
    """
    u = lift(u)
    raise NotImplementedError("exercise 'exp': d exp(u) = exp(u) * u'")


def sigmoid(u: Variable | float) -> Variable:
    """Exercise sigmoid: the logistic function s = 1 / (1 + e^-u).

    ds = s (1 - s) u', written with the output s, not the input u.
    It must be stable: sigmoid(1000) is exactly 1 and sigmoid(-1000) exactly 0, with no overflow
    error or warning. e^-u overflows for u < -709; for u < 0 compute the same s as
    e^u / (1 + e^u), so exp only ever sees a number <= 0.
    """
    u = lift(u)
    raise NotImplementedError("exercise 'sigmoid': s = 1/(1+e^-u), ds = s (1 - s) u', stable for large |u|")


def tanh(u: Variable | float) -> Variable:
    """Exercise tanh: the hyperbolic tangent.

    d tanh(u) = (1 - tanh(u)^2) u': like sigmoid, the derivative is simplest in terms of the
    output t = tanh(u).
    """
    u = lift(u)
    raise NotImplementedError("exercise 'tanh': d tanh(u) = (1 - tanh(u)**2) u'")


def relu(u: Variable | float) -> Variable:
    """Exercise relu: the rectifier max(0, u).

    The value is u where u > 0 and 0 elsewhere. The grad is u' where u > 0, and 0 where u <= 0:
    relu has no derivative at exactly u = 0, and the usual convention (used here) takes 0 there.
    """
    u = lift(u)
    raise NotImplementedError("exercise 'relu': max(0, u), grad u' where u > 0, else 0")

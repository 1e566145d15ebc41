"""Stage 2: primitive functions on dual numbers.

Each primitive is one application of the chain rule. For an outer function f and an inner
Variable u carrying (u, u'), the result carries

    value  f(u)
    grad   f'(u) * u'

The factor u' is what lets primitives compose: sigmoid(m * x + b) is differentiated with
respect to whichever input was seeded with grad 1, because u' already holds the inner
derivative. Forget it and every composition goes wrong.

Stage 5 (tangents) comes back here: exercise arrays makes every primitive work elementwise on
numpy arrays, whose grads may hold several tangents on a leading axis. Until then the tests
give plain numbers only. Stage 7 (second_order) comes back once more, for values and grads
that are Variables themselves; the ready-made ``if u.tag: return u.apply(...)`` line after
``u = lift(u)`` belongs to it (leave it: it does nothing until a tag appears, and then hands the
primitive to the tagged Variable of second_order.py).

Every primitive takes a Variable or a plain number: the ready-made first line of each function,
``u = lift(u)``, turns a plain number into a constant Variable(c, 0.0) (and rejects anything
else with TypeError). Keep it, then return a new Variable; never modify ``u``. The ``math``
module has log, exp and tanh for floats; numpy's functions do the same for arrays.

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


def _innermost(x: object) -> object:
    """The number (or array) at the heart of nested Variables: x.value.value... until it is no Variable."""
    while isinstance(x, Variable):
        x = x.value
    return x


def _has_axes(x: object) -> bool:
    """True for a numpy array with an axis (stage 5's arrays); False for a number, a numpy scalar or a
    0-d array, which ``math``'s functions take. Floats first: the common, fast case."""
    return type(x) is not float and np.ndim(x) > 0


def log(u: Variable | float) -> Variable:
    """Exercise log: the natural logarithm.

    log is defined for u > 0 only: for u.value <= 0 raise ValueError with a message that names
    the value, before computing anything (exercise arrays: when any entry is 0 or below).
    """
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(log)
    if isinstance(u.value, Variable):
        raise NotImplementedError(
            "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back to "
            "this line"
        )
    if _has_axes(u.value):
        raise NotImplementedError(
            "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back to "
            "this line"
        )
    raise NotImplementedError(
        "exercise 'log': log(u): the natural logarithm. "
        "Rule: d log(u) = u' / u, defined for u > 0 only"
    )


def exp(u: Variable | float) -> Variable:
    """Exercise exp: the exponential e**u."""
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(exp)
    if isinstance(u.value, Variable):
        raise NotImplementedError(
            "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back to "
            "this line"
        )
    if _has_axes(u.value):
        raise NotImplementedError(
            "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back to "
            "this line"
        )
    raise NotImplementedError("exercise 'exp': exp(u): the exponential. Rule: d exp(u) = exp(u) u'")


def sigmoid(u: Variable | float) -> Variable:
    """Exercise sigmoid: the logistic function s = 1 / (1 + e^-u), whose values lie in [0, 1].

    It must work for any input: sigmoid(1000) is exactly 1 and sigmoid(-1000) exactly 0, with no
    overflow error and no warning on the way (exercise arrays: on every entry of an array too). (The hints say how, if you need them.) Value and
    grad are checked to 1e-12 relative, or to 1e-15 absolute where they are that close to 0 or 1:
    any careful formula meets that.
    """
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(sigmoid)
    if isinstance(u.value, Variable):
        raise NotImplementedError(
            "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back to "
            "this line"
        )
    if _has_axes(u.value):
        raise NotImplementedError(
            "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back to "
            "this line"
        )
    raise NotImplementedError(
        "exercise 'sigmoid': sigmoid(u) = 1/(1+e^-u), stable for any u. "
        "Rule: ds = s (1 - s) u' with s = sigmoid(u)"
    )


def tanh(u: Variable | float) -> Variable:
    """Exercise tanh: the hyperbolic tangent, whose values lie in (-1, 1)."""
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(tanh)
    if isinstance(u.value, Variable):
        raise NotImplementedError(
            "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back to "
            "this line"
        )
    if _has_axes(u.value):
        raise NotImplementedError(
            "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back to "
            "this line"
        )
    raise NotImplementedError(
        "exercise 'tanh': tanh(u): the hyperbolic tangent. "
        "Rule: d tanh(u) = (1 - tanh(u)**2) u'"
    )


def relu(u: Variable | float) -> Variable:
    """Exercise relu: the rectifier max(0, u).

    relu has no derivative at exactly u = 0: the usual convention, used here, takes its grad
    there to be 0.
    """
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(relu)
    if isinstance(u.value, Variable):
        raise NotImplementedError(
            "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back to "
            "this line"
        )
    if _has_axes(u.value):
        raise NotImplementedError(
            "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back to "
            "this line"
        )
    raise NotImplementedError(
        "exercise 'relu': relu(u) = max(0, u), the rectifier. "
        "Rule: d relu(u) = u' where u > 0, and 0 where u <= 0"
    )


# Ready-made: every primitive is also a method of Variable, ``u.log()`` being ``log(u)``. This module
# imports variable.py, so variable.py cannot import it back; where a rule of variable.py needs a
# primitive one level down (exercise nested: the ln(a) of ``a ** b``), it calls the method instead.
for _primitive in (log, exp, sigmoid, tanh, relu):
    setattr(Variable, _primitive.__name__, _primitive)

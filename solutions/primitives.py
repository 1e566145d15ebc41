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
    # BEGIN log
    # BEGIN nested when isinstance(u.value, Variable)
    if isinstance(u.value, Variable):  # a derivative of a derivative: the same rule, one level down
        return Variable(log(u.value), u.grad / u.value)
    # END nested
    # BEGIN arrays when _has_axes(u.value)
    if _has_axes(u.value):
        if np.any(u.value <= 0):
            raise ValueError(f"log is only defined for positive values, got {u.value!r}")
        return Variable(np.log(u.value), u.grad / u.value)
    # END arrays
    if u.value <= 0:
        raise ValueError(f"log is only defined for positive values, got {u.value!r}")
    return Variable(math.log(u.value), u.grad / u.value)
    # END log


def exp(u: Variable | float) -> Variable:
    """Exercise exp: the exponential e**u."""
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(exp)
    # BEGIN exp
    # BEGIN nested when isinstance(u.value, Variable)
    if isinstance(u.value, Variable):  # a derivative of a derivative: the same rule, one level down
        value = exp(u.value)
        return Variable(value, u.grad * value)
    # END nested
    # BEGIN arrays when _has_axes(u.value)
    if _has_axes(u.value):
        e = np.exp(u.value)
        return Variable(e, u.grad * e)
    # END arrays
    e = math.exp(u.value)
    return Variable(e, e * u.grad)
    # END exp


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
    # BEGIN sigmoid
    # BEGIN nested when isinstance(u.value, Variable)
    if isinstance(u.value, Variable):  # a derivative of a derivative: the same rule, one level down
        value = sigmoid(u.value)
        return Variable(value, u.grad * value * (1.0 - value))
    # END nested
    x = u.value
    # BEGIN arrays when _has_axes(u.value)
    if _has_axes(x):
        e = np.exp(-np.abs(x))  # in (0, 1]: never overflows
        s = np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        return Variable(s, u.grad * (s * (1.0 - s)))
    # END arrays
    if x >= 0:
        s = 1.0 / (1.0 + math.exp(-x))
    else:
        e = math.exp(x)
        s = e / (1.0 + e)
    return Variable(s, s * (1.0 - s) * u.grad)
    # END sigmoid


def tanh(u: Variable | float) -> Variable:
    """Exercise tanh: the hyperbolic tangent, whose values lie in (-1, 1)."""
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(tanh)
    # BEGIN tanh
    # BEGIN nested when isinstance(u.value, Variable)
    if isinstance(u.value, Variable):  # a derivative of a derivative: the same rule, one level down
        value = tanh(u.value)
        return Variable(value, u.grad * (1.0 - value * value))
    # END nested
    # BEGIN arrays when _has_axes(u.value)
    if _has_axes(u.value):
        t = np.tanh(u.value)
        return Variable(t, u.grad * (1.0 - t * t))
    # END arrays
    t = math.tanh(u.value)
    return Variable(t, (1.0 - t * t) * u.grad)
    # END tanh


def relu(u: Variable | float) -> Variable:
    """Exercise relu: the rectifier max(0, u).

    relu has no derivative at exactly u = 0: the usual convention, used here, takes its grad
    there to be 0.
    """
    u = lift(u)
    if u.tag:  # stage 7: a tagged perturbation
        return u.apply(relu)
    # BEGIN relu
    # BEGIN nested when isinstance(u.value, Variable)
    if isinstance(u.value, Variable):  # a derivative of a derivative: the same rule, one level down
        step = (_innermost(u.value) > 0) * 1.0  # 1 where u > 0, 0 elsewhere: locally a constant
        return Variable(relu(u.value), u.grad * step)
    # END nested
    # BEGIN arrays when _has_axes(u.value)
    if _has_axes(u.value):
        positive = u.value > 0
        return Variable(np.where(positive, u.value, 0.0), np.where(positive, u.grad, 0.0))
    # END arrays
    return Variable(u.value, u.grad) if u.value > 0 else Variable(0.0, 0.0)
    # END relu


# Ready-made: every primitive is also a method of Variable, ``u.log()`` being ``log(u)``. This module
# imports variable.py, so variable.py cannot import it back; where a rule of variable.py needs a
# primitive one level down (exercise nested: the ln(a) of ``a ** b``), it calls the method instead.
for _primitive in (log, exp, sigmoid, tanh, relu):
    setattr(Variable, _primitive.__name__, _primitive)

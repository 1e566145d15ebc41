"""Stage 1: forward-mode automatic differentiation with dual numbers.

A ``Variable`` is a dual number: ``value`` is f(x) and ``grad`` is f'(x), the derivative of
that value along one chosen direction. Seed the input you differentiate by with ``grad=1``
and every other input with ``grad=0``; each operator then applies one rule of calculus so
that the result's ``grad`` is the derivative of the whole expression.

Example: d(3x)/dx at x = 4 is ``(Variable(3) * Variable(4, 1)).grad == 3``.

Rules for every operator: return a new Variable, never modify ``self`` or ``other``.
Exercises, in order: add, sub, mul, truediv, pow, neg, constants, pow_variable.
Run one with ``pytest --exercise add``.
"""

from __future__ import annotations

import math  # noqa: F401 - for your code: math.log
import numbers  # noqa: F401 - for your code: numbers.Real

import numpy as np


class Variable:
    """A value together with its derivative along one direction (a dual number)."""

    __slots__ = ("value", "grad")
    # Lets numpy scalars defer to your reflected operators (np.float64(2) * x calls x.__rmul__).
    __array_ufunc__ = None

    def __init__(self, value: float, grad: float = 0.0) -> None:
        self.value = value
        self.grad = grad

    def __repr__(self) -> str:
        return f"Variable(value={self.value!r}, grad={self.grad!r})"

    def __add__(self, other: Variable | float) -> Variable:
        """Exercise add: ``self + other``. The value of a sum is the sum of the values; what is its grad?

        The first line, ready-made, makes ``other`` a Variable (numbers become constants once you
        have done the exercise constants).
        """
        other = as_variable(other, "+")
        raise NotImplementedError(
            "exercise 'add': Variable + Variable: the sum rule. "
            "Rule: (u + v)' = u' + v'"
        )

    def __sub__(self, other: Variable | float) -> Variable:
        """Exercise sub: ``self - other``."""
        other = as_variable(other, "-")
        raise NotImplementedError(
            "exercise 'sub': Variable - Variable: the difference rule. "
            "Rule: (u - v)' = u' - v'"
        )

    def __mul__(self, other: Variable | float) -> Variable:
        """Exercise mul: ``self * other``. Both factors may carry a derivative."""
        other = as_variable(other, "*")
        raise NotImplementedError(
            "exercise 'mul': Variable * Variable: the product rule. "
            "Rule: (u v)' = u' v + u v'"
        )

    def __truediv__(self, other: Variable | float) -> Variable:
        """Exercise truediv: ``self / other``. Division by 0 may raise ZeroDivisionError.

        Wherever the quotient and its derivative are finite floats, so must your results be, even
        for a tiny denominator: Variable(1e-160, 1.0) / Variable(1e-170, 1.0) is about
        Variable(1e10, -1e180). Floats end near 1e-308 and 1e308: mind what you compute on the way.
        """
        other = as_variable(other, "/")
        raise NotImplementedError(
            "exercise 'truediv': Variable / Variable: the quotient rule. "
            "Rule: (u / v)' = (u' v - u v') / v**2"
        )

    def __pow__(self, other: Variable | float) -> Variable:
        """Exercise pow: ``self ** other`` where the exponent ``other`` is a constant (its grad is 0).

        Mind the base 0 and the types of the values:

        - u ** 0 is the constant 1, whose grad is 0 even at u = 0;
        - at u = 0 with an exponent 0 < n < 1 the grad is 0 when u' is 0 (the base does not move),
          and infinite otherwise: raise ValueError saying so, never ZeroDivisionError (0 ** n with
          n < 0 is 1 / 0, an error);
        - a result that is not a real number ((-8.0) ** (1/3)) raises ValueError;
        - numpy integers as values work too: Variable(np.int64(2), 1) ** Variable(-1.0) is
          Variable(0.5, -0.25) (numpy refuses np.int64(2) ** -1 itself).

        Exercise pow_variable, later, extends this method to an exponent that carries a grad of
        its own.
        """
        other = as_variable(other, "**")
        raise NotImplementedError(
            "exercise 'pow': Variable ** constant: the power rule. "
            "Rule: (u ** n)' = n u**(n-1) u' for a constant exponent n"
        )

    def __neg__(self) -> Variable:
        """Exercise neg: ``-self``."""
        raise NotImplementedError(
            "exercise 'neg': -Variable: negate the value and the grad. "
            "Rule: (-u)' = -u'"
        )

    def __radd__(self, other: float) -> Variable:
        """Exercise constants: ``number + self``. A plain number is a constant."""
        raise NotImplementedError(
            "exercise 'constants': Plain numbers on either side of an operator. "
            "Rule: a real number c is the constant Variable(c, 0.0), on either side; any other type "
            "is a TypeError"
        )

    def __rsub__(self, other: float) -> Variable:
        """Exercise constants: ``number - self`` (mind the order of the operands)."""
        raise NotImplementedError(
            "exercise 'constants': Plain numbers on either side of an operator. "
            "Rule: a real number c is the constant Variable(c, 0.0), on either side; any other type "
            "is a TypeError"
        )

    def __rmul__(self, other: float) -> Variable:
        """Exercise constants: ``number * self``."""
        raise NotImplementedError(
            "exercise 'constants': Plain numbers on either side of an operator. "
            "Rule: a real number c is the constant Variable(c, 0.0), on either side; any other type "
            "is a TypeError"
        )

    def __rtruediv__(self, other: float) -> Variable:
        """Exercise constants: ``number / self`` (the Variable is the denominator)."""
        raise NotImplementedError(
            "exercise 'constants': Plain numbers on either side of an operator. "
            "Rule: a real number c is the constant Variable(c, 0.0), on either side; any other type "
            "is a TypeError"
        )

    def __rpow__(self, other: float) -> Variable:
        """Exercise pow_variable: ``number ** self``, where the exponent carries the derivative."""
        raise NotImplementedError(
            "exercise 'pow_variable': Variable ** Variable, and number ** Variable. "
            "Rule: d(a ** b) = b a**(b-1) a' + a**b ln(a) b', which needs a > 0 when b' != 0"
        )


def as_variable(operand: object, operator: str) -> Variable:
    """``operand`` as a Variable, for the operator named by ``operator`` (used in messages).

    A Variable is returned as it is. Exercise constants: a real number (``int``, ``float``,
    numpy's real scalars: anything ``isinstance(c, numbers.Real)``) becomes a constant, and any
    other type raises TypeError with a message naming it.
    """
    if isinstance(operand, Variable):
        return operand
    raise NotImplementedError(
        "exercise 'constants': Plain numbers on either side of an operator. "
        "Rule: a real number c is the constant Variable(c, 0.0), on either side; any other type is "
        "a TypeError"
    )


def _is_zero(grad: float | np.ndarray) -> bool:
    """True when a grad is zero everywhere (a number, or every element of an array)."""
    if type(grad) is float or type(grad) is int:
        return grad == 0
    return not np.any(grad)

"""Stage 1: forward-mode automatic differentiation with dual numbers.

A ``Variable`` is a dual number: ``value`` is f(x) and ``grad`` is f'(x), the derivative of
that value along one chosen direction. Seed the input you differentiate by with ``grad=1``
and every other input with ``grad=0``; each operator then applies one rule of calculus to
carry the derivative along with the value, so the result's ``grad`` is the derivative of the
whole expression.

Values may be Python numbers or numpy arrays (element-wise). Plain numbers used as operands
are constants: their grad is 0.
"""

from __future__ import annotations

import math
import numbers

import numpy as np


class Variable:
    """A value together with its derivative along one direction (a dual number)."""

    __slots__ = ("value", "grad")
    # Make numpy scalars defer to our reflected operators: np.float64(2) * x calls x.__rmul__.
    __array_ufunc__ = None

    def __init__(self, value: float, grad: float = 0.0) -> None:
        self.value = value
        self.grad = grad

    def __repr__(self) -> str:
        return f"Variable(value={self.value!r}, grad={self.grad!r})"

    # -- exercise add: (u + v)' = u' + v'
    def __add__(self, other: Variable | float) -> Variable:
        other = as_variable(other, "+")
        return Variable(self.value + other.value, self.grad + other.grad)

    # -- exercise sub: (u - v)' = u' - v'
    def __sub__(self, other: Variable | float) -> Variable:
        other = as_variable(other, "-")
        return Variable(self.value - other.value, self.grad - other.grad)

    # -- exercise mul: (u v)' = u' v + u v'
    def __mul__(self, other: Variable | float) -> Variable:
        other = as_variable(other, "*")
        return Variable(self.value * other.value, self.grad * other.value + self.value * other.grad)

    # -- exercise truediv: (u / v)' = (u' v - u v') / v^2
    def __truediv__(self, other: Variable | float) -> Variable:
        other = as_variable(other, "/")
        grad = (self.grad * other.value - self.value * other.grad) / (other.value * other.value)
        return Variable(self.value / other.value, grad)

    # -- exercises pow and pow_variable: d(a^b) = b a^(b-1) a' + a^b ln(a) b'
    def __pow__(self, other: Variable | float) -> Variable:
        other = as_variable(other, "**")
        value = self.value**other.value
        if isinstance(value, complex):
            raise ValueError(f"{self.value!r} ** {other.value!r} is not a real number")
        grad = other.value * self.value ** (other.value - 1) * self.grad
        if not _is_zero(other.grad):  # the exponent varies too: add the a^b ln(a) b' term
            grad = grad + value * _log_of_base(self.value, "**") * other.grad
        return Variable(value, grad)

    # -- exercise neg: (-u)' = -u'
    def __neg__(self) -> Variable:
        return Variable(-self.value, -self.grad)

    # -- exercise constants: a number on the left is lifted to a constant, order kept
    def __radd__(self, other: float) -> Variable:
        return as_variable(other, "+") + self

    def __rsub__(self, other: float) -> Variable:
        return as_variable(other, "-") - self

    def __rmul__(self, other: float) -> Variable:
        return as_variable(other, "*") * self

    def __rtruediv__(self, other: float) -> Variable:
        return as_variable(other, "/") / self

    # -- exercise pow_variable: number ** Variable
    def __rpow__(self, other: float) -> Variable:
        return as_variable(other, "**") ** self


def as_variable(operand: object, operator: str) -> Variable:
    """Return ``operand`` as a Variable: a plain real number becomes a constant (grad 0)."""
    if isinstance(operand, Variable):
        return operand
    if type(operand) is float or type(operand) is int or isinstance(operand, numbers.Real):  # int, float, bool and numpy's real scalars
        return Variable(operand, 0.0)
    raise TypeError(
        f"unsupported operand for {operator} with a Variable: {type(operand).__name__} "
        f"({operand!r}); use a Variable or a real number"
    )


def _is_zero(grad: float | np.ndarray) -> bool:
    """True when a grad is zero everywhere (a float, or every element of an array)."""
    if type(grad) is float or type(grad) is int:
        return grad == 0
    return not np.any(grad)


def _log_of_base(base: float | np.ndarray, operator: str) -> float | np.ndarray:
    """ln(base) for the exponent's term of d(a^b); it exists only for a positive base."""
    if np.any(np.asarray(base) <= 0):
        raise ValueError(
            f"a{operator}b with a varying exponent needs a base > 0 (ln(a) appears in the "
            f"derivative), got a = {base!r}"
        )
    return math.log(base) if isinstance(base, numbers.Real) else np.log(base)

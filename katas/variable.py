"""Stage 1: forward-mode automatic differentiation with dual numbers.

A ``Variable`` is a dual number: ``value`` is f(x) and ``grad`` is f'(x), the derivative of
that value along one chosen direction. Seed the input you differentiate by with ``grad=1``
and every other input with ``grad=0``; each operator then applies one rule of calculus so
that the result's ``grad`` is the derivative of the whole expression.

Example: d(3x)/dx at x = 4 is ``(Variable(3) * Variable(4, 1)).grad == 3``.

Rules for every operator: return a new Variable, never modify ``self`` or ``other``.
Exercises, in order: add, sub, mul, truediv, pow, neg, constants, pow_variable.
Run one with ``pytest --exercise add``.

Stage 5 (tangents) comes back to this module: exercise arrays lets value and grad be numpy
arrays carrying several tangents at once, and exercise reductions adds ``x[i]``, ``x.sum()``
and ``@``. Until then, plain numbers are all the tests use.

Stage 7 (second_order) comes back once more: exercise nested lets value and grad be Variables
themselves (a derivative of a derivative). One level down, a rule may need a primitive of stage 2
(``__pow__``'s ln(a) term): call it as a method of the value, ``self.value.log()``. primitives.py
imports this module, so this module never imports primitives.py back; instead primitives.py,
when it is imported, makes each of its primitives a method of Variable (``u.log()`` is
``log(u)``). Tags (exercise derivative) live in second_order.py; a plain Variable has tag 0.
"""

from __future__ import annotations

import math  # noqa: F401 - for your code: math.log
import numbers  # noqa: F401 - for your code: numbers.Real

import numpy as np


class Variable:
    """A value together with its derivative along one direction (a dual number).

    ``tag`` (stage 7) names the perturbation that ``grad`` is the tangent of: 0 for every
    Variable, the one anonymous perturbation of stages 1-6. Stage 7's ``Tagged`` Variables
    (second_order.py) carry a tag of their own.
    """

    __slots__ = ("value", "grad")
    # Lets numpy scalars defer to your reflected operators (np.float64(2) * x calls x.__rmul__).
    __array_ufunc__ = None
    tag = 0  # stage 7: the anonymous perturbation; a Tagged Variable has its own

    def __init__(self, value: float, grad: float = 0.0) -> None:
        self.value = value
        self.grad = grad

    def __repr__(self) -> str:
        tag = f", tag={self.tag!r}" if self.tag else ""
        return f"Variable(value={self.value!r}, grad={self.grad!r}{tag})"

    @property
    def shape(self) -> tuple[int, ...]:
        """The value's shape (numpy's ``np.shape(x)`` reads it): () for a number, also when the value is a Variable."""
        return np.shape(self.value)

    @property
    def ndim(self) -> int:
        """The value's number of axes (``np.ndim(x)``)."""
        return np.ndim(self.value)

    def __add__(self, other: Variable | float) -> Variable:
        """Exercise add: ``self + other``. The value of a sum is the sum of the values; what is its grad?

        The first line, ready-made, makes ``other`` a Variable (numbers become constants once you
        have done the exercise constants).
        """
        other = as_variable(other, "+")
        if _holds_array(self, other):
            raise NotImplementedError(
                "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back "
                "to this line"
            )
        raise NotImplementedError(
            "exercise 'add': Variable + Variable: the sum rule. "
            "Rule: (u + v)' = u' + v'"
        )

    def __sub__(self, other: Variable | float) -> Variable:
        """Exercise sub: ``self - other``."""
        other = as_variable(other, "-")
        if _holds_array(self, other):
            raise NotImplementedError(
                "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back "
                "to this line"
            )
        raise NotImplementedError(
            "exercise 'sub': Variable - Variable: the difference rule. "
            "Rule: (u - v)' = u' - v'"
        )

    def __mul__(self, other: Variable | float) -> Variable:
        """Exercise mul: ``self * other``. Both factors may carry a derivative."""
        other = as_variable(other, "*")
        if _holds_array(self, other):
            raise NotImplementedError(
                "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back "
                "to this line"
            )
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
        if _holds_array(self, other):
            raise NotImplementedError(
                "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back "
                "to this line"
            )
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
        its own. Exercise arrays (stage 5): entry by entry; where the exponent varies, ln(a) needs
        every entry of the base > 0: raise ValueError if any entry is 0 or below, as for a number.
        """
        other = as_variable(other, "**")
        if isinstance(self.value, Variable):
            raise NotImplementedError(
                "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back "
                "to this line"
            )
        if _holds_array(self, other):
            raise NotImplementedError(
                "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back "
                "to this line"
            )
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

    # ------------------------------------------------------------ stage 5: exercise reductions
    # Indexing, sums and matrix products are linear: the tangents go through the same operation
    # as the value, one tangent at a time, behind the tangent axis.

    def __getitem__(self, index: object) -> Variable:
        """Exercise reductions: ``x[index]``, an element or a slice of an array Variable, as numpy indexes
        (integers, slices, integer arrays, ``...`` and ``None``, i.e. ``np.newaxis``).

        Each of the P tangents is indexed like the value: the tangent axis stays whole, and first
        (``x[None]`` carries tangents of shape (P, 1) + x.shape, ``x[..., 0]`` picks entries, never
        tangents). A grad without the tangent axis is one tangent (stages 1-4's form, as jvp may
        seed): shaped like the value, or a number or smaller array that broadcasts to it; index it
        like the value too. Exercise nested (stage 7): a value that is a Variable comes with ONE
        tangent, shaped like it (``one_tangent``): index it like the value.
        """
        if isinstance(self.value, Variable):
            raise NotImplementedError(
                "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back "
                "to this line"
            )
        raise NotImplementedError(
            "exercise 'reductions': x[i], x.sum() and @, carrying the tangents. "
            "Rule: indexing, sums and matrix products are linear: apply each to every tangent "
            "behind the tangent axis; (U V)' = U' V + U V' for @"
        )

    def sum(self) -> Variable:
        """Exercise reductions: the sum of every element, a Variable with a scalar value.

        Its P tangents are the sums of the P tangents (shape (P,)); one tangent without the axis
        (shaped like the value, or a number or smaller array that broadcasts to it) sums to one
        number, over the whole value. Exercise nested (stage 7): a value that is a Variable comes
        with ONE tangent, shaped like it (``one_tangent``): sum it.
        """
        if isinstance(self.value, Variable):
            raise NotImplementedError(
                "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back "
                "to this line"
            )
        raise NotImplementedError(
            "exercise 'reductions': x[i], x.sum() and @, carrying the tangents. "
            "Rule: indexing, sums and matrix products are linear: apply each to every tangent "
            "behind the tangent axis; (U V)' = U' V + U V' for @"
        )

    def __matmul__(self, other: Variable | np.ndarray) -> Variable:
        """Exercise reductions: ``self @ other`` for vectors and matrices, as numpy's ``@``.

        The product rule holds for matrix products too, each factor kept on its own side of @.
        Shapes: operands with P tangents give P tangents, of shape (P,) + the shape of
        ``self.value @ other.value``, whichever side holds a vector and whichever a matrix (a vector
        on the right included); either operand may be a constant (a numpy array: ``__rmatmul__``).
        A grad without the tangent axis is one tangent (shaped like its value, or a number or
        smaller array that broadcasts to it): the result then carries one tangent too. Exercise
        nested (stage 7): where a value is a Variable, each grad is ONE tangent shaped like its
        value (``one_tangent``).
        """
        other = as_variable(other, "@")
        if _holds_variable(self, other):
            raise NotImplementedError(
                "exercise 'nested': Second derivatives through nested Variables; stage 7 comes back "
                "to this line"
            )
        raise NotImplementedError(
            "exercise 'reductions': x[i], x.sum() and @, carrying the tangents. "
            "Rule: indexing, sums and matrix products are linear: apply each to every tangent "
            "behind the tangent axis; (U V)' = U' V + U V' for @"
        )

    def __rmatmul__(self, other: np.ndarray) -> Variable:
        """Exercise reductions: ``matrix @ self`` with a constant numpy matrix (or vector) on the left."""
        raise NotImplementedError(
            "exercise 'reductions': x[i], x.sum() and @, carrying the tangents. "
            "Rule: indexing, sums and matrix products are linear: apply each to every tangent "
            "behind the tangent axis; (U V)' = U' V + U V' for @"
        )


def as_variable(operand: object, operator: str) -> Variable:
    """``operand`` as a Variable, for the operator named by ``operator`` (used in messages).

    A Variable is returned as it is. Exercise constants: a real number (``int``, ``float``,
    numpy's real scalars: anything ``isinstance(c, numbers.Real)``) becomes a constant, and any
    other type raises TypeError with a message naming it. Exercise arrays (stage 5) adds numpy
    arrays of numbers as constants: Variable(array, 0.0).
    """
    if isinstance(operand, Variable):
        return operand
    if isinstance(operand, np.ndarray):
        raise NotImplementedError(
            "exercise 'arrays': numpy arrays in Variable, P tangents each; stage 5 comes back to "
            "this line"
        )
    raise NotImplementedError(
        "exercise 'constants': Plain numbers on either side of an operator. "
        "Rule: a real number c is the constant Variable(c, 0.0), on either side; any other type is "
        "a TypeError"
    )


def lined_up(u: Variable, v: Variable) -> tuple[Variable, Variable]:
    """Exercise arrays (stage 5): u and v with their tangents lined up for numpy's broadcasting.

    Returns two Variables with the same values, broadcast as numpy does to a shape S, and each
    grad that holds P tangents (shape (P,) + value.shape) given in full as (P,) + S: tangent k of
    the result is tangent k of the operand, repeated over S as its value is. For example, a value
    of shape (3,) with 2 tangents (grad (2, 3)) against a value of shape (4, 3) comes back with a
    grad of shape (2, 4, 3); a number with 3 tangents (grad (3,)) against a value of shape (2,)
    comes back with (3, 2). A grad without the tangent axis (a constant's 0, or one tangent in
    stages 1-4's form) comes back as it was. After this, the stage-1 rules work unchanged, and give
    grads of shape (P,) + S.

    Why in full: (P,) + value.shape is the one form x[i], x.sum() and @ read: a grad left as
    (P, 1) would sum to the wrong number.
    """
    raise NotImplementedError(
        "exercise 'arrays': numpy arrays in Variable, P tangents each. "
        "Rule: every rule works elementwise; a grad of shape (P,) + value.shape holds P tangents, "
        "and broadcasting adds axes after the tangent axis, never before it"
    )


def one_tangent(u: Variable) -> object:
    """Ready-made for stage 7: u's grad as one tangent with the shape of u's value (a grad may be a
    smaller array, or the number 0, that broadcasts). Works when value and grad are Variables."""
    shape, grad = np.shape(u.value), u.grad
    if np.shape(grad) != shape or not hasattr(grad, "sum"):  # a number, or a grad that broadcasts
        grad = grad + np.zeros(shape)
    return grad


def _holds_variable(u: Variable, v: Variable) -> bool:
    """True when either value is a Variable: nested Variables, a derivative of a derivative (stage 7)."""
    return isinstance(u.value, Variable) or isinstance(v.value, Variable)


def _holds_array(u: Variable, v: Variable) -> bool:
    """True when either value is a numpy array with an axis (exercise arrays' case): numbers, numpy
    scalars and 0-d arrays are stage 1's."""
    if type(u.value) is float and type(v.value) is float:  # the common, fast case
        return False
    return np.ndim(u.value) > 0 or np.ndim(v.value) > 0


def has_tangent_axis(u: Variable) -> bool:
    """Ready-made for stage 5: True when u's grad holds P tangents on a leading axis, shape (P,) + value.shape."""
    return np.ndim(u.grad) > np.ndim(u.value)


def is_constant(u: Variable) -> bool:
    """Ready-made for stage 5: True when u's grad is the number 0, a constant whatever its value's shape."""
    return np.ndim(u.grad) == 0 and u.grad == 0


def _is_zero(grad: float | np.ndarray) -> bool:
    """True when a grad is zero everywhere (a number, or every element of an array)."""
    if type(grad) is float or type(grad) is int:
        return grad == 0
    if isinstance(grad, Variable):  # a grad that is a Variable (stage 7): taken as varying
        return False
    return not np.any(grad)

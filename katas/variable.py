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
        """Exercise add: ``self + other`` for two Variables.

        Sum rule: (u + v)' = u' + v'.
        """
        raise NotImplementedError("exercise 'add': Variable + Variable, sum rule (u + v)' = u' + v'")

    def __sub__(self, other: Variable | float) -> Variable:
        """Exercise sub: ``self - other`` for two Variables.

        Difference rule: (u - v)' = u' - v'.
        """
        raise NotImplementedError("exercise 'sub': Variable - Variable, difference rule (u - v)' = u' - v'")

    def __mul__(self, other: Variable | float) -> Variable:
        """Exercise mul: ``self * other`` for two Variables.

        Product rule: (u v)' = u' v + u v'.
        """
        raise NotImplementedError("exercise 'mul': Variable * Variable, product rule (u v)' = u' v + u v'")

    def __truediv__(self, other: Variable | float) -> Variable:
        """Exercise truediv: ``self / other`` for two Variables.

        Quotient rule: (u / v)' = (u' v - u v') / v**2.
        """
        raise NotImplementedError("exercise 'truediv': Variable / Variable, quotient rule (u/v)' = (u' v - u v') / v**2")

    def __pow__(self, other: Variable | float) -> Variable:
        """Exercise pow: ``self ** other`` where ``other`` is a constant Variable (grad 0).

        Power rule with the chain rule: (u ** n)' = n u**(n-1) u'.
        Exercise pow_variable extends it to an exponent with a grad of its own.
        """
        raise NotImplementedError("exercise 'pow': Variable ** Variable(n), power rule (u**n)' = n u**(n-1) u'")

    def __neg__(self) -> Variable:
        """Exercise neg: ``-self``.

        (-u)' = -u'.
        """
        raise NotImplementedError("exercise 'neg': -Variable, (-u)' = -u'")

    def __radd__(self, other: Variable | float) -> Variable:
        """Exercise constants: ``number + self``.

        A plain number (int, float, numpy scalar) is a constant: a Variable with grad 0.
        The same goes for ``self + number`` in __add__ and the other operators.
        Any other operand type raises TypeError.
        """
        raise NotImplementedError("exercise 'constants': number + Variable, a number is a constant with grad 0")

    def __rsub__(self, other: Variable | float) -> Variable:
        """Exercise constants: ``number - self`` (mind the order of the operands)."""
        raise NotImplementedError("exercise 'constants': number - Variable, a number is a constant with grad 0")

    def __rmul__(self, other: Variable | float) -> Variable:
        """Exercise constants: ``number * self``."""
        raise NotImplementedError("exercise 'constants': number * Variable, a number is a constant with grad 0")

    def __rtruediv__(self, other: Variable | float) -> Variable:
        """Exercise constants: ``number / self`` (the Variable is the denominator)."""
        raise NotImplementedError("exercise 'constants': number / Variable, a number is a constant with grad 0")

    def __rpow__(self, other: Variable | float) -> Variable:
        """Exercise pow_variable: ``number ** self``; the exponent carries the derivative.

        d(a**b) = b a**(b-1) a' + a**b ln(a) b'; with a constant base a' = 0.
        In __pow__, handle an exponent whose grad is not 0 the same way; ln(a) needs a > 0.
        """
        raise NotImplementedError("exercise 'pow_variable': number ** Variable, d(a**b) = b a**(b-1) a' + a**b ln(a) b'")

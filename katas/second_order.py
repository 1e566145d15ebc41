"""Stage 7: derivatives of derivatives, with nested Variables, tags, Hessians and Newton's method.

**Nested Variables.** Nothing in the rules of stages 1, 2 and 5 says that value and grad are
numbers. Make them Variables, and x is perturbed twice, once at each level: x + e1 + e2, where
e1 and e2 each square to 0 but e1 e2 does not, and the coefficient of e1 e2 in f(x + e1 + e2) is
f''(x). Every operation applies its rule at the outer level, and the
products and primitives in that rule apply their own rules one level down, so ``f(X).grad`` is
the Variable (f'(x), f''(x)) and ``f(X).grad.grad`` is the second derivative. Your operators
need no new code for it if they were written with Variable operations; ``math.exp(u.value)`` or
``float(...)`` on a value that is a Variable is what breaks (exercise nested).

**Perturbation confusion, and tags.** ``derivative(f)`` returns x -> f'(x), so nesting it is
natural: d/dx [x * d/dy (x + y)] at x = y = 1. The inner derivative is d/dy (x + y) = 1, so the
answer is d/dx x = 1. Nested naively, the inner derivative seeds y = Variable(1, 1), but x is
already Variable(1, 1), perturbed by the outer derivative: x + y has grad 2, and the inner
derivative returns 2 instead of 1, mistaking the outer perturbation for its own (Siskind and
Pearlmutter, 2005). The cure, as in ForwardDiff.jl, is to tell perturbations apart:

- each call of a derivative function creates its own tag (``new_tag()``: a number larger
  than every tag before it) and seeds ``Tagged(x, 1.0, tag)``, a Variable with a tag;
- a Variable's ``grad`` is its tangent along the perturbation its ``tag`` names; the tangents
  along older perturbations live inside its value and grad, which are Variables of older tags
  (or numbers). So a Variable keeps one tangent per tag, nested, the newest outside. A plain
  Variable has tag 0, stage 1's anonymous perturbation: it means what it always did;
- an operation with a tagged operand works at the level of the newest tag among its operands,
  where any operand without that tag is a constant (``apply_tagged``, below; ``Tagged``'s
  operators, and through ``Tagged.apply`` the first line of each primitive, call it with your
  own untagged rule);
- the derivative reads the tangent along its own tag only (``tangent``): x + y above is tagged
  with y's tag, its grad there is 1, and x's perturbation stays inside, for the outer call.

**Hessians.** H v, the Hessian-vector product, is the derivative along v of the gradient, and
stage 5 gets the whole gradient from one pass: perturb that pass once more, along v, and H v
comes out of ONE evaluation of f (forward over forward; JAX computes Hessians forward over
reverse). Column k of the Hessian is H e_k, e_k the k-th one-hot direction.

**Newton's method.** With the gradient g and the Hessian H of the loss, one step
theta <- theta - H^-1 g jumps to the minimum of the local quadratic model. Near the optimum the
error squares at each step: a handful of steps where gradient descent needs thousands.

Exercises, in order: nested (second_derivative here, and back in your variable.py and
primitives.py), derivative, hessian, newton. Run one with ``pytest --exercise derivative``.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Sequence

import numpy as np

from .batched import as_batch  # noqa: F401 - yours to use
from .primitives import log, sigmoid  # noqa: F401
from .tangents import as_point, gradient, seeded, tangents_of  # noqa: F401
from .variable import Variable, as_variable, is_constant  # noqa: F401

Function = Callable[[Variable], Variable]
_LAST_TAG = [0]  # the tags handed out so far

# ---------------------------------------------------------------- ready-made


def new_tag() -> int:
    """A tag for a new perturbation: larger than every tag handed out before (0 is the untagged one)."""
    _LAST_TAG[0] += 1
    return _LAST_TAG[0]


def check_function(f: object) -> None:
    """TypeError unless f can be called."""
    if not callable(f):
        raise TypeError(f"f must be a function of one Variable, got {type(f).__name__} ({f!r})")


def check_point(x: object) -> None:
    """TypeError unless x is a real number (a numpy scalar or 0-d array too) or a Variable (an outer
    derivative's perturbed point)."""
    zero_d = isinstance(x, np.ndarray) and x.ndim == 0 and x.dtype.kind in "iuf"
    if isinstance(x, (bool, np.bool_)) or not (zero_d or isinstance(x, (numbers.Real, Variable))):
        raise TypeError(f"the point must be a real number (or a Variable, when derivatives nest), "
                        f"got {type(x).__name__} ({x!r})")


def check_iterations(iters: object) -> None:
    """ValueError unless iters is a non-negative integer."""
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 0:
        raise ValueError(f"iters must be a non-negative integer, got {iters!r}")


# ---------------------------------------------------------------- exercise nested


def second_derivative(f: Function, x: object) -> object:
    """Exercise nested: f''(x) from ONE evaluation of f on x perturbed twice.

    - x: a number, or an array for an elementwise f; anything else (a string...) is a TypeError,
      which ``as_point(x, "x")`` raises for you. f: a function of one Variable.
    - Returns f''(x): a number (a float, a numpy scalar or a 0-d array) at a number x, an array
      shaped like x at an array x.
    - An f that does not curve at some level (it returns a plain number, or a result whose grad
      is a plain number) has f'' = 0: the number 0, or zeros shaped like x (0 broadcasts: either
      one).
    - Budget: f is evaluated exactly once (counted), on x perturbed twice: a Variable whose value
      is a Variable (the module's docstring shows one). No differences of first derivatives.

    Why it works: every rule holds whatever value and grad are made of, so the outer level
    differentiates f and the inner one differentiates what the outer produced. Most of this
    exercise is elsewhere: your primitives (and x[i], x.sum(), @) must take values that are
    Variables.
    """
    check_function(f)
    raise NotImplementedError(
        "exercise 'nested': Second derivatives through nested Variables. "
        "Rule: apply each rule with Variable operations only: where a value is a Variable, call "
        "your own primitive on it, one level down"
    )


# ---------------------------------------------------------------- exercise derivative


class Tagged(Variable):
    """Ready-made: a Variable whose grad is its tangent along the perturbation ``tag``.

    ``derivative`` seeds ``Tagged(x, 1.0, tag)`` with a new tag for each of its calls. Every
    operation on a Tagged operand goes through ``apply_tagged`` with your own (untagged) rule:
    Python calls these methods even for ``plain + tagged``, because a subclass's reflected
    operator comes first, and each primitive of primitives.py hands a tagged operand its rule
    (``u.apply(log)``). Plain Variables never come here, so stages 1-6 pay nothing for tags.
    """

    __slots__ = ("tag",)

    def __init__(self, value: object, grad: object, tag: int) -> None:
        super().__init__(value, grad)
        self.tag = tag

    def __add__(self, other: object) -> Variable:
        return apply_tagged(Variable.__add__, self, as_variable(other, "+"))

    def __radd__(self, other: object) -> Variable:
        return apply_tagged(Variable.__add__, as_variable(other, "+"), self)

    def __sub__(self, other: object) -> Variable:
        return apply_tagged(Variable.__sub__, self, as_variable(other, "-"))

    def __rsub__(self, other: object) -> Variable:
        return apply_tagged(Variable.__sub__, as_variable(other, "-"), self)

    def __mul__(self, other: object) -> Variable:
        return apply_tagged(Variable.__mul__, self, as_variable(other, "*"))

    def __rmul__(self, other: object) -> Variable:
        return apply_tagged(Variable.__mul__, as_variable(other, "*"), self)

    def __truediv__(self, other: object) -> Variable:
        return apply_tagged(Variable.__truediv__, self, as_variable(other, "/"))

    def __rtruediv__(self, other: object) -> Variable:
        return apply_tagged(Variable.__truediv__, as_variable(other, "/"), self)

    def __pow__(self, other: object) -> Variable:
        return apply_tagged(Variable.__pow__, self, as_variable(other, "**"))

    def __rpow__(self, other: object) -> Variable:
        return apply_tagged(Variable.__pow__, as_variable(other, "**"), self)

    def __matmul__(self, other: object) -> Variable:
        return apply_tagged(Variable.__matmul__, self, as_variable(other, "@"))

    def __rmatmul__(self, other: object) -> Variable:
        return apply_tagged(Variable.__matmul__, as_variable(other, "@"), self)

    def __neg__(self) -> Variable:
        return apply_tagged(Variable.__neg__, self)

    def __getitem__(self, index: object) -> Variable:
        return apply_tagged(Variable.__getitem__, self, index)

    def sum(self) -> Variable:
        return apply_tagged(Variable.sum, self)

    def apply(self, rule: Callable[..., Variable]) -> Variable:
        """``rule(self)`` at this Variable's level: how a primitive of primitives.py hands over a tagged operand."""
        return apply_tagged(rule, self)


def apply_tagged(rule: Callable[..., Variable], *operands: object) -> Variable:
    """Exercise derivative: ``rule`` applied at the level of the newest perturbation among ``operands``.

    - ``rule``: your own untagged operator or primitive (``Variable.__mul__``, ``log``...), which
      knows nothing of tags. ``operands``: what ``rule`` takes, in its order: Variables, tagged
      or plain, and arguments that are no Variable (an index), which reach ``rule`` unchanged.
    - Returns a Tagged Variable whose tag t is the largest tag among the operands: its grad is
      the tangent of the result along perturbation t, and its value the result with t set to 0,
      still carrying every older perturbation (in Variables of older tags, inside it).
    - Along t, only the operands tagged t move: every other Variable is a constant there (its
      tangent along t is 0), however it moves along older perturbations, which the result keeps.
      That includes a plain Variable that moves (tag 0, a grad that is not 0: stage 1's anonymous
      perturbation, held by a Variable f closes over).
    - A plain constant (tag 0, grad 0: the Variable(3, 0) that ``u ** 3`` makes of its exponent)
      leaves no trace: derivative(u -> u ** 3)(2.0) is the number 12.0, never Variable(12.0, 0.0).

    Why it works: the perturbations are independent directions, and at one operation only the
    newest matters; the older ones are handled, one level down, by the rule's own operations.
    """
    raise NotImplementedError(
        "exercise 'derivative': derivative(f), one tag per call. "
        "Rule: each call's perturbation must stay distinguishable from every other call's: a "
        "derivative reads its own, and every other perturbation is a constant to it"
    )


def tangent(result: object, tag: int) -> object:
    """Exercise derivative: the tangent of ``result`` along the perturbation named ``tag``.

    - A Variable tagged ``tag``: its grad.
    - A Variable with an older (smaller) tag, or a plain number or array: it does not move with
      that perturbation, so 0 (for an array, zeros shaped like the value or the number 0, which
      broadcasts: either one).
    - A Variable with a newer tag s: a perturbation that outlived the derivative call that made it
      (an inner derivative's seed kept aside, and used after that call returned). Nobody will
      read its tangent along s any more, but it is still there: the answer is a Variable tagged
      s, whose value and grad are the tangents along ``tag`` of its value and of its grad.
    - Anything else (a string, None, a list): TypeError, f must return a number, an array or a
      Variable.
    """
    raise NotImplementedError(
        "exercise 'derivative': derivative(f), one tag per call. "
        "Rule: each call's perturbation must stay distinguishable from every other call's: a "
        "derivative reads its own, and every other perturbation is a constant to it"
    )


def derivative(f: Function) -> Callable[[object], object]:
    """Exercise derivative: the function x -> f'(x), so that derivative(derivative(f)) is f''.

    - f: a function of one Variable (TypeError otherwise, ``check_function``: when derivative(f)
      is called). x: a real number, or a Variable when the derivative sits inside another one
      (TypeError otherwise, ``check_point``: at each call of the function returned).
    - Budget: each call of the returned function evaluates f exactly once (counted), on a
      Variable: x perturbed along a tag of its own (``Tagged``, ``new_tag()``).

    The tag must be new at every call, and larger than every tag before it: larger than those
    inside x (an inner derivative evaluated at the outer one's perturbed point), and never one a
    finished call used (its perturbation may live on, in a closure f kept aside). Sibling calls
    get different tags too. Tags that merely differ (id(), say) or that repeat by nesting depth
    mix perturbations up.

    The answer is a number (a float, a numpy scalar or a 0-d array) when f's result moves with x
    alone; a Variable when it also moves with other perturbations: an outer derivative's (the
    point's own), or one that outlived its call (see ``tangent``).
    """
    check_function(f)
    raise NotImplementedError(
        "exercise 'derivative': derivative(f), one tag per call. "
        "Rule: each call's perturbation must stay distinguishable from every other call's: a "
        "derivative reads its own, and every other perturbation is a constant to it"
    )


# ---------------------------------------------------------------- exercise hessian


def hvp(f: Function, x: object, v: object) -> np.ndarray:
    """Exercise hessian: the Hessian-vector product H_f(x) v of a scalar-valued f, from ONE evaluation.

    - x, v: numbers or arrays of finite numbers of the same shape (``as_point`` checks each;
      ValueError when the shapes differ). f: a scalar-valued function of one Variable.
    - Returns H v with the shape of x: entry k is d/dx_k (grad f . v). An f whose gradient does
      not move with x (a linear f) gives zeros.
    - ValueError when f(x) is not a single number computed from x: its value has a shape, even
      (1,), or f returned no Variable at all.
    - Budget: f is evaluated exactly once (counted), on x perturbed at two levels.

    Why it works: H v is the derivative of the gradient along v, so perturb the one pass that
    gives the gradient (stage 5) once more, along v.
    """
    raise NotImplementedError(
        "exercise 'hessian': hvp and hessian, forward over forward. "
        "Rule: H v is the derivative of the gradient along v: forward mode over forward mode gives "
        "it from one evaluation"
    )


def hessian(f: Function, x: object) -> np.ndarray:
    """Exercise hessian: the (n, n) Hessian of a scalar-valued f at x, n the number of entries of x.

    H[i, j] = d^2 f / dx_i dx_j, the entries of x counted in numpy's (C) order (x may be a matrix),
    a symmetric matrix. ValueError when f does not return a single number (as hvp raises it). An
    x without entries (n = 0) has the empty (0, 0) Hessian, and f is not evaluated.

    Budget: at most n evaluations of f, each on x perturbed at two levels (a Variable whose value
    is a Variable): the tests count them. n evaluations are allowed here, where hvp has one: a
    Hessian holds n times the numbers of an H v. Differences of gradients are not allowed: they
    take two evaluations per column, and are only approximations.
    """
    raise NotImplementedError(
        "exercise 'hessian': hvp and hessian, forward over forward. "
        "Rule: H v is the derivative of the gradient along v: forward mode over forward mode gives "
        "it from one evaluation"
    )


# ---------------------------------------------------------------- exercise newton


def fit_logistic_regression_newton(x: Sequence[float], y: Sequence[float], iters: int = 10) -> tuple[float, float]:
    """Exercise newton: stage 4's classifier, P(y = 1) = sigmoid(m x + b), fitted by Newton's method.

    From theta = (m, b) = (0, 0), each iteration takes one Newton step on the mean log loss,

        theta <- theta - H^-1 g,   g and H the gradient and Hessian of loss at theta,

    where loss(theta) is the mean over the samples of -(y log s + (1 - y) log(1 - s)),
    s = sigmoid(theta[0] x + theta[1]), written with your operators, sigmoid and log (they handle
    nested Variables now; stage 3's clipped logloss and stage 6's softplus build their Variables
    from numbers, so they do not). g and H come from YOUR forward mode over that loss (your
    gradient and hessian, or nested passes of your own). Not from a formula worked out by hand,
    finite differences or another library: forward mode is linear in its seeds, and the tests
    check that your steps follow them. Return (m, b) as floats (numpy scalars and 0-d arrays are
    numbers too).
    Check the input with ``as_batch(x, y, labels=True)`` and ``check_iterations(iters)``.
    """
    raise NotImplementedError(
        "exercise 'newton': Newton's method for the classifier. "
        "Rule: theta <- theta - H^-1 g, with g and H from your forward mode over the mean log loss: "
        "your gradient and hessian, or the same nested passes for both"
    )

"""Stage 7: derivatives of derivatives, with nested Variables, tags, Hessians and Newton's method.

**Nested Variables.** Nothing in the rules of stages 1, 2 and 5 says that value and grad are
numbers. Make them Variables: ``X = Variable(Variable(x, 1.0), Variable(1.0, 0.0))`` perturbs x
twice, once at each level. Every operation applies its rule at the outer level, and the
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
  ``Variable(value, grad)`` has tag 0, stage 1's anonymous perturbation: it means what it
  always did;
- an operation with a tagged operand works at the level of the newest tag among its operands,
  where any operand without that tag is a constant (``apply_tagged``, below; ``Tagged``'s
  operators, and through ``Tagged.apply`` the first line of each primitive, call it with your
  own untagged rule);
- the derivative reads the tangent along its own tag only (``tangent``): x + y above is tagged
  with y's tag, its grad there is 1, and x's perturbation stays inside, for the outer call.

**Hessians.** Seed the inner level with the n one-hot tangents of stage 5 and the outer level
with a direction v: ``Variable(Variable(x, E), v)``. The result's grad is the Variable
(grad f . v, H v): the Hessian-vector product from ONE evaluation of f (forward over forward;
JAX computes Hessians forward over reverse). The Hessian is n of them, one per column.

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

    Seed x at two levels, ``Variable(Variable(x, 1.0), Variable(1.0, 0.0))``: the inner Variable
    moves with x, and so does the outer level, whose grad (1, 0) is itself a Variable. f's result
    is then Variable(Variable(f, f'), Variable(f', f'')): return the grad of its grad, a number
    (a float, a numpy scalar or a 0-d array) at a number x, an array shaped like x at an array x.
    Where a level is a plain number (f returned one, or its outer grad is one), f does not curve
    there: f'' is 0, the number 0 or zeros shaped like x (0 broadcasts: either one). x is a number,
    or an array for an elementwise f; anything else (a string...) is a TypeError, which
    ``as_point(x, "x")`` raises for you.
    Most of this exercise is elsewhere: your primitives (and x[i], x.sum(), @) must take values
    that are Variables.
    """
    check_function(f)
    # BEGIN nested
    point = float(x) if isinstance(x, numbers.Real) else as_point(x, "x")
    result = f(Variable(Variable(point, 1.0), Variable(1.0, 0.0)))
    outer = result.grad if isinstance(result, Variable) else 0.0
    if isinstance(outer, Variable):
        return outer.grad
    return np.zeros(np.shape(point)) if np.ndim(point) else 0.0
    # END nested


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

    The operand tagged with the largest tag t is a perturbation of t: its value and grad (maybe
    Variables, holding older tags) are what ``rule`` works on. Every other Variable operand is a
    constant at that level: its tangent along t is 0, and it enters as a value, whatever older
    perturbations it holds. Apply ``rule`` (your own untagged operator or primitive) to those
    untagged stand-ins and tag its result with t. Arguments that are no Variable (an index)
    pass through as they are. A plain Variable that moves (tag 0, a grad that is not 0: stage 1's
    anonymous perturbation, held by a Variable f closes over) is an older perturbation like any
    other, kept inside its constant. A plain constant (tag 0, grad 0: the Variable(3, 0) that
    ``u ** 3`` makes of its exponent) enters as its bare value: wrapped one level deeper, it would
    leave Variable(c, 0) levels in every result, and derivative(u -> u ** 3)(2.0) would answer
    Variable(12.0, 0.0) instead of the number 12.0.
    """
    # BEGIN derivative
    tag = max(o.tag for o in operands if isinstance(o, Variable))

    def at_level(o: object) -> object:
        if not isinstance(o, Variable):
            return o
        if o.tag == tag:
            return Variable(o.value, o.grad)
        return Variable(o.value if o.tag == 0 and is_constant(o) else o, 0.0)

    result = rule(*(at_level(o) for o in operands))
    return Tagged(result.value, result.grad, tag)
    # END derivative


def tangent(result: object, tag: int) -> object:
    """Exercise derivative: the tangent of ``result`` along the perturbation named ``tag``.

    - A Variable tagged ``tag``: its grad.
    - A Variable with an older (smaller) tag, or a plain number or array: it does not move with
      that perturbation, so 0 (for an array, zeros shaped like the value or the number 0, which
      broadcasts: either one).
    - A Variable with a newer tag: a perturbation that outlived the derivative call that made it
      (an inner derivative's seed kept aside, and used after that call returned). Nobody will
      read its tangent any more, but it is still there: return the tangent of its value and of
      its grad along ``tag``, kept together under its own (newer) tag.
    - Anything else (a string, None, a list): TypeError, f must return a number, an array or a
      Variable.
    """
    # BEGIN derivative
    if isinstance(result, Variable):
        if result.tag == tag:
            return result.grad
        if result.tag > tag:
            return Tagged(tangent(result.value, tag), tangent(result.grad, tag), result.tag)
        while isinstance(result, Variable):  # older tags all the way down: none moves with this one
            result = result.value
    if isinstance(result, (numbers.Real, np.ndarray)):
        return np.zeros(np.shape(result)) if np.ndim(result) else 0.0
    raise TypeError(f"f must return a number or a Variable computed from its argument, got {type(result).__name__}")
    # END derivative


def derivative(f: Function) -> Callable[[object], object]:
    """Exercise derivative: the function x -> f'(x), so that derivative(derivative(f)) is f''.

    Each call of the function you return creates its own tag (``new_tag()``), evaluates f ONCE on
    x seeded with that tag (``Tagged(x, 1.0, tag)``), and returns the tangent of f's result along
    that tag. x is a real number, or a Variable when the derivative sits inside another one
    (``check_point``). The operators and primitives do the rest through ``apply_tagged``.

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
    # BEGIN derivative

    def f_prime(x: object) -> object:
        check_point(x)
        tag = new_tag()
        return tangent(f(Tagged(x, 1.0, tag)), tag)

    return f_prime
    # END derivative


# ---------------------------------------------------------------- exercise hessian


def hvp(f: Function, x: object, v: object) -> np.ndarray:
    """Exercise hessian: the Hessian-vector product H_f(x) v of a scalar-valued f, from ONE evaluation.

    Two levels of perturbation: inside, the n one-hot tangents of the gradient (``seeded``, as in
    stage 5); outside, the direction v, shaped like x (one tangent, no tangent axis). f's result
    carries grad f . v at the outer level, and its n inner tangents are d/dx_k (grad f . v), the
    entries of H v. Return H v with the shape of x; ValueError when x and v differ in shape or
    f(x) is not a single number computed from x: its value has a shape, even (1,), or f returned
    no Variable at all.
    """
    # BEGIN hessian
    x, v = as_point(x, "x"), as_point(v, "v")
    if x.shape != v.shape:
        raise ValueError(f"x and v must have the same shape, got {x.shape} and {v.shape}")
    (inner,) = seeded(x)
    result = f(Variable(inner, v))
    if not isinstance(result, Variable) or np.shape(result.value) != ():
        raise ValueError("hvp needs f to return a single number (a Variable with a scalar value)")
    outer = result.grad
    if not isinstance(outer, Variable):  # grad f . v does not move with x: H v = 0
        return np.zeros(x.shape)
    return tangents_of(outer, x.size).reshape(x.shape)
    # END hessian


def hessian(f: Function, x: object) -> np.ndarray:
    """Exercise hessian: the (n, n) Hessian of a scalar-valued f at x, n the number of entries of x.

    H[i, j] = d^2 f / dx_i dx_j, the entries of x counted in numpy's (C) order. Column k is
    H e_k, one hvp along the k-th one-hot direction, shaped like x. ValueError when f does not
    return a single number (as hvp raises it). An x without entries (n = 0) has the empty (0, 0)
    Hessian: no column to compute, so f is not evaluated.
    """
    # BEGIN hessian
    point = as_point(x, "x")
    n = point.size
    columns = [hvp(f, point, np.eye(n)[k].reshape(point.shape)).reshape(n) for k in range(n)]
    return np.stack(columns, axis=1) if columns else np.zeros((0, 0))
    # END hessian


# ---------------------------------------------------------------- exercise newton


def fit_logistic_regression_newton(x: Sequence[float], y: Sequence[float], iters: int = 10) -> tuple[float, float]:
    """Exercise newton: stage 4's classifier, P(y = 1) = sigmoid(m x + b), fitted by Newton's method.

    From theta = (m, b) = (0, 0), each iteration takes one Newton step on the mean log loss,

        theta <- theta - H^-1 g,   g and H the gradient and Hessian of loss at theta,

    where loss(theta) is the mean over the samples of -(y log s + (1 - y) log(1 - s)),
    s = sigmoid(theta[0] x + theta[1]), written with your operators, sigmoid and log (they handle
    nested Variables now; stage 3's clipped logloss and stage 6's softplus build their Variables
    from numbers, so they do not). g and H come from YOUR forward mode over that loss: stage 5's
    gradient(loss, theta) and hessian(loss, theta), or fewer evaluations that read g from the
    same nested passes as H (each column's pass carries g in the inner tangents of its value).
    Not from a formula worked out by hand, finite differences or another library: forward mode
    is linear in its seeds, and the tests check that your steps follow them. ``np.linalg.solve``
    solves H d = g. Return (m, b) as floats (numpy scalars and 0-d arrays are numbers too).
    Check the input with ``as_batch(x, y, labels=True)`` and ``check_iterations(iters)``.
    """
    # BEGIN newton
    xs, ys = as_batch(x, y, labels=True)
    check_iterations(iters)
    n = len(xs)

    def loss(theta: Variable) -> Variable:
        z = theta[0] * xs + theta[1]
        return -(ys * log(sigmoid(z)) + (1 - ys) * log(sigmoid(-z))).sum() / n

    theta = np.zeros(2)
    for _ in range(iters):
        theta = theta - np.linalg.solve(hessian(loss, theta), gradient(loss, theta))
    return float(theta[0]), float(theta[1])
    # END newton

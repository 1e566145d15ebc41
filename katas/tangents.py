"""Stage 5: the grad is a tangent, and one pass can carry many of them.

Since stage 1, ``Variable(x, v)`` has carried a value and a derivative "along one direction".
Name that direction: v is a *tangent*, a small change of the input, and the grad that comes out
of f is f's answering change, J_f(x) v, where J_f is f's Jacobian. Forward mode computes that
Jacobian-vector product (JVP) alongside f(x), in the same single evaluation, without ever
building J. JAX calls it ``jax.jvp``; ForwardDiff.jl carries the same pair as ``Dual``.

Nothing forces one tangent per pass. Give the grad a leading axis, shape (P,) + value.shape,
and it holds P tangents; every rule of stages 1 and 2 is linear in the tangent, so each
operation carries all P of them at once. The tangent of the output along the k-th one-hot
direction e_k is J e_k, the k-th column of J: so the whole Jacobian (a gradient, for a scalar f)
is within reach of one evaluation of f, where stage 4 ran one pass per parameter.

The conventions every stage from here on relies on (stage 6, and the nested and reverse-mode
stages, use them):

- value: a number or a numpy array; grad: the value's tangents, in one of three forms:
  P tangents, of shape (P,) + value.shape exactly (the axis in front, every tangent whole: not
  (P, 1) for a value of shape (3,)); the number 0 for a constant; or one tangent without the
  axis (stages 1-4's form: shaped like the value, or a number or smaller array that numpy's
  broadcasting from the right takes to it). Every operation takes all three; one on operands
  with P tangents returns P tangents, of shape (P,) + its value's shape.
- ``x[i]``, ``x[a:b]``, ``x[..., i]``, ``x[None]``, ``x.sum()`` and ``@`` (exercise reductions)
  carry the tangent axis too, in front.
- ``jvp(f, x, v)``, ``gradient(f, x)`` and ``jacobian(f, x)`` take any f that maps one Variable
  to one Variable through those operations and the primitives. Their budget is ONE evaluation of
  f each (the tests count the calls of f): the tangents travel together, never in a loop.
  ``seeded(*arrays)`` gives the Variables of several parameter arrays seeded together, as the
  fits of stage 6 need.

What one evaluation costs: f's own work, times P wherever a tangent goes. ``gradient`` of a
function of n inputs is one pass with n tangents, so its cost grows with n; ``jacobian`` of
f: R^n -> R^m costs the same whatever m is. That is forward mode's trade-off, the one reverse
mode turns around.

Exercises, in order: arrays and reductions (both in variable.py and primitives.py: go back to
your own operators), then jvp and gradient, here. Run one with ``pytest --exercise jvp``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .variable import Variable

Function = Callable[[Variable], Variable]

# ---------------------------------------------------------------- ready-made: input checks and the tangents of a result


def as_point(x: object, name: str = "x") -> np.ndarray:
    """x as a float numpy array of finite numbers; TypeError or ValueError (naming ``name``) otherwise."""
    if isinstance(x, Variable):
        raise TypeError(f"{name} must be numbers (a float or an array), not a Variable: the seed is made inside")
    try:
        array = np.asarray(x, dtype=float)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be a number or an array of numbers, got {type(x).__name__}: {exc}") from None
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must hold finite numbers only, got {x!r}")
    return array


def tangents_of(result: object, count: int) -> np.ndarray:
    """The ``count`` tangents of a result of f, as an array of shape (count,) + value.shape.

    A constant (grad 0, e.g. an f that ignores its input) gives zeros. Anything but a Variable
    is a TypeError: f must build its result from its argument with Variable operations.
    """
    if not (hasattr(result, "value") and hasattr(result, "grad")):
        raise TypeError(f"f must return a Variable computed from its argument, got {type(result).__name__}")
    shape = (count,) + np.shape(result.value)
    grad = np.asarray(result.grad, dtype=float)
    if grad.ndim == len(shape) - 1 and count == 1:  # one tangent, without its axis
        grad = grad[np.newaxis]
    try:
        return np.broadcast_to(grad, shape).copy()
    except ValueError:
        raise ValueError(f"the result's grad has shape {grad.shape}, which does not hold {count} tangent(s) of its "
                         f"value's shape {shape[1:]}: every operation must keep the tangent axis in front") from None


def split_like(tangents: np.ndarray, arrays: list[np.ndarray] | tuple[np.ndarray, ...]) -> list[np.ndarray]:
    """The P numbers of ``tangents`` (one per entry, numbered as ``seeded`` numbers them) as arrays
    shaped like ``arrays``: e.g. a scalar loss's grad split into one gradient per parameter array."""
    shapes = [np.shape(a) for a in arrays]
    sizes = [int(np.prod(shape)) for shape in shapes]
    flat = np.asarray(tangents, dtype=float).reshape(-1)
    if flat.size != sum(sizes):
        raise ValueError(f"{flat.size} numbers cannot fill arrays of {sum(sizes)} entries")
    ends = np.cumsum(sizes)
    return [flat[end - size:end].reshape(shape) for end, size, shape in zip(ends, sizes, shapes, strict=True)]


# ---------------------------------------------------------------- exercise jvp


def jvp(f: Function, x: object, v: object) -> tuple[float | np.ndarray, float | np.ndarray]:
    """Exercise jvp: ``(f(x), J_f(x) v)`` from ONE evaluation of f, as ``jax.jvp`` does.

    - x, v: numbers or numpy arrays of finite numbers, of the same shape. ``as_point`` (ready-made)
      raises the TypeError or ValueError for anything else, naming the argument; x and v of
      different shapes are a ValueError.
    - f: maps one Variable to one Variable (a result built from its argument; ``tangents_of``
      reads its tangent whatever the form of its grad, and refuses anything else).
    - Returns ``(value, tangent)``: f(x), and the directional derivative of f at x along v, both
      with the shape of f(x). An f that ignores its input has the tangent 0 (zeros).
    - Budget: f is evaluated exactly once, on a Variable carrying ONE tangent, v: a grad of
      x.size numbers (the tests count the calls, and the size of the grad f receives).

    Why one pass is enough: the grad of a Variable was always a derivative along the direction it
    was seeded with, and that derivative is J_f(x) v, the Jacobian never built.
    """
    raise NotImplementedError(
        "exercise 'jvp': jvp(f, x, v): f(x) and J v in one pass. "
        "Rule: seed x with the tangent v: f's result carries f(x) and J_f(x) v"
    )


# ---------------------------------------------------------------- exercise gradient


def seeded(*arrays: object) -> tuple[Variable, ...]:
    """Exercise gradient: one Variable per array, all of them seeded together with one-hot tangents.

    P is the number of entries of all the arrays together. Tangent k is 1 at entry k and 0
    everywhere else, counting the entries array after array, each in numpy's (C) order: the
    Variable of an array a gets a grad of shape (P,) + a.shape. A number (or 0-d array) gives a
    Variable whose value is a single number (a float, a numpy scalar or a 0-d array) and whose
    grad has shape (P,).

    Any result computed from these Variables then carries P tangents, and for a scalar result
    they are its partial derivatives, in the same order: ``loss.grad[k]`` = d loss / d entry k.
    """
    raise NotImplementedError(
        "exercise 'gradient': gradient and jacobian from one evaluation. "
        "Rule: tangent k of the result is the derivative along input k: n tangents carried by one "
        "pass give all n partial derivatives"
    )


def gradient(f: Function, x: object) -> np.ndarray:
    """Exercise gradient: df/dx for a scalar-valued f, with the shape of x, from ONE evaluation of f.

    x is a number or an array (``as_point``'s checks, as in ``seeded``); the answer has x's shape,
    entry k being d f / d x.flat[k]. ValueError when f(x) is not a single number, that is when its
    value has a shape, even (1,) (use jacobian). Budget: f is evaluated exactly once (counted),
    with n tangents, n = x.size: all the partial derivatives travel in the same pass, as the
    module's docstring explains.
    """
    raise NotImplementedError(
        "exercise 'gradient': gradient and jacobian from one evaluation. "
        "Rule: tangent k of the result is the derivative along input k: n tangents carried by one "
        "pass give all n partial derivatives"
    )


def jacobian(f: Function, x: object) -> np.ndarray:
    """Exercise gradient: the Jacobian of f at x, an array of shape (m, n), from ONE evaluation of f.

    n is the number of entries of x and m that of f(x), both counted in numpy's (C) order, as
    ``seeded`` counts them: row i holds the partial derivatives of entry i of f(x), J[i, k] =
    d f(x).flat[i] / d x.flat[k]. So a vector f: R^n -> R^m gives (m, n), a matrix-valued f one
    row per entry (row by row, in C order), and a scalar f a single row, shape (1, n). Budget: f is
    evaluated exactly once (counted), whatever m is.
    """
    raise NotImplementedError(
        "exercise 'gradient': gradient and jacobian from one evaluation. "
        "Rule: tangent k of the result is the derivative along input k: n tangents carried by one "
        "pass give all n partial derivatives"
    )

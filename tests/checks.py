"""Shared checks for the kata tests: tolerances, input domains, and teaching failure messages.

Every tolerance and every hypothesis domain is declared here, once. Every failure goes through
``fail``, which names the exercise, the input, what was expected, what was received and a
hint, so a learner who only reads the failure knows what to try next.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import numbers
import time
import types

import numpy as np
import pytest
from hypothesis import strategies as st

from katatools.manifest import load_manifest
from katatools.plugin import Progress, progress

# ---------------------------------------------------------------- tolerances (the only ones)
EXACT_REL = 1e-9  # hand-computed values and grads
EXACT_ABS = 1e-12
FD_STEP = 1e-6  # central finite differences: error ~ h**2 * f''' + eps * |f| / h
FD_REL = 1e-5
FD_ABS = 1e-6
PROPERTY_REL = 1e-7  # identities that hold exactly in real arithmetic, up to rounding
PROPERTY_ABS = 1e-9
# With a numpy float32 operand numpy may compute in single precision (eps 1.2e-7, and since
# NumPy 2 even 3.0 * np.float32(x) is a float32): a formula of a few steps is then good to ~1e-6.
FLOAT32_REL = 1e-6
FLOAT32_ABS = 1e-6
# A primitive's value and grad against math at chosen points. Forward mode applies the rule, so a
# careful formula is exact to a few roundings (~1e-15), while a central difference is off by 1e-11
# at best (eps ** (2/3)): RULE_REL lies between, taking any careful formula and no numerical
# derivative. Where a value (sigmoid, tanh) or grad is tiny beside 1, correct formulas differ by a
# few units in the last place of 1, not of the value: 0.5 * (1 + tanh(u / 2)) returns 0 from
# u = -38 on, where sigmoid is below 1e-16, and a sigmoid clamped to 0 and 1 beyond |u| > 700 is off
# by less than 1e-304. There UNIT_ABS (times |u'| for a grad) is the absolute tolerance instead.
RULE_REL = 1e-12
UNIT_ABS = 1e-15
# Reverse and forward mode (stage 8 against stages 4 and 5): the same chain rule over the same
# twenty-odd operations, summed in another order, so they differ by rounding only (a few 1e-16
# relative per operation); 1e-12 leaves a margin of 100 over that and catches any real slip.
MODES_REL = 1e-12
MODES_ABS = 1e-12
# A grad summed over many paths (stage 8's random graphs): any order of the sums is correct, and
# its rounding is bounded by a few eps per step times the sum of the paths' |products|, so the
# tolerance scales with that sum, not with the result, which may cancel to near 0.
SUM_ORDER_REL = 1e-12

# ---------------------------------------------------------------- input domains
# Bounded, finite, and clear of the singularities of each rule.
reals = st.floats(-100.0, 100.0, allow_nan=False, allow_infinity=False)
nonzero = st.one_of(st.floats(0.1, 100.0), st.floats(-100.0, -0.1))
positive = st.floats(0.1, 20.0)
seeds = st.floats(-10.0, 10.0, allow_nan=False, allow_infinity=False)
scales = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)
small_integers = st.integers(-4, 4)
exponents = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)


def rule_hint(exercise: str) -> str:
    """The exercise's rule, as its stub's message names it (``rule`` in the manifest)."""
    return load_manifest().exercise(exercise).rule


def first_hint(exercise: str) -> str:
    """The exercise's first hint in the manifest: a failure gives a nudge, not the answer. The rule is in
    the stub's message; the next hints come when asked for (``check --hint NAME --level 2``)."""
    return load_manifest().exercise(exercise).hints[0]


# The operator methods of stage 1's Variable, as the tests that count or wrap your operators name them.
VARIABLE_OPERATORS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                      "__rtruediv__", "__pow__", "__rpow__", "__neg__")


def show(x: object) -> str:
    """A compact, unambiguous rendering of a number or a Variable for failure messages."""
    if hasattr(x, "value") and hasattr(x, "grad") and not isinstance(x, (int, float, np.ndarray)):
        return f"Variable({show(x.value)}, {show(x.grad)})"
    if isinstance(x, float) or isinstance(x, np.floating):
        return repr(float(x))
    return repr(x)


def fail(exercise: str, given: str, expected: str, received: str, hint: str | None = None) -> None:
    """Fail the test with a teaching message (no traceback)."""
    pytest.fail(
        f"[{exercise}] {given}\n"
        f"    expected: {expected}\n"
        f"    received: {received}\n"
        f"    hint: {hint or first_hint(exercise)}",
        pytrace=False,
    )


def expect_error(exercise: str, given: str, error: type[Exception], call, expected: str,
                 hint_other_error: str, hint_no_error: str) -> None:
    """``call()`` must raise ``error``; a stub's NotImplementedError passes through (not started)."""
    try:
        result = call()
    except error:
        return
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other error is the wrong one
        fail(exercise, given, expected, f"{type(exc).__name__}: {exc}", hint_other_error)
    fail(exercise, given, expected, show(result)[:300], hint_no_error)


def close(received: object, expected: object, rel: float = EXACT_REL, abs_: float = EXACT_ABS) -> bool:
    """Numbers (or arrays) equal within tolerance; inf equals inf of the same sign."""
    try:
        if isinstance(received, (int, float)) and isinstance(expected, (int, float)):
            return math.isclose(received, expected, rel_tol=rel, abs_tol=abs_)
        return bool(np.allclose(received, expected, rtol=rel, atol=abs_, equal_nan=False))
    except (TypeError, ValueError):
        return False


def expect_variable(exercise: str, given: str, received: object) -> None:
    """The result must be a Variable-like object (value and grad attributes)."""
    if not (hasattr(received, "value") and hasattr(received, "grad")):
        fail(exercise, given, "a Variable", f"{type(received).__name__}: {received!r}",
             "return Variable(value, grad): a new Variable holding both parts")


def expect_dual(
    exercise: str,
    given: str,
    received: object,
    value: float,
    grad: float,
    hint: str | None = None,
    rel: float = EXACT_REL,
    abs_: float = EXACT_ABS,
) -> None:
    """The result must be a Variable with this value and this grad."""
    expect_variable(exercise, given, received)
    if not (close(received.value, value, rel, abs_) and close(received.grad, grad, rel, abs_)):
        wrong = "value" if not close(received.value, value, rel, abs_) else "grad"
        fail(exercise, given, f"value {show(value)}, grad {show(grad)}",
             f"value {show(received.value)}, grad {show(received.grad)}  <- the {wrong} differs", hint)


def expect_rule(exercise: str, given: str, received: object, value: float, grad: float, seed: float,
                hint: str | None = None) -> None:
    """A primitive's value and grad (grad = f'(u) * seed) within RULE_REL, or UNIT_ABS near 0."""
    expect_variable(exercise, given, received)
    value_ok = close(received.value, value, RULE_REL, UNIT_ABS)
    if value_ok and close(received.grad, grad, RULE_REL, UNIT_ABS * max(1.0, abs(seed))):
        return
    wrong, expected = ("grad", grad) if value_ok else ("value", value)
    try:
        off = abs(float(getattr(received, wrong)) / expected - 1.0) if expected else math.inf
    except (TypeError, ValueError, ZeroDivisionError):
        off = math.inf
    if value_ok and 1e-13 < off < 1e-6:  # a grad this close, but no closer, is a numerical derivative's
        hint = (f"the grad is off by {off:.0e} relative: the error of a finite difference. Forward mode applies "
                f"the rule exactly (to about 1e-15): {hint or rule_hint(exercise)}")
    fail(exercise, given, f"value {show(value)}, grad {show(grad)}",
         f"value {show(received.value)}, grad {show(received.grad)}  <- the {wrong} differs by more than "
         f"{RULE_REL:g} relative (or {UNIT_ABS:g} absolute near 0)", hint)


def expect_close(exercise: str, given: str, what: str, received: object, expected: object,
                 hint: str | None = None, rel: float = PROPERTY_REL, abs_: float = PROPERTY_ABS) -> None:
    """One number must match another: ``what`` says which quantity is compared."""
    if not close(received, expected, rel, abs_):
        fail(exercise, given, f"{what} {show(expected)}", f"{what} {show(received)}", hint)


def central_difference(function, x: float, h: float = FD_STEP) -> float:
    """(f(x + h) - f(x - h)) / 2h: the derivative of ``function`` at ``x``, to O(h**2)."""
    return (function(x + h) - function(x - h)) / (2 * h)


def expect_matches_finite_difference(exercise: str, given: str, grad: float, value_function, x: float = 0.0,
                                     hint: str | None = None) -> None:
    """The forward-mode grad must agree with a central difference of the plain value function."""
    expect_matches_difference_quotient(exercise, given, grad, central_difference(value_function, x), hint)


def expect_matches_difference_quotient(exercise: str, given: str, grad: float, estimate: float,
                                       hint: str | None = None) -> None:
    """The forward-mode grad must agree with an already computed central difference (h = FD_STEP)."""
    if not close(grad, estimate, FD_REL, FD_ABS):
        fail(exercise, given, f"grad ~ {show(estimate)} (central finite difference, h={FD_STEP:g})",
             f"grad {show(grad)}", hint)


def expect_unchanged(exercise: str, given: str, operands: list, before: list[tuple], result: object) -> None:
    """Operators must leave their operands alone and return a new Variable."""
    for operand, (value, grad) in zip(operands, before, strict=True):
        if not (close(operand.value, value) and close(operand.grad, grad)):
            fail(exercise, given, f"the operand still Variable({show(value)}, {show(grad)}) afterwards",
                 f"it became {show(operand)}",
                 "compute the result into a new Variable(value, grad); never assign to self.value or other.grad")
        if result is operand:
            fail(exercise, given, "a new Variable", "one of the operands itself",
                 "return Variable(value, grad) instead of modifying and returning self")


# ---------------------------------------------------------------- stage 4: training loops
# Tolerances of the training tests, each with the reason a careful implementation meets it.
# A few exact gradient steps (1 to 3) against a plain-numpy gradient descent: forward mode is exact
# to rounding, so the only differences are the order of the sums (float64: about 1e-16 relative per
# operation, over at most a few hundred operations); 1e-9 leaves seven orders of magnitude, and
# still fails any wrong formula, sum for mean or stale gradient.
STEP_REL = 1e-9
STEP_ABS = 1e-9
# A failing step this close to exact is most likely a finite difference (central differences reach
# about 1e-10 relative at best): the message then says so. Only chooses a hint, never a verdict.
NEAR_MISS_REL = 1e-5
NEAR_MISS_ABS = 1e-7
DIGITS_SHOWN = 6  # significant digits of the numbers in a failing step's message (more where they would look equal)
# Forward mode is linear in its seeds: with every seed scaled by a power of 2 the whole tangent
# computation scales exactly, so a first step's ratio is that power up to the rounding of
# p - lr * g against p (relative 1e-16 * |p| / |lr g|, below 1e-12 for the test's data).
SEED_RATIO_REL = 1e-6
# Convergence: the loops are run long enough (the tests' docstring says why) that the exact
# gradient descent is well inside these, so they test the loop, not its last digits.
FIT_PARAM_ABS = 1e-2  # recovered slope and intercept
FIT_LOSS_REL = 1e-2  # a fitted loss may exceed the optimum's (or the truth's) by 1% at most
FIT_ACCURACY_ABS = 0.01  # one point of accuracy: a sample on the decision boundary may fall either way
# "The loss never increases": a converged loss wobbles by rounding (1e-16 relative to ~0.5).
HISTORY_RISE_ABS = 1e-12
sample_xs = st.floats(-3.0, 3.0, allow_nan=False, allow_infinity=False)
sample_ys = st.floats(-5.0, 5.0, allow_nan=False, allow_infinity=False)
learning_rates = st.floats(0.01, 1.0)
network_values = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)


def real_number(value: object) -> float | None:
    """``value`` as a float when it is a real number the docstrings allow, else None.

    "A float" in a docstring means any real number: ``float`` and ``int``, numpy's real scalars
    (``np.float64`` is even a float subclass) and numpy 0-d arrays of a real dtype. Not bool, not
    complex, not a Variable, not an array of several numbers.
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
        return float(value)
    return None


def significant(expected: float, received: float, digits: int = DIGITS_SHOWN) -> tuple[str, str]:
    """Both numbers to ``digits`` significant digits, or to as many more as it takes to tell them apart."""
    for shown in range(digits, 18):
        a, b = f"{expected:.{shown}g}", f"{received:.{shown}g}"
        if a != b:
            return a, b
    return repr(float(expected)), repr(float(received))


# ---------------------------------------------------------------- how far a long loop got (for timeouts)


def _package_functions(module: types.ModuleType) -> dict[str, types.FunctionType]:
    """The functions in ``module``'s namespace that come from its own kata package (mse, deep_model...)."""
    package = module.__name__.rpartition(".")[0] + "."
    return {name: f for name, f in vars(module).items()
            if inspect.isfunction(f) and (getattr(f, "__module__", None) or "").startswith(package)}


def run_loop(module: types.ModuleType, run, iters: int, unit: str = "iterations"):
    """``run(iters)``, reporting its progress: a timeout then says how many iterations finished.

    A training loop makes the same calls every iteration, so the calls it makes to the functions
    of its own package (your mse, logloss, sigmoid, deep_model and helpers, counted through
    ``module``'s namespace) tell how far it got: ``run(0)`` and ``run(1)`` first measure the
    calls per iteration. Where nothing is counted (a loop calling none of them) the timeout says
    only that time ran out. Errors of the two short runs are left to the real run to raise.
    """
    calls = [0]
    originals = _package_functions(module)

    def counted(function):
        @functools.wraps(function)
        def call(*args, **kwargs):
            calls[0] += 1
            return function(*args, **kwargs)
        return call

    state = {"per_iteration": None, "start": 0, "before_loop": 0, "measuring": True}

    def report() -> Progress | None:
        if state["measuring"]:
            return Progress(0, iters, unit)
        per = state["per_iteration"]
        if not per or per <= 0:
            return None
        done = (calls[0] - state["start"] - state["before_loop"]) // per
        return Progress(max(0, min(iters, done)), iters, unit, time.process_time() - state["started"])

    for name, function in originals.items():
        setattr(module, name, counted(function))
    try:
        with progress(report):
            try:
                before = calls[0]
                run(0)
                state["before_loop"] = calls[0] - before
                before = calls[0]
                run(1)
                state["per_iteration"] = calls[0] - before - state["before_loop"]
            except NotImplementedError:
                raise
            except Exception:  # noqa: BLE001 - the real run below raises it again, where the test expects it
                state["per_iteration"] = None
            state.update(measuring=False, start=calls[0], started=time.process_time())
            return run(iters)
    finally:
        for name, function in originals.items():
            setattr(module, name, function)
# ---------------------------------------------------------------- stages 5 and 6: tangents on arrays
# A grad holding P tangents has shape (P,) + value.shape. The exact values of stage 5 are the
# same elementwise rules as stage 1 applied to arrays: EXACT_REL and EXACT_ABS hold them. Two
# looser tolerances, each with its reason:
AGREE_REL = 1e-9  # one array pass against P x n scalar passes of the same expression: the same
AGREE_ABS = 1e-12  # formulas in another order (numpy against math), a few roundings apart
L2_LOSS_REL = 1e-6  # the figure: gradient descent's final L2 loss against scikit-learn's optimum
MOONS_ACCURACY = 0.95  # the figure: held-out accuracy of the tanh network on make_moons


def shape_of(x: object) -> tuple[int, ...]:
    return tuple(np.shape(x))


TANGENT_AXIS_HINT = ("every operation keeps the tangent axis in front: shape (P,) + value.shape; numpy's broadcasting "
                     "lines shapes up from the right, so the tangent axis must be moved out of the way first")
DROPPED_TANGENTS_HINT = ("a grad of shape () is one number, the same for every tangent: P tangents that happen to be "
                         "zero are still P tangents, of shape (P,) + the value's shape; keep the axis even where "
                         "every entry is 0")
WHOLE_TANGENTS_HINT = ("P tangents are kept whole, shape (P,) + value.shape, not a shape that only broadcasts to it: "
                       "after moving the tangent axis out of the way, np.broadcast_to the grad to (P,) + the result's "
                       "shape (x[i], x.sum() and @ read every entry of every tangent)")


def broadcasts(grad: object, shape: tuple[int, ...]) -> bool:
    """True when numpy broadcasts ``grad`` to ``shape`` (lining shapes up from the right, as it always does)."""
    try:
        np.broadcast_to(np.asarray(grad, dtype=float), shape)
    except (TypeError, ValueError):
        return False
    return True


def expect_tangents(exercise: str, given: str, received: object, value: object, tangents: np.ndarray,
                    hint: str | None = None, rel: float = EXACT_REL, abs_: float = EXACT_ABS,
                    one: bool = False) -> None:
    """The result must be a Variable with this value and these P tangents, its grad of shape (P,) + value.shape.

    A scalar result whose tangents are all 0 may carry the number 0 as its grad (a constant). With
    ``one``, ``tangents`` is ONE tangent shaped like the value, and the grad may be it without the
    tangent axis (stages 1-4's form: shaped like the value, or a number or smaller array that
    broadcasts to it) or with an axis of 1 in front.
    """
    expect_variable(exercise, given, received)
    tangents = np.asarray(tangents, dtype=float)
    if one:
        tangents = tangents[np.newaxis]
    expected_shape = shape_of(tangents)
    if not close(received.value, value, rel, abs_) or shape_of(received.value) != shape_of(value):
        fail(exercise, given, f"value {np.array2string(np.asarray(value), precision=10)}",
             f"value {np.array2string(np.asarray(received.value), precision=10)} "
             f"(shape {shape_of(received.value)})", hint)
    grad = received.grad
    if shape_of(grad) != expected_shape:
        without_axis = one and np.ndim(grad) <= len(expected_shape) - 1 and broadcasts(grad, expected_shape[1:])
        constant_zero = shape_of(grad) == () and not np.any(tangents) and shape_of(value) == ()
        if not (without_axis or constant_zero):
            smaller = np.ndim(grad) == len(expected_shape) and broadcasts(grad, expected_shape)
            wanted = ("one tangent of the value's shape, without a tangent axis (or with one of length 1)" if one
                      else f"{expected_shape[0]} tangent(s) of a value of shape {expected_shape[1:]}, the tangent "
                           "axis first")
            dropped = shape_of(grad) == () and not one
            fail(exercise, given, f"a grad of shape {expected_shape}: {wanted}", f"a grad of shape {shape_of(grad)}",
                 DROPPED_TANGENTS_HINT if dropped else WHOLE_TANGENTS_HINT if smaller else TANGENT_AXIS_HINT)
        grad = np.broadcast_to(np.asarray(grad, dtype=float), expected_shape)
    if not close(grad, tangents, rel, abs_):
        wrong = np.argwhere(~np.isclose(np.asarray(grad, dtype=float), tangents, rtol=rel, atol=abs_))
        first = tuple(int(i) for i in wrong[0]) if len(wrong) else ()
        fail(exercise, given, f"tangents {np.array2string(tangents, precision=10)}",
             f"tangents {np.array2string(np.asarray(grad, dtype=float), precision=10)}"
             + (f"  <- first difference at tangent {first[0]}, entry {first[1:]}" if first else ""), hint)


def tangent_arrays(shape: tuple[int, ...], elements=None):
    """A hypothesis strategy of float arrays of ``shape`` (values or tangents): a list of floats, reshaped
    (several times faster to draw than hypothesis.extra.numpy's arrays)."""
    size = int(np.prod(shape))
    floats = elements if elements is not None else st.floats(-3.0, 3.0)
    return st.lists(floats, min_size=size, max_size=size).map(lambda v: np.array(v, dtype=float).reshape(shape))


# ---------------------------------------------------------------- stage 7: second order
# Nested derivatives of a polynomial: each term rounds once per operation, so the error is a few
# eps times the size of the terms (the polynomial of |c| at |x|), never of the result alone, which
# may cancel to 0.
POLYNOMIAL_REL = 1e-10
NEWTON_LOSS_ABS = 1e-8  # the figure: Newton's mean log loss within 1e-8 of scikit-learn's optimum
NEWTON_ITERATIONS = 10  # ... in at most 10 steps from (0, 0); it takes 6 on the post's data


# ---------------------------------------------------------------- stage 8: reverse mode
# Reverse mode's results are numbers as real_number defines them; these two extend that one
# definition to the containers stage 8 returns: a history of losses, and jacrev's matrix.


def real_numbers(values: object) -> list[float] | None:
    """``values`` as a list of floats when it is a list, a tuple or a 1-d numpy array of real numbers, else None."""
    if isinstance(values, np.ndarray):
        values = list(values) if values.ndim == 1 else None
    if not isinstance(values, (list, tuple)):
        return None
    found = [real_number(v) for v in values]
    return None if None in found else found


def real_array(value: object, shape: tuple[int, ...]) -> np.ndarray | None:
    """``value`` as a float array when it is a numpy array of ``shape`` with a real dtype, else None.

    Real dtypes are real_number's: integers and floats; not bool, complex, or objects (Nodes, say).
    """
    if isinstance(value, np.ndarray) and value.shape == shape and value.dtype.kind in "iuf":
        return value.astype(float)
    return None


@contextlib.contextmanager
def methods_replaced(cls: type, **methods):
    """While active, ``cls`` has ``methods`` as its own; afterwards exactly what it had (inherited ones included)."""
    saved = {name: cls.__dict__[name] for name in methods if name in cls.__dict__}
    for name, method in methods.items():
        setattr(cls, name, method)
    try:
        yield
    finally:
        for name in methods:
            if name in saved:
                setattr(cls, name, saved[name])
            else:
                delattr(cls, name)

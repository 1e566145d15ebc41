"""Stage 7 tests: derivatives of derivatives (katas/second_order.py, and back in variable.py and primitives.py).

- nested: ``Variable(Variable(x, 1), Variable(1, 0))`` through your own operators and
  primitives carries f(x), f'(x) twice (one per level) and f''(x): exact values from the closed
  forms, and central differences of the closed-form first derivative; ONE evaluation of f on x
  perturbed twice (counted: differences of first derivatives are no answer); nested Variables
  holding arrays (elementwise, broadcast against constants, x[i], x.sum(), @), seeded as hvp seeds them.
  When your code is not generic (math.exp or float() on a value that is a Variable), the
  failure shows the line.
- derivative: exact first, second and third derivatives; perturbation confusion (the classic
  d/dx [x * d/dy (x + y)] = 1, which naive nesting gets as 2, and its cousins); one evaluation
  of f per call; a hypothesis property nesting derivative three deep on random polynomials
  against numpy's exact polyder. Tags are checked through their effect, never read: inner
  derivatives evaluated at the outer perturbed point of f's that are not symmetric (two and three
  levels, and random polynomials), a perturbation that escapes its call in a closure and is
  differentiated later, one that outlives its call inside f's result, and sibling calls.
- hessian: hvp and hessian against closed-form Hessians and central differences of the
  closed-form gradients; hvp evaluates f once (counted); the Hessian's symmetry as a property;
  a matrix-shaped x (entries in C order).
- newton: exact Newton steps against a numpy Newton; scikit-learn's unpenalised optimum
  (C = inf) within NEWTON_LOSS_ABS in at most NEWTON_ITERATIONS steps on stage 4's data; the
  steps follow your forward mode's seeds (4 times larger seeds, a step 4 times smaller: g
  grows with one level of seeds, H with two), whichever route g and H take.

A result that is a number may be a float, a numpy scalar or a 0-d array (``checks.real_number``).

Expected values come from math, numpy and scikit-learn, never from your other functions: the
finite differences of hessian's tests differentiate the tests' own closed-form gradients, not
your stage-5 gradient, so a slip there cannot fail (or pass) this stage.
"""

from __future__ import annotations

import math
import traceback
from pathlib import Path

import numpy as np
import pytest
from checks import (
    EXACT_ABS,
    EXACT_REL,
    FD_STEP,
    NEWTON_ITERATIONS,
    NEWTON_LOSS_ABS,
    POLYNOMIAL_REL,
    PROPERTY_ABS,
    PROPERTY_REL,
    SEED_RATIO_REL,
    STEP_ABS,
    STEP_REL,
    close,
    expect_close,
    expect_dual,
    expect_error,
    expect_matches_difference_quotient,
    fail,
    real_number,
    show,
    tangent_arrays,
)
from hypothesis import given
from hypothesis import strategies as st
from sklearn_oracle import dataset_column, logistic_regression
from test_training import (
    SEED_SCALE,
    expect_pair,
    mean_logloss,
    post_data,
    runs_on_a_variable,
    seeds_scaled,
    sigmoid,
    standardise,
)

# ---------------------------------------------------------------- failures that name the line

GENERIC_HINT = ("value and grad are Variables now: apply every rule with Variable operations, and where a "
                "primitive needs f(u.value), call your own primitive on it (the rule one level down)")
MATH_HINT = ("math's functions (and float()) take one plain number, and u.value is a Variable here: when "
             "u.value is a Variable, call your own primitive on it (exp(u.value), log(u.value)...), so the "
             "same rule applies one level down")
NUMPY_HINT = ("numpy's functions do not know Variables: when u.value is a Variable, call your own primitive "
              "on it instead, so the same rule applies one level down")
COMPARE_HINT = ("a Variable has no order: compare the innermost number (x.value.value...), or let the check "
                "happen one level down by calling your own primitive on u.value")
SECOND_ORDER_HINT = ("every factor of the rule is a Variable now, and each product of them applies the product "
                     "rule one level down: that is where the second derivative comes from. A factor taken as a "
                     "plain number (x.value.value, float(...)) drops it")


def kata_files(kata) -> set[str]:
    """The files of the target's modules: a traceback's frames there are the learner's code."""
    return {str(Path(m.__file__).resolve()) for m in vars(kata).values() if getattr(m, "__file__", None)}


def run(kata, exercise: str, given_: str, thunk):
    """thunk(), failing with the line of your code that raised (a stub's NotImplementedError passes)."""
    try:
        return thunk()
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error of the learner's code on nested Variables
        files = kata_files(kata)
        frames = [f for f in traceback.extract_tb(exc.__traceback__) if str(Path(f.filename).resolve()) in files]
        where, line = "", ""
        if frames:
            frame = frames[-1]
            line = (frame.line or "").strip()
            where = f"\n    at {Path(frame.filename).name}, line {frame.lineno}, in {frame.name}: {line}"
        text = str(exc)
        if "math." in line or "float(" in line or "must be real number" in text or "float() argument" in text:
            hint = MATH_HINT
        elif "does not support ufuncs" in text or "np." in line:
            hint = NUMPY_HINT
        elif "not supported between" in text or "truth value" in text:
            hint = COMPARE_HINT
        else:
            hint = GENERIC_HINT
        fail(exercise, given_, "a result", f"{type(exc).__name__}: {text[:300]}{where}", hint)


# ---------------------------------------------------------------- nested: the four parts of a nested result


def parts(result) -> tuple[object, object, object, object]:
    """(f, f' along the inner perturbation, f' along the outer one, f'') of a nested result.

    A level that is a plain number (or array) rather than a Variable is a constant there: its
    tangent is 0.
    """
    def split(u):
        return (u.value, u.grad) if hasattr(u, "value") and hasattr(u, "grad") else (u, 0.0)

    value, grad = split(result)
    f, inner = split(value)
    outer, second = split(grad)
    return f, inner, outer, second


def expect_parts(exercise: str, given_: str, result, expected: tuple, hint: str | None = None,
                 rel: float = EXACT_REL, abs_: float = EXACT_ABS) -> None:
    """The four parts of a nested result must match (shapes too, where they are arrays)."""
    if not (hasattr(result, "value") and hasattr(result, "grad")):
        fail(exercise, given_, "a Variable", f"{type(result).__name__}: {result!r}"[:300],
             "return Variable(value, grad), whose value and grad are Variables one level down")
    names = ("value f", "f' along the inner perturbation (result.value.grad)",
             "f' along the outer perturbation (result.grad.value)", "the second derivative (result.grad.grad)")
    hints = (GENERIC_HINT, GENERIC_HINT, GENERIC_HINT, SECOND_ORDER_HINT)
    for name, got, want, level_hint in zip(names, parts(result), expected, hints, strict=True):
        want = np.asarray(want, dtype=float)
        if hasattr(got, "value") and hasattr(got, "grad"):
            fail(exercise, given_, f"{name}: a number or array", f"a Variable three levels deep: {show(got)}"[:300],
                 "a nested result has two levels: Variable(Variable(f, f'), Variable(f', f''))")
        shape_ok = np.ndim(got) == 0 and not np.any(want) or np.shape(got) == want.shape
        if not (shape_ok and close(got, want, rel, abs_)):
            fail(exercise, given_, f"{name} {np.array2string(want, precision=10)}",
                 f"{np.array2string(np.asarray(got, dtype=float), precision=10)} (shape {np.shape(got)})",
                 hint or level_hint)


def expect_array(exercise: str, given_: str, what: str, got: object, expected: np.ndarray, hint: str | None = None,
                 rel: float = EXACT_REL, abs_: float = EXACT_ABS) -> None:
    """An array of this shape and these entries."""
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        fail(exercise, given_, f"{what}: an array of numbers", f"{type(got).__name__}: {got!r}"[:300],
             "return a numpy array of floats, not Variables")
    if array.shape != expected.shape or not close(array, expected, rel, abs_):
        fail(exercise, given_, f"{what} {np.array2string(expected, precision=10)} (shape {expected.shape})",
             f"{np.array2string(array, precision=10)} (shape {array.shape})", hint)


def nested_scalar(V, x: float, outer_as_variable: bool):
    """x perturbed twice: Variable(Variable(x, 1), Variable(1, 0)), or with the outer grad the number 1."""
    return V(V(x, 1.0), V(1.0, 0.0) if outer_as_variable else 1.0)


def _scalar_cases():
    s = 1.0 / (1.0 + math.exp(-0.8))
    sn = 1.0 / (1.0 + math.exp(3.0))
    t = math.tanh(0.6)
    s3 = 1.0 / (1.0 + math.exp(-0.3))
    uu, lu = 1.5**3.0, 2.0 * math.log(1.5) + 2.0  # u ** (2 u) at 1.5, and the derivative of its exponent 2 u ln(u)
    return [
        # description, f(u, primitives), x, f(x), f'(x), f''(x), hint
        ("u ** 3", lambda u, p: u**3, 2.0, 8.0, 12.0, 12.0,
         "u ** 3 is n u**(n-1) u': with u a Variable, u ** 2 and the product are Variable operations"),
        ("u * u * u", lambda u, p: u * u * u, -1.5, -3.375, 6.75, -9.0, SECOND_ORDER_HINT),
        ("1 / u", lambda u, p: 1.0 / u, 0.5, 2.0, -4.0, 16.0, "the quotient rule with Variables: (u'v - uv') / v**2"),
        ("u * exp(-u)", lambda u, p: u * p.exp(-u), 1.2, 1.2 * math.exp(-1.2), -0.2 * math.exp(-1.2),
         -0.8 * math.exp(-1.2), None),
        ("exp(u)", lambda u, p: p.exp(u), 0.5, math.exp(0.5), math.exp(0.5), math.exp(0.5), None),
        ("exp(2 u)", lambda u, p: p.exp(2.0 * u), -0.25, math.exp(-0.5), 2 * math.exp(-0.5), 4 * math.exp(-0.5), None),
        ("log(u)", lambda u, p: p.log(u), 2.5, math.log(2.5), 0.4, -0.16, None),
        ("sigmoid(u)", lambda u, p: p.sigmoid(u), 0.8, s, s * (1 - s), s * (1 - s) * (1 - 2 * s), None),
        ("sigmoid(u) at u = -3", lambda u, p: p.sigmoid(u), -3.0, sn, sn * (1 - sn), sn * (1 - sn) * (1 - 2 * sn), None),
        ("tanh(u)", lambda u, p: p.tanh(u), 0.6, t, 1 - t * t, -2 * t * (1 - t * t), None),
        ("tanh(u) ** 2", lambda u, p: p.tanh(u) ** 2, 0.6, t * t, 2 * t * (1 - t * t), 2 * (1 - t * t) * (1 - 3 * t * t),
         None),
        ("log(sigmoid(u))", lambda u, p: p.log(p.sigmoid(u)), 0.3, math.log(s3), 1 - s3, -s3 * (1 - s3), None),
        ("relu(u) * u", lambda u, p: p.relu(u) * u, 1.5, 2.25, 3.0, 2.0, None),
        ("relu(u) * u at u = -1", lambda u, p: p.relu(u) * u, -1.0, 0.0, 0.0, 0.0, None),
        ("relu(u) at u = 0", lambda u, p: p.relu(u), 0.0, 0.0, 0.0, 0.0,
         "relu's step is 0 at exactly u = 0, as in stage 2: compare the innermost number with > 0"),
        ("2 ** u", lambda u, p: 2.0**u, 1.5, 2**1.5, math.log(2) * 2**1.5, math.log(2) ** 2 * 2**1.5, None),
        ("u ** (2 u)", lambda u, p: u ** (2.0 * u), 1.5, uu, uu * lu, uu * (lu * lu + 2 / 1.5),
         "a ** b with a varying exponent adds a^b ln(a) b': where a is a Variable, ln(a) is your own log one level "
         "down (self.value.log())"),
    ]


SCALAR_CASES = _scalar_cases()
SCALAR_IDS = [c[0] for c in SCALAR_CASES]


@pytest.mark.exercise("nested")
@pytest.mark.parametrize("outer_as_variable", [True, False], ids=["outer-Variable", "outer-number"])
@pytest.mark.parametrize("description, f, x, value, first, second, hint", SCALAR_CASES, ids=SCALAR_IDS)
def test_nested_second_derivative_exact(kata, description, f, x, value, first, second, hint, outer_as_variable):
    given_ = f"second_derivative({description}, {x})"
    got = run(kata, "nested", given_, lambda: kata.second_order.second_derivative(lambda u: f(u, kata.primitives), x))
    expect_second(given_, got, second, hint)
    X = nested_scalar(kata.Variable, x, outer_as_variable)
    given_ = f"{description} at {show(X)}"
    result = run(kata, "nested", given_, lambda: f(X, kata.primitives))
    expect_parts("nested", given_, result, (value, first, first, second), hint)


def expect_a_number(exercise: str, given_: str, got: object, expected: str, hint: str) -> float:
    """``got`` as a float when it is a number (``checks.real_number``: a float, a numpy scalar or a 0-d array)."""
    number = real_number(got)
    if number is None:
        fail(exercise, given_, expected, f"{type(got).__name__}: {show(got)}"[:300], hint)
    return number


def second_as_number(given_: str, got: object, expected: object) -> float:
    """second_derivative's answer at a number x: one number."""
    hint = ("f(X) is Variable(Variable(f, f'), Variable(f', f'')): return the grad of its grad, a number"
            if hasattr(got, "value") and hasattr(got, "grad") else
            "at a number x, f'' is one number (a float, a numpy scalar or a 0-d array)")
    return expect_a_number("nested", given_, got, f"the number {show(expected)}", hint)


def expect_second(given_: str, got: object, expected: float, hint: str | None = None) -> None:
    """second_derivative's answer at a number x: the number ``expected``."""
    expect_close("nested", given_, "f''", second_as_number(given_, got, expected), expected, hint or SECOND_ORDER_HINT,
                 rel=EXACT_REL, abs_=EXACT_ABS)


def _first_derivatives():
    return {  # the closed-form first derivative of each scalar case, for the finite differences
        "u ** 3": lambda x: 3 * x * x,
        "u * exp(-u)": lambda x: (1 - x) * math.exp(-x),
        "log(u)": lambda x: 1 / x,
        "sigmoid(u)": lambda x: sigmoid(x) * (1 - sigmoid(x)),
        "tanh(u)": lambda x: 1 - math.tanh(x) ** 2,
        "exp(2 u)": lambda x: 2 * math.exp(2 * x),
        "log(sigmoid(u))": lambda x: 1 - sigmoid(x),
        "u ** (2 u)": lambda x: x ** (2 * x) * (2 * math.log(x) + 2),
    }


FIRST = _first_derivatives()
FD_CASES = [c for c in SCALAR_CASES if c[0] in FIRST]


@pytest.mark.exercise("nested")
@pytest.mark.parametrize("description, f, x, value, first, second, hint", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_nested_second_derivative_finite_difference(kata, description, f, x, value, first, second, hint):
    given_ = f"second_derivative({description}, {x}) against central differences of the exact f'"
    got = run(kata, "nested", given_, lambda: kata.second_order.second_derivative(lambda u: f(u, kata.primitives), x))
    derivative_of = FIRST[description]
    estimate = (derivative_of(x + FD_STEP) - derivative_of(x - FD_STEP)) / (2 * FD_STEP)
    expect_matches_difference_quotient("nested", given_, second_as_number(given_, got, estimate), estimate,
                                       SECOND_ORDER_HINT)


@pytest.mark.exercise("nested")
@pytest.mark.parametrize("x", [1.5, np.array([0.5, 1.5, 2.5])], ids=["number", "array"])
def test_second_derivative_evaluates_f_once_on_x_perturbed_twice(kata, x):
    seen = []

    def f(u):
        seen.append(u)
        return u * u * u

    given_ = f"second_derivative(u -> u * u * u, {np.asarray(x).tolist()}), watching the calls of f"
    got = run(kata, "nested", given_, lambda: kata.second_order.second_derivative(f, x))
    nested = all(hasattr(u, "value") and hasattr(u.value, "value") and hasattr(u.value, "grad") for u in seen)
    if len(seen) != 1 or not nested:
        fail("nested", given_, "exactly 1 evaluation of f, on x perturbed twice (a Variable whose value is a Variable)",
             f"{len(seen)} evaluation(s), on {sorted({type(getattr(u, 'value', u)).__name__ for u in seen})} values",
             "seed Variable(Variable(x, 1.0), Variable(1.0, 0.0)) and evaluate f once: differences of first "
             "derivatives cost several evaluations and are only approximations")
    expect_array("nested", given_, "f''", got, 6.0 * np.asarray(x, dtype=float), SECOND_ORDER_HINT)


@pytest.mark.exercise("nested")
@pytest.mark.parametrize("x", [2.0, np.array([0.5, -1.0, 2.0])], ids=["number", "array"])
def test_second_derivative_of_an_f_that_ignores_x_is_0(kata, x):
    """f'' of an f that returns a plain number is 0: at an array x, the number 0 or zeros shaped like x."""
    given_ = f"second_derivative(u -> 3.0, {np.asarray(x).tolist()})"
    got = run(kata, "nested", given_, lambda: kata.second_order.second_derivative(lambda u: 3.0, x))
    hint = ("f may return a plain number: a level that is no Variable does not curve, its f'' is 0 (at an array x, "
            "the number 0 or zeros shaped like x)")
    if np.ndim(x) and real_number(got) is None:
        expect_array("nested", given_, "f'' (or the number 0)", got, np.zeros(np.shape(x)), hint)
    else:
        expect_second(given_, got, 0.0, hint)


@pytest.mark.exercise("nested")
def test_nested_second_derivative_bad_input(kata):
    expect_error("nested", "second_derivative(3, 1.0)", TypeError, lambda: kata.second_order.second_derivative(3, 1.0),
                 "TypeError (f must be a function)", "keep the ready-made check_function(f)",
                 "second_derivative(f, x) needs a function: keep the ready-made check_function(f)")
    expect_error("nested", "second_derivative(u -> u * u, 'x')", TypeError,
                 lambda: kata.second_order.second_derivative(lambda u: u * u, "x"), "TypeError (x must be numbers)",
                 "check x with as_point(x, 'x') when it is no plain number",
                 "x is a number or an array of numbers: as_point(x, 'x') raises TypeError for anything else")


@pytest.mark.exercise("nested")
@pytest.mark.parametrize("primitive", ["log", "exp", "sigmoid", "tanh", "relu"])
def test_nested_three_levels(kata, primitive):
    """Three levels: Variable(Variable(Variable(x, 1), 1), Variable(1, 0)) carries the third derivative too."""
    V, x = kata.Variable, 0.7
    X = V(V(V(x, 1.0), V(1.0, 0.0)), V(V(1.0, 0.0), V(0.0, 0.0)))
    s, t, e = sigmoid(x), math.tanh(x), math.exp(x)
    third = {"log": 2 / x**3, "exp": e, "sigmoid": s * (1 - s) * (1 - 6 * s + 6 * s * s),
             "tanh": -2 * (1 - t * t) * (1 - 3 * t * t), "relu": 0.0}[primitive]
    given_ = f"{primitive}(x) at x = {x}, perturbed at three levels"
    result = run(kata, "nested", given_, lambda: getattr(kata.primitives, primitive)(X))
    got = result
    for _ in range(3):
        got = got.grad if hasattr(got, "grad") else 0.0
    hint = "each level applies the rule one level further down: call your own primitive on u.value"
    got = expect_a_number("nested", given_, got, f"third derivative (result.grad.grad.grad) {show(third)}", hint)
    expect_close("nested", given_, "third derivative (result.grad.grad.grad)", got, third, hint,
                 rel=EXACT_REL, abs_=EXACT_ABS)


# ---------------------------------------------------------------- functions of a vector, with closed-form derivatives

X3 = np.array([0.5, 1.5, 2.5])
V3 = np.array([1.0, -2.0, 0.5])
S = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.0, 1.0, -2.0]])  # square, not symmetric
W2 = np.array([[2.0, 0.0, -1.0], [1.0, 3.0, 0.5]])  # (2, 3)
W = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])  # (3, 2)
M = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])  # (2, 3)


def _d_sigmoid(x, k):
    s = sigmoid(x)
    return [s, s * (1 - s), s * (1 - s) * (1 - 2 * s)][k]


def _d_tanh(x, k):
    t = np.tanh(x)
    return [t, 1 - t * t, -2 * t * (1 - t * t)][k]


def _exp_sum_times(x):
    e = np.exp(x)
    grad = e * x[1] + np.array([0.0, e.sum(), 0.0])
    hess = np.diag(e * x[1])
    hess[:, 1] += e
    hess[1, :] += e
    return e.sum() * x[1], grad, hess


def _sum_x_plus_m(x):
    return (x + M).sum(), 2 * np.ones(3), np.zeros((3, 3))


def _functions():
    """name, f on your Variable (p: your primitives), and at a numpy x: (value, gradient, Hessian)."""
    c_w2, c_w = W2.sum(axis=0), W.sum(axis=1)
    return [
        ("(u ** 3).sum()", lambda u, p: (u**3).sum(),
         lambda x: ((x**3).sum(), 3 * x**2, np.diag(6 * x))),
        ("u[0] * u[2] + u[1] ** 2", lambda u, p: u[0] * u[2] + u[1] ** 2,
         lambda x: (x[0] * x[2] + x[1] ** 2, np.array([x[2], 2 * x[1], x[0]]),
                    np.array([[0.0, 0, 1], [0, 2, 0], [1, 0, 0]]))),
        ("u @ (S @ u)", lambda u, p: u @ (S @ u),
         lambda x: (x @ S @ x, (S + S.T) @ x, S + S.T)),
        ("(W2 @ tanh(u)).sum()", lambda u, p: (W2 @ p.tanh(u)).sum(),
         lambda x: ((W2 @ np.tanh(x)).sum(), c_w2 * _d_tanh(x, 1), np.diag(c_w2 * _d_tanh(x, 2)))),
        ("(sigmoid(u) @ W).sum()", lambda u, p: (p.sigmoid(u) @ W).sum(),
         lambda x: ((sigmoid(x) @ W).sum(), c_w * _d_sigmoid(x, 1), np.diag(c_w * _d_sigmoid(x, 2)))),
        ("exp(u).sum() * u[1]", lambda u, p: p.exp(u).sum() * u[1], _exp_sum_times),
        ("(log(u) * M).sum()", lambda u, p: (p.log(u) * M).sum(),
         lambda x: ((np.log(x) * M).sum(), M.sum(axis=0) / x, np.diag(-M.sum(axis=0) / x**2))),
        ("(u + M).sum()", lambda u, p: (u + M).sum(), _sum_x_plus_m),
        ("relu(u - 1).sum() * u[0]", lambda u, p: p.relu(u - 1.0).sum() * u[0],
         lambda x: (np.maximum(x - 1, 0).sum() * x[0],
                    (x > 1) * x[0] + np.array([np.maximum(x - 1, 0).sum(), 0, 0]),
                    np.array([[2.0 * (x[0] > 1), x[1] > 1, x[2] > 1], [x[1] > 1, 0, 0], [x[2] > 1, 0, 0]]))),
    ]


FUNCTIONS = _functions()
FUNCTION_IDS = [c[0] for c in FUNCTIONS]


def seeded_twice(V, x: np.ndarray, v: np.ndarray, outer_as_variable: bool):
    """x with n one-hot tangents inside (the gradient's) and the direction v outside, as hvp seeds it."""
    n = x.size
    inner = V(x, np.eye(n).reshape((n,) + x.shape))
    return V(inner, V(v, 0.0) if outer_as_variable else v)


@pytest.mark.exercise("nested")
@pytest.mark.parametrize("outer_as_variable", [True, False], ids=["outer-Variable", "outer-array"])
@pytest.mark.parametrize("description, f, closed_form", FUNCTIONS, ids=FUNCTION_IDS)
def test_nested_arrays_exact(kata, description, f, closed_form, outer_as_variable):
    X = seeded_twice(kata.Variable, X3, V3, outer_as_variable)
    given_ = (f"{description} at Variable(Variable(x, np.eye(3)), {'Variable(v, 0)' if outer_as_variable else 'v'}) "
              f"with x = {X3.tolist()}, v = {V3.tolist()}")
    result = run(kata, "nested", given_, lambda: f(X, kata.primitives))
    value, grad, hess = closed_form(X3)
    expect_parts("nested", given_, result, (value, grad, grad @ V3, hess @ V3),
                 "at the outer level a grad that is a Variable (or an array) is ONE tangent shaped like the "
                 "value: x[i], x.sum() and @ treat it like the value (broadcast it to the value's shape "
                 "first), and lined_up leaves an operand whose value is a Variable as it is")


ELEMENTWISE = [
    # description, f, f(x), f'(x), f''(x) entry by entry
    ("exp(u)", lambda u, p: p.exp(u), np.exp(X3), np.exp(X3), np.exp(X3)),
    ("u * u * u", lambda u, p: u * u * u, X3**3, 3 * X3**2, 6 * X3),
    ("tanh(u) * 2", lambda u, p: p.tanh(u) * 2.0, 2 * np.tanh(X3), 2 * _d_tanh(X3, 1), 2 * _d_tanh(X3, 2)),
    ("log(u) / u", lambda u, p: p.log(u) / u, np.log(X3) / X3, (1 - np.log(X3)) / X3**2,
     (2 * np.log(X3) - 3) / X3**3),
]


@pytest.mark.exercise("nested")
@pytest.mark.parametrize("description, f, value, first, second", ELEMENTWISE, ids=[c[0] for c in ELEMENTWISE])
def test_nested_arrays_elementwise(kata, description, f, value, first, second):
    given_ = f"second_derivative({description}, x = {X3.tolist()}), entry by entry"
    got = run(kata, "nested", given_, lambda: kata.second_order.second_derivative(lambda u: f(u, kata.primitives), X3))
    expect_array("nested", given_, "f'' entry by entry", got, second,
                 "at an array x, Variable(Variable(x, 1.0), Variable(1.0, 0.0)) perturbs every entry at once")
    X = seeded_twice(kata.Variable, X3, V3, True)
    given_ = f"{description} at Variable(Variable(x, np.eye(3)), Variable(v, 0)) with x = {X3.tolist()}, v = {V3.tolist()}"
    result = run(kata, "nested", given_, lambda: f(X, kata.primitives))
    expect_parts("nested", given_, result, (value, np.diag(first), V3 * first, np.diag(V3 * second)))


# ---------------------------------------------------------------- derivative

TAG_HINT = ("the inner derivative read the outer perturbation as its own: give each call of the derivative function "
            "a new tag (new_tag()), seed Tagged(x, 1.0, tag), let apply_tagged work at the newest tag's level "
            "(other operands are constants there), and return the tangent along your own tag only")


def is_number(x: object) -> bool:
    return real_number(x) is not None


def expect_number(exercise: str, given_: str, got: object, expected: float, hint: str | None = None,
                  rel: float = EXACT_REL, abs_: float = EXACT_ABS) -> None:
    """A derivative at a plain number is a plain number (no Variable) equal to ``expected``."""
    if not is_number(got):
        shape_hint = ("at a plain number x, derivative(f)(x) is the number f'(x): the tangent of f's result along "
                      "your tag, with the tag's level taken off")
        if real_number(getattr(got, "grad", None)) == 0:
            hint = ("a Variable with grad 0 is a plain constant wrapped one level too deep: in apply_tagged, a "
                    "constant (tag 0, grad 0, such as the exponent of u ** 3) enters as its bare value")
        expect_a_number(exercise, given_, got, f"the number {show(expected)}", hint or shape_hint)
    expect_close(exercise, given_, "derivative", real_number(got), expected, hint, rel=rel, abs_=abs_)


def derive(kata, f, times: int):
    """derivative applied ``times`` times to f(u, primitives)."""
    g = lambda u: f(u, kata.primitives)  # noqa: E731
    for _ in range(times):
        g = kata.second_order.derivative(g)
    return g


@pytest.mark.exercise("derivative")
@pytest.mark.parametrize("times", [1, 2], ids=["first", "second"])
@pytest.mark.parametrize("description, f, x, value, first, second, hint", SCALAR_CASES, ids=SCALAR_IDS)
def test_derivative_exact(kata, description, f, x, value, first, second, hint, times):
    name = "derivative(" * times + description + ")" * times
    given_ = f"{name} at {x}"
    got = run(kata, "derivative", given_, lambda: derive(kata, f, times)(x))
    expect_number("derivative", given_, got, first if times == 1 else second)


def _confusions():
    return [
        # description, thunk(derivative, primitives), expected, naive nesting's answer
        ("d/dx [x * d/dy (x + y) at y = 1] at x = 1",
         lambda d, p: d(lambda x: x * d(lambda y: x + y)(1.0))(1.0), 1.0, 2.0),
        ("d/dx [x * d/dy (x * y) at y = 1] at x = 2",
         lambda d, p: d(lambda x: x * d(lambda y: x * y)(1.0))(2.0), 4.0, 3.0),
        ("d/dx [d/dy (x * y) at y = 1] at x = 1.5, the mixed partial of x y",
         lambda d, p: d(lambda x: d(lambda y: x * y)(1.0))(1.5), 1.0, 0.0),
        ("d/dx [x * d/dy [y * d/dz (x * y * z) at z = 1] at y = 1] at x = 0.5",
         lambda d, p: d(lambda x: x * d(lambda y: y * d(lambda z: x * y * z)(1.0))(1.0))(0.5), 2.0, None),
        ("d/dx [x * d/dy x at y = 1] at x = 2: x does not move with y",
         lambda d, p: d(lambda x: x * d(lambda y: x)(1.0))(2.0), 0.0, 1.0),
        ("d/dx exp(x * d/dy exp(x * y) at y = 0) at x = 0.5",
         lambda d, p: d(lambda x: p.exp(x * d(lambda y: p.exp(x * y))(0.0)))(0.5), math.exp(0.25), None),
        ("d2/dx2 [x ** 3 * (1 + d/dy x at y = 1)] at x = 2: x, perturbed twice, does not move with y",
         lambda d, p: d(d(lambda x: x**3 * (1.0 + d(lambda y: x)(1.0))))(2.0), 12.0, None),
    ]


CONFUSIONS = _confusions()


@pytest.mark.exercise("derivative")
@pytest.mark.parametrize("description, thunk, expected, naive", CONFUSIONS, ids=[c[0] for c in CONFUSIONS])
def test_derivative_perturbation_confusion(kata, description, thunk, expected, naive):
    got = run(kata, "derivative", description, lambda: thunk(kata.second_order.derivative, kata.primitives))
    hint = TAG_HINT
    if naive is not None and is_number(got) and close(real_number(got), naive):
        hint = f"{naive:g} is what naive nesting gives (perturbation confusion): {TAG_HINT}"
    expect_number("derivative", description, got, expected, hint)


@pytest.mark.exercise("derivative")
def test_derivative_tags_are_made_per_call(kata):
    """A derivative function built BEFORE the outer perturbation exists, closing over it through a holder.

    d/dx [d/dy (y * x) at y = x] = d/dx x = 1. Its tag must be newer than the outer one when it is
    called, so tags are made per call, not once when derivative(f) is built.
    """
    d, holder = kata.second_order.derivative, {}
    inner = d(lambda y: y * holder["x"])

    def outer(x):
        holder["x"] = x
        return inner(x)

    given_ = "inner = derivative(y -> y * x) built first; then derivative(x -> inner(x))(3.0)"
    got = run(kata, "derivative", given_, lambda: d(outer)(3.0))
    expect_number("derivative", given_, got, 1.0,
                  "make the tag inside the function you return, at each call: a tag made when derivative(f) is "
                  "built can be older than the perturbations of the point it is later called on")


# ---------------------------------------------------------------- derivative: tags, seen through their effect
# Each call's tag must be new and larger than every tag before it. The tests never read a tag: they look
# for the answers that other tags give.
# - An inner derivative evaluated AT the outer one's perturbed point, of an f that is not symmetric: a tag
#   not larger than those inside its point (tags counting down, or id() of the seed) wraps the newer
#   perturbation inside an older level, where apply_tagged takes it for a constant.
# - A perturbation that escapes its call (a closure over the seeded point, kept aside) and meets a later
#   call, or one sibling call's seed kept for the next: a tag used again (the depth of the nesting, or
#   of the point) takes it for its own.
# - A perturbation that outlives its call inside f's result: tangent keeps it, under its own tag.

POINT_HINT = ("the inner derivative is evaluated at the outer one's perturbed x: its tag must be larger than "
              "every tag inside its point, or apply_tagged takes the point's own perturbation for a constant. "
              "new_tag() at every call gives a tag larger than all before it")
ESCAPE_HINT = ("a perturbation can outlive its derivative call (f kept the seeded point, or a closure over it, "
               "aside): a later call must never take the same tag again, even at the same depth. new_tag() at "
               "every call gives a tag no call has had")
OUTLIVED_HINT = ("tangent: a Variable with a NEWER tag than yours is a perturbation that outlived its call; it still "
                 "moves, so return the tangents of its value and of its grad along your tag, kept together under "
                 "its own tag")


def _at_perturbed_points():
    e = math.exp(0.25)
    return [
        # description, thunk(derivative, primitives), expected
        ("d/dx [d/dy (x y^2) at y = x] at x = 1.25, that is d/dx 2 x^2",
         lambda d, p: d(lambda x: d(lambda y: x * y * y)(x))(1.25), 5.0),
        ("d/dx [d/dy (y x^2) at y = x] at x = 1.25, that is d/dx x^2",
         lambda d, p: d(lambda x: d(lambda y: y * x * x)(x))(1.25), 2.5),
        ("d/dx [d/dy exp(x y) at y = x] at x = 0.5, that is d/dx x exp(x^2)",
         lambda d, p: d(lambda x: d(lambda y: p.exp(x * y))(x))(0.5), 1.5 * e),
        ("d/dx [d/dy [d/dz (x y^2 z^3) at z = y] at y = x] at x = 1.25, that is d/dx 12 x^4",
         lambda d, p: d(lambda x: d(lambda y: d(lambda z: x * y * y * z * z * z)(y))(x))(1.25), 93.75),
        ("d/dx [d/dy [d/dz (y exp(z x)) at z = y] at y = x] at x = 0.5, that is d/dx (x + x^3) exp(x^2)",
         lambda d, p: d(lambda x: d(lambda y: d(lambda z: y * p.exp(z * x))(y))(x))(0.5), 2.375 * e),
    ]


AT_PERTURBED_POINTS = _at_perturbed_points()


@pytest.mark.exercise("derivative")
@pytest.mark.parametrize("description, thunk, expected", AT_PERTURBED_POINTS, ids=[c[0] for c in AT_PERTURBED_POINTS])
def test_derivative_inside_another_at_its_perturbed_point(kata, description, thunk, expected):
    got = run(kata, "derivative", description, lambda: thunk(kata.second_order.derivative, kata.primitives))
    expect_number("derivative", description, got, expected, POINT_HINT)


def expect_still_perturbed(given_: str, got: object, value: float, grad: float, hint: str) -> None:
    """A derivative that still moves with a perturbation no call reads any more: Variable(value, grad)."""
    parts = (real_number(getattr(got, "value", None)), real_number(getattr(got, "grad", None)))
    if None in parts or not close(parts, (value, grad)):
        fail("derivative", given_, f"Variable({show(value)}, {show(grad)}): the derivative {show(value)}, moving at "
             f"{show(grad)} with the perturbation that outlived its call", show(got)[:300], hint)


@pytest.mark.exercise("derivative")
def test_derivative_of_a_closure_that_escaped_its_call(kata):
    """Closures over the seeded x, kept aside by derivative(x -> x^2)(1.25), differentiated after that call.

    x still carries the finished call's perturbation; a later call's own must not be taken for it:
    d/dy (y^3 + x) = 3 y^2, a number, and d/dy (x y^2) = 2 x y, which moves with x's perturbation at 2 y.
    """
    d, kept = kata.second_order.derivative, {}

    def f(x):
        kept["sum"] = lambda y: y * y * y + x
        kept["product"] = lambda y: x * y * y
        return x * x

    given_ = "derivative(x -> x^2)(1.25), which keeps y -> y^3 + x and y -> x y^2 aside (x is its seeded point)"
    run(kata, "derivative", given_, lambda: d(f)(1.25))
    later = f"{given_}; after it, derivative(y -> y^3 + x)(0.5)"
    expect_number("derivative", later, run(kata, "derivative", later, lambda: d(kept["sum"])(0.5)), 0.75, ESCAPE_HINT)
    later = f"{given_}; after it, derivative(y -> x y^2)(0.5)"
    expect_still_perturbed(later, run(kata, "derivative", later, lambda: d(kept["product"])(0.5)), 1.25, 1.0,
                           ESCAPE_HINT)


@pytest.mark.exercise("derivative")
def test_derivative_sibling_calls_get_their_own_tags(kata):
    """Two derivative calls side by side inside a third, the first keeping its seeded point y for the second.

    At x: a = d/dy (x y^2) at y = x is 2 x^2; b = d/dz (z^2 + y) at z = x is 2 z = 2 x, y being the first
    call's point, whose perturbation is not the second call's. f(x) = a b = 4 x^3, f'(1.25) = 12 x^2 = 18.75.
    """
    d = kata.second_order.derivative

    def f(x):
        kept = {}

        def first(y):
            kept["y"] = y
            return x * y * y

        a = d(first)(x)
        b = d(lambda z: z * z + kept["y"])(x)
        return a * b

    given_ = ("d/dx [a b] at x = 1.25, a = d/dy (x y^2) at y = x, then b = d/dz (z^2 + y) at z = x with the first "
              "call's seeded y")
    got = run(kata, "derivative", given_, lambda: d(f)(1.25))
    expect_number("derivative", given_, got, 18.75, ESCAPE_HINT)


@pytest.mark.exercise("derivative")
def test_derivative_keeps_a_perturbation_that_outlived_its_call(kata):
    """An inner call's seeded point y, kept aside and used after that call: f(x) = x^2 y^3 still moves with y.

    d/dx f = 2 x y^3 = 0.3125 at x = 1.25, y = 0.5, moving with y's perturbation at 6 x y^2 = 1.875:
    Variable(0.3125, 1.875), under y's own (newer) tag. A later derivative takes it like any Variable:
    d/dw (w^2 times it) at w = 3 is 2 w times it, Variable(1.875, 11.25).
    """
    d, kept = kata.second_order.derivative, {}

    def inner(y):
        kept["y"] = y
        return y

    def f(x):
        d(inner)(0.5)
        y = kept["y"]
        return x * x * y * y * y

    given_ = "derivative(x -> x^2 y^3)(1.25), y = 0.5 the seeded point of derivative(y -> y)(0.5), called inside f"
    got = run(kata, "derivative", given_, lambda: d(f)(1.25))
    expect_still_perturbed(given_, got, 0.3125, 1.875, OUTLIVED_HINT)
    later = f"derivative(w -> w^2 g)(3.0), g = {given_}"
    expect_still_perturbed(later, run(kata, "derivative", later, lambda: d(lambda w: w * w * got)(3.0)), 1.875, 11.25,
                           OUTLIVED_HINT)


@pytest.mark.exercise("derivative")
def test_derivative_keeps_the_perturbation_of_a_plain_variable_f_closes_over(kata):
    """w = Variable(2, 1) moves with stage 1's anonymous perturbation (tag 0): d/du (u^2 w) = 2 u w moves with it."""
    w = kata.Variable(2.0, 1.0)
    given_ = "derivative(u -> u * u * w)(3.0) with w = Variable(2.0, 1.0)"
    got = run(kata, "derivative", given_, lambda: kata.second_order.derivative(lambda u: u * u * w)(3.0))
    expect_dual("derivative", given_, got, 12.0, 6.0,
                "a plain Variable that moves (tag 0, grad not 0) is an older perturbation: in apply_tagged it is a "
                "constant at your level that keeps its own tangent inside; only a plain constant (grad 0) enters as "
                "its bare value")


@pytest.mark.exercise("derivative")
@pytest.mark.parametrize("x", [np.float64(2.0), np.array(2.0)], ids=["numpy-scalar", "0-d-array"])
def test_derivative_at_a_numpy_number(kata, x):
    given_ = f"derivative(u -> u * u * u)({x!r})"
    got = run(kata, "derivative", given_, lambda: kata.second_order.derivative(lambda u: u * u * u)(x))
    expect_number("derivative", given_, got, 12.0)


W_TAGGED = np.array([1.0, -2.0, 0.5])


def through_arrays(u, w=W_TAGGED):
    return (u * u * w).sum() + (u * w)[1] * u + w @ (w * u) + (u * w) @ w


@pytest.mark.exercise("derivative")
def test_derivative_through_array_operations(kata):
    """x[i], .sum() and @ on tagged Variables, w a constant vector; the index goes through apply_tagged as it is.

    f(u) = (u^2 w).sum() + (u w)[1] u + w @ (w u) + (u w) @ w: f' = 2 u sum(w) + 2 w[1] u + 2 w.w (3 at 1.5),
    f'' = 2 sum(w) + 2 w[1] (-5). The array-valued u -> u^2 w has the array derivative 2 u w.
    """
    d = kata.second_order.derivative
    hint = ("x[i], x.sum() and @ go through apply_tagged like the other operations; an argument that is no "
            "Variable (the index i) passes through as it is")
    for times, expected in ((1, 3.0), (2, -5.0)):
        given_ = f"{'derivative(' * times}u -> (u^2 w).sum() + (u w)[1] u + w @ (w u) + (u w) @ w{')' * times}(1.5), " \
                 f"w = {W_TAGGED.tolist()}"
        g = through_arrays
        for _ in range(times):
            g = d(g)
        expect_number("derivative", given_, run(kata, "derivative", given_, lambda g=g: g(1.5)), expected, hint)
    given_ = f"derivative(u -> u * u * w)(1.5), w = {W_TAGGED.tolist()}"
    got = run(kata, "derivative", given_, lambda: d(lambda u: u * u * W_TAGGED)(1.5))
    expect_array("derivative", given_, "2 u w", got, 3.0 * W_TAGGED, hint)


@pytest.mark.exercise("derivative")
def test_derivative_evaluates_f_once_on_a_variable(kata):
    seen = []

    def f(u):
        seen.append(u)
        return u * u * u

    given_ = "derivative(u -> u * u * u)(2.0), counting the calls of f"
    got = run(kata, "derivative", given_, lambda: kata.second_order.derivative(f)(2.0))
    if len(seen) != 1 or not (hasattr(seen[0], "value") and hasattr(seen[0], "grad")):
        fail("derivative", given_, "f called once, on a Variable (x seeded with a tag)",
             f"{len(seen)} call(s), on {[type(u).__name__ for u in seen]}",
             "forward mode needs one evaluation of f on a seeded Variable: no finite differences, no loop")
    expect_number("derivative", given_, got, 12.0)


@pytest.mark.exercise("derivative")
def test_derivative_of_a_constant_is_zero(kata):
    d = kata.second_order.derivative
    for description, f in (("a number", lambda u: 3.0), ("a constant Variable", lambda u: kata.Variable(3.0, 0.0))):
        given_ = f"derivative(u -> {description})(1.5)"
        expect_number("derivative", given_, run(kata, "derivative", given_, lambda f=f: d(f)(1.5)), 0.0,
                      "f's result does not carry your tag: it does not move with x, so its tangent is 0")
    given_ = f"derivative(u -> w)(1.5), w = {W_TAGGED.tolist()}: an array that ignores u"
    got = run(kata, "derivative", given_, lambda: d(lambda u: W_TAGGED)(1.5))
    hint = "an array that does not move with x has the tangent 0: zeros shaped like it, or the number 0 (it broadcasts)"
    if real_number(got) is None:
        expect_array("derivative", given_, "zeros shaped like w (or the number 0)", got, np.zeros(3), hint)
    else:
        expect_number("derivative", given_, got, 0.0, hint)


@pytest.mark.exercise("derivative")
def test_derivative_at_a_plain_variable_carries_the_second_derivative(kata):
    """An untagged Variable(x, 1) as the point: stage 1's perturbation stays inside, as the older one."""
    V = kata.Variable
    given_ = "derivative(u -> u ** 3)(Variable(2.0, 1.0))"
    got = run(kata, "derivative", given_, lambda: kata.second_order.derivative(lambda u: u**3)(V(2.0, 1.0)))
    expect_dual("derivative", given_, got, 12.0, 12.0,
                "the point's own perturbation (tag 0, older than yours) stays inside: the derivative there is "
                "Variable(f'(x), f''(x))")


@pytest.mark.exercise("derivative")
def test_derivative_bad_input(kata):
    d = kata.second_order.derivative
    expect_error("derivative", "derivative(3)", TypeError, lambda: d(3), "TypeError (f must be a function)",
                 "call check_function(f) first", "derivative(f) needs a function: call check_function(f) first")
    expect_error("derivative", "derivative(u -> u * u)('2')", TypeError, lambda: d(lambda u: u * u)("2"),
                 "TypeError (the point must be a number or a Variable)", "call check_point(x) first",
                 "the function you return checks its point with check_point(x) before seeding it")
    expect_error("derivative", "derivative(u -> 'three')(1.0)", TypeError, lambda: d(lambda u: "three")(1.0),
                 "TypeError (f must return a number, an array or a Variable)",
                 "tangent raises TypeError for a result that is no number, array or Variable",
                 "tangent: a result that is no number, array or Variable has no tangent; raise TypeError")


def polynomial(coefficients):
    """p(u) = c0 u^d + ... + cd by Horner's rule, with your Variable's operators."""
    def p(u):
        result = coefficients[0] * u
        for c in coefficients[1:-1]:
            result = (result + c) * u
        return result + coefficients[-1]
    return p


def expect_polynomial(given_: str, got: object, coefficients: list[float], x: float, order: int) -> None:
    exact = float(np.polyval(np.polyder(coefficients, order), x))
    scale = float(np.polyval(np.polyder(np.abs(coefficients), order), abs(x))) + 1.0  # the terms' sizes
    if not is_number(got) or abs(real_number(got) - exact) > POLYNOMIAL_REL * scale:
        fail("derivative", given_, f"{show(exact)} (numpy's polyder, exact)", show(got),
             "each derivative call seeds its own tag; nested three deep, every level reads its own tag only")


coefficient_lists = st.lists(st.floats(-3.0, 3.0), min_size=2, max_size=6)


@pytest.mark.exercise("derivative")
@given(coefficients=coefficient_lists, x=st.floats(-2.0, 2.0))
def test_derivative_three_deep_on_random_polynomials(kata, coefficients, x):
    p = polynomial(coefficients)
    d = kata.second_order.derivative
    for order, f in ((1, d(p)), (2, d(d(p))), (3, d(d(d(p))))):
        given_ = f"{'derivative(' * order}p{')' * order} at x = {x!r}, p with coefficients {coefficients}"
        expect_polynomial(given_, run(kata, "derivative", given_, lambda f=f: f(x)), coefficients, x, order)


@pytest.mark.exercise("derivative")
@given(p_coefficients=coefficient_lists, q_coefficients=coefficient_lists, x=st.floats(-2.0, 2.0))
def test_derivative_nested_closures_on_random_polynomials(kata, p_coefficients, q_coefficients, x):
    """d/dx [p(x) * d/dy q(x * y) at y = 1] = d/dx [p(x) x q'(x)], where the inner derivative closes over x."""
    p, q = polynomial(p_coefficients), polynomial(q_coefficients)
    d = kata.second_order.derivative
    given_ = f"d/dx [p(x) * d/dy q(x y) at y = 1] at x = {x!r}, p = {p_coefficients}, q = {q_coefficients}"
    got = run(kata, "derivative", given_, lambda: d(lambda u: p(u) * d(lambda w: q(u * w))(1.0))(x))
    dp, dq, ddq = (np.polyder(p_coefficients), np.polyder(q_coefficients), np.polyder(q_coefficients, 2))
    P, Q1, Q2, P1 = (np.polyval(c, x) for c in (p_coefficients, dq, ddq, dp))
    exact = float(P1 * x * Q1 + P * Q1 + P * x * Q2)
    scale = float(sum(abs(np.polyval(np.abs(c), abs(x))) for c in (p_coefficients, dq, ddq, dp)) ** 2) + 1.0
    if not is_number(got) or abs(real_number(got) - exact) > POLYNOMIAL_REL * scale:
        fail("derivative", given_, f"{show(exact)} (p' x q' + p q' + p x q'', by numpy's polyder)", show(got), TAG_HINT)


@pytest.mark.exercise("derivative")
@given(a=coefficient_lists, b=coefficient_lists, c=coefficient_lists, x=st.floats(-2.0, 2.0))
def test_derivative_three_deep_at_perturbed_points_on_random_polynomials(kata, a, b, c, x):
    """d/du [d/dv [d/dw a(w) b(v) c(u) at w = v] at v = u], each inner derivative at the outer perturbed point.

    The innermost is a'(v) b(v) c(u); the middle (a'' b + a' b')(u) c(u); the outer its derivative.
    """
    A, B, C = polynomial(a), polynomial(b), polynomial(c)
    d = kata.second_order.derivative
    given_ = f"d/du [d/dv [d/dw a(w) b(v) c(u) at w = v] at v = u] at u = {x!r}, a = {a}, b = {b}, c = {c}"
    got = run(kata, "derivative", given_, lambda: d(lambda u: d(lambda v: d(lambda w: A(w) * B(v) * C(u))(v))(u))(x))

    def outer(a, b, c, at):
        middle = np.polyadd(np.polymul(np.polyder(a, 2), b), np.polymul(np.polyder(a), np.polyder(b)))
        return float(np.polyval(np.polyder(np.polymul(middle, c)), at))

    exact = outer(a, b, c, x)
    scale = outer(np.abs(a), np.abs(b), np.abs(c), abs(x)) + 1.0  # the terms' sizes: no cancellation
    if not is_number(got) or abs(real_number(got) - exact) > POLYNOMIAL_REL * scale:
        fail("derivative", given_, f"{show(exact)} ((a'' b + a' b') c, differentiated by numpy's polyder)",
             show(got)[:300], POINT_HINT)


# ---------------------------------------------------------------- hessian

HVP_HINT = ("seed the inner level with the n one-hot tangents (stage 5's seeded) and the outer level with v, shaped "
            "like x: the n inner tangents of the result's grad are H v")


class Counted:
    """f, counting its calls."""

    def __init__(self, f):
        self.f, self.calls = f, 0

    def __call__(self, u):
        self.calls += 1
        return self.f(u)


def gradient_difference(closed_form, x: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Central differences of the closed-form gradient along v: H v to O(h**2)."""
    return (closed_form(x + FD_STEP * v)[1] - closed_form(x - FD_STEP * v)[1]) / (2 * FD_STEP)


@pytest.mark.exercise("hessian")
@pytest.mark.parametrize("description, f, closed_form", FUNCTIONS, ids=FUNCTION_IDS)
def test_hvp_exact_in_one_evaluation(kata, description, f, closed_form):
    counted = Counted(lambda u: f(u, kata.primitives))
    given_ = f"hvp({description}, x={X3.tolist()}, v={V3.tolist()})"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hvp(counted, X3, V3))
    expect_array("hessian", given_, "H v", got, closed_form(X3)[2] @ V3, HVP_HINT)
    if counted.calls != 1:
        fail("hessian", given_, "exactly 1 evaluation of f", f"{counted.calls} evaluations",
             "H v comes from ONE evaluation of f on x perturbed twice, not from differences of gradients")


@pytest.mark.exercise("hessian")
@pytest.mark.parametrize("description, f, closed_form", FUNCTIONS, ids=FUNCTION_IDS)
def test_hvp_finite_difference(kata, description, f, closed_form):
    given_ = f"hvp({description}, x={X3.tolist()}, v={V3.tolist()}) against differences of the exact gradient"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hvp(lambda u: f(u, kata.primitives), X3, V3))
    expect_matches_difference_quotient("hessian", given_, np.asarray(got, dtype=float),
                                       gradient_difference(closed_form, X3, V3), HVP_HINT)


@pytest.mark.exercise("hessian")
@pytest.mark.parametrize("description, f, closed_form", FUNCTIONS, ids=FUNCTION_IDS)
def test_hessian_exact_and_finite_difference(kata, description, f, closed_form):
    given_ = f"hessian({description}, x={X3.tolist()})"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hessian(lambda u: f(u, kata.primitives), X3))
    expect_array("hessian", given_, "H", got, closed_form(X3)[2],
                 "column k of the Hessian is H e_k: hvp along the k-th one-hot direction")
    columns = np.stack([gradient_difference(closed_form, X3, e) for e in np.eye(3)], axis=1)
    expect_matches_difference_quotient("hessian", given_ + " against differences of the exact gradient",
                                       np.asarray(got, dtype=float), columns)


@pytest.mark.exercise("hessian")
def test_hessian_evaluates_f_once_per_column_on_x_perturbed_twice(kata):
    seen = []

    def f(u):
        seen.append(u)
        return (u**3).sum() + u[0] * u[1]

    given_ = f"hessian(u -> (u ** 3).sum() + u[0] u[1], x={X3.tolist()}), watching the calls of f"
    run(kata, "hessian", given_, lambda: kata.second_order.hessian(f, X3))
    nested = all(hasattr(u, "value") and hasattr(u.value, "value") and hasattr(u.value, "grad") for u in seen)
    if not (1 <= len(seen) <= X3.size and nested):
        fail("hessian", given_, f"at most {X3.size} evaluations of f (one per column), each on x perturbed twice "
             "(a Variable whose value is a Variable)",
             f"{len(seen)} evaluation(s), on {sorted({type(getattr(u, 'value', u)).__name__ for u in seen})} values",
             "forward over forward: each column is one hvp, one evaluation of f on nested Variables; differences "
             "of gradients cost two evaluations per column and are only approximations")


U0 = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
U_DIRECTION = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 1.0]])


def matrix_function(u, p):
    return (u[0] * u[1] ** 2).sum() + u[0, 2] * u[1, 0]


def matrix_closed_form(U):
    """The value, gradient and Hessian of sum_j U0j U1j^2 + U02 U10, in C order (u = U.ravel())."""
    u = U.ravel()
    value = float((U[0] * U[1] ** 2).sum() + U[0, 2] * U[1, 0])
    grad = np.concatenate([U[1] ** 2, 2 * U[0] * U[1]])
    grad[2] += U[1, 0]
    grad[3] += U[0, 2]
    hess = np.zeros((6, 6))
    for j in range(3):
        hess[j, 3 + j] = hess[3 + j, j] = 2 * u[3 + j]
        hess[3 + j, 3 + j] = 2 * u[j]
    hess[2, 3] += 1.0
    hess[3, 2] += 1.0
    return value, grad.reshape(U.shape), hess


@pytest.mark.exercise("hessian")
def test_hessian_at_a_matrix_counts_its_entries_in_c_order(kata):
    given_ = f"hessian(sum_j U[0,j] U[1,j]**2 + U[0,2] U[1,0], U = {U0.tolist()})"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hessian(lambda u: matrix_function(u, None), U0))
    expect_array("hessian", given_, "H (6, 6)", got, matrix_closed_form(U0)[2],
                 "n = 6 entries, numbered in numpy's C order (row after row), for the inner seeds and for "
                 "the outer directions alike: a one-hot built for the transposed shape reads them column by column")
    given_ = f"hvp(the same f, U = {U0.tolist()}, v = {U_DIRECTION.tolist()})"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hvp(lambda u: matrix_function(u, None), U0,
                                                                      U_DIRECTION))
    expected = (matrix_closed_form(U0)[2] @ U_DIRECTION.ravel()).reshape(U0.shape)
    expect_array("hessian", given_, "H v, shaped like U", got, expected, HVP_HINT)


def symmetric_candidate(u, p):
    return p.exp(u).sum() * u[1] + u[0] * p.log(u[2]) * p.tanh(u[1]) + p.sigmoid(u @ S).sum() * u[2]


@pytest.mark.exercise("hessian")
@given(x=tangent_arrays((3,), st.floats(0.25, 3.0)))
def test_hessian_is_symmetric(kata, x):
    given_ = f"hessian(exp(u).sum() u[1] + u[0] log(u[2]) tanh(u[1]) + sigmoid(u @ S).sum() u[2], x={x.tolist()})"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hessian(lambda u: symmetric_candidate(u, kata.primitives), x))
    array = np.asarray(got, dtype=float)
    if array.shape != (3, 3) or not close(array, array.T, PROPERTY_REL, PROPERTY_ABS):
        fail("hessian", given_, "a symmetric (3, 3) matrix: d2f/dxi dxj = d2f/dxj dxi",
             np.array2string(array, precision=10),
             "the inner seeds and the outer directions must number the entries of x the same way")


@pytest.mark.exercise("hessian")
@given(v=tangent_arrays((3,)), w=tangent_arrays((3,)), a=st.floats(-2, 2), b=st.floats(-2, 2))
def test_hvp_is_linear_in_v(kata, v, w, a, b):
    f = lambda u: symmetric_candidate(u, kata.primitives)  # noqa: E731
    given_ = f"hvp(f, x={X3.tolist()}, a v + b w) with v={v.tolist()}, w={w.tolist()}, a={a!r}, b={b!r}"
    hvp = kata.second_order.hvp
    got = run(kata, "hessian", given_, lambda: hvp(f, X3, a * v + b * w))
    expected = a * np.asarray(hvp(f, X3, v), dtype=float) + b * np.asarray(hvp(f, X3, w), dtype=float)
    expect_array("hessian", given_, "H (a v + b w)", got, expected, HVP_HINT, rel=PROPERTY_REL, abs_=PROPERTY_ABS)


@pytest.mark.exercise("hessian")
def test_hvp_of_a_linear_f_is_zero(kata):
    given_ = f"hvp(u -> (W2 @ u).sum() + 3, x={X3.tolist()}, v={V3.tolist()})"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hvp(lambda u: (W2 @ u).sum() + 3.0, X3, V3))
    expect_array("hessian", given_, "H v", got, np.zeros(3),
                 "a linear f has no curvature: when the result's grad carries no inner tangent (a number), H v is 0")


@pytest.mark.exercise("hessian")
def test_hessian_of_an_x_without_entries_is_empty(kata):
    given_ = "hessian(u -> (u * u).sum(), x = np.zeros(0))"
    got = run(kata, "hessian", given_, lambda: kata.second_order.hessian(lambda u: (u * u).sum(), np.zeros(0)))
    expect_array("hessian", given_, "H", got, np.zeros((0, 0)),
                 "an x without entries has n = 0: no column to compute, and the (n, n) Hessian is the empty (0, 0) "
                 "matrix (numpy's stacking functions refuse an empty list of columns)")


@pytest.mark.exercise("hessian")
def test_hessian_bad_input(kata):
    hvp, hessian = kata.second_order.hvp, kata.second_order.hessian
    expect_error("hessian", "hvp(f, x of shape (3,), v of shape (2,))", ValueError,
                 lambda: hvp(lambda u: (u * u).sum(), X3, np.ones(2)), "ValueError (v must have the shape of x)",
                 "compare the shapes of x and v first", "raise ValueError when v's shape differs from x's")
    one = np.array([2.0])
    for name, call in (("hvp", lambda: hvp(lambda u: u * u, X3, V3)), ("hessian", lambda: hessian(lambda u: u * u, X3)),
                       ("hvp", lambda: hvp(lambda u: u * u, one, one)), ("hessian", lambda: hessian(lambda u: u * u, one))):
        expect_error("hessian", f"{name}(u -> u * u, a vector x): f is vector-valued", ValueError, call,
                     "ValueError (f must return a single number)", "check the shape of f's result's value",
                     "a Hessian belongs to a scalar-valued f: raise ValueError when f(x) is not a single number")
    for name, call in (("hvp", lambda: hvp(lambda u: 3.0, X3, V3)), ("hessian", lambda: hessian(lambda u: 3.0, X3))):
        expect_error("hessian", f"{name}(u -> 3.0, x): f returns no Variable", ValueError, call,
                     "ValueError (f must return a single number computed from x)",
                     "check that f's result is a Variable before reading its value",
                     "f must build its result from x with your operations: raise ValueError when it is no Variable")


# ---------------------------------------------------------------- newton


def numpy_newton(x: np.ndarray, labels: np.ndarray, iters: int) -> np.ndarray:
    """Newton's method on the mean log loss, with the gradient and Hessian worked out by hand."""
    design = np.column_stack([x, np.ones_like(x)])
    theta = np.zeros(2)
    for _ in range(iters):
        s = sigmoid(design @ theta)
        g = design.T @ (s - labels) / len(x)
        h = design.T @ (design * (s * (1 - s))[:, None]) / len(x)
        theta = theta - np.linalg.solve(h, g)
    return theta


def expect_fit(given_: str, result) -> tuple[float, float]:
    """A tuple (m, b) of two numbers (floats, numpy scalars or 0-d arrays), as stage 4's fits return."""
    return expect_pair("newton", given_, result)


NEWTON_HINT = ("one Newton step from theta: theta - solve(H, g), with g = gradient(loss, theta) and "
               "H = hessian(loss, theta) of the mean log loss, starting from (0, 0)")


@pytest.mark.exercise("newton")
@pytest.mark.parametrize("iters", [0, 1, 2, 4])
def test_newton_exact_steps(kata, iters):
    x, _, labels = post_data(seed=3, n=20)
    given_ = f"fit_logistic_regression_newton(post data, seed 3, n = 20, iters={iters})"
    got = expect_fit(given_, run(kata, "newton", given_,
                                 lambda: kata.second_order.fit_logistic_regression_newton(x, labels, iters=iters)))
    expect_close("newton", given_, "(m, b)", got, tuple(numpy_newton(x, labels, iters)), NEWTON_HINT,
                 rel=STEP_REL, abs_=STEP_ABS)


# Forward mode is linear in its seeds, as stages 4 and 6 check: with every seed 4 times larger, g (one level of
# tangents) comes out 4 times larger and H (where two levels meet) 16 times, so the step H^-1 g is exactly 4
# times SMALLER (a power of 2: no rounding changes). That holds whichever route g and H take through your
# forward mode: gradient and hessian, the module tangents.gradient, or one set of nested passes for both. A
# step from a formula by hand, finite differences or scikit-learn does not move; one whose g or H alone
# follows the seeds moves by 4 or 1/16 (H from differences of your gradient: by 1). A seed is a Variable built,
# or given a grad, outside your operations with a tangent of 0s and 1s at every level: stage 5's seeded,
# hvp's Variable(inner, v), derivative's Tagged(x, 1.0, tag), or nested seeds of your own. The operations:
# primitives.py, losses.py, every method of variable.py or second_order.py running on a Variable (but
# Tagged's constructor), apply_tagged and tangent, with whatever they call. A Variable your code derives from
# seeded ones already carries 4x tangents, so it is not scaled again.
TAGGED_OPERATIONS = ("apply_tagged", "tangent")


def zeros_and_ones(tangent: object) -> bool:
    """True for a tangent whose numbers are all 0 or 1, at every level of a nested one."""
    if hasattr(tangent, "value") and hasattr(tangent, "grad"):
        return zeros_and_ones(tangent.value) and zeros_and_ones(tangent.grad)
    try:
        entries = np.asarray(tangent, dtype=float)
    except (TypeError, ValueError):
        return False
    return bool(np.all((entries == 0) | (entries == 1)))


def nested_seeds_of(kata):
    """``is_seed`` for seeds_scaled: tangents of 0s and 1s (at every level), given outside every operation."""
    operations = (vars(kata.primitives), vars(kata.losses))
    variable, second_order, cls = vars(kata.variable), vars(kata.second_order), kata.Variable

    def operation(frame) -> bool:
        home, name = frame.f_globals, frame.f_code.co_name
        if any(home is module for module in operations):
            return True
        if home is variable:
            return runs_on_a_variable(frame, cls)
        return home is second_order and (name in TAGGED_OPERATIONS or
                                         (name != "__init__" and runs_on_a_variable(frame, cls)))

    def is_seed(frame, grad) -> bool:
        if not zeros_and_ones(grad):
            return False
        while frame is not None:
            if operation(frame):
                return False
            frame = frame.f_back
        return True

    return is_seed


def seed_ratio_hint(ratio: float) -> str:
    """What a first step that moved by ``ratio`` (instead of 1/4) with 4x seeds says about g and H."""
    if math.isclose(ratio, 1.0, rel_tol=SEED_RATIO_REL):
        return ("neither g nor H moved with your seeds in the right proportion: take both from forward mode over your "
                "own loss (your gradient and hessian, or nested passes of your own); a formula by hand, finite "
                "differences (of the loss, or of your gradient for H) and scikit-learn do not follow the seeds")
    if math.isclose(ratio, SEED_SCALE, rel_tol=SEED_RATIO_REL):
        return ("g follows your seeds but H does not: take H from forward over forward mode (your hessian), not "
                "from a formula or differences")
    if math.isclose(ratio, SEED_SCALE**-2, rel_tol=SEED_RATIO_REL):
        return ("H follows your seeds but g does not: take g from forward mode over your loss (your gradient, or "
                "the inner tangents of the value in hessian's passes), not from a formula or differences")
    return ("the step moved, but not as H^-1 g of seeded tangents does: g and H must both be tangents of seeded "
            "evaluations of the same loss, g from one level of seeds and H from two")


@pytest.mark.exercise("newton")
def test_newton_steps_follow_your_seeds(kata):
    fit, is_seed = kata.second_order.fit_logistic_regression_newton, nested_seeds_of(kata)
    x, _, labels = post_data(seed=3, n=20)
    given_ = "fit_logistic_regression_newton(post data, seed 3, n = 20, iters=1)"
    with seeds_scaled(kata, 1.0, is_seed):
        plain = expect_fit(given_, run(kata, "newton", given_, lambda: fit(x, labels, iters=1)))
    given_ = f"{given_}, once as written and once with every seed {SEED_SCALE:g}x larger"
    with seeds_scaled(kata, SEED_SCALE, is_seed):
        scaled = expect_fit(given_, run(kata, "newton", given_, lambda: fit(x, labels, iters=1)))
    expected = tuple(step / SEED_SCALE for step in plain)
    if not close(scaled, expected, STEP_REL, STEP_ABS):
        ratio = scaled[0] / plain[0] if plain[0] else math.nan
        fail("newton", given_,
             f"(m, b) = {show(expected[0])}, {show(expected[1])}: the step {SEED_SCALE:g} times smaller (g grows "
             f"{SEED_SCALE:g}x with one level of seeds, H {SEED_SCALE**2:g}x with two)",
             f"{show(scaled[0])}, {show(scaled[1])} (the step times {ratio:.4g})", seed_ratio_hint(ratio))


def expect_optimum(kata, given_: str, x: np.ndarray, labels: np.ndarray) -> None:
    got = expect_fit(given_, run(kata, "newton", given_, lambda: kata.second_order.fit_logistic_regression_newton(
        x, labels, iters=NEWTON_ITERATIONS)))
    reference = logistic_regression(x, labels)
    optimum = mean_logloss(sigmoid(reference["slope"] * x + reference["intercept"]), labels)
    fitted = mean_logloss(sigmoid(got[0] * x + got[1]), labels)
    if not abs(fitted - optimum) <= NEWTON_LOSS_ABS:
        fail("newton", given_, f"mean log loss within {NEWTON_LOSS_ABS:g} of {show(optimum)} (scikit-learn's "
             f"LogisticRegression, C=inf)", f"{show(fitted)} with m {show(got[0])}, b {show(got[1])}", NEWTON_HINT)


@pytest.mark.exercise("newton")
@pytest.mark.asks_sklearn
def test_newton_reaches_the_optimum_on_the_post_data(kata):
    kata.second_order.fit_logistic_regression_newton([0.0, 1.0], [0.0, 1.0], iters=0)  # a stub stops here
    x, _, labels = post_data(seed=0)
    expect_optimum(kata, f"fit_logistic_regression_newton on stage 4's post data (seed 0), iters={NEWTON_ITERATIONS}",
                   x, labels)


@pytest.mark.exercise("newton")
@pytest.mark.asks_sklearn
def test_newton_reaches_the_optimum_on_breast_cancer(kata):
    kata.second_order.fit_logistic_regression_newton([0.0, 1.0], [0.0, 1.0], iters=0)  # a stub stops here
    data = dataset_column("breast_cancer", 0)
    x, labels = standardise(data["x"]), data["target"].astype(float)
    expect_optimum(kata, f"fit_logistic_regression_newton on breast cancer's standardised mean radius, "
                   f"iters={NEWTON_ITERATIONS}", x, labels)


@pytest.mark.exercise("newton")
@pytest.mark.parametrize("description, x, y, iters", [
    ("labels 0 or 1 only", [0.0, 1.0, 2.0], [0.0, 0.5, 1.0], 3),
    ("x and y of one length", [0.0, 1.0], [0.0, 1.0, 1.0], 3),
    ("a non-negative number of iterations", [0.0, 1.0], [0.0, 1.0], -1),
    ("an integer number of iterations", [0.0, 1.0], [0.0, 1.0], 2.5),
])
def test_newton_bad_input(kata, description, x, y, iters):
    expect_error("newton", f"fit_logistic_regression_newton({x}, {y}, iters={iters!r}): needs {description}",
                 ValueError, lambda: kata.second_order.fit_logistic_regression_newton(x, y, iters=iters),
                 "ValueError", "check the input with as_batch(x, y, labels=True) and check_iterations(iters)",
                 "check the input with as_batch(x, y, labels=True) and check_iterations(iters) first")

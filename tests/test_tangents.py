"""Stage 5 tests: tangent vectors.

Exercises arrays and reductions are your own stage-1 and stage-2 code (katas/variable.py and
katas/primitives.py) taught to carry numpy arrays; jvp and gradient are in katas/tangents.py.
A grad of shape (P,) + value.shape holds P tangents.

Every exercise is checked these ways:
- exact values: the rules of stages 1 and 2 applied by numpy, entry by entry, written out here;
- central finite differences, along each tangent, of the same expression in plain numpy;
- hypothesis properties: the tangents are linear in the seed, and one pass with P tangents
  agrees with the P x n passes of your scalar Variable (stages 1-4) on the same expression;
- jvp and gradient: a count of the evaluations of f, which must be exactly one.

The data use P = 3 tangents for 3 entries on purpose: a tangent axis lined up with a value axis
then still broadcasts, silently wrong, and only the values show it. Expected values come from
numpy and the formulas here, never from your other functions.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
from checks import (
    AGREE_ABS,
    AGREE_REL,
    FD_STEP,
    close,
    expect_close,
    expect_error,
    expect_matches_difference_quotient,
    expect_tangents,
    expect_variable,
    fail,
    real_number,
    shape_of,
    tangent_arrays,
)
from hypothesis import given
from hypothesis import strategies as st

# ---------------------------------------------------------------- the data: three array Variables and a scalar one

X = np.array([0.5, 1.5, 2.5])
X_T = np.array([[1.0, 0.0, 0.0], [0.5, -1.0, 2.0], [0.0, 0.25, -0.5]])  # P = 3 tangents of x
Y = np.array([2.0, -1.0, 0.25])
Y_T = np.array([[0.0, 1.0, -1.0], [2.0, 0.5, 0.0], [-1.5, 0.0, 1.0]])
C, C_T = 1.5, np.array([1.0, -2.0, 0.5])  # a scalar value with the same 3 tangents
M = np.array([[0.3, -1.2, 2.0], [1.1, 0.4, -0.7]])
M_T = np.array([[[1.0, 0.0, -1.0], [0.5, 2.0, 0.0]],
                [[0.0, -0.5, 1.5], [1.0, 0.0, 0.25]],
                [[-2.0, 1.0, 0.0], [0.0, 0.75, -1.0]]])
A = np.array([1.0, 2.0, -3.0])  # constants
W = np.array([[1.0, -2.0], [0.5, 0.0], [3.0, 1.0]])  # (3, 2)
W2 = np.array([[2.0, 0.0, -1.0], [1.0, 3.0, 0.5]])  # (2, 3)
S = np.array([[1.0, 2.0, 0.0], [-1.0, 0.5, 3.0], [0.0, 1.0, -2.0]])  # square, not symmetric
W3 = np.array([[1.0, 2.0], [0.0, -1.0], [3.0, 0.5], [-2.0, 1.0]])  # (4, 2)
NAMES = ("x", "y", "c", "m")


def operands(V, values=None, tangents=None) -> SimpleNamespace:
    """Your Variables x, y, c and m (values and tangents default to the data above)."""
    values = values or {"x": X, "y": Y, "c": C, "m": M}
    tangents = tangents or {"x": X_T, "y": Y_T, "c": C_T, "m": M_T}
    return SimpleNamespace(**{n: V(values[n], tangents[n]) for n in NAMES})


def describe(values=None, used: str = "x y c m", tangents: int = 3) -> str:
    """The operands named in ``used`` (an expression), one after the other: each one's value, and the shapes of
    its value and of its grad, which holds ``tangents`` tangents on a leading axis."""
    values = values or {"x": X, "y": Y, "c": C, "m": M}
    names = [n for n in NAMES if re.search(rf"\b{n}\b", used)]
    return ", ".join(f"{n} = {np.round(np.asarray(values[n], dtype=float), 4).tolist()} "
                     f"({shapes(values[n], tangents)})" for n in names)


def shapes(value, tangents: int) -> str:
    """The shapes of an operand's value and grad, in words: "value (3,), grad (3, 3): 3 tangents"."""
    shape = np.shape(value)
    if not shape:
        return f"a number, grad ({tangents},): {tangents} tangents of its own"
    return f"value {shape}, grad {(tangents,) + shape}: {tangents} tangents"


def stable_sigmoid(z):
    return 0.5 * (1.0 + np.tanh(np.asarray(z, dtype=float) / 2.0))


NUMPY = SimpleNamespace(log=np.log, exp=np.exp, sigmoid=stable_sigmoid, tanh=np.tanh, relu=lambda z: np.maximum(z, 0.0))

AXIS_HINT = ("line the tangent axis up before combining: a grad of shape (P,) + value.shape must become "
             "(P, 1, ..., 1) + value.shape when the other operand has more axes (numpy's broadcasting "
             "lines shapes up from the right, so it would put P against a value axis), then be broadcast to "
             "(P,) + the common shape: P tangents are always whole")
NUMPY_HINT = ("math's functions and float() take one number: on arrays use np.log, np.exp, np.tanh, and "
              "np.where instead of if/else")


def evaluate(exercise: str, given_: str, thunk):
    """thunk(), failing with a teaching message when it raises (a stub's NotImplementedError passes through)."""
    try:
        return thunk()
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any error of the learner's code on arrays
        text = str(exc)
        if "truth value of an array" in text:
            hint = "an if on an array's comparison: use np.where (and np.any to check a domain) instead"
        elif isinstance(exc, TypeError) and ("scalar" in text or "float" in text or "length-1" in text):
            hint = NUMPY_HINT
        elif "broadcast" in text or "mismatch" in text or "shape" in text:
            hint = AXIS_HINT
        else:
            hint = None
        fail(exercise, given_, "a result", f"{type(exc).__name__}: {text[:300]}", hint)


# ---------------------------------------------------------------- arrays: exact values

def _exact_arrays():
    x, xt, y, yt, c, ct, m, mt = X, X_T, Y, Y_T, C, C_T, M, M_T
    cb, cbm = ct[:, None], ct[:, None, None]  # the scalar's tangents, lined up
    xm = xt[:, None, :]  # x's tangents lined up against the (2, 3) matrix
    sig = stable_sigmoid(x)
    return [
        # description, expression(a, f), value, tangents, hint
        ("x + y", lambda a, f: a.x + a.y, x + y, xt + yt, None),
        ("x + c", lambda a, f: a.x + a.c, x + c, xt + cb, AXIS_HINT),
        ("c + x", lambda a, f: a.c + a.x, c + x, cb + xt, AXIS_HINT),
        ("m + x", lambda a, f: a.m + a.x, m + x, mt + xm, AXIS_HINT),
        ("x - c", lambda a, f: a.x - a.c, x - c, xt - cb, AXIS_HINT),
        ("c - m", lambda a, f: a.c - a.m, c - m, cbm - mt, AXIS_HINT),
        ("x * y", lambda a, f: a.x * a.y, x * y, xt * y + x * yt, None),
        ("x * c", lambda a, f: a.x * a.c, x * c, xt * c + x * cb, AXIS_HINT),
        ("c * x", lambda a, f: a.c * a.x, c * x, cb * x + c * xt, AXIS_HINT),
        ("m * x", lambda a, f: a.m * a.x, m * x, mt * x + m * xm, AXIS_HINT),
        ("x / y", lambda a, f: a.x / a.y, x / y, (xt * y - x * yt) / y**2, None),
        ("x / c", lambda a, f: a.x / a.c, x / c, (xt * c - x * cb) / c**2, AXIS_HINT),
        ("c / x", lambda a, f: a.c / a.x, c / x, (cb * x - c * xt) / x**2, AXIS_HINT),
        ("x ** Variable(2.0)", lambda a, f: a.x ** type(a.x)(2.0, 0.0), x**2, 2 * x * xt, None),
        ("x ** c", lambda a, f: a.x ** a.c, x**c, c * x ** (c - 1) * xt + x**c * np.log(x) * cb, AXIS_HINT),
        ("c ** x", lambda a, f: a.c ** a.x, c**x, x * c ** (x - 1) * cb + c**x * math.log(c) * xt, AXIS_HINT),
        ("-m + x", lambda a, f: -a.m + a.x, -m + x, -mt + xm, AXIS_HINT),
        ("log(x)", lambda a, f: f.log(a.x), np.log(x), xt / x, NUMPY_HINT),
        ("exp(x)", lambda a, f: f.exp(a.x), np.exp(x), np.exp(x) * xt, NUMPY_HINT),
        ("sigmoid(x)", lambda a, f: f.sigmoid(a.x), sig, sig * (1 - sig) * xt, NUMPY_HINT),
        ("tanh(m)", lambda a, f: f.tanh(a.m), np.tanh(m), (1 - np.tanh(m) ** 2) * mt, NUMPY_HINT),
        ("relu(m)", lambda a, f: f.relu(a.m), np.maximum(m, 0), np.where(m > 0, mt, 0.0), NUMPY_HINT),
        ("relu(x - x.value), 0 everywhere", lambda a, f: f.relu(a.x - a.x.value), 0.0 * x, 0.0 * xt,
         "relu's grad is 0 where its input is exactly 0, as in stage 2: np.where(u > 0, u', 0)"),
        ("exp(c) * x", lambda a, f: f.exp(a.c) * a.x, math.exp(c) * x, math.exp(c) * (cb * x + xt), AXIS_HINT),
        ("log(c) - x", lambda a, f: f.log(a.c) - a.x, math.log(c) - x, cb / c - xt, AXIS_HINT),
    ]


def _exact_constants():
    x, xt, c, ct, m, mt = X, X_T, C, C_T, M, M_T
    ints = np.array([1, 2, 3])
    return [
        ("x + A (a numpy array)", lambda a, f: a.x + A, x + A, xt),
        ("A * x (numpy on the left)", lambda a, f: A * a.x, A * x, A * xt),
        ("A - m", lambda a, f: A - a.m, A - m, -mt),
        ("m / A", lambda a, f: a.m / A, m / A, mt / A),
        ("x * [1, 2, 3] as an int array", lambda a, f: a.x * ints, x * ints, xt * ints),
        ("x - 2.0", lambda a, f: a.x - 2.0, x - 2.0, xt),
        ("2 / x", lambda a, f: 2 / a.x, 2 / x, -2 * xt / x**2),
        ("np.float64(3) * m", lambda a, f: np.float64(3.0) * a.m, 3 * m, 3 * mt),
        ("M + c (a constant matrix plus a scalar with tangents)", lambda a, f: M + a.c, M + c,
         np.broadcast_to(ct[:, None, None], (3, 2, 3))),
        ("x ** A (array exponent)", lambda a, f: a.x ** np.array([2.0, 1.0, 0.5]), x ** np.array([2.0, 1.0, 0.5]),
         np.array([2.0, 1.0, 0.5]) * x ** np.array([1.0, 0.0, -0.5]) * xt),
        ("sigmoid(A) (a numpy array into a primitive)", lambda a, f: f.sigmoid(A) * a.x,
         stable_sigmoid(A) * x, stable_sigmoid(A) * xt),
    ]


@pytest.mark.exercise("arrays")
@pytest.mark.parametrize("description, expression, value, tangents, hint", _exact_arrays(),
                         ids=[case[0] for case in _exact_arrays()])
def test_arrays_exact(kata, description, expression, value, tangents, hint):
    given_ = f"{description} with {describe(used=description)}"
    result = evaluate("arrays", given_, lambda: expression(operands(kata.Variable), kata.primitives))
    expect_tangents("arrays", given_, result, value, tangents, hint)


@pytest.mark.exercise("arrays")
@pytest.mark.parametrize("description, expression, value, tangents", _exact_constants(),
                         ids=[case[0].split(" (")[0] for case in _exact_constants()])
def test_arrays_numbers_and_numpy_arrays_are_constants(kata, description, expression, value, tangents):
    given_ = f"{description} with {describe(used=description)}"
    result = evaluate("arrays", given_, lambda: expression(operands(kata.Variable), kata.primitives))
    expect_tangents("arrays", given_, result, value, tangents,
                    "a numpy array of numbers is a constant, like a number: Variable(array, 0.0) in as_variable")


@pytest.mark.exercise("arrays")
def test_arrays_one_tangent_is_a_leading_axis_of_one(kata):
    V = kata.Variable
    given_ = "Variable([0.5, 1.5, 2.5], [[1.0, 2.0, 3.0]]) * Variable(2.0, [0.5]): one tangent, P = 1"
    result = evaluate("arrays", given_, lambda: V(X, np.array([[1.0, 2.0, 3.0]])) * V(2.0, np.array([0.5])))
    expect_tangents("arrays", given_, result, 2 * X, np.array([[2.0, 4.0, 6.0]]) + X * 0.5, AXIS_HINT)


@pytest.mark.exercise("arrays")
def test_arrays_sigmoid_is_stable_everywhere(kata):
    V = kata.Variable
    z = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    tangents = np.array([[1.0] * 5, [2.0, -1.0, 0.5, 3.0, 1.0]])
    given_ = f"sigmoid(Variable({z.tolist()}, 2 tangents))"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's overflow RuntimeWarning becomes an error
        result = evaluate("arrays", given_, lambda: kata.primitives.sigmoid(V(z, tangents)))
    s = np.exp(-np.logaddexp(0.0, -z))
    expect_tangents("arrays", given_, result, s, s * (1 - s) * tangents,
                    "on arrays, take exp of -|z| only (np.exp(-np.abs(z))) and choose each entry's formula "
                    "with np.where, so that nothing overflows", rel=1e-9, abs_=1e-300)


@pytest.mark.exercise("arrays")
def test_arrays_log_rejects_a_non_positive_entry(kata):
    V = kata.Variable
    bad = np.array([1.0, 0.0, 2.0])
    expect_error("arrays", "log(Variable([1.0, 0.0, 2.0], ...))", ValueError,
                 lambda: kata.primitives.log(V(bad, np.ones((1, 3)))), "ValueError (log needs every entry > 0)",
                 "check every entry: np.any(u.value <= 0) on an array",
                 "log is defined for u > 0 only, entry by entry: raise ValueError if any entry is <= 0")


@pytest.mark.exercise("arrays")
def test_arrays_operands_are_left_alone(kata):
    a = operands(kata.Variable)
    result = evaluate("arrays", "m * x + c", lambda: a.m * a.x + a.c)
    expect_variable("arrays", "m * x + c", result)
    for name, value, tangents in (("x", X, X_T), ("c", C, C_T), ("m", M, M_T)):
        operand = getattr(a, name)
        if not (np.array_equal(operand.value, value) and np.array_equal(operand.grad, tangents)):
            fail("arrays", f"m * x + c with {describe(used='m x c')}", f"{name} unchanged afterwards",
                 f"{name} = Variable({operand.value!r}, {operand.grad!r})",
                 "never write into an operand's arrays (no +=, no slices assigned): compute new ones")


# One tangent without the tangent axis, as stages 1-4 carried it (and as jvp may seed Variable(x, v)): a grad shaped
# like the value, or a number that numpy's broadcasting from the right takes to the value's shape. Each operation
# must take it; the result then carries one tangent (with or without an axis of 1).
XV, YV, MV = X_T[1], Y_T[0], M_T[2]  # one tangent of each


def one_tangent_operands(V) -> SimpleNamespace:
    """x, y, m with one tangent each, shaped like their values; c with the number 2.0; k = Variable(M, 0.5)."""
    return SimpleNamespace(x=V(X, XV), y=V(Y, YV), c=V(C, 2.0), m=V(M, MV), k=V(M, 0.5))


ONE_TANGENT_HINT = ("a grad without the tangent axis is ONE tangent (shaped like the value, or a number that "
                    "broadcasts to it), as in stages 1-4: numpy's broadcasting from the right is right for it, so "
                    "leave it as it is (has_tangent_axis tells the two forms apart)")
ONE_TANGENT_ARRAYS = [
    # description, expression(o, f), value, the one tangent
    ("x * c", lambda o, f: o.x * o.c, X * C, XV * C + X * 2.0),
    ("m + x", lambda o, f: o.m + o.x, M + X, MV + XV),
    ("x / y", lambda o, f: o.x / o.y, X / Y, (XV * Y - X * YV) / Y**2),
    ("x ** c", lambda o, f: o.x ** o.c, X**C, C * X ** (C - 1) * XV + X**C * np.log(X) * 2.0),
    ("tanh(m) * c", lambda o, f: f.tanh(o.m) * o.c, np.tanh(M) * C, (1 - np.tanh(M) ** 2) * MV * C + np.tanh(M) * 2.0),
    ("M + c (a constant matrix plus c, whose tangent is the number 2.0)", lambda o, f: M + o.c, M + C,
     np.full(M.shape, 2.0)),
]


@pytest.mark.exercise("arrays")
@pytest.mark.parametrize("description, expression, value, tangent", ONE_TANGENT_ARRAYS,
                         ids=[c[0].split(" (")[0] for c in ONE_TANGENT_ARRAYS])
def test_arrays_take_one_tangent_without_its_axis(kata, description, expression, value, tangent):
    given_ = (f"{description} with x = Variable({X.tolist()}, {XV.tolist()}), y = Variable({Y.tolist()}, "
              f"{YV.tolist()}), m = Variable({M.tolist()}, {MV.tolist()}), c = Variable({C}, 2.0): one tangent each, "
              f"without a tangent axis: x, y value and grad (3,), m value and grad (2, 3), c a number with grad 2.0")
    result = evaluate("arrays", given_, lambda: expression(one_tangent_operands(kata.Variable), kata.primitives))
    expect_tangents("arrays", given_, result, value, tangent, ONE_TANGENT_HINT, one=True)


POWER_BASES = [
    # description, base, exponent (as (value, tangents) pairs): the exponent varies, so ln(base) enters
    ("Variable([1.0, 0.0, 2.0], 3 tangents) ** Variable(1.5, 3 tangents)", (np.array([1.0, 0.0, 2.0]), X_T), (C, C_T)),
    ("Variable([1.0, -0.5, 2.0], 3 tangents) ** Variable(1.5, 3 tangents)", (np.array([1.0, -0.5, 2.0]), X_T),
     (C, C_T)),
    ("Variable(-1.5, 3 tangents) ** Variable([0.5, 1.5, 2.5], 3 tangents)", (-C, C_T), (X, X_T)),
]


@pytest.mark.exercise("arrays")
@pytest.mark.parametrize("description, base, exponent", POWER_BASES, ids=["a base entry 0", "a base entry < 0",
                                                                           "a negative base, an array exponent"])
def test_arrays_pow_with_a_varying_exponent_needs_every_base_entry_positive(kata, description, base, exponent):
    V = kata.Variable
    expect_error("arrays", description + ": the exponent varies", ValueError,
                 lambda: V(*base) ** V(*exponent), "ValueError (ln(a) needs every entry of the base a > 0)",
                 "check every entry of the base, np.any(a <= 0), before taking np.log of it",
                 "d(a ** b) holds a ** b ln(a) b': with a varying exponent every entry of the base must be > 0, as "
                 "for a number in stage 1; raise ValueError when any is not")


# ---------------------------------------------------------------- arrays: finite differences and properties

COMPOSITES = [
    # description, expression(a, f) on your Variables or on plain numpy arrays (f: the primitives)
    ("sigmoid(x * c) - log(x) / y", lambda a, f: f.sigmoid(a.x * a.c) - f.log(a.x) / a.y),
    ("tanh(m * x + c) ** 2", lambda a, f: f.tanh(a.m * a.x + a.c) ** 2.0),
    ("exp(-x) * relu(m - 1)", lambda a, f: f.exp(-a.x) * f.relu(a.m - 1.0)),
    ("(c + x) / (1 + exp(m)) - x ** c", lambda a, f: (a.c + a.x) / (1.0 + f.exp(a.m)) - a.x ** a.c),
]


def plain_along(values: dict, tangents: dict, k: int, t: float) -> SimpleNamespace:
    """The operands' plain values moved by t along their tangent k."""
    return SimpleNamespace(**{n: values[n] + t * tangents[n][k] for n in NAMES})


def expect_value_and_axis(exercise: str, given_: str, result, value, count: int = 3) -> None:
    """The result's value must be ``value`` and its grad must hold ``count`` tangents, axis first."""
    expect_variable(exercise, given_, result)
    expect_close(exercise, given_, "value", result.value, value, rel=1e-9, abs_=1e-12)
    if shape_of(result.grad) != (count,) + shape_of(value):
        fail(exercise, given_, f"a grad of shape {(count,) + shape_of(value)}: {count} tangents, axis first",
             f"a grad of shape {shape_of(result.grad)}", AXIS_HINT)


def expect_finite_differences(exercise, given_, result, expression, values, tangents):
    for k in range(len(tangents["x"])):
        def along(t, k=k):
            return np.asarray(expression(plain_along(values, tangents, k, t), NUMPY), dtype=float)
        estimate = (along(FD_STEP) - along(-FD_STEP)) / (2 * FD_STEP)
        expect_matches_difference_quotient(exercise, f"{given_}, tangent {k}", np.asarray(result.grad)[k], estimate)


@pytest.mark.exercise("arrays")
@pytest.mark.parametrize("description, expression", COMPOSITES, ids=[c[0] for c in COMPOSITES])
def test_arrays_finite_difference(kata, description, expression):
    given_ = f"{description} with {describe(used=description)}"
    result = evaluate("arrays", given_, lambda: expression(operands(kata.Variable), kata.primitives))
    value = expression(SimpleNamespace(x=X, y=Y, c=C, m=M), NUMPY)
    expect_value_and_axis("arrays", given_, result, value)
    expect_finite_differences("arrays", given_, result, expression, {"x": X, "y": Y, "c": C, "m": M},
                              {"x": X_T, "y": Y_T, "c": C_T, "m": M_T})


positive_vectors = tangent_arrays((3,), st.floats(0.25, 3.0))
PROPERTY_TANGENTS = 2  # P in the properties (the exact cases hold P = n = 3)
VALUE_STRATEGIES = {"x": positive_vectors, "y": positive_vectors, "c": st.floats(0.25, 2.0),
                    "m": tangent_arrays((2, 3), st.floats(-2.0, 2.0))}
SHAPES = {"x": (3,), "y": (3,), "c": (), "m": (2, 3)}


@functools.cache
def value_strategy(names: tuple[str, ...]):
    """The strategy of the values of the operands ``names``, built once."""
    return st.fixed_dictionaries({n: VALUE_STRATEGIES[n] for n in names})


def draw_operands(data, description: str) -> tuple[dict, dict, dict]:
    """Values (hypothesis) and two sets of P tangents (numpy, from a drawn seed: any tangents do, the
    properties are linear algebra) for the operands an expression names; the others keep the data above."""
    names = tuple(n for n in NAMES if re.search(rf"\b{n}\b", description))
    values = {"x": X, "y": Y, "c": C, "m": M} | data.draw(value_strategy(names))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))

    def tangents() -> dict:
        return {n: rng.uniform(-2.0, 2.0, (PROPERTY_TANGENTS,) + SHAPES[n]) if n in names
                else np.zeros((PROPERTY_TANGENTS,) + SHAPES[n]) for n in NAMES}

    return values, tangents(), tangents()


def scalar_passes(V, expression, primitives, values: dict, tangents: dict, shape: tuple[int, ...]) -> np.ndarray:
    """The P tangents of an elementwise expression, by one scalar pass per tangent and entry (stages 1-4's way)."""
    count = len(tangents["x"])
    lined = {}
    for n in NAMES:  # each operand's value and tangents broadcast to the result's shape, tangent axis first
        if np.ndim(values[n]) > len(shape):
            continue  # an operand the expression does not use (its shape could not give the result's)
        value = np.broadcast_to(values[n], shape)
        extra = len(shape) - np.ndim(values[n])
        grad = np.reshape(tangents[n], (count,) + (1,) * extra + np.shape(values[n]))
        lined[n] = (value, np.broadcast_to(grad, (count,) + shape))
    out = np.zeros((count,) + shape)
    for k in range(count):
        for index in itertools.product(*(range(s) for s in shape)):
            scalars = SimpleNamespace(**{n: V(float(value[index]), float(grad[(k,) + index]))
                                         for n, (value, grad) in lined.items()})
            out[(k,) + index] = expression(scalars, primitives).grad
    return out


@pytest.mark.exercise("arrays")
@pytest.mark.parametrize("description, expression", COMPOSITES, ids=[c[0] for c in COMPOSITES])
@given(data=st.data(), a=st.floats(-2, 2), b=st.floats(-2, 2))
def test_arrays_tangents_are_linear_and_agree_with_scalar_passes(kata, description, expression, data, a, b):
    V, f = kata.Variable, kata.primitives
    values, first, second = draw_operands(data, description)
    given_ = f"{description} with {describe(values, description, PROPERTY_TANGENTS)}"
    one = evaluate("arrays", given_, lambda: expression(operands(V, values, first), f))
    two = expression(operands(V, values, second), f)
    mixed_tangents = {n: a * first[n] + b * second[n] for n in NAMES}
    mixed = expression(operands(V, values, mixed_tangents), f)
    expected_shape = (PROPERTY_TANGENTS,) + shape_of(one.value)
    expect_tangents("arrays", given_ + f", tangents a t1 + b t2 (a = {a!r}, b = {b!r})", mixed, one.value,
                    a * np.broadcast_to(one.grad, expected_shape) + b * np.broadcast_to(two.grad, expected_shape),
                    "each rule is linear in the tangents: seeding a t1 + b t2 must give a (result's t1) + b (result's t2)",
                    rel=1e-7, abs_=1e-9)
    expected = scalar_passes(V, expression, f, values, first, shape_of(one.value))
    expect_tangents("arrays", given_ + " against one scalar pass of your Variable per tangent and entry", one,
                    one.value, expected, AXIS_HINT, rel=AGREE_REL, abs_=AGREE_ABS)


# ---------------------------------------------------------------- reductions: exact values

def _exact_reductions():
    x, xt, y, yt, m, mt = X, X_T, Y, Y_T, M, M_T
    order = np.array([2, 0, 2])
    return [
        ("x[1]", lambda a: a.x[1], x[1], xt[:, 1]),
        ("x[-1]", lambda a: a.x[-1], x[-1], xt[:, -1]),
        ("x[0:2]", lambda a: a.x[0:2], x[0:2], xt[:, 0:2]),
        ("x[[2, 0, 2]]", lambda a: a.x[order], x[order], xt[:, order]),
        ("m[1]", lambda a: a.m[1], m[1], mt[:, 1]),
        ("m[:, 2]", lambda a: a.m[:, 2], m[:, 2], mt[:, :, 2]),
        ("m[1, 0]", lambda a: a.m[1, 0], m[1, 0], mt[:, 1, 0]),
        # ... and None (np.newaxis) index the value's axes; the tangent axis stays whole, in front
        ("x[..., 0]", lambda a: a.x[..., 0], x[..., 0], xt[:, 0]),
        ("m[..., 1]", lambda a: a.m[..., 1], m[..., 1], mt[:, :, 1]),
        ("m[0, ...]", lambda a: a.m[0, ...], m[0, ...], mt[:, 0]),
        ("x[None]", lambda a: a.x[None], x[None], xt[:, None, :]),
        ("x[:, np.newaxis]", lambda a: a.x[:, np.newaxis], x[:, None], xt[:, :, None]),
        ("m[None, 1, ...]", lambda a: a.m[None, 1, ...], m[None, 1], mt[:, None, 1, :]),
        ("m[..., None, 2]", lambda a: a.m[..., None, 2], m[:, None, 2], mt[:, :, None, 2]),
        ("x.sum()", lambda a: a.x.sum(), x.sum(), xt.sum(axis=1)),
        ("m.sum()", lambda a: a.m.sum(), m.sum(), mt.sum(axis=(1, 2))),
        ("x @ W (W a (3, 2) numpy matrix)", lambda a: a.x @ W, x @ W, xt @ W),
        ("m @ W", lambda a: a.m @ W, m @ W, mt @ W),
        ("W2 @ x (W2 a (2, 3) numpy matrix)", lambda a: W2 @ a.x, W2 @ x, xt @ W2.T),
        ("S @ x (S a square (3, 3) numpy matrix)", lambda a: S @ a.x, S @ x, xt @ S.T),
        ("A @ x (A a numpy vector)", lambda a: A @ a.x, A @ x, xt @ A),
        ("W2.T @ m (a (3, 2) numpy matrix times m)", lambda a: W2.T @ a.m, W2.T @ m, W2.T @ mt),
        ("x @ y (two Variables)", lambda a: a.x @ a.y, x @ y, xt @ y + yt @ x),
        ("m @ y", lambda a: a.m @ a.y, m @ y, mt @ y + yt @ m.T),
        ("x @ S @ y", lambda a: (a.x @ S) @ a.y, x @ S @ y, (xt @ S) @ y + yt @ (x @ S)),
    ]


REDUCTION_HINT = ("each tangent goes through the same linear operation as the value, behind the tangent axis: "
                  "index grad[:, i], sum over all axes but the first, and for a vector's (P, n) tangents "
                  "W @ v becomes tangents @ W.T")


@pytest.mark.exercise("reductions")
@pytest.mark.parametrize("description, expression, value, tangents", _exact_reductions(),
                         ids=[c[0].split(" (")[0] for c in _exact_reductions()])
def test_reductions_exact(kata, description, expression, value, tangents):
    given_ = f"{description} with {describe(used=description)}"
    result = evaluate("reductions", given_, lambda: expression(operands(kata.Variable)))
    expect_tangents("reductions", given_, result, value, tangents, REDUCTION_HINT)


ONE_TANGENT_REDUCTIONS = [
    # description, expression(o), value, the one tangent; k = Variable(M, 0.5): a number for one tangent of a matrix
    ("x[1:]", lambda o: o.x[1:], X[1:], XV[1:]),
    ("x[..., 2]", lambda o: o.x[..., 2], X[2], XV[2]),
    ("m[None, :, 1]", lambda o: o.m[None, :, 1], M[None, :, 1], MV[None, :, 1]),
    ("k[1] (k = Variable(M, 0.5))", lambda o: o.k[1], M[1], np.full(3, 0.5)),
    ("m.sum()", lambda o: o.m.sum(), M.sum(), MV.sum()),
    ("k.sum() (k = Variable(M, 0.5))", lambda o: o.k.sum(), M.sum(), 0.5 * M.size),
    ("x @ W (W a (3, 2) numpy matrix)", lambda o: o.x @ W, X @ W, XV @ W),
    ("W2 @ x (W2 a (2, 3) numpy matrix)", lambda o: W2 @ o.x, W2 @ X, W2 @ XV),
    ("m @ y (both Variables)", lambda o: o.m @ o.y, M @ Y, MV @ Y + M @ YV),
    ("k @ A (k = Variable(M, 0.5), A a numpy vector)", lambda o: o.k @ A, M @ A, np.full(M.shape, 0.5) @ A),
    ("W3 @ k (k = Variable(M, 0.5))", lambda o: W3 @ o.k, W3 @ M, W3 @ np.full(M.shape, 0.5)),
    # M + x carries x's one tangent as it is, shape (3,): a row that broadcasts over the (2, 3) value
    ("(M + x)[1]", lambda o: (M + o.x)[1], (M + X)[1], XV),
    ("(M + x).sum()", lambda o: (M + o.x).sum(), (M + X).sum(), 2 * XV.sum()),
    ("(M + x) @ A (A a numpy vector)", lambda o: (M + o.x) @ A, (M + X) @ A, np.broadcast_to(XV, M.shape) @ A),
    ("W3 @ (M + x)", lambda o: W3 @ (M + o.x), W3 @ (M + X), W3 @ np.broadcast_to(XV, M.shape)),
]


@pytest.mark.exercise("reductions")
@pytest.mark.parametrize("description, expression, value, tangent", ONE_TANGENT_REDUCTIONS,
                         ids=[c[0].split(" (")[0] for c in ONE_TANGENT_REDUCTIONS])
def test_reductions_take_one_tangent_without_its_axis(kata, description, expression, value, tangent):
    given_ = (f"{description} with x = Variable({X.tolist()}, {XV.tolist()}), y = Variable({Y.tolist()}, "
              f"{YV.tolist()}), m = Variable({M.tolist()}, {MV.tolist()}): one tangent each, without a tangent axis: "
              f"x, y value and grad (3,), m value and grad (2, 3)")
    result = evaluate("reductions", given_, lambda: expression(one_tangent_operands(kata.Variable)))
    expect_tangents("reductions", given_, result, value, tangent,
                    ONE_TANGENT_HINT + "; x[i], x.sum() and @ apply to it as to the value", one=True)


REDUCTION_COMPOSITES = [
    ("(exp(x) @ W).sum()", lambda a, f: (f.exp(a.x) @ W).sum()),
    ("tanh(m @ W)[1] @ x[0:2]", lambda a, f: f.tanh(a.m @ W)[1] @ a.x[0:2]),
    ("(W2 @ x) @ (W2 @ y) / c", lambda a, f: (W2 @ a.x) @ (W2 @ a.y) / a.c),
    ("sigmoid(S @ x + c) @ m[0] - m[0, 1]", lambda a, f: f.sigmoid(S @ a.x + a.c) @ a.m[0] - a.m[0, 1]),
]


@pytest.mark.exercise("reductions")
@pytest.mark.parametrize("description, expression", REDUCTION_COMPOSITES, ids=[c[0] for c in REDUCTION_COMPOSITES])
def test_reductions_finite_difference(kata, description, expression):
    given_ = f"{description} with {describe(used=description)}"
    result = evaluate("reductions", given_, lambda: expression(operands(kata.Variable), kata.primitives))
    value = expression(SimpleNamespace(x=X, y=Y, c=C, m=M), NUMPY)
    expect_value_and_axis("reductions", given_, result, value)
    expect_finite_differences("reductions", given_, result, expression, {"x": X, "y": Y, "c": C, "m": M},
                              {"x": X_T, "y": Y_T, "c": C_T, "m": M_T})


REDUCTION_PROPERTIES = [
    # description, on array Variables, on lists of your scalar Variables (one output entry each)
    ("x.sum()", lambda a: a.x.sum(), lambda s: [s.x[0] + s.x[1] + s.x[2]]),
    ("x @ W", lambda a: a.x @ W, lambda s: [sum(s.x[i] * W[i, j] for i in range(3)) for j in range(2)]),
    ("S @ x", lambda a: S @ a.x, lambda s: [sum(s.x[j] * S[i, j] for j in range(3)) for i in range(3)]),
    ("m @ W", lambda a: a.m @ W,  # the (2, 2) result's entries in C order
     lambda s: [sum(s.m[r][j] * W[j, k] for j in range(3)) for r in range(2) for k in range(2)]),
    ("m[1] - x[::-1]", lambda a: a.m[1] - a.x[::-1], lambda s: [s.m[1][i] - s.x[2 - i] for i in range(3)]),
]


def scalar_lists(V, values: dict, tangents: dict, k: int) -> SimpleNamespace:
    """Each operand as (nested) lists of your scalar Variables, seeded with its tangent k."""
    def build(value, tangent):
        if np.ndim(value) == 0:
            return V(float(value), float(tangent))
        return [build(v, t) for v, t in zip(value, tangent, strict=True)]
    return SimpleNamespace(**{n: build(values[n], tangents[n][k]) for n in NAMES})


@pytest.mark.exercise("reductions")
@pytest.mark.parametrize("description, on_arrays, on_scalars", REDUCTION_PROPERTIES,
                         ids=[c[0] for c in REDUCTION_PROPERTIES])
@given(data=st.data(), a=st.floats(-2, 2), b=st.floats(-2, 2))
def test_reductions_are_linear_and_agree_with_scalar_passes(kata, description, on_arrays, on_scalars, data, a, b):
    V = kata.Variable
    values, first, second = draw_operands(data, description)
    given_ = f"{description} with {describe(values, description, PROPERTY_TANGENTS)}"
    one = evaluate("reductions", given_, lambda: on_arrays(operands(V, values, first)))
    two = on_arrays(operands(V, values, second))
    mixed = on_arrays(operands(V, values, {n: a * first[n] + b * second[n] for n in NAMES}))
    shape = (PROPERTY_TANGENTS,) + shape_of(one.value)
    expect_tangents("reductions", given_ + f", tangents a t1 + b t2 (a = {a!r}, b = {b!r})", mixed, one.value,
                    a * np.broadcast_to(one.grad, shape) + b * np.broadcast_to(two.grad, shape),
                    "a linear operation keeps the tangents linear: a t1 + b t2 in, a (t1 out) + b (t2 out) out",
                    rel=1e-7, abs_=1e-9)
    expected = np.array([[entry.grad for entry in on_scalars(scalar_lists(V, values, first, k))]
                         for k in range(PROPERTY_TANGENTS)])
    expect_tangents("reductions", given_ + " against your scalar Variable, entry by entry", one, one.value,
                    expected.reshape(shape), REDUCTION_HINT, rel=AGREE_REL, abs_=AGREE_ABS)


# ---------------------------------------------------------------- jvp

class Counted:
    """f, counting its calls and keeping the size of each argument's grad (the numbers of its tangents)."""

    def __init__(self, f):
        self.f, self.calls, self.grad_sizes = f, 0, []

    def __call__(self, u):
        self.calls += 1
        self.grad_sizes.append(int(np.size(getattr(u, "grad", 0.0))))
        return self.f(u)


def expect_one_evaluation(exercise: str, given_: str, counted: Counted) -> None:
    if counted.calls != 1:
        fail(exercise, given_, "exactly 1 evaluation of f", f"{counted.calls} evaluations",
             "seed every tangent at once and evaluate f a single time: that is the point of forward mode "
             "with tangents (no finite differences, no loop over the inputs)")


V1 = np.array([1.0, -2.0, 0.5])
U = np.array([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]])
U_DIRECTION = np.array([[1.0, 0.0, -1.0], [2.0, 0.5, 1.0]])
JVP_CASES = [
    # description, f on your Variable (f: the primitives), same f in numpy, x, v, value, tangent
    ("u * u * u", lambda u, f: u * u * u, lambda u: u * u * u, X, V1, X**3, 3 * X**2 * V1),
    ("exp(u) * u", lambda u, f: f.exp(u) * u, lambda u: np.exp(u) * u, X, V1, np.exp(X) * X, (1 + X) * np.exp(X) * V1),
    ("W2 @ tanh(u)", lambda u, f: W2 @ f.tanh(u), lambda u: W2 @ np.tanh(u), X, V1, W2 @ np.tanh(X),
     W2 @ ((1 - np.tanh(X) ** 2) * V1)),
    ("u.sum() ** 2", lambda u, f: u.sum() ** 2.0, lambda u: u.sum() ** 2, X, V1, X.sum() ** 2, 2 * X.sum() * V1.sum()),
    ("3 sigmoid(u) at a scalar u", lambda u, f: 3.0 * f.sigmoid(u), lambda u: 3.0 * stable_sigmoid(u), 0.7, 2.0,
     3.0 * stable_sigmoid(0.7), 6.0 * stable_sigmoid(0.7) * (1 - stable_sigmoid(0.7))),
    ("(u * u).sum() at a matrix u", lambda u, f: (u * u).sum(), lambda u: (u * u).sum(), U, U_DIRECTION,
     (U * U).sum(), 2 * (U * U_DIRECTION).sum()),
]


def jvp_or_fail(kata, exercise, given_, f, x, v):
    result = evaluate(exercise, given_, lambda: kata.tangents.jvp(f, x, v))
    if not (isinstance(result, tuple) and len(result) == 2):
        fail(exercise, given_, "a tuple (value, tangent)", f"{type(result).__name__}: {result!r}"[:300],
             "return (result.value, the tangent of the result)")
    return result


@pytest.mark.exercise("jvp")
@pytest.mark.parametrize("description, f, numpy_f, x, v, value, tangent", JVP_CASES, ids=[c[0] for c in JVP_CASES])
def test_jvp_exact_in_one_evaluation(kata, description, f, numpy_f, x, v, value, tangent):
    counted = Counted(lambda u: f(u, kata.primitives))
    given_ = f"jvp({description}, x={np.asarray(x).tolist()}, v={np.asarray(v).tolist()})"
    got_value, got_tangent = jvp_or_fail(kata, "jvp", given_, counted, x, v)
    hint = "seed x with v as its one tangent; the result's value is f(x) and its tangent is J v"
    expect_close("jvp", given_, "value", got_value, value, hint, rel=1e-9, abs_=1e-12)
    expect_close("jvp", given_, "tangent", got_tangent, tangent, hint, rel=1e-9, abs_=1e-12)
    if shape_of(got_tangent) != shape_of(value) or shape_of(got_value) != shape_of(value):
        fail("jvp", given_, f"value and tangent of shape {shape_of(value)}, the shape of f(x)",
             f"shapes {shape_of(got_value)} and {shape_of(got_tangent)}",
             "drop the tangent axis from the result: its one tangent has the shape of the value")
    expect_one_evaluation("jvp", given_, counted)
    if counted.grad_sizes != [np.size(x)]:  # v, with or without a tangent axis of 1: not n tangents, not 0
        fail("jvp", given_, f"f evaluated on x seeded with ONE tangent, v: a grad of {np.size(x)} numbers",
             f"a grad of {counted.grad_sizes[0]} numbers", "seed x with v itself, Variable(x, v[np.newaxis]): "
             "J v comes out of f in one pass with one tangent, without building J (that is jacobian's job)")


@pytest.mark.exercise("jvp")
@pytest.mark.parametrize("description, f, numpy_f, x, v, value, tangent", JVP_CASES, ids=[c[0] for c in JVP_CASES])
def test_jvp_finite_difference(kata, description, f, numpy_f, x, v, value, tangent):
    given_ = f"jvp({description}, x={np.asarray(x).tolist()}, v={np.asarray(v).tolist()})"
    _, got_tangent = jvp_or_fail(kata, "jvp", given_, lambda u: f(u, kata.primitives), x, v)
    estimate = (np.asarray(numpy_f(x + FD_STEP * v)) - np.asarray(numpy_f(x - FD_STEP * v))) / (2 * FD_STEP)
    expect_matches_difference_quotient("jvp", given_, got_tangent, estimate)


@pytest.mark.exercise("jvp")
def test_jvp_needs_x_and_v_of_one_shape(kata):
    expect_error("jvp", "jvp(f, x of shape (3,), v of shape (2,))", ValueError,
                 lambda: kata.tangents.jvp(lambda u: u * u, X, np.array([1.0, 0.0])),
                 "ValueError (v must have the shape of x)", "compare x.shape and v.shape first",
                 "a tangent has the shape of the input: raise ValueError when v's shape differs from x's")


def elementwise(u, f):
    return f.sigmoid(u * u - 1.0) * f.exp(-u) + f.log(u) / (u + 2.0)


def elementwise_numpy(u):
    return elementwise(u, NUMPY)


@pytest.mark.exercise("jvp")
@given(x=positive_vectors, v=tangent_arrays((3,)), w=tangent_arrays((3,)), a=st.floats(-2, 2), b=st.floats(-2, 2))
def test_jvp_is_linear_in_v_and_agrees_with_scalar_passes(kata, x, v, w, a, b):
    def f(u):
        return elementwise(u, kata.primitives)
    given_ = f"jvp(sigmoid(u*u - 1) exp(-u) + log(u) / (u + 2), x={x.tolist()}, v={v.tolist()})"
    _, along_v = jvp_or_fail(kata, "jvp", given_, f, x, v)
    _, along_w = kata.tangents.jvp(f, x, w)
    _, mixed = kata.tangents.jvp(f, x, a * v + b * w)
    expect_close("jvp", given_ + f" along a v + b w (a = {a!r}, b = {b!r}, w = {w.tolist()})", "tangent", mixed,
                 a * np.asarray(along_v) + b * np.asarray(along_w), "J (a v + b w) = a J v + b J w",
                 rel=1e-7, abs_=1e-9)
    scalar = [f(kata.Variable(float(xi), float(vi))).grad for xi, vi in zip(x, v, strict=True)]
    expect_close("jvp", given_ + " against your scalar Variable entry by entry", "tangent", along_v, scalar,
                 "an elementwise f: entry i of J v is f'(x_i) v_i, the scalar pass Variable(x_i, v_i)",
                 rel=AGREE_REL, abs_=AGREE_ABS)


# ---------------------------------------------------------------- gradient, jacobian and seeded

def softmax(z):
    e = np.exp(z - z.max())
    return e / e.sum()


GRADIENT_CASES = [
    # description, f on your Variable, same in numpy, x, gradient
    ("(u * u).sum()", lambda u, f: (u * u).sum(), lambda u: (u * u).sum(), X, 2 * X),
    ("log(exp(u).sum())", lambda u, f: f.log(f.exp(u).sum()), lambda u: np.log(np.exp(u).sum()), X, softmax(X)),
    ("(W2 @ u) @ (W2 @ u)", lambda u, f: (W2 @ u) @ (W2 @ u), lambda u: (W2 @ u) @ (W2 @ u), X, 2 * W2.T @ W2 @ X),
    ("u[0] * u[1] + exp(u[2]) / u[0]", lambda u, f: u[0] * u[1] + f.exp(u[2]) / u[0],
     lambda u: u[0] * u[1] + np.exp(u[2]) / u[0], X,
     np.array([X[1] - np.exp(X[2]) / X[0] ** 2, X[0], np.exp(X[2]) / X[0]])),
    ("sigmoid(u @ A)", lambda u, f: f.sigmoid(u @ A), lambda u: stable_sigmoid(u @ A), X,
     stable_sigmoid(X @ A) * (1 - stable_sigmoid(X @ A)) * A),
    ("(U * U).sum() at a matrix U", lambda u, f: (u * u).sum(), lambda u: (u * u).sum(), M, 2 * M),
    ("(W3 @ U).sum() at a (2, 3) matrix U", lambda u, f: (W3 @ u).sum(), lambda u: (W3 @ u).sum(), M,
     np.tile(W3.sum(axis=0)[:, None], (1, 3))),
    ("tanh(U)[1, 2] * U[0, 0]", lambda u, f: f.tanh(u)[1, 2] * u[0, 0], lambda u: np.tanh(u)[1, 2] * u[0, 0], M,
     np.array([[np.tanh(M[1, 2]), 0, 0], [0, 0, (1 - np.tanh(M[1, 2]) ** 2) * M[0, 0]]])),
]
SEED_HINT = ("seed the n entries of x with the n one-hot tangents at once: the grad of x is np.eye(n) reshaped "
             "to (n,) + x.shape, and tangent k of the result is the derivative by entry k")


@pytest.mark.exercise("gradient")
@pytest.mark.parametrize("description, f, numpy_f, x, expected", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradient_exact_in_one_evaluation(kata, description, f, numpy_f, x, expected):
    counted = Counted(lambda u: f(u, kata.primitives))
    given_ = f"gradient({description}, x={x.tolist()})"
    result = evaluate("gradient", given_, lambda: kata.tangents.gradient(counted, x))
    if shape_of(result) != x.shape:
        fail("gradient", given_, f"an array of shape {x.shape}, the shape of x", f"shape {shape_of(result)}", SEED_HINT)
    expect_close("gradient", given_, "gradient", result, expected, SEED_HINT, rel=1e-9, abs_=1e-12)
    expect_one_evaluation("gradient", given_, counted)


@pytest.mark.exercise("gradient")
@pytest.mark.parametrize("description, f, numpy_f, x, expected", GRADIENT_CASES, ids=[c[0] for c in GRADIENT_CASES])
def test_gradient_finite_difference(kata, description, f, numpy_f, x, expected):
    given_ = f"gradient({description}, x={x.tolist()})"
    result = evaluate("gradient", given_, lambda: kata.tangents.gradient(lambda u: f(u, kata.primitives), x))
    for k in range(x.size):
        step = np.zeros(x.size)
        step[k] = FD_STEP
        step = step.reshape(x.shape)
        estimate = (numpy_f(x + step) - numpy_f(x - step)) / (2 * FD_STEP)
        expect_matches_difference_quotient("gradient", f"{given_}, entry {np.unravel_index(k, x.shape)}",
                                           np.asarray(result).reshape(-1)[k], estimate, SEED_HINT)


@pytest.mark.exercise("gradient")
@pytest.mark.parametrize("x", [X, np.array([2.0])], ids=["shape (3,)", "shape (1,)"])
def test_gradient_refuses_a_vector_valued_f(kata, x):
    expect_error("gradient", f"gradient(lambda u: u * u, x of shape {x.shape})", ValueError,
                 lambda: kata.tangents.gradient(lambda u: u * u, x), "ValueError (f must return one number)",
                 "check the result's value is a scalar (np.ndim(value) == 0)",
                 "a gradient belongs to a scalar-valued f: raise ValueError and point to jacobian")


def scalar_function(u, f):
    """Written with indexing and scalar operations only: it runs on an array Variable or on a list of scalar ones."""
    return u[0] * u[1] + f.exp(u[2]) / u[0] - f.sigmoid(u[1] * u[2]) + f.tanh(u[3]) * u[0]


@pytest.mark.exercise("gradient")
@given(x=tangent_arrays((4,), st.floats(0.25, 3.0)), v=tangent_arrays((4,)))
def test_gradient_agrees_with_scalar_passes_and_finite_differences(kata, x, v):
    V, f = kata.Variable, kata.primitives
    given_ = f"gradient(u[0] u[1] + exp(u[2]) / u[0] - sigmoid(u[1] u[2]) + tanh(u[3]) u[0], x={x.tolist()})"
    result = evaluate("gradient", given_, lambda: kata.tangents.gradient(lambda u: scalar_function(u, f), x))
    passes = [scalar_function([V(float(xi), 1.0 if i == k else 0.0) for i, xi in enumerate(x)], f).grad
              for k in range(len(x))]
    expect_close("gradient", given_ + " against 4 passes of your scalar Variable, one seeded entry each",
                 "gradient", result, passes, SEED_HINT, rel=AGREE_REL, abs_=AGREE_ABS)
    estimate = (scalar_function(x + FD_STEP * v, NUMPY) - scalar_function(x - FD_STEP * v, NUMPY)) / (2 * FD_STEP)
    expect_matches_difference_quotient("gradient", given_ + f", gradient @ v along v = {v.tolist()}",
                                       float(np.asarray(result) @ v), estimate,
                                       "the gradient dotted with v is the derivative along v")


JACOBIAN_CASES = [
    # description, f on your Variable, same in numpy, x, Jacobian
    ("S @ u (S square, not symmetric)", lambda u, f: S @ u, lambda u: S @ u, X, S),
    ("W2 @ u", lambda u, f: W2 @ u, lambda u: W2 @ u, X, W2),
    ("exp(u)", lambda u, f: f.exp(u), np.exp, X, np.diag(np.exp(X))),
    ("u * u.sum()", lambda u, f: u * u.sum(), lambda u: u * u.sum(), X, np.diag(np.full(3, X.sum())) + X[:, None]),
    ("tanh(u @ W)", lambda u, f: f.tanh(u @ W), lambda u: np.tanh(u @ W), X, ((1 - np.tanh(X @ W) ** 2)[:, None] * W.T)),
    # m and n count the entries of f(x) and of x in numpy's (C) order: row i is f(x).flat[i], column k is x.flat[k]
    ("u * M (a (2, 3) matrix-valued f of a vector u)", lambda u, f: u * M, lambda u: u * M, X,
     np.einsum("ij,jk->ijk", M, np.eye(3)).reshape(6, 3)),
    ("tanh(U) (a (2, 3) matrix-valued f of a (2, 3) matrix U)", lambda u, f: f.tanh(u), np.tanh, M,
     np.diag(1 - np.tanh(M).reshape(-1) ** 2)),
    ("U @ A (a vector f of a (2, 3) matrix U)", lambda u, f: u @ A, lambda u: u @ A, M, np.kron(np.eye(2), A)),
    ("(u * u).sum() (a scalar f: one row)", lambda u, f: (u * u).sum(), lambda u: (u * u).sum(), X, 2 * X[None, :]),
    ("(W3 @ U).sum() (a scalar f of a matrix U)", lambda u, f: (W3 @ u).sum(), lambda u: (W3 @ u).sum(), M,
     np.tile(W3.sum(axis=0)[:, None], (1, 3)).reshape(1, 6)),
]
JACOBIAN_HINT = ("J[i, k] = d f(x).flat[i] / d x.flat[k]: tangent k of the result is column k, its entries in numpy's "
                 "C order (row by row, np.reshape's default), one row per entry of f(x); a scalar f gives one row, "
                 "shape (1, n)")
FORTRAN_HINT = ("these are the right rows in the wrong order: the entries of a matrix-valued f(x) are counted in "
                "numpy's C order, row by row (np.reshape's default, as seeded counts x), not Fortran's column by column")


def fortran_rows(jacobian: np.ndarray, value_shape: tuple[int, ...]) -> np.ndarray:
    """The Jacobian with its rows counted in Fortran order: what a reshape with order="F" gives."""
    n = jacobian.shape[-1]
    return np.asarray(jacobian).reshape(value_shape + (n,)).transpose(*reversed(range(len(value_shape))),
                                                                       len(value_shape)).reshape(-1, n)


@pytest.mark.exercise("gradient")
@pytest.mark.parametrize("description, f, numpy_f, x, expected", JACOBIAN_CASES,
                         ids=[c[0].split(" (")[0] for c in JACOBIAN_CASES])
def test_jacobian_exact_in_one_evaluation(kata, description, f, numpy_f, x, expected):
    counted = Counted(lambda u: f(u, kata.primitives))
    given_ = f"jacobian({description}, x={x.tolist()})"
    result = evaluate("gradient", given_, lambda: kata.tangents.jacobian(counted, x))
    value_shape = shape_of(numpy_f(x))
    if shape_of(result) != expected.shape:
        fail("gradient", given_, f"an array of shape {expected.shape}: m = {expected.shape[0]} entries of f(x) "
             f"(its value has shape {value_shape}), n = {x.size} entries of x", f"shape {shape_of(result)}",
             JACOBIAN_HINT)
    in_fortran_order = len(value_shape) > 1 and close(result, fortran_rows(expected, value_shape), 1e-9, 1e-12)
    expect_close("gradient", given_, "Jacobian", result, expected, FORTRAN_HINT if in_fortran_order else JACOBIAN_HINT,
                 rel=1e-9, abs_=1e-12)
    expect_one_evaluation("gradient", given_, counted)


@pytest.mark.exercise("gradient")
@pytest.mark.parametrize("description, f, numpy_f, x, expected", JACOBIAN_CASES,
                         ids=[c[0].split(" (")[0] for c in JACOBIAN_CASES])
def test_jacobian_finite_difference(kata, description, f, numpy_f, x, expected):
    given_ = f"jacobian({description}, x={x.tolist()})"
    result = evaluate("gradient", given_, lambda: kata.tangents.jacobian(lambda u: f(u, kata.primitives), x))
    if shape_of(result) != expected.shape:
        fail("gradient", given_, f"an array of shape {expected.shape} (m entries of f(x), n of x)",
             f"shape {shape_of(result)}", JACOBIAN_HINT)
    for k in range(x.size):
        step = np.zeros(x.size)
        step[k] = FD_STEP
        step = step.reshape(x.shape)
        estimate = np.reshape((numpy_f(x + step) - numpy_f(x - step)) / (2 * FD_STEP), -1)
        expect_matches_difference_quotient("gradient", f"{given_}, column {k} (x.flat[{k}])", np.asarray(result)[:, k],
                                           estimate, JACOBIAN_HINT)


@pytest.mark.exercise("gradient")
def test_seeded_gives_the_one_hot_tangents_of_every_entry(kata):
    first, scalar, block = np.array([1.0, 2.0]), 3.0, np.array([[4.0, 5.0], [6.0, 7.0]])
    given_ = "seeded([1.0, 2.0], 3.0, [[4.0, 5.0], [6.0, 7.0]]): P = 7 tangents"
    result = evaluate("gradient", given_, lambda: kata.tangents.seeded(first, scalar, block))
    if not (isinstance(result, tuple | list) and len(result) == 3):
        fail("gradient", given_, "a tuple of 3 Variables", f"{result!r}"[:300], "one Variable per array, in order")
    identity = np.eye(7)
    expect_tangents("gradient", given_ + ", the first Variable", result[0], first, identity[:, 0:2], SEED_HINT)
    expect_tangents("gradient", given_ + ", the second Variable", result[1], scalar, identity[:, 2], SEED_HINT)
    expect_tangents("gradient", given_ + ", the third Variable", result[2], block,
                    identity[:, 3:7].reshape(7, 2, 2), SEED_HINT)
    if real_number(result[1].value) is None:
        fail("gradient", given_ + ", the second Variable's value", "the number 3.0 (a single number stays a number: "
             "a float, a numpy scalar or a 0-d array)", f"{type(result[1].value).__name__}: {result[1].value!r}",
             "a 0-d array gives a single number as its value, with a grad of shape (P,)")

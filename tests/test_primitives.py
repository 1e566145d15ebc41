"""Stage 2 tests: the primitives log, exp, sigmoid, tanh and relu (katas/primitives.py).

For every exercise: exact values at hand-picked points, central finite differences of the
plain math function, hypothesis properties over the domains in checks.py, plain numbers as
constants, and bad input. log's domain error and sigmoid's extreme inputs have tests of their
own. Expected values come from ``math`` or from identities of the primitive under test, never
from another exercise's code: exp's tests call no log, tanh's no sigmoid, and no test builds an
expected value with the learner's operators.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from checks import (
    PROPERTY_ABS,
    PROPERTY_REL,
    expect_close,
    expect_dual,
    expect_matches_finite_difference,
    expect_rule,
    expect_unchanged,
    expect_variable,
    fail,
    nonzero,
    positive,
    reals,
    seeds,
    show,
)
from hypothesis import given
from hypothesis import strategies as st

PRIMITIVES = ("log", "exp", "sigmoid", "tanh", "relu")


def call(kata, name, x, sx):
    """primitives.<name>(Variable(x, sx)), and a description of it for messages."""
    u = kata.Variable(x, sx)
    given_ = f"{name}({show(u)})"
    return getattr(kata.primitives, name)(u), given_


def plain_sigmoid(z: float) -> float:
    """The tests' own sigmoid, accurate to a few ulps of its value everywhere (exp sees only -|z|)."""
    e = math.exp(-abs(z))
    return 1.0 / (1.0 + e) if z >= 0 else e / (1.0 + e)


def plain_sigmoid_slope(z: float) -> float:
    """sigmoid'(z) = e / (1 + e)**2 with e = exp(-|z|): even, and accurate where s (1 - s) rounds to 0."""
    e = math.exp(-abs(z))
    return e / (1.0 + e) ** 2


VALUE_FUNCTIONS = {"log": math.log, "exp": math.exp, "sigmoid": plain_sigmoid, "tanh": math.tanh,
                   "relu": lambda z: max(0.0, z)}

CHAIN_HINT = "chain rule: multiply f'(u) by the inner grad u' (the Variable's own grad)"
LOG_HINT = "d log(u) = u' / u: divide the grad by the value, do not multiply"
SIGMOID_HINT = "ds = s (1 - s) u' where s is the OUTPUT 1/(1+e^-u), not the input u"
TANH_HINT = "d tanh(u) = (1 - t**2) u' with t = tanh(u): t is squared"
RELU_HINT = "relu's grad is u' where u > 0 and 0 where u <= 0: a negative input blocks the gradient"

# ---------------------------------------------------------------- exact values

EXACT = [
    # exercise, x, sx, value, grad, hint
    ("log", 1.0, 1.0, 0.0, 1.0, None),
    ("log", 4.0, 0.5, math.log(4.0), 0.125, LOG_HINT),
    ("log", 0.5, 1.0, -math.log(2.0), 2.0, LOG_HINT),
    ("log", math.e, 3.0, 1.0, 3.0 / math.e, CHAIN_HINT),
    ("log", 10.0, 0.0, math.log(10.0), 0.0, CHAIN_HINT),
    ("exp", 0.0, 1.0, 1.0, 1.0, None),
    ("exp", 1.0, 2.0, math.e, 2.0 * math.e, CHAIN_HINT),
    ("exp", -2.0, 0.5, math.exp(-2.0), 0.5 * math.exp(-2.0), CHAIN_HINT),
    ("exp", math.log(3.0), -1.0, 3.0, -3.0, CHAIN_HINT),
    ("sigmoid", 0.0, 1.0, 0.5, 0.25, SIGMOID_HINT),
    ("sigmoid", 0.0, 4.0, 0.5, 1.0, CHAIN_HINT),
    ("sigmoid", math.log(3.0), 1.0, 0.75, 0.1875, SIGMOID_HINT),
    ("sigmoid", -math.log(3.0), 2.0, 0.25, 0.375, SIGMOID_HINT),
    ("sigmoid", 2.0, 0.0, 1.0 / (1.0 + math.exp(-2.0)), 0.0, CHAIN_HINT),
    ("tanh", 0.0, 1.0, 0.0, 1.0, None),
    ("tanh", math.atanh(0.5), 1.0, 0.5, 0.75, TANH_HINT),
    ("tanh", -math.atanh(0.6), 2.0, -0.6, 1.28, TANH_HINT),
    ("tanh", 1.0, 0.5, math.tanh(1.0), 0.5 / math.cosh(1.0) ** 2, CHAIN_HINT),
    ("relu", 3.0, 2.0, 3.0, 2.0, CHAIN_HINT),
    ("relu", 0.25, -1.5, 0.25, -1.5, CHAIN_HINT),
    ("relu", -3.0, 2.0, 0.0, 0.0, RELU_HINT),
    ("relu", -1e-9, 5.0, 0.0, 0.0, RELU_HINT),
    ("relu", 0.0, 1.0, 0.0, 0.0, "at exactly u = 0 relu's grad is taken as 0 (use u > 0, not u >= 0)"),
]


@pytest.mark.parametrize(
    "exercise, x, sx, value, grad, hint",
    [pytest.param(*case, marks=pytest.mark.exercise(case[0]), id=f"{case[0]}-{i}") for i, case in enumerate(EXACT)],
)
def test_exact(kata, exercise, x, sx, value, grad, hint):
    result, given_ = call(kata, exercise, x, sx)
    expect_rule(exercise, given_, result, value, grad, sx, hint)


PLAIN_NUMBERS = [
    # exercise, number, value
    ("log", 4.0, math.log(4.0)),
    ("log", 1, 0.0),
    ("log", np.int64(4), math.log(4.0)),
    ("log", np.array(4.0), math.log(4.0)),
    ("exp", 1, math.e),
    ("exp", np.float64(-0.5), math.exp(-0.5)),
    ("exp", np.array(-0.5), math.exp(-0.5)),
    ("sigmoid", 0, 0.5),
    ("sigmoid", -1.5, plain_sigmoid(-1.5)),
    ("sigmoid", np.int64(-2), plain_sigmoid(-2.0)),
    ("sigmoid", np.array(1.5), plain_sigmoid(1.5)),
    ("tanh", 0.5, math.tanh(0.5)),
    ("tanh", np.float64(-2.0), math.tanh(-2.0)),
    ("tanh", np.int64(1), math.tanh(1.0)),
    ("relu", 2.5, 2.5),
    ("relu", -2, 0.0),
    ("relu", np.int64(3), 3.0),
    ("relu", np.array(-0.5), 0.0),
]


@pytest.mark.parametrize(
    "exercise, number, value",
    [pytest.param(*case, marks=pytest.mark.exercise(case[0]), id=f"{case[0]}-{i}") for i, case in enumerate(PLAIN_NUMBERS)],
)
def test_plain_number_is_a_constant(kata, exercise, number, value):
    primitive = getattr(kata.primitives, exercise)
    given_ = f"{exercise}({number!r}) with a plain {type(number).__name__}"  # ndarray: a 0-d array
    expect_dual(exercise, given_, primitive(number), value, 0.0,
                "a plain number is a constant: keep the first line u = lift(u), which makes it Variable(c, 0.0)")
    for bad in ("2.0", None, [1.0]):
        try:
            result = primitive(bad)
        except TypeError:
            continue
        except Exception as exc:  # noqa: BLE001 - any other error is the wrong one
            fail(exercise, f"{exercise}({bad!r})", "TypeError", f"{type(exc).__name__}: {exc}",
                 "keep the first line u = lift(u): it raises TypeError for anything but a Variable or a number")
        fail(exercise, f"{exercise}({bad!r})", "TypeError", show(result),
             "keep the first line u = lift(u): it rejects other types")


SLOPES = {"log": lambda z: 1.0 / z, "exp": math.exp, "sigmoid": plain_sigmoid_slope,
          "tanh": lambda z: 1.0 / math.cosh(z) ** 2, "relu": lambda z: 1.0 if z > 0 else 0.0}


@pytest.mark.parametrize("exercise", [pytest.param(e, marks=pytest.mark.exercise(e)) for e in PRIMITIVES])
@pytest.mark.parametrize("make", [
    pytest.param(lambda: (np.float64(1.5), np.float64(-2.0)), id="float64"),
    pytest.param(lambda: (np.int64(2), np.int64(3)), id="int64"),
    pytest.param(lambda: (np.array(0.75), np.array(1.5)), id="0-d-arrays"),
])
def test_numpy_values(kata, exercise, make):
    """A Variable holding numpy scalars or 0-d arrays (what numpy code makes) works like one of floats."""
    x, sx = make()
    u = kata.Variable(x, sx)
    given_ = f"{exercise}(Variable({x!r}, {sx!r}))"
    expect_rule(exercise, given_, getattr(kata.primitives, exercise)(u), VALUE_FUNCTIONS[exercise](float(x)),
                SLOPES[exercise](float(x)) * float(sx), float(sx),
                "numpy's scalars and 0-d arrays are real numbers: math's functions take them, or use numpy's")


@pytest.mark.parametrize("exercise", [pytest.param(e, marks=pytest.mark.exercise(e)) for e in PRIMITIVES])
def test_operand_unchanged(kata, exercise):
    u = kata.Variable(0.7, 1.5)
    result = getattr(kata.primitives, exercise)(u)
    # relu may hand back an equal Variable for u > 0; the others build a new one anyway.
    expect_unchanged(exercise, f"{exercise}(Variable(0.7, 1.5))", [u], [(0.7, 1.5)],
                     None if exercise == "relu" else result)
    expect_variable(exercise, f"{exercise}(Variable(0.7, 1.5))", result)


# ---------------------------------------------------------------- log's domain


@pytest.mark.exercise("log")
@pytest.mark.parametrize("make", [
    pytest.param(lambda V: V(0.0, 1.0), id="zero"),
    pytest.param(lambda V: V(-1.0, 1.0), id="minus-one"),
    pytest.param(lambda V: V(-1e-300, 0.0), id="tiny-negative"),
    pytest.param(lambda V: -2.5, id="plain-negative"),
])
def test_log_rejects_non_positive(kata, make):
    u = make(kata.Variable)
    value = u.value if isinstance(u, kata.Variable) else u
    given_ = f"log({show(u)})"
    expected = f"ValueError whose message names the value {value!r}"
    try:
        result = kata.primitives.log(u)
    except ValueError as exc:
        if not any(form in str(exc) for form in {repr(value), str(value), f"{value:g}"}):
            fail("log", given_, expected, f"ValueError: {exc}",
                 "say which value was wrong, e.g. f\"log needs u > 0, got {u.value!r}\"")
        return
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - any other error is the wrong one
        fail("log", given_, expected, f"{type(exc).__name__}: {exc}",
             "check u.value <= 0 first and raise ValueError before dividing or calling log")
    fail("log", given_, expected, show(result), "log is defined for u > 0 only: raise ValueError for u.value <= 0")


# ---------------------------------------------------------------- sigmoid's extremes

EXTREME_INPUTS = [
    # x, sx: the exact limits at +-1000; beyond exp's range (e^710 overflows); where 1 - s rounds to 0
    (1000.0, 1.0), (-1000.0, 1.0), (710.0, 2.0), (-710.0, 2.0), (745.5, 1.0), (-745.5, -1.0),
    (40.0, 1.0), (-40.0, 1.0), (-20.0, 3.0), (36.5, -2.0),
]


@pytest.mark.exercise("sigmoid")
@pytest.mark.parametrize("x, sx", EXTREME_INPUTS, ids=[f"u={c[0]:g}" for c in EXTREME_INPUTS])
def test_sigmoid_extreme_inputs(kata, x, sx):
    """A value in [0, 1] without overflow or warning; exactly 0 and 1 at -1000 and 1000; value and
    grad within checks.RULE_REL of the truth, or checks.UNIT_ABS where they are tiny beside 1."""
    value, grad = plain_sigmoid(x), plain_sigmoid_slope(x) * sx
    u = kata.Variable(x, sx)
    given_ = f"sigmoid({show(u)})"
    hint = "for u < 0 compute e^u / (1 + e^u): exp then only sees numbers <= 0 and cannot overflow"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # numpy's overflow RuntimeWarning becomes an error
            result = kata.primitives.sigmoid(u)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - OverflowError, RuntimeWarning, anything
        fail("sigmoid", given_, f"value {show(value)}, grad {show(grad)}, no error or warning",
             f"{type(exc).__name__}: {exc}", hint)
    expect_rule("sigmoid", given_, result, value, grad, sx, hint)
    if abs(x) == 1000.0 and not float(result.value) == value:
        fail("sigmoid", given_, f"exactly value {show(value)}", show(result),
             "sigmoid(1000) is 1.0 and sigmoid(-1000) is 0.0 exactly in floating point")


# ---------------------------------------------------------------- central finite differences

FD_POINTS = {
    "log": [(0.7, 1.0), (3.2, -0.4), (12.0, 2.5)],
    "exp": [(-1.3, 1.0), (0.4, -2.0), (2.5, 0.3)],
    "sigmoid": [(-2.1, 1.0), (0.3, 3.0), (4.0, -0.7)],
    "tanh": [(-1.2, 1.0), (0.35, 2.0), (2.0, -0.5)],
    "relu": [(1.5, 1.0), (-0.8, 2.0), (4.0, -3.0)],
}


@pytest.mark.parametrize(
    "exercise, x, sx",
    [pytest.param(e, x, sx, marks=pytest.mark.exercise(e), id=f"{e}-{x}") for e, points in FD_POINTS.items()
     for x, sx in points],
)
def test_finite_difference(kata, exercise, x, sx):
    result, given_ = call(kata, exercise, x, sx)
    expect_variable(exercise, given_, result)
    f = VALUE_FUNCTIONS[exercise]
    expect_close(exercise, given_, "value", result.value, f(x), rel=1e-9, abs_=1e-12)
    expect_matches_finite_difference(exercise, given_, result.grad, lambda t: f(x + t * sx))


# ---------------------------------------------------------------- properties

moderate = st.floats(-20.0, 20.0)


@pytest.mark.exercise("log")
@given(x=positive, sx=seeds, y=positive, sy=seeds)
def test_log_properties(kata, x, sx, y, sy):
    log, V = kata.primitives.log, kata.Variable
    lx, ly = log(V(x, sx)), log(V(y, sy))
    expect_rule("log", f"log({show(V(x, sx))})", lx, math.log(x), sx / x, sx, LOG_HINT)
    # log(x y) = log x + log y; with u = x y its grad is u' = x' y + x y', so log(u)' = x'/x + y'/y
    u = V(x * y, sx * y + x * sy)
    product = log(u)
    given_ = f"log({show(u)}) for the product of {show(V(x, sx))} and {show(V(y, sy))}"
    expect_close("log", given_, "value", product.value, lx.value + ly.value, "log(x y) = log x + log y")
    expect_close("log", given_, "grad", product.grad, lx.grad + ly.grad, "log(x y)' = x'/x + y'/y")


@pytest.mark.exercise("exp")
@given(z=moderate, sz=seeds, w=moderate, sw=seeds)
def test_exp_properties(kata, z, sz, w, sw):
    exp, V = kata.primitives.exp, kata.Variable
    ez, ew = exp(V(z, sz)), exp(V(w, sw))
    expect_rule("exp", f"exp({show(V(z, sz))})", ez, math.exp(z), math.exp(z) * sz, sz, CHAIN_HINT)
    # exp(z + w) = exp(z) exp(w): with u = z + w, u' = z' + w', the grads follow the product rule
    both = V(z + w, sz + sw)
    expect_dual("exp", f"exp({show(both)}) against exp({show(V(z, sz))}) * exp({show(V(w, sw))})", exp(both),
                ez.value * ew.value, ez.grad * ew.value + ez.value * ew.grad,
                "exp(z + w) = exp(z) exp(w), so (with the chain rule) its grad is exp(z + w) (z' + w')",
                rel=PROPERTY_REL, abs_=PROPERTY_ABS)


@pytest.mark.exercise("sigmoid")
@given(x=reals, sx=seeds)
def test_sigmoid_symmetry(kata, x, sx):
    sigmoid, V = kata.primitives.sigmoid, kata.Variable
    s, mirrored = sigmoid(V(x, sx)), sigmoid(V(-x, -sx))
    given_ = f"sigmoid({show(V(-x, -sx))}) against sigmoid({show(V(x, sx))})"
    expect_variable("sigmoid", given_, s)
    expect_close("sigmoid", given_, "value", mirrored.value, 1.0 - s.value, "sigmoid(-x) = 1 - sigmoid(x)")
    expect_close("sigmoid", given_, "grad", mirrored.grad, -s.grad,
                 "sigmoid(-x) = 1 - sigmoid(x), so with the seed negated too the grad is negated")
    expect_close("sigmoid", f"sigmoid({show(V(x, sx))})", "grad", s.grad, s.value * (1.0 - s.value) * sx, SIGMOID_HINT)


@pytest.mark.exercise("sigmoid")
@given(x=st.one_of(st.floats(-40.0, 40.0), st.floats(-800.0, 800.0)), sx=seeds)
def test_sigmoid_matches_math(kata, x, sx):
    u = kata.Variable(x, sx)
    expect_rule("sigmoid", f"sigmoid({show(u)})", kata.primitives.sigmoid(u), plain_sigmoid(x),
                   plain_sigmoid_slope(x) * sx, sx, SIGMOID_HINT)


@pytest.mark.exercise("sigmoid")
@given(x=st.floats(-1000.0, 1000.0), sx=seeds)
def test_sigmoid_is_stable(kata, x, sx):
    u = kata.Variable(x, sx)
    given_ = f"sigmoid({show(u)})"
    hint = "for u < 0 compute e^u / (1 + e^u), so exp never sees a large positive number"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            s = kata.primitives.sigmoid(u)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - overflow of any kind
        fail("sigmoid", given_, "a value in [0, 1], no error or warning", f"{type(exc).__name__}: {exc}", hint)
    expect_variable("sigmoid", given_, s)
    if not (0.0 <= s.value <= 1.0 and math.isfinite(s.grad) and abs(s.grad) <= 0.25 * abs(sx) + 1e-12):
        fail("sigmoid", given_, "value in [0, 1] and |grad| <= |u'| / 4", show(s), hint)


@pytest.mark.exercise("tanh")
@given(x=moderate, sx=seeds, k=st.floats(-5.0, 5.0))
def test_tanh_properties(kata, x, sx, k):
    tanh, V = kata.primitives.tanh, kata.Variable
    t = tanh(V(x, sx))
    expect_rule("tanh", f"tanh({show(V(x, sx))})", t, math.tanh(x), sx / math.cosh(x) ** 2, sx, TANH_HINT)
    expect_close("tanh", f"tanh({show(V(x, k * sx))})", "grad", tanh(V(x, k * sx)).grad, k * t.grad,
                 "the grad is linear in the seed u'")
    odd = tanh(V(-x, -sx))
    expect_dual("tanh", f"tanh({show(V(-x, -sx))}) against tanh({show(V(x, sx))})", odd, -t.value, -t.grad,
                "tanh is odd: tanh(-x) = -tanh(x), and with the seed negated the grad is negated", rel=1e-9, abs_=1e-12)


@pytest.mark.exercise("relu")
@given(x=nonzero, sx=seeds)
def test_relu_properties(kata, x, sx):
    relu, V = kata.primitives.relu, kata.Variable
    r, mirrored = relu(V(x, sx)), relu(V(-x, -sx))
    given_ = f"relu({show(V(x, sx))}) - relu({show(V(-x, -sx))})"
    expect_variable("relu", given_, r)
    expect_dual("relu", given_ + " (relu(u) - relu(-u) is u)", V(r.value - mirrored.value, r.grad - mirrored.grad),
                x, sx, RELU_HINT)
    expect_close("relu", f"relu({show(V(x, sx))})", "grad", r.grad, sx if x > 0 else 0.0, RELU_HINT)

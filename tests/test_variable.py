"""Stage 1 tests: the operators of ``Variable`` (katas/variable.py).

For every exercise: exact values at hand-picked points, central finite differences of the
plain value function, hypothesis properties over the domains in checks.py, and a check that
operands are left unchanged. The add/sub/mul/truediv/pow tests use Variable operands only
(the post's style, ``x ** Variable(2)``); plain numbers belong to the ``constants`` exercise.
"""

from __future__ import annotations

import math
import operator
from fractions import Fraction

import numpy as np
import pytest
from checks import (
    EXACT_ABS,
    EXACT_REL,
    FLOAT32_ABS,
    FLOAT32_REL,
    PROPERTY_ABS,
    PROPERTY_REL,
    expect_close,
    expect_dual,
    expect_error,
    expect_matches_finite_difference,
    expect_unchanged,
    expect_variable,
    fail,
    nonzero,
    positive,
    reals,
    scales,
    seeds,
    show,
    small_integers,
)
from hypothesis import given
from hypothesis import strategies as st

SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "pow": "**", "pow_variable": "**"}
OPERATORS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv, "**": operator.pow}


def apply(kata, exercise, x, sx, y, sy):
    """Variable(x, sx) <op> Variable(y, sy), and a description of it for messages."""
    symbol = SYMBOLS[exercise]
    left, right = kata.Variable(x, sx), kata.Variable(y, sy)
    given_ = f"{show(left)} {symbol} {show(right)}"
    return OPERATORS[symbol](left, right), given_


def check_binary(kata, exercise, x, sx, y, sy, value, grad, hint=None):
    result, given_ = apply(kata, exercise, x, sx, y, sy)
    expect_dual(exercise, given_, result, value, grad, hint)


# ---------------------------------------------------------------- exact values


PRODUCT_HINT = "product rule: (u v)' = u' v + u v' - both terms, one for each operand's grad"
QUOTIENT_HINT = "quotient rule: (u/v)' = (u' v - u v') / v**2 - the minus sign goes before u v'"
CHAIN_HINT = "chain rule: (u**n)' = n u**(n-1) * u' - multiply by the base's own grad u'"

EXACT_BINARY = [
    # exercise, x, sx, y, sy, value, grad, hint
    ("add", 3.0, 1.0, 4.0, 0.0, 7.0, 1.0, None),
    ("add", 2.5, -1.0, -1.0, 2.0, 1.5, 1.0, None),
    ("add", 1e3, 0.5, -1e3, 0.25, 0.0, 0.75, None),
    ("sub", 3.0, 1.0, 4.0, 0.0, -1.0, 1.0, None),
    ("sub", 2.0, 0.0, 5.0, 1.0, -3.0, -1.0, "the second operand's grad is subtracted: (u - v)' = u' - v'"),
    ("sub", 3.0, 1.0, 4.0, 1.0, -1.0, 0.0, None),
    ("mul", 3.0, 0.0, 4.0, 1.0, 12.0, 3.0, "the post's example: d(3x)/dx at x = 4 is 3"),
    ("mul", 3.0, 1.0, 4.0, 0.0, 12.0, 4.0, PRODUCT_HINT),
    ("mul", 3.0, 1.0, 4.0, 1.0, 12.0, 7.0, PRODUCT_HINT),
    ("mul", -2.0, 0.5, 5.0, -1.0, -10.0, 4.5, PRODUCT_HINT),
    ("mul", 1e8, 1.0, 3.0, 0.0, 3e8, 3.0, PRODUCT_HINT + " (a large value with a small grad: no step h gives it exactly)"),
    ("truediv", 6.0, 1.0, 3.0, 0.0, 2.0, 1.0 / 3.0, None),
    ("truediv", 6.0, 0.0, 3.0, 1.0, 2.0, -2.0 / 3.0, QUOTIENT_HINT),
    ("truediv", 6.0, 1.0, 3.0, 1.0, 2.0, -1.0 / 3.0, QUOTIENT_HINT),
    ("truediv", 1.0, 0.0, 4.0, 2.0, 0.25, -0.125, QUOTIENT_HINT),
    ("truediv", 1e8, 1.0, 4.0, 0.0, 2.5e7, 0.25, QUOTIENT_HINT + " (a large value with a small grad: no step h gives it exactly)"),
    ("pow", 3.0, 1.0, 2.0, 0.0, 9.0, 6.0, None),
    ("pow", 2.0, 1.0, 3.0, 0.0, 8.0, 12.0, None),
    ("pow", 3.0, 2.0, 2.0, 0.0, 9.0, 12.0, CHAIN_HINT),
    ("pow", 4.0, 1.0, 0.5, 0.0, 2.0, 0.25, None),
    ("pow", 2.0, 1.0, -1.0, 0.0, 0.5, -0.25, None),
    ("pow", 5.0, 0.0, 3.0, 0.0, 125.0, 0.0, CHAIN_HINT),
    ("pow", -2.0, 1.0, 3.0, 0.0, -8.0, 12.0, None),
    ("pow_variable", 2.0, 1.0, 3.0, 1.0, 8.0, 12.0 + 8.0 * math.log(2.0), None),
    ("pow_variable", 2.0, 0.0, 3.0, 1.0, 8.0, 8.0 * math.log(2.0), None),
    ("pow_variable", 3.0, 1.0, 2.0, -0.5, 9.0, 6.0 - 4.5 * math.log(3.0), None),
    ("pow_variable", math.e, 0.0, 1.5, 2.0, math.e**1.5, 2.0 * math.e**1.5, None),
]


@pytest.mark.parametrize(
    "exercise, x, sx, y, sy, value, grad, hint",
    [pytest.param(*case, marks=pytest.mark.exercise(case[0]), id=f"{case[0]}-{i}") for i, case in enumerate(EXACT_BINARY)],
)
def test_binary_exact(kata, exercise, x, sx, y, sy, value, grad, hint):
    check_binary(kata, exercise, x, sx, y, sy, value, grad, hint)


@pytest.mark.exercise("neg")
@pytest.mark.parametrize("x, sx", [(3.0, 1.0), (-2.5, 4.0), (0.0, 0.0), (1e-3, -1e-3)])
def test_neg_exact(kata, x, sx):
    expect_dual("neg", f"-{show(kata.Variable(x, sx))}", -kata.Variable(x, sx), -x, -sx)


@pytest.mark.exercise("pow_variable")
@pytest.mark.parametrize("base, y, sy", [(2.0, 3.0, 1.0), (math.e, 1.0, 2.0), (0.5, 2.0, 1.0), (10, -1.0, 1.0)])
def test_number_to_the_variable(kata, base, y, sy):
    expect_dual("pow_variable", f"{base!r} ** {show(kata.Variable(y, sy))}", base ** kata.Variable(y, sy),
                base**y, base**y * math.log(base) * sy,
                "number ** Variable: d(a**b) = a**b ln(a) b' when the base a is a constant")


@pytest.mark.exercise("pow_variable")
@pytest.mark.parametrize("make", [
    pytest.param(lambda V: V(-2.0, 1.0) ** V(2.0, 1.0), id="variable-base"),
    pytest.param(lambda V: V(0.0, 1.0) ** V(2.0, 1.0), id="zero-base"),
    pytest.param(lambda V: (-2.0) ** V(2.0, 1.0), id="number-base"),
    pytest.param(lambda V: V(np.array(0.0), 1.0) ** V(1.5, 1.0), id="0-d-array-zero-base"),
    pytest.param(lambda V: V(np.array(-2.0), 1.0) ** V(2.0, 1.0), id="0-d-array-negative-base"),
])
def test_varying_exponent_needs_positive_base(kata, make):
    expect_error("pow_variable", "a ** b with a <= 0 and b' != 0", ValueError, lambda: make(kata.Variable),
                 "ValueError (ln(a) is undefined for a <= 0)",
                 "check the base before taking its log and raise ValueError",
                 "raise ValueError when the exponent's grad is not 0 and the base is <= 0")


@pytest.mark.exercise("pow_variable")
def test_constant_exponent_still_allows_negative_base(kata):
    V = kata.Variable
    expect_dual("pow_variable", "Variable(-2.0, 1.0) ** Variable(2.0, 0.0)", V(-2.0, 1.0) ** V(2.0, 0.0), 4.0, -4.0,
                "only an exponent with a non-zero grad needs ln(a); keep the plain power rule otherwise")


# ---------------------------------------------------------------- central finite differences

FD_POINTS = [(1.7, 0.3, -2.2, 0.9), (-0.6, -1.1, 3.4, 0.25), (5.0, 2.0, 0.8, -0.5)]


@pytest.mark.parametrize("exercise", [pytest.param(e, marks=pytest.mark.exercise(e)) for e in ("add", "sub", "mul", "truediv")])
@pytest.mark.parametrize("x, sx, y, sy", FD_POINTS)
def test_binary_finite_difference(kata, exercise, x, sx, y, sy):
    result, given_ = apply(kata, exercise, x, sx, y, sy)
    expect_variable(exercise, given_, result)
    op = OPERATORS[SYMBOLS[exercise]]
    expect_matches_finite_difference(exercise, given_, result.grad, lambda t: op(x + t * sx, y + t * sy))


@pytest.mark.exercise("pow")
@pytest.mark.parametrize("x, sx, n", [(1.7, 0.3, 3.0), (2.5, -1.5, -2.0), (0.9, 2.0, 0.5), (-1.3, 1.0, 4.0)])
def test_pow_finite_difference(kata, x, sx, n):
    result, given_ = apply(kata, "pow", x, sx, n, 0.0)
    expect_variable("pow", given_, result)
    expect_matches_finite_difference("pow", given_, result.grad, lambda t: (x + t * sx) ** n)


@pytest.mark.exercise("pow_variable")
@pytest.mark.parametrize("x, sx, y, sy", [(1.7, 0.3, 2.2, 0.9), (0.6, -1.1, -1.4, 0.25), (3.0, 0.0, 0.5, -2.0)])
def test_pow_variable_finite_difference(kata, x, sx, y, sy):
    result, given_ = apply(kata, "pow_variable", x, sx, y, sy)
    expect_variable("pow_variable", given_, result)
    expect_matches_finite_difference("pow_variable", given_, result.grad, lambda t: (x + t * sx) ** (y + t * sy))


@pytest.mark.exercise("neg")
@pytest.mark.parametrize("x, sx", [(1.7, 0.3), (-4.0, 2.5)])
def test_neg_finite_difference(kata, x, sx):
    result = -kata.Variable(x, sx)
    given_ = f"-{show(kata.Variable(x, sx))}"
    expect_variable("neg", given_, result)
    expect_matches_finite_difference("neg", given_, result.grad, lambda t: -(x + t * sx))


# ---------------------------------------------------------------- properties


@pytest.mark.exercise("add")
@given(x=reals, sx=seeds, y=reals, sy=seeds, k=scales)
def test_add_properties(kata, x, sx, y, sy, k):
    V = kata.Variable
    given_ = f"{show(V(x, sx))} + {show(V(y, sy))}"
    base = V(x, sx) + V(y, sy)
    expect_variable("add", given_, base)
    expect_close("add", given_, "value", base.value, x + y)
    expect_close("add", given_ + " (operands swapped)", "grad", (V(y, sy) + V(x, sx)).grad, base.grad,
                 "addition is symmetric: u' + v' = v' + u'")
    expect_close("add", f"{show(V(x, k * sx))} + {show(V(y, k * sy))}", "grad", (V(x, k * sx) + V(y, k * sy)).grad,
                 k * base.grad, "the grad is linear in the seeds: scale both seeds by k and it scales by k")


@pytest.mark.exercise("sub")
@given(x=reals, sx=seeds, y=reals, sy=seeds)
def test_sub_properties(kata, x, sx, y, sy):
    V = kata.Variable
    v = V(x, sx)
    expect_dual("sub", f"v - v with v = {show(v)}", v - v, 0.0, 0.0, "u - u is 0 whatever u is: its grad is 0 too")
    forward, backward = V(x, sx) - V(y, sy), V(y, sy) - V(x, sx)
    expect_close("sub", f"{show(V(x, sx))} - {show(V(y, sy))} against the swapped difference", "grad",
                 forward.grad, -backward.grad, "(u - v)' = -(v - u)'")


@pytest.mark.exercise("mul")
@given(x=reals, sx=seeds, y=reals, sy=seeds, k=scales)
def test_mul_properties(kata, x, sx, y, sy, k):
    V = kata.Variable
    v = V(x, sx)
    expect_close("mul", f"v * v with v = {show(v)}", "grad", (v * v).grad, 2 * x * sx, "(u u)' = 2 u u'")
    given_ = f"{show(V(x, sx))} * {show(V(y, sy))}"
    base = V(x, sx) * V(y, sy)
    expect_close("mul", given_, "value", base.value, x * y)
    expect_close("mul", given_ + " (operands swapped)", "grad", (V(y, sy) * V(x, sx)).grad, base.grad,
                 "the product rule is symmetric: u' v + u v' = v' u + v u'")
    expect_close("mul", f"{show(V(x, k * sx))} * {show(V(y, k * sy))}", "grad", (V(x, k * sx) * V(y, k * sy)).grad,
                 k * base.grad, "the grad is linear in the seeds: scale both seeds by k and it scales by k")


@pytest.mark.exercise("truediv")
@given(x=reals, sx=seeds, y=nonzero, sy=seeds)
def test_truediv_properties(kata, x, sx, y, sy):
    V = kata.Variable
    w = V(y, sy)
    expect_dual("truediv", f"w / w with w = {show(w)}", w / w, 1.0, 0.0, "u / u is 1 whatever u is: its grad is 0",
                rel=1e-9, abs_=1e-9)
    product = V(x * y, sx * y + x * sy)  # u v, its grad by the product rule (computed here, not by your mul)
    expect_dual("truediv", f"{show(product)} / {show(V(y, sy))}, i.e. (u v) / v with u = {show(V(x, sx))}",
                product / V(y, sy), x, sx, "(u v) / v must give back u, its value and its grad",
                rel=PROPERTY_REL, abs_=PROPERTY_ABS)


@pytest.mark.exercise("pow")
@given(x=nonzero, sx=seeds, n=small_integers, k=scales)
def test_pow_properties(kata, x, sx, n, k):
    V = kata.Variable
    v = V(x, sx)
    expect_dual("pow", f"{show(v)} ** Variable(2.0)", v ** V(2.0), x * x, 2 * x * sx,
                "(u ** 2)' = 2 u u'", rel=1e-9, abs_=1e-9)
    expect_dual("pow", f"{show(v)} ** Variable(1.0)", v ** V(1.0), x, sx, "u ** 1 is u itself")
    expect_close("pow", f"{show(V(x, k * sx))} ** Variable({float(n)})", "grad", (V(x, k * sx) ** V(float(n))).grad,
                 k * (v ** V(float(n))).grad, "the grad is linear in the base's seed")


@pytest.mark.exercise("neg")
@given(x=reals, sx=seeds, k=scales)
def test_neg_properties(kata, x, sx, k):
    V = kata.Variable
    v = V(x, sx)
    negated = -v
    expect_dual("neg", f"-(-{show(v)})", -negated, x, sx, "negating twice gives back the Variable")
    expect_close("neg", f"-{show(V(x, k * sx))}", "grad", (-V(x, k * sx)).grad, -k * sx, "(-u)' = -u'")


@pytest.mark.exercise("pow_variable")
@given(x=positive, sx=seeds, y=st.floats(-3.0, 3.0), sy=seeds)
def test_pow_variable_properties(kata, x, sx, y, sy):
    V = kata.Variable
    both = V(x, sx) ** V(y, sy)
    through_base = V(x, sx) ** V(y, 0.0)
    through_exponent = V(x, 0.0) ** V(y, sy)
    given_ = f"{show(V(x, sx))} ** {show(V(y, sy))}"
    expect_variable("pow_variable", given_, both)
    expect_close("pow_variable", given_, "grad", both.grad, through_base.grad + through_exponent.grad,
                 "the derivative along both seeds is the sum of the two partial terms: b a**(b-1) a' + a**b ln(a) b'",
                 rel=1e-7, abs_=1e-7)
    expect_close("pow_variable", f"{show(V(x, 0.0))} ** {show(V(y, sy))}", "grad", through_exponent.grad,
                 x**y * math.log(x) * sy, "with a constant base only the a**b ln(a) b' term remains",
                 rel=1e-7, abs_=1e-7)
    expect_dual("pow_variable", f"{x!r} ** {show(V(y, sy))} against Variable({x!r}, 0.0) ** {show(V(y, sy))}",
                x ** V(y, sy), through_exponent.value, through_exponent.grad,
                "__rpow__: a number base is a constant Variable", rel=1e-9, abs_=1e-9)


# ---------------------------------------------------------------- constants


NUMBER_TYPES = [int, float, np.float64, np.int64, np.float32]
CONSTANT_CASES = [
    # description, expression, x, sx, value, grad
    ("x + 2", lambda x, c: x + c(2), 3.0, 1.0, 5.0, 1.0),
    ("2 + x", lambda x, c: c(2) + x, 3.0, 1.0, 5.0, 1.0),
    ("x - 2", lambda x, c: x - c(2), 3.0, 1.0, 1.0, 1.0),
    ("2 - x", lambda x, c: c(2) - x, 3.0, 1.0, -1.0, -1.0),
    ("x * 3", lambda x, c: x * c(3), 3.0, 2.0, 9.0, 6.0),
    ("3 * x", lambda x, c: c(3) * x, 3.0, 2.0, 9.0, 6.0),
    ("x / 4", lambda x, c: x / c(4), 3.0, 2.0, 0.75, 0.5),
    ("4 / x", lambda x, c: c(4) / x, 2.0, 1.0, 2.0, -1.0),
    ("x ** 2", lambda x, c: x ** c(2), 3.0, 1.0, 9.0, 6.0),
    ("x ** 3", lambda x, c: x ** c(3), -2.0, 0.5, -8.0, 6.0),
    ("x ** 0 at x = 0", lambda x, c: x ** c(0), 0.0, 1.0, 1.0, 0.0),
]
CONSTANT_HINT = "a plain number is a constant: lift it to Variable(c, 0.0), keeping the order of the operands"


@pytest.mark.exercise("constants")
@pytest.mark.parametrize("number_type", NUMBER_TYPES, ids=lambda t: t.__name__)
@pytest.mark.parametrize("description, expression, x, sx, value, grad", CONSTANT_CASES, ids=[c[0] for c in CONSTANT_CASES])
def test_constants_exact(kata, number_type, description, expression, x, sx, value, grad):
    given_ = f"{description} with x = {show(kata.Variable(x, sx))} and the number as {number_type.__name__}"
    single = number_type is np.float32
    expect_dual("constants", given_, expression(kata.Variable(x, sx), number_type), value, grad, CONSTANT_HINT,
                rel=FLOAT32_REL if single else EXACT_REL, abs_=FLOAT32_ABS if single else EXACT_ABS)


@pytest.mark.exercise("constants")
@pytest.mark.parametrize("description, expression, x, sx, value, grad", CONSTANT_CASES, ids=[c[0] for c in CONSTANT_CASES])
def test_constants_finite_difference(kata, description, expression, x, sx, value, grad):
    result = expression(kata.Variable(x, sx), float)
    given_ = f"{description} with x = {show(kata.Variable(x, sx))}"
    expect_variable("constants", given_, result)
    expect_matches_finite_difference("constants", given_, result.grad, lambda t: expression(x + t * sx, float),
                                     hint=CONSTANT_HINT)


def dual(symbol, a, da, b, db):
    """The value and grad of (a, da) <symbol> (b, db) by the rules of calculus: the tests' own oracle."""
    return {"+": (a + b, da + db), "-": (a - b, da - db), "*": (a * b, da * b + a * db),
            "/": (a / b, (da * b - a * db) / (b * b))}[symbol]


@pytest.mark.exercise("constants")
@given(x=nonzero, sx=seeds, c=nonzero)
def test_constants_agree_with_constant_variables(kata, x, sx, c):
    v = kata.Variable(x, sx)
    for symbol in ("+", "-", "*", "/"):
        op = OPERATORS[symbol]
        for left, right, expected in ((v, c, dual(symbol, x, sx, c, 0.0)), (c, v, dual(symbol, c, 0.0, x, sx))):
            given_ = f"{show(left)} {symbol} {show(right)}, the number being Variable({c!r}, 0.0)"
            expect_dual("constants", given_, op(left, right), *expected, CONSTANT_HINT,
                        rel=PROPERTY_REL, abs_=PROPERTY_ABS)


BAD_OPERANDS = ["2", None, [1.0], 1 + 2j, {"value": 1.0}]


# `bad ** v` calls __rpow__, which is exercise pow_variable's: that case is tested there.
REJECT_CASES = [
    pytest.param(side, symbol, bad, marks=pytest.mark.exercise("pow_variable" if (side, symbol) == ("left", "**")
                                                               else "constants"),
                 id=f"{side}-{type(bad).__name__}-{symbol}")
    for side in ("right", "left") for bad in BAD_OPERANDS for symbol in ("+", "-", "*", "/", "**")
]


@pytest.mark.parametrize("side, symbol, bad", REJECT_CASES)
def test_constants_reject_other_types(kata, request, side, symbol, bad):
    exercise = request.node.get_closest_marker("exercise").args[0]
    op = OPERATORS[symbol]
    v = kata.Variable(3.0, 1.0)
    given_ = f"{show(v)} {symbol} {bad!r}" if side == "right" else f"{bad!r} {symbol} {show(v)}"
    expect_error(exercise, given_, TypeError, lambda: op(v, bad) if side == "right" else op(bad, v), "TypeError",
                 "check the operand's type first: raise TypeError unless it is a Variable or a real number",
                 "only Variables and real numbers (numbers.Real) are operands; raise TypeError for anything else")


# ---------------------------------------------------------------- operands are left unchanged


UNCHANGED_CASES = [
    ("add", lambda a, b: a + b),
    ("sub", lambda a, b: a - b),
    ("mul", lambda a, b: a * b),
    ("truediv", lambda a, b: a / b),
    ("pow", lambda a, b: a ** type(b)(b.value, 0.0)),
    ("neg", lambda a, b: -a),
    ("constants", lambda a, b: 2.0 - a),
    ("constants", lambda a, b: a * 3),
    ("pow_variable", lambda a, b: a**b),
    ("pow_variable", lambda a, b: 2.0**b),
]


@pytest.mark.parametrize(
    "exercise, operation",
    [pytest.param(e, f, marks=pytest.mark.exercise(e), id=f"{e}-{i}") for i, (e, f) in enumerate(UNCHANGED_CASES)],
)
def test_operands_unchanged(kata, exercise, operation):
    a, b = kata.Variable(3.0, 1.0), kata.Variable(2.0, 0.5)
    result = operation(a, b)
    expect_unchanged(exercise, f"{SYMBOLS.get(exercise, 'an operator')} on Variable(3.0, 1.0) and Variable(2.0, 0.5)",
                     [a, b], [(3.0, 1.0), (2.0, 0.5)], result)
    expect_variable(exercise, "the result", result)


# ---------------------------------------------------------------- numbers that come out of numpy


@pytest.mark.exercise("pow_variable")
@pytest.mark.parametrize("f", [np.float64, np.array], ids=["float64", "0-d-array"])
@pytest.mark.parametrize("x, sx, y, sy", [(2.0, 1.0, 3.0, 1.0), (2.0, 0.0, 3.0, -1.0), (3.0, 1.0, 2.0, 0.0)])
def test_pow_variable_with_numpy_scalars(kata, f, x, sx, y, sy):
    """numpy's scalars and 0-d arrays (what np.asarray makes of a number) are numbers, in the base and the exponent."""
    name = f"np.{f.__name__}"
    given_ = f"Variable({name}({x!r}), {name}({sx!r})) ** Variable({name}({y!r}), {name}({sy!r}))"
    expect_dual("pow_variable", given_, kata.Variable(f(x), f(sx)) ** kata.Variable(f(y), f(sy)),
                x**y, y * x ** (y - 1) * sx + x**y * math.log(x) * sy,
                "values and grads computed with numpy are np.float64: test the exponent's grad against 0 "
                "the same way for them as for float")


@pytest.mark.parametrize("exercise", [pytest.param(e, marks=pytest.mark.exercise(e))
                                      for e in ("add", "sub", "mul", "truediv", "pow", "neg")])
@pytest.mark.parametrize("make", [
    pytest.param(lambda: (np.float64(1.5), np.float64(1.0), np.float64(2.0), np.float64(0.5)), id="float64"),
    pytest.param(lambda: (np.int64(3), np.int64(1), np.int64(2), np.int64(0)), id="int64"),
    pytest.param(lambda: (np.int32(-3), 1, np.int64(2), 0.0), id="int32-and-int"),
    pytest.param(lambda: (np.float64(1.5), 1.0, np.float32(2.0), 0.0), id="float32"),
    pytest.param(lambda: (np.array(1.5), np.array(-1.0), np.array(2.0), 0.25), id="0-d-arrays"),
])
def test_numpy_values(kata, exercise, make):
    """Values and grads that come out of numpy work like floats: scalars of any real numpy type, and
    0-d arrays (what np.where or np.asarray make of a scalar)."""
    x, sx, y, sy = make()
    if exercise == "pow":
        sy = 0 * sy  # a constant exponent, of the same type
    V = kata.Variable
    if exercise == "neg":
        result, given_ = -V(x, sx), f"-Variable({x!r}, {sx!r})"
        value, grad = -float(x), -float(sx)
    else:
        symbol = SYMBOLS[exercise]
        given_ = f"Variable({x!r}, {sx!r}) {symbol} Variable({y!r}, {sy!r})"
        result = OPERATORS[symbol](V(x, sx), V(y, sy))
        if symbol == "**":
            value, grad = float(x) ** float(y), float(y) * float(x) ** (float(y) - 1) * float(sx)
        else:
            value, grad = dual(symbol, float(x), float(sx), float(y), float(sy))
    single = any(isinstance(number, np.float32) for number in (x, sx, y, sy))
    expect_dual(exercise, given_, result, value, grad,
                "numpy's scalar types are real numbers: compute with them as with floats (numpy's integers "
                "refuse negative powers, np.int64(2) ** -1: turn the base into a float first)",
                rel=FLOAT32_REL if single else EXACT_REL, abs_=FLOAT32_ABS if single else EXACT_ABS)


# ---------------------------------------------------------------- edge cases: a base of 0, integers, tiny numbers

ZERO_BASE_HINT = ("at u = 0 the power rule's u ** (n - 1) divides by zero when n < 1; but u ** 0 is the constant 1 "
                  "(grad 0), and a base whose grad u' is 0 does not move (grad 0): handle those before the rule")
INTEGER_HINT = ("numpy's integers refuse negative powers (np.int64(2) ** -1 raises ValueError), and the power "
                "rule needs u ** (n - 1): compute with the base as a float (self.value * 1.0)")


@pytest.mark.exercise("pow")
@pytest.mark.parametrize("x, sx, n, value, grad", [
    (0.0, 1.0, 0.0, 1.0, 0.0),
    (0.0, 1.0, 0, 1.0, 0.0),
    (0.0, 0.0, 0.5, 0.0, 0.0),
    (0.0, 0.0, -0.0, 1.0, 0.0),
    (0.0, 1.0, 1.0, 0.0, 1.0),
    (0.0, 3.0, 2.0, 0.0, 0.0),
    (np.int64(2), 1, 0, 1.0, 0.0),
    (np.int64(2), 1, -1.0, 0.5, -0.25),
    (np.int64(2), np.int64(1), np.int64(-2), 0.25, -0.25),
    (np.int32(0), 0.0, np.int64(0), 1.0, 0.0),
    (np.float64(0.0), 0.0, 0.5, 0.0, 0.0),
], ids=lambda v: repr(v) if not isinstance(v, np.generic) else f"{type(v).__name__}({v})")
def test_pow_edge_cases(kata, x, sx, n, value, grad):
    V = kata.Variable
    given_ = f"Variable({x!r}, {sx!r}) ** Variable({n!r}, 0.0)"
    try:
        result = V(x, sx) ** V(n, 0.0)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - ZeroDivisionError, numpy's ValueError...
        integers = isinstance(x, np.integer)
        fail("pow", given_, f"value {show(value)}, grad {show(grad)}", f"{type(exc).__name__}: {exc}",
             INTEGER_HINT if integers else ZERO_BASE_HINT)
    expect_dual("pow", given_, result, value, grad, ZERO_BASE_HINT if x == 0 else INTEGER_HINT)


@pytest.mark.exercise("pow")
@pytest.mark.parametrize("n", [0.5, 0.25, 1e-3])
def test_pow_infinite_derivative_at_zero(kata, n):
    """u ** n at u = 0 with u' != 0 and 0 < n < 1: the derivative is infinite. A ValueError that says
    so, or a grad of +inf, is right; ZeroDivisionError or nan is not. (For n < 0, 0 ** n itself is
    1 / 0: any error will do, and this test asks nothing.)"""
    V = kata.Variable
    given_ = f"Variable(0.0, 1.0) ** Variable({n!r}, 0.0)"
    expected = "ValueError (the derivative is infinite), or an infinite grad"
    try:
        result = V(0.0, 1.0) ** V(n, 0.0)
    except ValueError:
        return
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - ZeroDivisionError above all
        fail("pow", given_, expected, f"{type(exc).__name__}: {exc}",
             "raise ValueError naming the cause (the derivative of u ** n at u = 0 is infinite for n < 1) "
             "before computing u ** (n - 1)")
    expect_variable("pow", given_, result)
    if not (result.value == 0 and result.grad == math.inf):
        fail("pow", given_, expected, show(result), "0 ** n is 0 for n > 0, and its derivative there is +infinite")


@pytest.mark.exercise("truediv")
@pytest.mark.parametrize("x, sx, y, sy", [
    (1e-160, 1.0, 1e-170, 1.0),
    (1.0, 0.0, 1e-160, 1e-300),
    (-3e-200, 2.0, 2e-170, -1e-30),
    (3.0, 1.0, -1e-155, 5e-151),
])
def test_truediv_tiny_denominators(kata, x, sx, y, sy):
    """Quotients whose value and grad are finite floats, though v ** 2 underflows to 0."""
    u, v = Fraction(x), Fraction(y)  # exact rational arithmetic: the oracle
    value = float(u / v)
    grad = float((Fraction(sx) * v - u * Fraction(sy)) / (v * v))
    V = kata.Variable
    given_ = f"{show(V(x, sx))} / {show(V(y, sy))}"
    hint = (f"v ** 2 = ({y:g}) ** 2 is 0.0 in floating point, though the quotient and its derivative are "
            "ordinary numbers: arrange the quotient rule so that no step underflows (divide by v twice "
            "rather than by v ** 2 once)")
    try:
        result = V(x, sx) / V(y, sy)
    except NotImplementedError:
        raise
    except Exception as exc:  # noqa: BLE001 - ZeroDivisionError above all
        fail("truediv", given_, f"value {show(value)}, grad {show(grad)}", f"{type(exc).__name__}: {exc}", hint)
    expect_dual("truediv", given_, result, value, grad, hint)

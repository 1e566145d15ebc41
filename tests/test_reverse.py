"""Stage 8 tests: reverse mode (katas/reverse.py).

The tests carry their own reverse-mode oracle, ``adjoints``: it reads only what the contract
fixes (each Node's ``value`` and ``parents``, the ``(parent, local)`` pairs) and sums the
products of local derivatives along every path, with Kahn's algorithm. So:

- graph: each operation's recorded derivatives are checked through ``adjoints`` against exact
  formulas, central finite differences and hypothesis properties, without ever calling your
  ``backward``. Any correct recording passes: constants recorded or not, ``x * x`` recorded as
  two pairs or one, ``a - b`` recorded as ``a + (-b)``.
- backward: graphs are also built by hand with the ready-made constructor
  ``Node(value, ((parent, local), ...))``, so these tests do not depend on your operators:
  sharing, diamonds whose paths differ in length, chains 10,000 nodes deep, random graphs.
- grad and jacrev: exact partials, finite differences, properties, and counts of the
  evaluations of f and of the sweeps; grad's partials multiply a chain's locals from the output
  back, as a sweep does (forward mode over the recording multiplies them the other way, which
  shows in the last bits); jacrev's rows are the leaves' grads after each sweep.
- both_ways: the partials of stage 4's network against a numpy oracle, against stage 4's
  forward mode and stage 5's tangents (the three agree to MODES_REL), and the training against
  exact gradient descent and against stage 4's loop.
"""

from __future__ import annotations

import math
import operator
import sys
import types
import warnings

import numpy as np
import pytest
from checks import (
    EXACT_ABS,
    EXACT_REL,
    MODES_ABS,
    MODES_REL,
    STEP_ABS,
    STEP_REL,
    SUM_ORDER_REL,
    VARIABLE_OPERATORS,
    central_difference,
    close,
    expect_close,
    expect_error,
    expect_matches_difference_quotient,
    fail,
    nonzero,
    positive,
    real_array,
    real_number,
    real_numbers,
    reals,
    show,
)
from hypothesis import given
from hypothesis import strategies as st
from test_training import (  # the stage-4 oracles: the post's data, the network by hand, exact descent
    NAMES,
    POINT,
    POINT_2,
    SAMPLES,
    TRAIN_CASES,
    Run,
    descend,
    expect_descent,
    network_loss_and_gradient,
    post_data,
)

DEEP = 10_000  # nodes in the deep chains: ten times Python's default recursion limit
RECURSION_HINT = (f"a function that calls itself once per node (a recursive walk) hits Python's recursion limit, "
                  f"{sys.getrecursionlimit()} nested calls here, long before {DEEP} nodes: it is correct on shallow "
                  f"graphs only. Walk the graph with a loop and a stack of your own (a list you append to and pop from)")

@pytest.fixture
def operator_calls(kata, monkeypatch) -> list[str]:
    """A list that grows by one at every call of one of stage 1's Variable operators while the test runs."""
    calls: list[str] = []
    for name in VARIABLE_OPERATORS:
        original = getattr(kata.Variable, name, None)
        if original is None:
            continue

        def counted(*args, _original=original, _name=name, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(kata.Variable, name, counted)
    return calls


def render(names, values) -> str:
    """Named parameters as a failure message shows them."""
    return ", ".join(f"{name} {show(float(v))}" for name, v in zip(names, values, strict=True))


# ---------------------------------------------------------------- the tests' own reverse-mode oracle


def pairs_of(exercise: str, node: object) -> list[tuple[object, float]]:
    """The (parent, local) pairs of a node, checked against the contract."""
    if not (hasattr(node, "value") and hasattr(node, "parents")):
        fail(exercise, "a result of your operations", "a Node, with .value and .parents",
             f"{type(node).__name__}: {node!r}"[:300], "return Node(value, ((parent, local), ...))")
    pairs = []
    for pair in node.parents:
        try:
            parent, local = pair
        except (TypeError, ValueError):
            fail(exercise, f"the parents of a Node with value {show(node.value)}", "(parent, local) pairs",
                 f"{pair!r}"[:300], "record a tuple of (parent Node, local derivative) pairs, one per operand")
        if not (hasattr(parent, "value") and hasattr(parent, "parents")) or real_number(local) is None:
            fail(exercise, f"the parents of a Node with value {show(node.value)}", "(parent Node, local number) pairs",
                 f"({type(parent).__name__}, {type(local).__name__}: {local!r})"[:300],
                 "each pair holds the operand itself (a Node: a number becomes as_node(c)) and a number (a float, "
                 "a numpy real scalar or a 0-d array; float(u > 0), not the bool u > 0)")
        pairs.append((parent, real_number(local)))
    return pairs


def adjoints(out: object, exercise: str = "graph", magnitude: bool = False) -> dict[int, float]:
    """id(node) -> d out / d node for every node ``out`` depends on, summed over all paths.

    With ``magnitude``, the sums of the paths' |products| instead: the scale of each sum's rounding.
    """
    children: dict[int, int] = {id(out): 0}
    stack, edges = [out], {}
    while stack:
        node = stack.pop()
        edges[id(node)] = pairs_of(exercise, node)
        for parent, _ in edges[id(node)]:
            if id(parent) not in children:
                children[id(parent)] = 0
                stack.append(parent)
            children[id(parent)] += 1
    adjoint = {id(out): 1.0}
    ready = [out]
    while ready:  # a node is ready once every node computed from it has handed over its share
        node = ready.pop()
        for parent, local in edges[id(node)]:
            local = abs(local) if magnitude else local
            adjoint[id(parent)] = adjoint.get(id(parent), 0.0) + local * adjoint[id(node)]
            children[id(parent)] -= 1
            if children[id(parent)] == 0:
                ready.append(parent)
    return adjoint


def floats_sigmoid(u: float) -> float:
    return 1.0 / (1.0 + math.exp(-u)) if u >= 0 else math.exp(u) / (1.0 + math.exp(u))


# The primitives on plain floats, for the tests' value functions (finite differences).
FLOATS = types.SimpleNamespace(log=math.log, exp=math.exp, tanh=math.tanh, sigmoid=floats_sigmoid,
                               relu=lambda u: max(u, 0.0))


def expect_node(exercise: str, given_: str, received: object, value: float) -> None:
    if not (hasattr(received, "value") and hasattr(received, "parents") and hasattr(received, "grad")):
        fail(exercise, given_, "a Node", f"{type(received).__name__}: {received!r}"[:300],
             "return a new Node(value, parents) from every operation")
    if real_number(received.value) is None:
        fail(exercise, given_, f"a Node whose value is a number, {show(value)}",
             f"value {type(received.value).__name__}: {received.value!r}"[:300],
             "a Node's value is one number (a float, a numpy real scalar or a 0-d array), never a Node or a list")
    if not close(real_number(received.value), value):
        fail(exercise, given_, f"value {show(value)}", f"value {show(real_number(received.value))}",
             "the value is computed as in stage 1; only the derivative is recorded differently")


def expect_partials(exercise: str, given_: str, out: object, expected: dict[str, tuple[object, float]],
                    hint: str | None = None) -> None:
    """d out / d leaf, read from the recorded graph, must match ``expected``: name -> (leaf, value)."""
    found = adjoints(out, exercise)
    for name, (leaf, value) in expected.items():
        received = found.get(id(leaf), 0.0)
        if not close(received, value):
            others = [v for n, (_, v) in expected.items() if n != name and not close(v, value)]
            swapped = any(close(received, v) for v in others)
            fail(exercise, given_, f"d result / d {name} = {show(value)} (recorded local derivatives along every path)",
                 f"d result / d {name} = {show(received)}" + ("" if id(leaf) in found else f" ({name} is not a parent)"),
                 "that is the local derivative of the OTHER operand: each operand gets its own" if swapped else hint)


# ---------------------------------------------------------------- graph: exact records of each operation

X, Y = 3.0, -2.0  # different magnitudes and signs: a swapped or mis-signed local derivative shows

EXACT_BINARY = [
    # id, operation, value, d/dx, d/dy
    ("x + y", operator.add, X + Y, 1.0, 1.0),
    ("x - y", operator.sub, X - Y, 1.0, -1.0),
    ("x * y", operator.mul, X * Y, Y, X),
    ("x / y", operator.truediv, X / Y, 1 / Y, -X / Y**2),
    ("y / x", lambda x, y: y / x, Y / X, -Y / X**2, 1 / X),
    ("x ** y", operator.pow, X**Y, Y * X ** (Y - 1), X**Y * math.log(X)),
    ("x * x", lambda x, y: x * x, X * X, 2 * X, 0.0),
    ("x * y * x", lambda x, y: x * y * x, X * Y * X, 2 * X * Y, X * X),
]


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("given_, operation, value, dx, dy", EXACT_BINARY, ids=[c[0] for c in EXACT_BINARY])
def test_operation_records_each_operand(kata, given_, operation, value, dx, dy):
    x, y = kata.reverse.Node(X), kata.reverse.Node(Y)
    out = operation(x, y)
    given_ = f"{given_} with x = Node({X}), y = Node({Y})"
    expect_node("graph", given_, out, value)
    expect_partials("graph", given_, out, {"x": (x, dx), "y": (y, dy)})


CONSTANTS = [
    # id, operation on x, value, d/dx
    ("x + 2", lambda x: x + 2, X + 2, 1.0),
    ("2 + x", lambda x: 2 + x, 2 + X, 1.0),
    ("x - 2", lambda x: x - 2, X - 2, 1.0),
    ("2 - x", lambda x: 2 - x, 2 - X, -1.0),
    ("x * 2.5", lambda x: x * 2.5, X * 2.5, 2.5),
    ("2.5 * x", lambda x: 2.5 * x, 2.5 * X, 2.5),
    ("x / 4", lambda x: x / 4, X / 4, 0.25),
    ("4 / x", lambda x: 4 / x, 4 / X, -4 / X**2),
    ("x ** 2", lambda x: x**2, X**2, 2 * X),
    ("x ** -1.5", lambda x: x**-1.5, X**-1.5, -1.5 * X**-2.5),
    ("x ** 0", lambda x: x**0, 1.0, 0.0),
    ("2 ** x", lambda x: 2**x, 2**X, 2**X * math.log(2)),
    ("0.5 ** x", lambda x: 0.5**x, 0.5**X, 0.5**X * math.log(0.5)),
    ("-x", operator.neg, -X, -1.0),
    ("np.float64(2) * x", lambda x: np.float64(2.0) * x, 2 * X, 2.0),
    ("x * np.int64(3)", lambda x: x * np.int64(3), 3 * X, 3.0),
    ("np.float64(2) ** x", lambda x: np.float64(2.0) ** x, 2**X, 2**X * math.log(2)),
]


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("given_, operation, value, dx", CONSTANTS, ids=[c[0] for c in CONSTANTS])
def test_numbers_are_constants(kata, given_, operation, value, dx):
    x = kata.reverse.Node(X)
    out = operation(x)
    given_ = f"{given_} with x = Node({X})"
    expect_node("graph", given_, out, value)
    expect_partials("graph", given_, out, {"x": (x, dx)},
                    "a number is a constant: only the Node operand gets a derivative (mind which side it is on)")


PRIMITIVES = [
    # id, primitive, at, value, local derivative
    ("log(2.5)", "log", 2.5, math.log(2.5), 1 / 2.5),
    ("exp(0.7)", "exp", 0.7, math.exp(0.7), math.exp(0.7)),
    ("exp(-3)", "exp", -3.0, math.exp(-3.0), math.exp(-3.0)),
    ("sigmoid(0.3)", "sigmoid", 0.3, 1 / (1 + math.exp(-0.3)), math.exp(-0.3) / (1 + math.exp(-0.3)) ** 2),
    ("sigmoid(-4)", "sigmoid", -4.0, 1 / (1 + math.exp(4.0)), math.exp(4.0) / (1 + math.exp(4.0)) ** 2),
    ("tanh(0.4)", "tanh", 0.4, math.tanh(0.4), 1 / math.cosh(0.4) ** 2),
    ("tanh(-2)", "tanh", -2.0, math.tanh(-2.0), 1 / math.cosh(2.0) ** 2),
    ("relu(1.5)", "relu", 1.5, 1.5, 1.0),
    ("relu(-1.5)", "relu", -1.5, 0.0, 0.0),
    ("relu(0)", "relu", 0.0, 0.0, 0.0),
]


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("given_, name, at, value, local", PRIMITIVES, ids=[c[0] for c in PRIMITIVES])
def test_primitive_records_its_derivative(kata, given_, name, at, value, local):
    u = kata.reverse.Node(at)
    out = getattr(kata.reverse, name)(u)
    given_ = f"{given_.split('(')[0]}(Node({at}))"
    expect_node("graph", given_, out, value)
    expect_partials("graph", given_, out, {"u": (u, local)}, rule_for(name))


def rule_for(primitive: str) -> str:
    return {"log": "d log(u) / du = 1 / u", "exp": "d exp(u) / du = exp(u)", "sigmoid": "d s / du = s (1 - s)",
            "tanh": "d tanh(u) / du = 1 - tanh(u)**2", "relu": "d relu(u) / du = 1 for u > 0, 0 for u <= 0"}[primitive]


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("name", ["log", "exp", "sigmoid", "tanh", "relu"])
def test_primitive_of_a_number(kata, name):
    expect_node("graph", f"{name}(0.5), of a plain number", getattr(kata.reverse, name)(0.5), getattr(FLOATS, name)(0.5))


LEFT_ALONE = [
    ("x + y", lambda r, x, y: x + y), ("x - y", lambda r, x, y: x - y), ("x * y", lambda r, x, y: x * y),
    ("x / y", lambda r, x, y: x / y), ("x ** y", lambda r, x, y: x**y), ("-x", lambda r, x, y: -x),
    ("log(x)", lambda r, x, y: r.log(x)), ("sigmoid(x)", lambda r, x, y: r.sigmoid(x)),
]


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("given_, operation", LEFT_ALONE, ids=[c[0] for c in LEFT_ALONE])
def test_operands_are_left_alone(kata, given_, operation):
    x, y = kata.reverse.Node(X), kata.reverse.Node(-Y)
    out = operation(kata.reverse, x, y)
    for name, node, value in (("x", x, X), ("y", y, -Y)):
        if node.value != value or len(node.parents) != 0 or node.grad != 0:
            fail("graph", given_, f"{name} unchanged: Node({value}), no parents, grad 0",
                 f"value {show(node.value)}, {len(node.parents)} parents, grad {show(node.grad)}",
                 "build a new Node for the result; never assign to an operand's value, parents or grad")
        if out is node:
            fail("graph", given_, "a new Node", f"the operand {name} itself", "return Node(value, parents), a new one")


# ---------------------------------------------------------------- graph: errors, extremes, edge cases


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("given_, call, error", [
    ("log(Node(0.0))", lambda r: r.log(r.Node(0.0)), ValueError),
    ("log(Node(-1.0))", lambda r: r.log(r.Node(-1.0)), ValueError),
    ("Node(-2.0) ** Node(2.0)", lambda r: r.Node(-2.0) ** r.Node(2.0), ValueError),
    ("Node(0.0) ** Node(1.5)", lambda r: r.Node(0.0) ** r.Node(1.5), ValueError),
    ("Node(-8.0) ** (1/3)", lambda r: r.Node(-8.0) ** (1 / 3), ValueError),
    ("Node(0.0) ** -1", lambda r: r.Node(0.0) ** -1, ValueError),
    ("Node(0.0) ** 0.5", lambda r: r.Node(0.0) ** 0.5, ValueError),
], ids=["log-0", "log-negative", "negative-base-node-exponent", "zero-base-node-exponent", "complex", "zero-negative",
        "zero-root"])
def test_bad_operations_raise(kata, given_, call, error):
    """Outside an operation's domain, a ValueError (a non-number operand is as_node's TypeError, ready-made)."""
    expect_error("graph", given_, error, lambda: call(kata.reverse), error.__name__,
                 "raise ValueError, naming the value, for an operand outside the operation's domain",
                 "log needs u > 0; a Node exponent needs a base > 0 (its local derivative is a**b ln a); "
                 "a result that is not a real number is an error, never nonsense")


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("given_, call, value, local", [
    ("Node(0.0) ** 0", lambda r, u: u**0, 1.0, 0.0),
    ("Node(0.0) ** 2", lambda r, u: u**2, 0.0, 0.0),
    ("Node(0.0) ** 1", lambda r, u: u**1, 0.0, 1.0),
], ids=["zero-to-0", "zero-squared", "zero-to-1"])
def test_power_at_zero(kata, given_, call, value, local):
    u = kata.reverse.Node(0.0)
    out = call(kata.reverse, u)
    expect_node("graph", given_, out, value)
    expect_partials("graph", given_, out, {"u": (u, local)},
                    "a ** 0 is the constant 1 (local derivative 0, even at a = 0); compute b a**(b-1) only where it is finite")


@pytest.mark.exercise("graph")
def test_tiny_denominator(kata):
    a, b = kata.reverse.Node(1e-160), kata.reverse.Node(1e-170)
    given_ = "Node(1e-160) / Node(1e-170)"
    try:
        out = a / b
    except ZeroDivisionError as exc:
        fail("graph", given_, "about Node(1e10) with local derivatives 1e170 and -1e180", f"ZeroDivisionError: {exc}",
             "b * b underflows to 0 for |b| < 1e-154: compute -a / b**2 as -(a / b) / b")
    expect_node("graph", given_, out, 1e10)
    expect_partials("graph", given_, out, {"a": (a, 1e170), "b": (b, -1e180)})


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("at, value", [(1000.0, 1.0), (-1000.0, 0.0), (710.0, 1.0), (-745.5, 0.0)])
def test_sigmoid_extremes(kata, at, value):
    u = kata.reverse.Node(at)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            out = kata.reverse.sigmoid(u)
        except (OverflowError, RuntimeWarning) as exc:
            fail("graph", f"sigmoid(Node({at}))", f"Node({value}) with local derivative 0",
                 f"{type(exc).__name__}: {exc}", "keep exp away from large positive arguments, as in stage 2")
    expect_node("graph", f"sigmoid(Node({at}))", out, value)
    expect_partials("graph", f"sigmoid(Node({at}))", out, {"u": (u, 0.0)}, "d s / du = s (1 - s): 0 at both ends")


# ---------------------------------------------------------------- graph: composites, finite differences, properties


def mixed(ops, x, y, z):
    """A function of three inputs using every operator and primitive: x, y, z, in (0.5, 2)."""
    a = ops.sigmoid(x * y - z) * ops.log(1 + z * z)
    b = ops.tanh(x / (2 + y * y)) - ops.exp(0.3 * z) ** 2 + x**3
    return a + b * ops.relu(y - 0.1) - 2 ** (x - z) + 1 / (1 + x * z) + (z + 1) ** y


MIXED_POINTS = [(0.7, 1.3, 0.9), (1.5, 0.6, 1.8), (1.1, 1.9, 0.5)]


@pytest.mark.exercise("graph")
@pytest.mark.parametrize("point", MIXED_POINTS)
def test_composite_matches_finite_differences(kata, point):
    leaves = [kata.reverse.Node(v) for v in point]
    out = mixed(kata.reverse, *leaves)
    given_ = f"a composite of every operation at (x, y, z) = {point}"
    expect_node("graph", given_, out, mixed(FLOATS, *point))
    found = adjoints(out)
    for k, name in enumerate("xyz"):
        def along(t, k=k):
            moved = list(point)
            moved[k] = t
            return mixed(FLOATS, *moved)

        expect_matches_difference_quotient("graph", f"{given_}, d/d{name}", found.get(id(leaves[k]), 0.0),
                                           central_difference(along, point[k]),
                                           "check each operation's local derivatives; test_operation_records... "
                                           "and test_primitive... name the first wrong one")


@pytest.mark.exercise("graph")
@given(a=reals, b=nonzero)
def test_product_and_quotient_properties(kata, a, b):
    x, y = kata.reverse.Node(a), kata.reverse.Node(b)
    found = adjoints(x * y)
    expect_close("graph", f"Node({a!r}) * Node({b!r})", "d/dx", found.get(id(x), 0.0), b,
                 "d(xy)/dx = y: the local derivative of each factor is the other's value")
    expect_close("graph", f"Node({a!r}) * Node({b!r})", "d/dy", found.get(id(y), 0.0), a)
    found = adjoints(x / y)
    expect_close("graph", f"Node({a!r}) / Node({b!r})", "d/dx", found.get(id(x), 0.0), 1 / b)
    expect_close("graph", f"Node({a!r}) / Node({b!r})", "d/dy", found.get(id(y), 0.0), -a / b / b,
                 "d(x/y)/dy = -x / y**2")


@pytest.mark.exercise("graph")
@given(u=positive, k=st.floats(-3.0, 3.0))
def test_chain_properties(kata, u, k):
    x = kata.reverse.Node(u)
    found = adjoints(kata.reverse.exp(kata.reverse.log(x)))
    expect_close("graph", f"exp(log(Node({u!r})))", "d/dx", found.get(id(x), 0.0), 1.0,
                 "exp(log(x)) = x, so its derivative is 1: check log's 1/u and exp's e")
    found = adjoints(x**k * x)
    expect_close("graph", f"Node({u!r}) ** {k!r} * x", "d/dx", found.get(id(x), 0.0), (k + 1) * u**k,
                 "x**k * x = x**(k+1): the two uses of x add up")
    found = adjoints(kata.reverse.sigmoid(x) + kata.reverse.sigmoid(-x))
    expect_close("graph", f"sigmoid(x) + sigmoid(-x) at x = {u!r}", "d/dx", found.get(id(x), 0.0), 0.0,
                 "sigmoid(x) + sigmoid(-x) = 1: a constant, whose derivative is 0")
    found = adjoints(kata.reverse.tanh(x) * 2 - 4 * kata.reverse.sigmoid(2 * x))
    expect_close("graph", f"2 tanh(x) - 4 sigmoid(2x) at x = {u!r}", "d/dx", found.get(id(x), 0.0), 0.0,
                 "tanh(x) = 2 sigmoid(2x) - 1: the difference is constant")


# ---------------------------------------------------------------- backward: graphs built by hand


def chain(node_class, length: int, feed=None):
    """x, then ``length`` nodes each computed from the one before (local 1) and from ``feed`` (local 1)."""
    x = node_class(0.5)
    node = x
    for _ in range(length):
        node = node_class(0.0, ((node, 1.0), (x if feed is None else feed, 1.0)))
    return x, node


def sweep(exercise: str, out: object, given_: str) -> None:
    """``out.backward()``, with a teaching failure where it recurses too deep."""
    try:
        out.backward()
    except RecursionError as exc:
        fail(exercise, given_, "the sweep to finish", f"RecursionError: {exc}", RECURSION_HINT)


def expect_grads(exercise: str, given_: str, expected: dict[str, tuple[object, float]], hint: str | None = None) -> None:
    for name, (node, value) in expected.items():
        if not close(node.grad, value):
            fail(exercise, given_, f"{name}.grad {show(value)}", f"{name}.grad {show(node.grad)}", hint)


@pytest.mark.exercise("backward")
def test_backward_seeds_the_output_with_one(kata):
    Node = kata.reverse.Node
    out = Node(2.0)
    sweep("backward", out, "out = Node(2.0); out.backward()")
    expect_grads("backward", "out = Node(2.0); out.backward()", {"out": (out, 1.0)},
                 "d out / d out = 1: seed the output's grad with 1, never 0")
    x = Node(1.0)
    y = Node(5.0, ((x, 3.0),))
    sweep("backward", y, "y = Node(5.0, ((x, 3.0),)); y.backward()")
    expect_grads("backward", "y = Node(5.0, ((x, 3.0),)); y.backward()", {"y": (y, 1.0), "x": (x, 3.0)},
                 "seed y.grad = 1, then x.grad += 3.0 * y.grad")


@pytest.mark.exercise("backward")
def test_shared_node_accumulates(kata):
    Node = kata.reverse.Node
    x = Node(1.0)
    y = Node(2.0, ((x, 2.0), (x, 3.0)))  # x used twice, as in x * x
    given_ = "y = Node(2.0, ((x, 2.0), (x, 3.0))); y.backward()"
    sweep("backward", y, given_)
    expect_grads("backward", given_, {"x": (x, 5.0)},
                 "x is a parent twice: add each share into x.grad (+=), never overwrite it (=)")
    x = Node(1.0)
    a, b = Node(0.0, ((x, 2.0),)), Node(0.0, ((x, 5.0),))
    out = Node(0.0, ((a, 1.0), (b, 1.0)))
    given_ = "a = Node(.., ((x, 2),)), b = Node(.., ((x, 5),)), out = Node(.., ((a, 1), (b, 1))); out.backward()"
    sweep("backward", out, given_)
    expect_grads("backward", given_, {"x": (x, 7.0), "a": (a, 1.0), "b": (b, 1.0)},
                 "x reaches out along two paths: its grad is the sum of both shares")


@pytest.mark.exercise("backward")
def test_diamond_whose_paths_differ_in_length(kata):
    """x -> a -> b, and out from both a and b: a is complete only after b has handed over its share."""
    Node = kata.reverse.Node
    x = Node(1.0)
    a = Node(0.0, ((x, 2.0),))
    b = Node(0.0, ((a, 3.0),))
    out = Node(0.0, ((a, 5.0), (b, 7.0)))
    given_ = "a = Node(.., ((x, 2),)), b = Node(.., ((a, 3),)), out = Node(.., ((a, 5), (b, 7))); out.backward()"
    sweep("backward", out, given_)
    expect_grads("backward", given_, {"out": (out, 1.0), "b": (b, 7.0), "a": (a, 26.0), "x": (x, 52.0)},
                 "d out/da = 5 + 7 * 3 = 26: visit b before a (reverse topological order, not breadth-first), "
                 "and add every share")


# Stacked diamonds: a_0 = x; for each j, b_j and c_j computed from a_j, and a_(j+1) from both. Every
# diamond doubles the paths from out down to x (2**DIAMONDS of them) and adds 3 nodes: a sweep that
# hands each node's grad on once takes microseconds; a walk along every path, each carrying its own
# product to the nodes it reaches, never ends. The locals make d a_(j+1) / d a_j = 3 * 0.5 + (-1) * (-0.5)
# = 2, so every grad is a power of 2 (times 3 for b_j), exact in floating point in any order of the sums.
DIAMONDS = 50
# Each (parent, local) pair of these graphs counts how often it is read (unpacked or indexed), so the
# count survives code that copies a node's parents into a list or a tuple of its own. A sweep reads each
# pair a few times (an order, the sweep, perhaps a reset or a count of children: 2 to 3 in the corpus's
# correct sweeps); 16 times leaves room for any linear walk. A walk along every path passes that within
# milliseconds, and is stopped there rather than running out of time.
PAIR_READS = 16


class TooManyPaths(Exception):
    """Raised inside your code by the graph's pairs, once it has read far more of them than a sweep needs."""


class PairReads:
    """Counts the reads of the (parent, local) pairs made with ``pairs``, and stops the code past ``limit``."""

    def __init__(self, limit: int) -> None:
        self.limit, self.count, self.exceeded = limit, 0, False

    def pairs(self, *pairs: tuple[object, float]) -> tuple:
        """The parents of a node: a tuple of counted (parent, local) pairs."""
        counted = []
        for pair in pairs:
            counted.append(CountedPair(pair))
            counted[-1].reads = self
        return tuple(counted)

    def read(self) -> None:
        self.count += 1
        if self.count > self.limit:
            self.exceeded = True
            raise TooManyPaths(f"{self.count} (parent, local) pairs read, more than {self.limit}")


class CountedPair(tuple):
    """One (parent, local) pair: a tuple that reports every read, unpacked or indexed, to its PairReads."""

    def __iter__(self):
        self.reads.read()
        return super().__iter__()

    def __getitem__(self, index):
        self.reads.read()
        return super().__getitem__(index)


def stacked_diamonds(node_class, x, reads: PairReads) -> tuple[list, list, list]:
    """The nodes a_0 = x, ..., a_DIAMONDS (out), b_j and c_j of DIAMONDS diamonds stacked on x, built by hand."""
    a, b, c = [x], [], []
    for _ in range(DIAMONDS):
        b.append(node_class(0.0, reads.pairs((a[-1], 0.5))))
        c.append(node_class(0.0, reads.pairs((a[-1], -0.5))))
        a.append(node_class(0.0, reads.pairs((b[-1], 3.0), (c[-1], -1.0))))
    return a, b, c


def diamond_reads() -> PairReads:
    return PairReads(PAIR_READS * 4 * DIAMONDS)  # 4 pairs per diamond


DIAMONDS_GIVEN = (f"{DIAMONDS} diamonds stacked on x: b_j = Node(.., ((a_j, 0.5),)), c_j = Node(.., ((a_j, -0.5),)), "
                  f"a_(j+1) = Node(.., ((b_j, 3.0), (c_j, -1.0))), from a_0 = x up to out = a_{DIAMONDS}")


def expect_one_sweep(exercise: str, given_: str, run, reads: PairReads, hint: str):
    """``run()``, which must read the graph's pairs like one sweep does, not once per path; its result."""
    result = None
    try:
        result = run()
    except TooManyPaths:
        pass
    if reads.exceeded:
        fail(exercise, given_, f"one sweep, each of the {3 * DIAMONDS + 1} nodes handing on its grad once: x.grad "
             f"2**{DIAMONDS}", f"stopped by this test after reading {reads.count} (parent, local) pairs, more than "
             f"{PAIR_READS} times the graph's {4 * DIAMONDS}: your code walks the paths from out one by one, and "
             f"there are 2**{DIAMONDS} = {2**DIAMONDS:,} of them", hint)
    return result


@pytest.mark.exercise("backward")
def test_stacked_diamonds_take_one_sweep(kata):
    """Backward is linear in the size of the graph: 151 nodes, 2**50 paths."""
    Node = kata.reverse.Node
    reads = diamond_reads()
    a, b, c = stacked_diamonds(Node, Node(1.0), reads)
    given_ = f"{DIAMONDS_GIVEN}; out.backward()"
    expect_one_sweep("backward", given_, lambda: sweep("backward", a[-1], given_), reads,
                     "a node's grad is the sum of the shares of the nodes computed from it: let them all add into "
                     "it first, then hand it on to its parents once (reverse topological order, each node once), "
                     "never a share per path")
    j = DIAMONDS // 2
    expect_grads("backward", given_, {"x": (a[0], 2.0**DIAMONDS), f"a_{j}": (a[j], 2.0 ** (DIAMONDS - j)),
                                      "b_0": (b[0], 3 * 2.0 ** (DIAMONDS - 1)), "c_0": (c[0], -(2.0 ** (DIAMONDS - 1))),
                                      "out": (a[-1], 1.0)},
                 "each diamond doubles the grad: d a_(j+1) / d a_j = 3 * 0.5 + (-1) * (-0.5) = 2, so x.grad = 2**50")


@pytest.mark.exercise("backward")
def test_deep_chain(kata):
    x, out = chain(kata.reverse.Node, DEEP)
    given_ = f"a chain of {DEEP} nodes, each computed from the one before and from x (locals 1); out.backward()"
    sweep("backward", out, given_)
    expect_grads("backward", given_, {"x": (x, DEEP + 1.0), "out": (out, 1.0)},
                 "every node of the chain has grad 1 and hands 1 to x: x.grad = 10001")


@pytest.mark.exercise("backward")
def test_deep_chain_through_operators(kata):
    x = kata.reverse.Node(0.25)
    out = x
    for _ in range(DEEP):
        out = out * 1.0 + x
    given_ = f"out = x, then out = out * 1.0 + x {DEEP} times; out.backward()"
    sweep("backward", out, given_)
    expect_grads("backward", given_, {"x": (x, DEEP + 1.0)})


@pytest.mark.exercise("backward")
def test_backward_twice_gives_the_same(kata):
    Node = kata.reverse.Node
    x = Node(1.0)
    a = Node(0.0, ((x, 2.0),))
    out = Node(0.0, ((a, 3.0), (x, 1.0)))
    given_ = "out = Node(.., ((a, 3), (x, 1))) with a = Node(.., ((x, 2),)); out.backward() twice"
    sweep("backward", out, given_)
    sweep("backward", out, given_)
    expect_grads("backward", given_, {"x": (x, 7.0), "a": (a, 3.0), "out": (out, 1.0)},
                 "each sweep starts from zero: set the grad of every node of the order to 0 before seeding")


@pytest.mark.exercise("backward")
def test_backward_reaches_only_what_out_depends_on(kata):
    Node = kata.reverse.Node
    x = Node(1.0)
    out = Node(0.0, ((x, 2.0),))
    other = Node(0.0, ((x, 9.0),))  # computed from x too, but out does not depend on it
    other.grad = 42.0
    given_ = "out = Node(.., ((x, 2),)) and other = Node(.., ((x, 9),)) with other.grad = 42; out.backward()"
    sweep("backward", out, given_)
    expect_grads("backward", given_, {"x": (x, 2.0), "other": (other, 42.0)},
                 "out depends only on its parents, their parents...: nothing else is touched")


@st.composite
def graphs(draw):
    """A random computation graph: node i's parents are drawn among nodes 0..i-1, with locals."""
    size = draw(st.integers(2, 25))
    spec = [[]]
    for i in range(1, size):
        count = draw(st.integers(0 if i > 2 else 1, 3))
        spec.append([(draw(st.integers(0, i - 1)), draw(st.floats(-3.0, 3.0))) for _ in range(count)])
    return spec


def build(node_class, spec):
    nodes = []
    for parents in spec:
        nodes.append(node_class(0.0, tuple((nodes[j], local) for j, local in parents)))
    return nodes


@pytest.mark.exercise("backward")
@given(spec=graphs())
def test_random_graphs(kata, spec):
    nodes = build(kata.reverse.Node, spec)
    out = nodes[-1]
    given_ = f"the graph {[[(j, round(c, 3)) for j, c in p] for p in spec]} (node i: its (parent, local) pairs)"
    expected, scale = adjoints(out, "backward"), adjoints(out, "backward", magnitude=True)
    sweep("backward", out, given_)
    for i, node in enumerate(nodes):
        if id(node) in expected and not abs(node.grad - expected[id(node)]) <= SUM_ORDER_REL * scale[id(node)]:
            fail("backward", given_, f"node {i}'s grad {show(expected[id(node)])} (the sum over paths of the "
                 "products of the locals)", f"{show(node.grad)}")


@pytest.mark.exercise("backward")
@given(spec=graphs())
def test_topological_order(kata, spec):
    nodes = build(kata.reverse.Node, spec)
    out = nodes[-1]
    given_ = f"topological_order of the graph {[[j for j, _ in p] for p in spec]} (node i: its parents)"
    order = list(kata.reverse.topological_order(out))
    position = {id(node): k for k, node in enumerate(order)}
    reachable = adjoints(out, "backward")
    index = {id(node): i for i, node in enumerate(nodes)}
    if len(order) != len(position) or set(position) != set(reachable):
        fail("backward", given_, f"each node out depends on once: nodes {sorted(index[k] for k in reachable)}",
             f"nodes {[index.get(id(n), '?') for n in order]}",
             "keep a set of the nodes already seen: a node reached along two paths goes in once")
    for node in order:
        for parent, _ in node.parents:
            if position[id(parent)] > position[id(node)]:
                fail("backward", given_, f"node {index[id(parent)]} before node {index[id(node)]}, its child",
                     f"the order {[index[id(n)] for n in order]}",
                     "put a node in the list only after all of its parents (depth-first, parents first)")


@pytest.mark.exercise("backward")
def test_topological_order_of_a_deep_chain(kata):
    x, out = chain(kata.reverse.Node, DEEP)
    given_ = f"topological_order of a chain of {DEEP} nodes"
    try:
        order = list(kata.reverse.topological_order(out))
    except RecursionError as exc:
        fail("backward", given_, f"{DEEP + 1} nodes, x first and out last", f"RecursionError: {exc}", RECURSION_HINT)
    if len(order) != DEEP + 1 or order[0] is not x or order[-1] is not out:
        fail("backward", given_, f"{DEEP + 1} nodes, x first and out last",
             f"{len(order)} nodes, x first: {order[0] is x}, out last: {order[-1] is out}")


# ---------------------------------------------------------------- grad


def counted(f):
    """f, counting its calls and keeping the type of every argument (the tests check they are Nodes)."""
    def wrapper(*args):
        wrapper.calls += 1
        wrapper.arguments.extend(type(a) for a in args)
        return f(*args)

    wrapper.calls = 0
    wrapper.arguments = []
    return wrapper


def watch_sweeps(kata, monkeypatch, doubled: bool = False, through_grad: bool = False) -> list[str]:
    """A list that grows by one at every sweep your code runs while the test runs, however it reaches it.

    A sweep is a call of your ``Node.backward``, by any name your module or its classes give it
    (``out.backward()``, ``Node.backward(out)``, an alias such as ``sweep = Node.backward``, a
    helper calling one of those). With ``through_grad`` (the exercises after grad, whose partials
    may come from your grad), a call of a function your ``grad`` returned is one sweep too,
    whatever it does inside: grad's own tests have shown that it sweeps once. A call made while a
    sweep runs (grad's own backward(), a backward that hands each node on through itself) is
    part of that sweep, not another one.

    With ``doubled``, every grad a sweep leaves is doubled as the sweep returns (each node backward
    reached, or the partials grad returns): a result read off the sweep comes back doubled, one
    computed some other way (by hand, by forward mode) does not.
    """
    reverse, sweeps, running = kata.reverse, [], [0]
    original = reverse.Node.backward

    def backward(self, *args, **kwargs):
        if running[0]:  # called from inside a sweep (a backward handing on through itself, or grad's): the same one
            return original(self, *args, **kwargs)
        running[0] += 1
        try:
            result = original(self, *args, **kwargs)
        finally:
            running[0] -= 1
        sweeps.append("backward")
        if doubled:
            double_every_grad(self)
        return result

    classes = [c for c in vars(reverse).values() if isinstance(c, type) and issubclass(c, reverse.Node)]
    for namespace in (reverse, *classes):
        for name, value in list(vars(namespace).items()):
            if value is original:
                monkeypatch.setattr(namespace, name, backward)
    if through_grad:
        original_grad = reverse.grad

        def grad(f, *args, **kwargs):
            partials = original_grad(f, *args, **kwargs)

            def swept(*xs, **named):
                if running[0]:
                    return partials(*xs, **named)
                running[0] += 1
                try:
                    result = partials(*xs, **named)
                finally:
                    running[0] -= 1
                sweeps.append("grad")
                return tuple(2 * v for v in result) if doubled and isinstance(result, tuple) else result

            return swept

        for name, value in list(vars(reverse).items()):
            if value is original_grad:
                monkeypatch.setattr(reverse, name, grad)
    return sweeps


def double_every_grad(out) -> None:
    """Double the grad of every node ``out`` depends on (``out`` too), each once."""
    found, stack = {id(out): out}, [out]
    while stack:
        for parent, _ in stack.pop().parents:
            if id(parent) not in found:
                found[id(parent)] = parent
                stack.append(parent)
    for node in found.values():
        node.grad = 2 * node.grad


@pytest.fixture
def backward_calls(kata, monkeypatch) -> list[str]:
    """One entry per call of your Node.backward while the test runs (grad and jacrev: one sweep each)."""
    return watch_sweeps(kata, monkeypatch)


@pytest.fixture
def sweep_calls(kata, monkeypatch) -> list[str]:
    """One entry per sweep while the test runs: a call of Node.backward, or of a function your grad returned."""
    return watch_sweeps(kata, monkeypatch, through_grad=True)


@pytest.fixture
def doubled_sweeps(kata, monkeypatch) -> None:
    """Every sweep's grads doubled as it returns: results read off the grads come back doubled.

    A result computed some other way (by hand, by forward mode over the recording) does not.
    """
    watch_sweeps(kata, monkeypatch, doubled=True, through_grad=True)


GRAD_CASES = [
    # id, f on Nodes (r: the reverse module), inputs, partials
    ("x * y + x ** 2", lambda r: lambda x, y: x * y + x**2, (1.5, -2.0), (-2.0 + 3.0, 1.5)),
    ("exp(x) / (1 + x * x)", lambda r: lambda x: r.exp(x) / (1 + x * x), (0.5,),
     (math.exp(0.5) * (1 - 0.5) ** 2 / (1 + 0.25) ** 2,)),
    ("3 * x (y unused)", lambda r: lambda x, y: 3 * x, (2.0, 7.0), (3.0, 0.0)),
    ("x (the input itself)", lambda r: lambda x: x, (4.0,), (1.0,)),
    ("x * x * x", lambda r: lambda x: x * x * x, (-1.5,), (3 * 1.5**2,)),
    ("log(a) * b - sigmoid(c)", lambda r: lambda a, b, c: r.log(a) * b - r.sigmoid(c), (2.0, 3.0, 0.0),
     (1.5, math.log(2.0), -0.25)),
    ("tanh(x - y) * z", lambda r: lambda x, y, z: r.tanh(x - y) * z, (0.3, -0.2, 2.0),
     (2.0 / math.cosh(0.5) ** 2, -2.0 / math.cosh(0.5) ** 2, math.tanh(0.5))),
]


def expect_tuple_of_numbers(exercise: str, given_: str, received: object, n: int) -> tuple[float, ...]:
    """grad's result: a tuple of n numbers (floats, numpy real scalars or 0-d arrays), returned as floats."""
    found = tuple(real_number(v) for v in received) if isinstance(received, tuple) and len(received) == n else None
    if found is None or None in found:
        fail(exercise, given_, f"a tuple of {n} numbers", f"{type(received).__name__}: {received!r}"[:300],
             "return a tuple of the leaves' grads: one partial per input, in order")
    return found


def expect_partial_tuple(exercise: str, given_: str, received: object, expected, hint: str | None = None
                         ) -> tuple[float, ...]:
    received = expect_tuple_of_numbers(exercise, given_, received, len(expected))
    for k, (r, e) in enumerate(zip(received, expected, strict=True)):
        if not close(r, e):
            fail(exercise, given_, f"partials {tuple(show(v) for v in expected)}",
                 f"{tuple(show(v) for v in received)}  <- partial {k} differs", hint)
    return received


@pytest.mark.exercise("grad")
@pytest.mark.parametrize("given_, make, xs, partials", GRAD_CASES, ids=[c[0] for c in GRAD_CASES])
def test_grad_exact(kata, given_, make, xs, partials):
    received = kata.reverse.grad(make(kata.reverse))(*xs)
    expect_partial_tuple("grad", f"grad({given_})(*{xs})", received, partials)


@pytest.mark.exercise("grad")
@pytest.mark.parametrize("point", MIXED_POINTS)
def test_grad_finite_differences(kata, point):
    received = kata.reverse.grad(lambda x, y, z: mixed(kata.reverse, x, y, z))(*point)
    given_ = f"grad of a composite of every operation at {point}"
    received = expect_tuple_of_numbers("grad", given_, received, 3)
    for k in range(3):
        def along(t, k=k):
            moved = list(point)
            moved[k] = t
            return mixed(FLOATS, *moved)

        expect_matches_difference_quotient("grad", f"{given_}, partial {k}", received[k],
                                           central_difference(along, point[k]))


@pytest.mark.exercise("grad")
@pytest.mark.parametrize("n", [1, 3, 200])
def test_grad_evaluates_once_and_sweeps_once(kata, backward_calls, n):
    f = counted(lambda *xs: sum((x * x for x in xs[1:]), xs[0] * 3.0))
    xs = [0.5 + k / 10 for k in range(n)]
    given_ = f"grad(f)(*xs) with f = 3 x_0 + sum of x_k**2, n = {n} inputs"
    received = kata.reverse.grad(f)(*xs)
    expect_partial_tuple("grad", given_, received, [3.0] + [2 * x for x in xs[1:]])
    if f.calls != 1:
        fail("grad", given_, "f called once", f"f called {f.calls} times",
             "reverse mode needs ONE evaluation of f, whatever the number of inputs")
    if len(backward_calls) > 1:
        fail("grad", given_, "one backward() (one sweep)", f"{len(backward_calls)} calls of backward()",
             "one sweep from f's result fills the grads of every leaf at once")
    if not all(issubclass(kind, kata.reverse.Node) for kind in f.arguments):  # a subclass of Node is a Node
        fail("grad", given_, "f called on Nodes (your leaves)",
             f"f called on {sorted({kind.__name__ for kind in f.arguments})}",
             "make one leaf Node per input and call f on those: that is what records the graph")


@pytest.mark.exercise("grad")
def test_grad_of_stacked_diamonds_takes_one_sweep(kata):
    """One sweep, linear in the size of the graph, whatever grad runs: 151 nodes, 2**50 paths from out to x."""
    Node, reads = kata.reverse.Node, diamond_reads()
    given_ = f"grad(f)(1.0), f(x) built by hand: {DIAMONDS_GIVEN}"
    g = kata.reverse.grad(lambda x: stacked_diamonds(Node, x, reads)[0][-1])
    received = expect_one_sweep("grad", given_, lambda: g(1.0), reads,
                                "one backward() from f's result: a sweep hands each node's grad on once, never a "
                                "share per path")
    expect_partial_tuple("grad", given_, received, (2.0**DIAMONDS,),
                         "each diamond doubles the grad: d a_(j+1) / d a_j = 3 * 0.5 + (-1) * (-0.5) = 2")


# Reverse mode's fingerprint. Along a chain x -> a -> ... -> out, the derivative is the product of the
# recorded locals. Real arithmetic does not care in which order they are multiplied; floating point does,
# in the last bits. A sweep starts at out with grad 1 and hands each grad to the node before, so the
# locals are multiplied from out back to x: l1 * (l2 * (... * l5)), whatever the sweep looks like (its
# own topological order, Kahn's algorithm, a heap, shares summed later). Forward mode pushes a tangent the
# other way, from x up to out: ((l1 * l2) * ...) * l5, whether it runs one pass per input over the
# recording or carries every input's tangent in one pass. The locals are chosen so that the two products
# differ; the graph is built with the ready-made constructor, so this does not depend on your operators.
CHAINS = {"x": (0.1, 0.7, 1.3, 2.9, 0.3), "y": (0.7, 1.3, 0.9, 1.1, 2.1)}


def chain_product(locals_: tuple[float, ...], from_out: bool) -> float:
    """The product of a chain's locals, multiplied from out back to the input (a sweep) or from the input up."""
    product = 1.0
    for local in reversed(locals_) if from_out else locals_:
        product = local * product
    return product


def written(locals_: tuple[float, ...], from_out: bool) -> str:
    """The product as chain_product takes it: 0.1 * (0.7 * 1.3) from out, (0.1 * 0.7) * 1.3 from the input."""
    names = [repr(local) for local in locals_]
    if from_out:
        names.reverse()
    text = names[0]
    for i, name in enumerate(names[1:]):
        inner = text if i == 0 else f"({text})"
        text = f"{name} * {inner}" if from_out else f"{inner} * {name}"
    return text


@pytest.mark.exercise("grad")
def test_grad_multiplies_the_locals_from_the_output_back(kata):
    Node = kata.reverse.Node

    def f(x, y):
        ends = []
        for leaf, locals_ in ((x, CHAINS["x"]), (y, CHAINS["y"])):
            node = leaf
            for local in locals_:
                node = Node(node.value * local, ((node, local),))
            ends.append(node)
        return Node(ends[0].value + ends[1].value, ((ends[0], 1.0), (ends[1], 1.0)))

    given_ = (f"grad(f)(2.0, -1.0), f built by hand: out = a + b, a the end of a chain from x with locals "
              f"{CHAINS['x']}, b of a chain from y with locals {CHAINS['y']}")
    received = kata.reverse.grad(f)(2.0, -1.0)
    received = expect_tuple_of_numbers("grad", given_, received, 2)
    for k, name in enumerate("xy"):
        swept, upward = (chain_product(CHAINS[name], from_out) for from_out in (True, False))
        assert swept != upward, "test setup: the two orders must differ in floating point"
        if received[k] == swept:
            continue
        expected = (f"d out / d {name} = {swept!r} exactly: the locals multiplied from out back to {name}, "
                    f"{written(CHAINS[name], True)}, as a sweep hands each grad on")
        if received[k] == upward:
            fail("grad", given_, expected,
                 f"{upward!r}, the product taken from {name} up to out, {written(CHAINS[name], False)}: forward "
                 "mode over the recording", "call f once on your leaves, run ONE backward() from its result and "
                 "return the leaves' grads: a pass pushing tangents from the inputs over the recorded graph is "
                 "forward mode, even on Nodes")
        fail("grad", given_, expected, f"{received[k]!r}",
             "return the leaves' grads as the sweep leaves them: one backward() from f's result, nothing else "
             "computed on them")


@pytest.mark.exercise("grad")
def test_grad_called_again_starts_afresh(kata):
    g = kata.reverse.grad(lambda x, y: x * y)
    first, second = g(2.0, 3.0), g(2.0, 3.0)
    expect_partial_tuple("grad", "g = grad(lambda x, y: x * y); g(2.0, 3.0) twice", second, (3.0, 2.0),
                         "every call makes fresh leaves: nothing of an earlier call may remain")
    expect_partial_tuple("grad", "g = grad(lambda x, y: x * y); g(2.0, 3.0)", first, (3.0, 2.0))
    expect_partial_tuple("grad", "g(5.0, -1.0) after g(2.0, 3.0)", g(5.0, -1.0), (-1.0, 5.0))


@pytest.mark.exercise("grad")
@given(x=st.floats(-3.0, 3.0), y=st.floats(-3.0, 3.0))
def test_grad_properties(kata, x, y):
    r = kata.reverse
    received = r.grad(lambda a, b: r.sigmoid(a * b) + a * a)(x, y)
    s = floats_sigmoid(x * y)
    received = expect_partial_tuple("grad", f"grad(sigmoid(a b) + a**2)({x!r}, {y!r})", received,
                                    (s * (1 - s) * y + 2 * x, s * (1 - s) * x))
    swapped = r.grad(lambda a, b: r.sigmoid(b * a) + b * b)(y, x)
    expect_partial_tuple("grad", "the same f with its arguments swapped", swapped, received[::-1],
                         "the partials come in the order of the inputs")


@pytest.mark.exercise("grad")
@pytest.mark.parametrize("given_, call", [
    ("grad(f)('a')", lambda r: r.grad(lambda x: x * 2)("a")),
    ("grad(f)(Node(1.0))", lambda r: r.grad(lambda x: x * 2)(r.Node(1.0))),
    ("grad(f)(None)", lambda r: r.grad(lambda x: x * 2)(None)),
    ("grad(lambda x: 3.0)(1.0): f returns a number", lambda r: r.grad(lambda x: 3.0)(1.0)),
    ("grad(lambda x: [x, x])(1.0): f returns a list", lambda r: r.grad(lambda x: [x, x])(1.0)),
], ids=["str", "node", "none", "number-result", "list-result"])
def test_grad_bad_input_is_a_type_error(kata, given_, call):
    expect_error("grad", given_, TypeError, lambda: call(kata.reverse), "TypeError",
                 "check the inputs with as_inputs(xs) and f's result with check_output(...)",
                 "the inputs must be real numbers (the leaves are made inside) and f must return a Node")


# ---------------------------------------------------------------- both_ways


def call_deep_model_reverse(kata, x, y, params) -> tuple[tuple[float, dict[str, float]], str]:
    """deep_model_reverse's (loss, partials) as floats; any real numbers are accepted (floats, numpy scalars, 0-d arrays)."""
    given_ = f"deep_model_reverse({x!r}, {y!r}, {params})"
    result = kata.reverse.deep_model_reverse(x, y, dict(params))
    loss, partials = result if isinstance(result, tuple) and len(result) == 2 else (None, None)
    found = ({name: real_number(v) for name, v in partials.items()}
             if isinstance(partials, dict) and set(partials) == set(NAMES) else None)
    if real_number(loss) is None or found is None or None in found.values():
        fail("both_ways", given_, "(loss, {name: partial} for the seven names), numbers", f"{result!r}"[:300],
             "return loss.value and a dict of p[name].grad for every name of PARAMETERS: numbers, not Nodes")
    return (real_number(loss), found), given_


@pytest.mark.exercise("both_ways")
@pytest.mark.parametrize("params", [POINT, POINT_2], ids=["point-1", "point-2"])
@pytest.mark.parametrize("x, y", SAMPLES)
def test_deep_model_reverse_exact(kata, params, x, y):
    (loss, partials), given_ = call_deep_model_reverse(kata, x, y, params)
    expected_loss, gradient = network_loss_and_gradient(x, y)(np.array([params[n] for n in NAMES]))
    expect_close("both_ways", given_, "loss", loss, expected_loss,
                 "h_k = m0_k x + b0_k; p = sigmoid(m1_0 h_0 + m1_1 h_1 + b1); loss = logloss(y, p)", EXACT_REL, EXACT_ABS)
    received = [partials[n] for n in NAMES]
    if not close(received, gradient):
        fail("both_ways", given_, render(NAMES, gradient), render(NAMES, received),
             "one leaf Node per parameter, the loss built from them, one backward(): read every leaf's grad")


@pytest.mark.exercise("both_ways")
@pytest.mark.parametrize("params", [POINT, POINT_2], ids=["point-1", "point-2"])
@pytest.mark.parametrize("x, y", SAMPLES[:2])
def test_three_ways_agree(kata, params, x, y):
    """Reverse mode, stage 4's seven seeded passes, and stage 5's seven tangents in one pass: one answer."""
    (_, partials), given_ = call_deep_model_reverse(kata, x, y, params)
    reverse = [partials[n] for n in NAMES]
    forward = [kata.training.deep_model(x, y, dict(params), {n: 1.0})[1] for n in NAMES]
    p = dict(zip(NAMES, kata.tangents.seeded(*[params[n] for n in NAMES]), strict=True))
    out = kata.primitives.sigmoid(p["m1_0"] * (p["m0_0"] * x + p["b0_0"]) + p["m1_1"] * (p["m0_1"] * x + p["b0_1"])
                                  + p["b1"])
    tangents = list(np.asarray(kata.losses.logloss(y, out).grad, dtype=float).reshape(-1))
    _, oracle = network_loss_and_gradient(x, y)(np.array([params[n] for n in NAMES]))
    for name, other in (("stage 4's seven seeded passes (deep_model)", forward),
                        ("stage 5's seven tangents in one pass (seeded)", tangents)):
        if not close(other, oracle):  # the earlier stage is wrong: say so, it is not this exercise's fault
            fail("both_ways", given_, f"{name}: {render(NAMES, oracle)}", render(NAMES, other),
                 "the earlier stage's answer is wrong: fix that exercise first")
        if not close(reverse, other, MODES_REL, MODES_ABS):
            fail("both_ways", given_, f"the partials of {name}, to {MODES_REL:g}: {render(NAMES, other)}",
                 render(NAMES, reverse),
                 "reverse mode applies the same chain rule to the same operations: only rounding may differ")


@pytest.mark.exercise("both_ways")
def test_deep_model_reverse_sweeps_once(kata, sweep_calls, operator_calls):
    (_, partials), given_ = call_deep_model_reverse(kata, 1.2, 1.0, POINT)
    if len(sweep_calls) != 1:
        fail("both_ways", given_, "one backward() (or one call of your grad)", f"{len(sweep_calls)} sweeps",
             "one sweep from the loss gives all seven partials")
    if operator_calls:
        fail("both_ways", given_, "no stage-1 Variable at all (reverse mode only)",
             f"{len(operator_calls)} calls of Variable operators",
             "build the network from Nodes; stage 4's seeded Variables are forward mode")


@pytest.mark.exercise("both_ways")
def test_deep_model_reverse_reads_the_sweep(kata, doubled_sweeps):
    """The partials are the grads the sweep leaves behind: doubled here after it, they come back doubled."""
    (_, partials), given_ = call_deep_model_reverse(kata, 1.2, 1.0, POINT)
    _, gradient = network_loss_and_gradient(1.2, 1.0)(np.array([POINT[n] for n in NAMES]))
    received = [partials[n] for n in NAMES]
    if not close(received, 2 * gradient):
        fail("both_ways", given_ + ", with every grad doubled by this test right after your backward() returns "
             "(or the partials your grad returns)",
             f"the doubled grads of your leaves: {render(NAMES, 2 * gradient)}", render(NAMES, received),
             "return p[name].grad of each parameter's leaf after loss.backward(), not a partial found "
             "another way (by hand, or by an earlier stage)")


@pytest.mark.exercise("both_ways")
@pytest.mark.parametrize("y", [0.0, 1.0])
def test_deep_model_reverse_missing_parameters_are_zero(kata, y):
    (loss, partials), given_ = call_deep_model_reverse(kata, 1.5, y, {})
    expect_close("both_ways", given_, "loss", loss, math.log(2.0), "missing parameters are 0: p = 0.5, loss ln 2",
                 EXACT_REL, EXACT_ABS)
    expect_close("both_ways", given_, "d loss / d b1", partials["b1"], 0.5 - y, "d loss / d b1 = p - y", EXACT_REL,
                 EXACT_ABS)


@pytest.mark.exercise("both_ways")
@given(values=st.lists(st.floats(-2.0, 2.0), min_size=7, max_size=7), x=st.floats(-3.0, 3.0),
       y=st.sampled_from([0.0, 1.0]))
def test_deep_model_reverse_properties(kata, values, x, y):
    params = dict(zip(NAMES, values, strict=True))
    (loss, partials), given_ = call_deep_model_reverse(kata, x, y, params)
    expected_loss, gradient = network_loss_and_gradient(x, y)(np.array(values))
    expect_close("both_ways", given_, "loss", loss, expected_loss)
    if not close([partials[n] for n in NAMES], gradient, EXACT_REL, EXACT_ABS):
        fail("both_ways", given_, render(NAMES, gradient), render(NAMES, [partials[n] for n in NAMES]))


def run_reverse_training(kata, x, y, params, lr, iters, given_=None) -> tuple[dict[str, float], list[float], str]:
    """train_deep_model_reverse's (new_params, history) as floats, as stage 4's train_deep_model returns them: a
    dict of the seven names, and a list, tuple or 1-d array of losses; any real numbers are accepted."""
    given_ = given_ or f"train_deep_model_reverse(x={x}, y={y}, params={params}, lr={lr}, iters={iters})"
    result = kata.reverse.train_deep_model_reverse(x, y, params, lr=lr, iters=iters)
    new, history = result if isinstance(result, tuple) and len(result) == 2 else (None, None)
    if not (isinstance(new, dict) and set(new) == set(NAMES)):
        fail("both_ways", given_, "(new_params with the seven names, history list)", f"{result!r}"[:300],
             "return the new parameters (all seven) and the list of mean losses")
    values, losses = {name: real_number(new[name]) for name in NAMES}, real_numbers(history)
    if None in values.values() or losses is None:
        fail("both_ways", given_, "numbers: the parameters' new values, and a list of the mean losses",
             f"{result!r}"[:300], "return plain numbers (.value or .grad of a Node), not Nodes")
    return values, losses, given_


@pytest.mark.exercise("both_ways")
@pytest.mark.parametrize("iters", [1, 3])
@pytest.mark.parametrize("x, y, params, lr", TRAIN_CASES)
def test_reverse_training_steps_exact(kata, iters, x, y, params, lr):
    def replay(i: int) -> Run:
        new, history, _ = run_reverse_training(kata, x, y, dict(params), lr, i)
        return Run([new[n] for n in NAMES], history)

    new, history, given_ = run_reverse_training(kata, x, y, dict(params), lr, iters)
    expect_descent("both_ways", given_, NAMES, replay, network_loss_and_gradient(x, y),
                   [params.get(n, 0.0) for n in NAMES], lr, iters, len(x), Run([new[n] for n in NAMES], history))


@pytest.mark.exercise("both_ways")
def test_reverse_training_reaches_the_same_parameters(kata, sweep_calls, operator_calls):
    """The post's network on the post's data: the same parameters as exact descent, and as stage 4's loop."""
    x, _, labels = post_data(seed=0)
    params = dict(zip(NAMES, np.random.default_rng(1000).normal(size=7).tolist(), strict=True))
    given_ = "train_deep_model_reverse on the post's data (seed 0), params ~ N(0, 1) (seed 1000), lr=0.1, iters=30"
    new, history, given_ = run_reverse_training(kata, x, labels, dict(params), 0.1, 30, given_)
    if len(sweep_calls) < 30:
        fail("both_ways", given_, "at least one backward() per iteration", f"{len(sweep_calls)} sweeps in 30 iterations",
             "take every iteration's gradients from a sweep of your Nodes")
    if operator_calls:
        fail("both_ways", given_, "no stage-1 Variable at all (reverse mode only)",
             f"{len(operator_calls)} calls of Variable operators", "build the losses from Nodes, not Variables")
    expected, expected_history = descend(network_loss_and_gradient(x, labels), [params[n] for n in NAMES], 0.1, 30,
                                         len(x))
    if not close([new[n] for n in NAMES], expected, STEP_REL, STEP_ABS):
        fail("both_ways", given_, render(NAMES, expected), render(NAMES, [new[n] for n in NAMES]))
    short = x[:12].tolist(), labels[:12].tolist()
    forward, forward_history = kata.training.train_deep_model(*short, dict(params), lr=0.1, iters=5)
    new, history, given_ = run_reverse_training(kata, *short, dict(params), 0.1, 5,
                                                "both trainers on the first 12 samples, 5 iterations")
    if not (close([new[n] for n in NAMES], [forward[n] for n in NAMES], STEP_REL, STEP_ABS)
            and close(history, forward_history, STEP_REL, STEP_ABS)):
        fail("both_ways", given_, f"stage 4's train_deep_model: {render(NAMES, [forward[n] for n in NAMES])}",
             render(NAMES, [new[n] for n in NAMES]), "both modes give the same gradients, so the same steps")


@pytest.mark.exercise("both_ways")
def test_reverse_training_leaves_params_alone_and_starts_at_zero(kata):
    params = dict(POINT)
    given_ = f"train_deep_model_reverse(x=[0.5, 1.5], y=[1.0, 0.0], params={POINT}, lr=0.3, iters=2)"
    result = kata.reverse.train_deep_model_reverse([0.5, 1.5], [1.0, 0.0], params, lr=0.3, iters=2)
    if params != POINT or (isinstance(result, tuple) and len(result) == 2 and result[0] is params):
        fail("both_ways", given_, f"params still {POINT}, and a new dict returned", f"{params}",
             "copy the parameters into a new dict first and update the copy")
    new, history, given_ = run_reverse_training(kata, [0.5, 1.5], [1.0, 0.0], {"b1": 0.5}, 0.1, 0)
    if new != dict.fromkeys(NAMES, 0.0) | {"b1": 0.5} or history != []:
        fail("both_ways", given_, "the starting parameters (missing ones 0) and history []", f"{new}, {history}")


@pytest.mark.exercise("both_ways")
@pytest.mark.parametrize("call, what", [
    (lambda r: r.deep_model_reverse(1.0, 0.5, POINT), "deep_model_reverse with label 0.5"),
    (lambda r: r.deep_model_reverse(1.0, 1.0, {"m0": 1.0}), "deep_model_reverse with the unknown name 'm0'"),
    (lambda r: r.train_deep_model_reverse([0.5, 1.0], [0.0, 0.5], POINT, 0.1, 0), "training with a label 0.5, iters=0"),
    (lambda r: r.train_deep_model_reverse([0.5, 1.0], [0.0, 1.0], POINT, -0.1, 1), "training with lr = -0.1"),
    (lambda r: r.train_deep_model_reverse([0.5, 1.0], [0.0, 1.0], {"w": 1.0}, 0.1, 1), "training with a name 'w'"),
], ids=["label", "unknown-name", "train-label", "train-lr", "train-name"])
def test_both_ways_bad_input_is_a_value_error(kata, call, what):
    expect_error("both_ways", what, ValueError, lambda: call(kata.reverse), "ValueError",
                 "check the input first: check_parameters, check_label, as_samples(..., labels=True), check_settings",
                 "check the input first: check_parameters, check_label, as_samples(..., labels=True), check_settings")


# ---------------------------------------------------------------- jacrev


def expect_shape(given_: str, received: object, shape: tuple[int, int]) -> np.ndarray:
    """jacrev's result: a numpy array of real numbers (a float array, or integers) of this shape, returned as floats."""
    found = real_array(received, shape)
    if found is None:
        shaped = isinstance(received, np.ndarray) and received.shape == shape
        fail("jacrev", given_, f"a numpy array of numbers of shape {shape} (m outputs, n inputs)",
             f"{type(received).__name__} of shape {np.shape(received)}"
             + (f", dtype {received.dtype}" if isinstance(received, np.ndarray) else ""),
             "fill a float array, np.zeros((m, n)), with the leaves' grads: numbers, not Nodes" if shaped else
             "row i holds the partials of output i: shape (m, n), never transposed")
    return found


def expect_matrix(given_: str, received: object, expected, hint: str | None = None) -> None:
    expected = np.asarray(expected, dtype=float)
    received = expect_shape(given_, received, expected.shape)
    if not close(received, expected):
        fail("jacrev", given_, f"{expected.tolist()}", f"{received.tolist()}", hint)


JACOBIAN_CASES = [
    # id, f (r: the reverse module), xs, J
    ("[x * y, exp(x), y - x, x / y]", lambda r: lambda x, y: [x * y, r.exp(x), y - x, x / y], (1.5, -2.0),
     [[-2.0, 1.5], [math.exp(1.5), 0.0], [-1.0, 1.0], [-0.5, -1.5 / 4]]),
    ("[x * y * z]", lambda r: lambda x, y, z: [x * y * z], (2.0, 3.0, 4.0), [[12.0, 8.0, 6.0]]),
    ("[x, x ** 2, x ** 3, sigmoid(x), -x]", lambda r: lambda x: (x, x**2, x**3, r.sigmoid(x), -x), (0.0,),
     [[1.0], [0.0], [0.0], [0.25], [-1.0]]),
    ("[y * 2, x * 3] (each output uses one input)", lambda r: lambda x, y: [y * 2, x * 3], (1.0, 1.0),
     [[0.0, 2.0], [3.0, 0.0]]),
]


@pytest.mark.exercise("jacrev")
@pytest.mark.parametrize("given_, make, xs, jacobian", JACOBIAN_CASES, ids=[c[0] for c in JACOBIAN_CASES])
def test_jacrev_exact(kata, given_, make, xs, jacobian):
    received = kata.reverse.jacrev(make(kata.reverse))(*xs)
    expect_matrix(f"jacrev(f)(*{xs}) for f = {given_}", received, jacobian,
                  "J[i, k] = d f_i / d x_k; set every leaf's grad to 0 before each output's sweep: a leaf "
                  "output i does not use keeps the grad of the sweep before")


@pytest.mark.exercise("jacrev")
@pytest.mark.parametrize("point", MIXED_POINTS[:2])
def test_jacrev_finite_differences(kata, point):
    def f(ops, x, y, z):
        return [mixed(ops, x, y, z), x * ops.exp(y), ops.tanh(z - x) / (1 + y * y)]

    received = kata.reverse.jacrev(lambda *xs: f(kata.reverse, *xs))(*point)
    given_ = f"jacrev of three functions of (x, y, z) at {point}"
    received = expect_shape(given_, received, (3, 3))
    for i in range(3):
        for k in range(3):
            def along(t, i=i, k=k):
                moved = list(point)
                moved[k] = t
                return f(FLOATS, *moved)[i]

            expect_matches_difference_quotient("jacrev", f"{given_}, J[{i}, {k}]", received[i, k],
                                               central_difference(along, point[k]))


@pytest.mark.exercise("jacrev")
@given(matrix=st.lists(st.lists(st.floats(-5.0, 5.0), min_size=3, max_size=3), min_size=1, max_size=4),
       xs=st.lists(st.floats(-5.0, 5.0), min_size=3, max_size=3))
def test_jacrev_of_a_linear_map_is_its_matrix(kata, matrix, xs):
    def f(*leaves):
        return [sum((a * leaf for a, leaf in zip(row, leaves, strict=True)), 0.0) for row in matrix]

    expect_matrix(f"jacrev(x -> A x)(*{xs}) with A = {matrix}", kata.reverse.jacrev(f)(*xs), matrix)


@pytest.mark.exercise("jacrev")
@pytest.mark.parametrize("m, n", [(1, 6), (6, 1), (3, 4)])
def test_jacrev_evaluates_once_and_sweeps_once_per_output(kata, backward_calls, m, n):
    f = counted(lambda *xs: [sum((x * (i + 1) for x in xs), 0.0) * xs[0] for i in range(m)])
    xs = [1.0 + k for k in range(n)]
    given_ = f"jacrev(f) for f: R^{n} -> R^{m}"
    received = kata.reverse.jacrev(f)(*xs)
    # f_i = (i + 1) x_0 (x_0 + ... + x_{n-1}): d/dx_0 = (i + 1) (sum + x_0), d/dx_k = (i + 1) x_0 for k > 0
    expected = [[(i + 1) * (sum(xs) + xs[0])] + [(i + 1) * xs[0]] * (n - 1) for i in range(m)]
    expect_matrix(given_, received, expected)
    if f.calls != 1:
        fail("jacrev", given_, "f called once", f"f called {f.calls} times",
             "record the graph once: every output's sweep runs over the same recording")
    if len(backward_calls) > m:
        fail("jacrev", given_, f"at most {m} sweeps (one per output)", f"{len(backward_calls)} calls of backward()",
             "one sweep from output i gives all of row i")
    if not all(issubclass(kind, kata.reverse.Node) for kind in f.arguments):  # a subclass of Node is a Node
        fail("jacrev", given_, "f called on Nodes (your leaves)",
             f"f called on {sorted({kind.__name__ for kind in f.arguments})}",
             "make one leaf Node per input and call f on those")


@pytest.mark.exercise("jacrev")
def test_jacrev_reads_the_sweeps(kata, doubled_sweeps):
    """Row i is the leaves' grads after the sweep from output i: doubled here after each sweep, J comes back doubled."""
    given_ = ("jacrev(f)(1.5, -2.0, 0.5) for f = [x * y, exp(z) - x, y / z], with every grad doubled by this test "
              "right after each of your backward() calls")
    r = kata.reverse
    received = r.jacrev(lambda x, y, z: [x * y, r.exp(z) - x, y / z])(1.5, -2.0, 0.5)
    jacobian = np.array([[-2.0, 1.5, 0.0], [-1.0, 0.0, math.exp(0.5)], [0.0, 2.0, 8.0]])
    received = expect_shape(given_, received, (3, 3))
    if not close(received, 2 * jacobian):
        fail("jacrev", given_, f"the doubled grads of your leaves: {(2 * jacobian).tolist()}",
             f"{np.asarray(received).tolist()}",
             "zero the leaves' grads, call out.backward() for output i, then read row i off the leaves' grads: "
             "the docstring's one backward() per output, not columns found some other way")


@pytest.mark.exercise("jacrev")
@pytest.mark.parametrize("given_, call", [
    ("jacrev(f)('a')", lambda r: r.jacrev(lambda x: [x])("a")),
    ("jacrev(lambda x: x * 2)(1.0): f returns one Node, not a list", lambda r: r.jacrev(lambda x: x * 2)(1.0)),
    ("jacrev(lambda x: [x, 3.0])(1.0): an output is a number", lambda r: r.jacrev(lambda x: [x, 3.0])(1.0)),
], ids=["str", "single-node", "number-output"])
def test_jacrev_bad_input_is_a_type_error(kata, given_, call):
    expect_error("jacrev", given_, TypeError, lambda: call(kata.reverse), "TypeError",
                 "check the inputs with as_inputs(xs) and f's result with as_outputs(...)",
                 "the inputs must be real numbers and f must return a list of Nodes")


# ---------------------------------------------------------------- crossover
# The cost model the counts must follow. Forward mode: n passes, each doing f's operations on your Variables
# (the test's functions are built from operators only, so the same f runs on Variables and on Nodes, and
# the number of operations of one pass is the number of operators f applies). Reverse mode: one Node
# recorded per operation, and per sweep the (parent, local) pairs of every node the output depends on.
# How many pairs an operation records is your graph's business (a constant operand recorded or not, -x as
# x * -1): the test reads them off a recording of your own Nodes (``reverse_cost``), as OperationCount does.


def product_of(n: int):
    """f(x_1, ..., x_n) = (x_1 x_2 ... x_n,): n - 1 operations."""
    def f(*x):
        p = x[0]
        for v in x[1:]:
            p = p * v
        return (p,)
    f.operations = n - 1
    return f


def negated_sum_of(n: int, negations: int = 40):
    """f = (-(-...-(x_1 + ... + x_n)),): n - 1 sums, then a chain of one-operand operations."""
    def f(*x):
        s = x[0]
        for v in x[1:]:
            s = s + v
        for _ in range(negations):
            s = -s
        return (s,)
    f.operations = n - 1 + negations
    return f


def scaled_copies(m: int):
    """f(x) = (1.5 x, 2.5 x, ..., (m + 0.5) x): one input, m outputs, m operations."""
    f = lambda x: tuple(x * (k + 1.5) for k in range(m))  # noqa: E731
    f.operations = m
    return f


def reverse_cost(kata, f, xs) -> int:
    """Reverse mode's count for the Jacobian of f at xs, read off a recording of your own Nodes: the Nodes
    made by operations, plus, for each output, the (parent, local) pairs of every node it depends on."""
    outputs = list(f(*[kata.reverse.Node(x) for x in xs]))
    made, pairs = set(), 0
    for out in outputs:
        seen, stack = {id(out)}, [out]
        while stack:
            node = stack.pop()
            if node.parents:
                made.add(id(node))
            pairs += len(node.parents)
            for parent, _ in node.parents:
                if id(parent) not in seen:
                    seen.add(id(parent))
                    stack.append(parent)
    return len(made) + pairs


def expected_crossover(kata, family, largest: int) -> int | None:
    for n in range(1, largest + 1):
        f = family(n)
        if reverse_cost(kata, f, [1.0] * n) < n * f.operations:
            return n
    return None


CROSSOVER_HINT = ("count, do not compute: run your jacfwd and your jacrev each inside its own OperationCount, and "
                  "return its .forward and its .reverse")


@pytest.mark.exercise("crossover")
@pytest.mark.parametrize("given_, f, xs, jacobian", [
    ("f(x, y) = (x * y, x + y * y, x / y) at (2, 3)", lambda x, y: (x * y, x + y * y, x / y), (2.0, 3.0),
     [[3.0, 2.0], [1.0, 6.0], [1 / 3, -2 / 9]]),
    ("f(x, y, z) = (x * y * z,) at (2, 3, 4)", lambda x, y, z: (x * y * z,), (2.0, 3.0, 4.0), [[12.0, 8.0, 6.0]]),
    ("f(x) = (1.5 x, 2.5 x, 3.5 x) at 2", scaled_copies(3), (2.0,), [[1.5], [2.5], [3.5]]),
    ("f(x, y) = (y - x, -x) at (1, 1)", lambda x, y: [y - x, -x], (1.0, 1.0), [[-1.0, 1.0], [-1.0, 0.0]]),
], ids=["three-by-two", "product", "tall", "list"])
def test_jacfwd_exact(kata, given_, f, xs, jacobian):
    kata.reverse.costs(product_of(2), 1.0, 1.0)  # a stub stops here
    received = real_array(kata.reverse.jacfwd(f)(*xs), np.shape(jacobian))
    if received is None or not close(received, jacobian):
        fail("crossover", f"jacfwd(f)(*xs) for {given_}", f"the (m, n) Jacobian {jacobian}",
             f"{np.asarray(kata.reverse.jacfwd(f)(*xs)).tolist()}",
             "pass k seeds input k with 1 and the others with 0: the outputs' grads are column k, J[:, k]")


@pytest.mark.exercise("crossover")
@given(st.lists(st.floats(0.5, 3.0), min_size=3, max_size=3))
def test_jacfwd_agrees_with_jacrev_and_finite_differences(kata, point):
    r = kata.reverse
    f = lambda x, y, z: (x * y - z, x / (y + z), z * z * y)  # noqa: E731
    forward = real_array(r.jacfwd(f)(*point), (3, 3))
    given_ = f"jacfwd(f) for f(x, y, z) = (x y - z, x / (y + z), z z y) at {point}"
    plain = lambda *v: np.array(f(*v), dtype=float)  # noqa: E731
    for k in range(3):
        estimate = central_difference(lambda t, k=k: plain(*[t if i == k else point[i] for i in range(3)]), point[k])
        if forward is None or not close(forward[:, k], estimate, 1e-5, 1e-6):
            fail("crossover", given_, f"column {k} ~ {estimate.tolist()} (central finite difference)",
                 f"{None if forward is None else forward[:, k].tolist()}",
                 "column k holds the derivatives of every output by input k")
    backward = r.jacrev(f)(*point)
    if not close(forward, backward, MODES_REL, MODES_ABS):
        fail("crossover", given_, f"jacrev's {np.asarray(backward).tolist()} (the two modes agree to rounding)",
             f"{forward.tolist()}", "jacfwd and jacrev compute the same Jacobian, a column or a row at a time")


@pytest.mark.exercise("crossover")
@pytest.mark.parametrize("n", [1, 3, 5])
def test_jacfwd_runs_one_pass_per_input_of_your_variable(kata, n, operator_calls):
    f = counted(product_of(n))
    given_ = f"jacfwd(f) for f = (x_1 ... x_{n},), n = {n}"
    kata.reverse.jacfwd(f)(*([2.0] * n))
    if f.calls != n:
        fail("crossover", given_, f"{n} evaluations of f (one pass per input)", f"{f.calls}",
             "forward mode gets one column per pass: seed input k alone in pass k")
    if not all(issubclass(kind, kata.Variable) for kind in f.arguments):
        fail("crossover", given_, "f called on your Variables (stage 1)",
             f"f called on {sorted({kind.__name__ for kind in f.arguments})}", "jacfwd is forward mode: Variables")
    if len(operator_calls) != n * (n - 1):
        fail("crossover", given_, f"{n * (n - 1)} operations of your Variable ({n} passes of f's {n - 1})",
             f"{len(operator_calls)}", "jacfwd itself does no Variable operation: it seeds, calls f, reads grads")


@pytest.mark.exercise("crossover")
@pytest.mark.parametrize("given_, f, xs", [
    *[(f"f = (x_1 x_2 ... x_{n},) at ones", product_of(n), [1.0] * n) for n in (1, 2, 4, 7)],
    *[(f"f = 40 negations of x_1 + ... + x_{n} at ones", negated_sum_of(n), [1.0] * n) for n in (1, 3)],
    *[(f"f(x) = (1.5 x, ..., {m + 0.5} x) at 2", scaled_copies(m), [2.0]) for m in (1, 4)],
], ids=lambda v: v if isinstance(v, str) else None)
def test_costs_follow_the_cost_model(kata, given_, f, xs):
    forward, reverse = len(xs) * f.operations, reverse_cost(kata, f, xs)
    operations, f = f.operations, counted(f)
    received = kata.reverse.costs(f, *xs)
    pair = [real_number(v) for v in received] if isinstance(received, tuple) and len(received) == 2 else None
    if pair != [forward, reverse]:
        fail("crossover", f"costs(f, *xs) for {given_}",
             f"(forward {forward}, reverse {reverse}) operations: {len(xs)} passes of f's {operations}; your graph's "
             f"recorded Nodes and the pairs each output's sweep goes through", f"{received!r}", CROSSOVER_HINT)
    if f.calls != len(xs) + 1:
        fail("crossover", f"costs(f, *xs) for {given_}", f"{len(xs) + 1} evaluations of f: {len(xs)} passes of your "
             "jacfwd, 1 recording of your jacrev", f"{f.calls}", CROSSOVER_HINT)


@pytest.mark.exercise("crossover")
@pytest.mark.parametrize("given_, family, largest", [
    ("products x_1 ... x_n (two operands each)", product_of, 32),
    ("40 negations of a sum (one operand each)", negated_sum_of, 32),
    ("products x_1 ... x_n, largest = 3", product_of, 3),
], ids=["products", "negations", "none"])
def test_crossover_comes_from_your_counts(kata, given_, family, largest):
    """With the reference's graph: 4 for the products, 3 for the negations, None up to 3: your graph may differ."""
    expected = expected_crossover(kata, family, largest)
    asked: list[int] = []

    def watched(n):
        asked.append(n)
        return family(n)

    received = kata.reverse.crossover(watched, largest)
    if received != expected:
        fail("crossover", f"crossover(family, {largest}) for {given_}",
             f"{expected}: the first n where reverse mode's count is strictly smaller", f"{received!r}",
             "compare costs(family(n), 1.0, ..., 1.0) for n = 1, 2, ... in turn: the answer is measured, not known")
    if asked != list(range(1, (expected or largest) + 1)):
        fail("crossover", f"crossover(family, {largest}) for {given_}", f"family asked for n = 1 ... {expected or largest}",
             f"family asked for {asked}", "try n = 1, 2, 3, ... in order and stop at the first win")


@pytest.mark.exercise("crossover")
@pytest.mark.parametrize("given_, call, error", [
    ("crossover(42)", lambda r: r.crossover(42), TypeError),
    ("crossover(family, 0)", lambda r: r.crossover(product_of, 0), ValueError),
    ("crossover(family, 2.5)", lambda r: r.crossover(product_of, 2.5), ValueError),
    ("jacfwd(f)('a')", lambda r: r.jacfwd(lambda x: (x,))("a"), TypeError),
    ("jacfwd(lambda x: x * 2)(1.0): f returns one result, not a sequence", lambda r: r.jacfwd(lambda x: x * 2)(1.0),
     TypeError),
], ids=["family", "largest-0", "largest-float", "jacfwd-str", "jacfwd-single"])
def test_crossover_bad_input(kata, given_, call, error):
    kata.reverse.crossover(product_of, 1)  # a stub stops here
    expect_error("crossover", given_, error, lambda: call(kata.reverse), error.__name__,
                 "the ready-made checks (as_inputs, as_forward_outputs, and crossover's own) say what is wrong",
                 "check the inputs before anything else")

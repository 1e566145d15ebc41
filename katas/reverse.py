"""Stage 8: reverse mode, built beside forward mode, and when each one wins.

Forward mode pushes a tangent from the inputs to the output: one pass gives the derivative of
every output along ONE input direction, so a gradient of P parameters costs P passes (stage 4)
or P tangents carried through every operation (stage 5). Reverse mode runs the chain rule the
other way round, in two steps:

1. **Record** (forward). Every operation returns a ``Node`` that remembers its parents and, for
   each one, the local derivative d node / d parent, a number known while the values are at
   hand: ``z = x * y`` records ``((x, y.value), (y, x.value))``.
2. **Sweep** (backward). Start from the output, whose grad is d out / d out, 1; then visit the
   nodes in reverse topological order, every node before the nodes it was computed from, and
   hand each node's grad on to its parents, times the local derivative recorded for each. Add,
   never assign: a node used twice (``x * x``, a parameter shared by every sample) receives one
   contribution per use.

After one sweep every node's ``grad`` is d out / d node, the adjoint: the whole gradient, every
input at once, for the price of a few evaluations of f. That is why deep learning (one loss,
millions of parameters) runs on reverse mode, there called backpropagation.

The balance turns over when the outputs outnumber the inputs. The Jacobian of f: R^n -> R^m
takes forward mode n passes (one per input direction, each giving a column) and reverse mode one
recording and m sweeps (one per output, each giving a row). Which costs less, and from how many
inputs on? Predict it, then measure it: exercise crossover counts the operations each mode does
(``OperationCount``) for the same Jacobian, and finds the number of inputs at which reverse mode
starts to win. `nox -s bench -- --only reverse` measures the same in seconds.

Exercises, in order: graph, backward, grad, both_ways, jacrev, crossover. Run one with
``pytest --exercise graph``.
"""

from __future__ import annotations

import math  # noqa: F401 - for your code: math.log, math.exp, math.tanh
import numbers
from collections.abc import Callable, Mapping, Sequence

import numpy as np

from .training import PARAMETERS, as_samples, check_label, check_parameters, check_settings  # noqa: F401

EPSILON = 1e-15  # logloss clips p to [EPSILON, 1 - EPSILON], as stage 3 does


class Node:
    """A number in a recorded computation: its value, where it came from, and (after a sweep) its grad.

    - ``value``: the number computed.
    - ``parents``: a tuple of ``(parent, local)`` pairs, one per operand this node was computed
      from, ``local`` being the number d self / d parent at these values. A leaf (an input or a
      constant) has none: ``Node(3.0)``.
    - ``grad``: 0.0 until a ``backward()`` reaches this node; then d out / d self for the ``out``
      whose backward ran.

    A number, here as in every stage, is a float, an int, a numpy real scalar or a 0-d numpy
    array of those; not a bool (a local derivative of 1 for u > 0 is ``float(u > 0)``).

    Operators and primitives return new Nodes; they never change their operands.
    """

    __slots__ = ("value", "parents", "grad")
    # Lets numpy scalars defer to the reflected operators (np.float64(2) * x calls x.__rmul__).
    __array_ufunc__ = None

    def __init__(self, value: float, parents: tuple[tuple[Node, float], ...] = ()) -> None:
        self.value = value
        self.parents = parents
        self.grad = 0.0

    def __repr__(self) -> str:
        return f"Node(value={self.value!r}, grad={self.grad!r}, parents={len(self.parents)})"

    # ------------------------------------------------------------ exercise graph: the operators
    # The first line of each, ready-made, makes ``other`` a Node: a plain number c becomes the
    # constant leaf Node(c). Record BOTH operands as parents, each with its own local derivative.

    def __add__(self, other: Node | float) -> Node:
        """Exercise graph: ``self + other``; d/dself = 1 and d/dother = 1."""
        other = as_node(other, "+")
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def __sub__(self, other: Node | float) -> Node:
        """Exercise graph: ``self - other``."""
        other = as_node(other, "-")
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def __mul__(self, other: Node | float) -> Node:
        """Exercise graph: ``self * other``. Each factor's local derivative is the OTHER factor's value."""
        other = as_node(other, "*")
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def __truediv__(self, other: Node | float) -> Node:
        """Exercise graph: ``self / other``. Division by 0 may raise ZeroDivisionError.

        d(a/b)/db = -a / b**2: compute it as -(a/b)/b, since b * b underflows to 0 for |b| < 1e-154.
        """
        other = as_node(other, "/")
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def __pow__(self, other: Node | float) -> Node:
        """Exercise graph: ``self ** other``, for a number or a Node as the exponent.

        - A number b as the exponent is a constant: record the base only, with b a**(b-1);
          a ** 0 is the constant 1, whose local derivative is 0 even at a = 0. At a = 0, an
          exponent 0 < b < 1 has an infinite derivative and b < 0 no real value: ValueError.
        - A Node as the exponent varies too: record it as well, with a**b ln(a), which needs a > 0
          (ValueError naming the base otherwise).
        - A result that is not a real number ((-8.0) ** (1/3)) raises ValueError.
        """
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def __neg__(self) -> Node:
        """Exercise graph: ``-self``."""
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    # Ready-made: a number on the left is a constant Node, then the operator above does the work.

    def __radd__(self, other: float) -> Node:
        return as_node(other, "+") + self

    def __rsub__(self, other: float) -> Node:
        return as_node(other, "-") - self

    def __rmul__(self, other: float) -> Node:
        return as_node(other, "*") * self

    def __rtruediv__(self, other: float) -> Node:
        return as_node(other, "/") / self

    def __rpow__(self, other: float) -> Node:
        return as_node(other, "**") ** self

    # ------------------------------------------------------------ exercise graph: the primitives
    # Called through the module's functions below: log(u) is as_node(u, "log").log().

    def log(self) -> Node:
        """Exercise graph: the natural logarithm, for value > 0 (ValueError naming the value otherwise)."""
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def exp(self) -> Node:
        """Exercise graph: the exponential, its own derivative."""
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def sigmoid(self) -> Node:
        """Exercise graph: 1 / (1 + e^-u), exactly 0 and 1 at -1000 and 1000 with no overflow."""
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def tanh(self) -> Node:
        """Exercise graph: the hyperbolic tangent."""
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    def relu(self) -> Node:
        """Exercise graph: max(0, u), with local derivative 0 for u <= 0 (0 at u = 0 by convention)."""
        raise NotImplementedError(
            "exercise 'graph': Node: operations record parents and locals. "
            "Rule: each operation returns Node(value, ((parent, d value / d parent), ...)) with one "
            "pair per operand, its local derivative taken at the operands' values"
        )

    # ------------------------------------------------------------ exercise backward

    def backward(self) -> None:
        """Exercise backward: fill ``grad`` of every node this one depends on with d self / d node.

        1. Take the nodes in a topological order (``topological_order(self)``).
        2. Start every one of them at grad 0 (a second backward must not add to the first), then
           seed ``self.grad = 1``: d self / d self.
        3. Visit them in REVERSE topological order: when a node is visited, every node computed
           from it has already handed it its share, so its grad is complete. Hand it on:
           ``parent.grad += local * node.grad`` for each of its (parent, local) pairs.

        Each node hands on its grad once, when it is complete: the sweep is linear in the size of
        the graph, however many paths it holds (k diamonds stacked one on another hold 2**k).
        Nodes self does not depend on are left alone. Returns None.
        """
        raise NotImplementedError(
            "exercise 'backward': backward(): adjoints in reverse topo order. "
            "Rule: seed out.grad = 1, then in reverse topological order add local * node.grad into "
            "each parent's grad"
        )


def topological_order(out: Node) -> list[Node]:
    """Exercise backward: every node ``out`` depends on (``out`` too), each once, parents first.

    In the list, every node comes after all of its parents, so ``out`` comes last; a node
    reached along several paths (a diamond, x * x) appears once. The graph may be 10,000 nodes
    deep: Python stops a function that calls itself about 1000 times deep (RecursionError), so
    walk it with a loop and a stack of your own.
    """
    raise NotImplementedError(
        "exercise 'backward': backward(): adjoints in reverse topo order. "
        "Rule: seed out.grad = 1, then in reverse topological order add local * node.grad into each "
        "parent's grad"
    )


# ---------------------------------------------------------------- ready-made plumbing


def as_node(operand: object, operator: str) -> Node:
    """``operand`` as a Node, for the operation named by ``operator`` (used in messages).

    A Node is returned as it is; a real number (int, float, numpy's real scalars) becomes the
    constant leaf Node(c); any other type raises TypeError naming it.
    """
    if isinstance(operand, Node):
        return operand
    if type(operand) is float or isinstance(operand, numbers.Real):
        return Node(operand)
    raise TypeError(f"unsupported operand for {operator} with a Node: {type(operand).__name__} "
                    f"({operand!r}); use a Node or a real number")


def log(u: Node | float) -> Node:
    """The natural logarithm of a Node or a number (exercise graph: ``Node.log``)."""
    return as_node(u, "log").log()


def exp(u: Node | float) -> Node:
    """The exponential of a Node or a number (exercise graph: ``Node.exp``)."""
    return as_node(u, "exp").exp()


def sigmoid(u: Node | float) -> Node:
    """The logistic function of a Node or a number (exercise graph: ``Node.sigmoid``)."""
    return as_node(u, "sigmoid").sigmoid()


def tanh(u: Node | float) -> Node:
    """The hyperbolic tangent of a Node or a number (exercise graph: ``Node.tanh``)."""
    return as_node(u, "tanh").tanh()


def relu(u: Node | float) -> Node:
    """The rectifier of a Node or a number (exercise graph: ``Node.relu``)."""
    return as_node(u, "relu").relu()


def logloss(y: float, p: Node) -> Node:
    """Stage 3's binary cross-entropy on Nodes: -(y log p + (1 - y) log(1 - p)), p clipped.

    As in stage 3, p's value is clipped to [EPSILON, 1 - EPSILON] and its derivative passed
    through unchanged: the clipped p is a Node whose one parent is p, with local derivative 1.
    """
    check_label(y)
    clipped = Node(min(max(p.value, EPSILON), 1.0 - EPSILON), ((p, 1.0),))
    return -(y * log(clipped) + (1.0 - y) * log(1.0 - clipped))


def as_inputs(xs: Sequence[object]) -> list[float]:
    """The inputs of grad and jacrev as floats: real numbers only (TypeError otherwise, naming the one)."""
    out = []
    for i, x in enumerate(xs):
        if isinstance(x, Node) or isinstance(x, bool) or not isinstance(x, numbers.Real):
            raise TypeError(f"input {i} must be a real number, got {type(x).__name__} ({x!r}): "
                            f"the leaf Nodes are made inside")
        out.append(float(x))
    return out


def check_output(out: object, what: str = "f") -> Node:
    """``out`` itself when it is a Node; TypeError otherwise (f must compute its result from its inputs)."""
    if not isinstance(out, Node):
        raise TypeError(f"{what} must return a Node computed from its inputs, got {type(out).__name__} ({out!r})")
    return out


def as_outputs(result: object) -> list[Node]:
    """The outputs of a vector-valued f as a list of Nodes; TypeError for anything else."""
    if isinstance(result, Node) or not isinstance(result, Sequence):
        raise TypeError(f"f must return a sequence (a list or tuple) of Nodes, one per output, got "
                        f"{type(result).__name__}; for a scalar f use grad")
    return [check_output(out, "each output of f") for out in result]


# ---------------------------------------------------------------- exercise grad


def grad(f: Callable[..., Node]) -> Callable[..., tuple[float, ...]]:
    """Exercise grad: the function ``xs -> (df/dx_1, ..., df/dx_n)`` for a scalar f of n numbers.

    ``grad(f)(*xs)`` makes one leaf Node per number (``as_inputs(xs)`` checks them), calls f ONCE
    on those leaves, checks its result with ``check_output``, runs ONE ``backward()`` from it,
    and returns the leaves' grads as a tuple of n numbers (see Node), in the order of xs. An
    input f ignores has partial derivative 0. (``jax.grad`` does the same, with one tuple
    element per argument when asked for ``argnums=(0, 1, ...)``.)
    """
    raise NotImplementedError(
        "exercise 'grad': grad(f): every partial from one sweep. "
        "Rule: one leaf Node per input, f called once on the leaves, one backward() from its "
        "result: the leaves' grads are the partials"
    )


# ---------------------------------------------------------------- exercise both_ways


def deep_model_reverse(x: float, y: float, param_config: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Exercise both_ways: stage 4's network on one sample, its loss and ALL 7 partials in one sweep.

        h_0 = m0_0 x + b0_0,   h_1 = m0_1 x + b0_1
        p   = sigmoid(m1_0 h_0 + m1_1 h_1 + b1),   loss = logloss(y, p)

    ``param_config`` maps the names in PARAMETERS to values (a missing one is 0). Make one leaf
    Node per parameter, compute the loss once, call ``backward()`` once (or your ``grad`` once,
    which does it), and return ``(loss, {name: d loss / d name for all seven names})``, numbers
    (see Node). Stage 4 needed seven seeded passes for the same numbers.

    Check the input first with ``check_parameters(param_config, "param_config")`` and
    ``check_label(y)``.
    """
    raise NotImplementedError(
        "exercise 'both_ways': Stage 4's network by reverse mode. "
        "Rule: one leaf Node per parameter, the loss built from them, one backward(): each leaf's "
        "grad is d loss / d parameter, the number stage 4 needed a seeded pass for"
    )


def train_deep_model_reverse(
    x: Sequence[float], y: Sequence[float], params: Mapping[str, float], lr: float = 0.1, iters: int = 100
) -> tuple[dict[str, float], list[float]]:
    """Exercise both_ways: stage 4's ``train_deep_model``, with every gradient from reverse mode.

    The same contract: full-batch gradient descent from ``params`` (a missing name is 0) on the
    mean log loss; ``history[i]`` the mean loss at iteration i before its update; return
    ``(new_params, history)``, a new dict of all seven names and a list (a tuple or a 1-d numpy
    array will do) of numbers, leaving ``params`` as it was. Each iteration takes its gradients
    from ``backward()`` (or your ``grad``): one sweep per sample (``deep_model_reverse``), or one
    sweep of the mean loss over the whole batch, built from seven parameter Nodes that every
    sample shares. Then update all seven together.

    Check the input with ``as_samples(x, y, labels=True)``, ``check_settings(lr, iters)`` and
    ``check_parameters(params, "params")``.
    """
    raise NotImplementedError(
        "exercise 'both_ways': Stage 4's network by reverse mode. "
        "Rule: one leaf Node per parameter, the loss built from them, one backward(): each leaf's "
        "grad is d loss / d parameter, the number stage 4 needed a seeded pass for"
    )


# ---------------------------------------------------------------- exercise jacrev


def jacrev(f: Callable[..., Sequence[Node]]) -> Callable[..., np.ndarray]:
    """Exercise jacrev: the function ``xs -> J``, the (m, n) Jacobian of f: R^n -> R^m by reverse mode.

    ``jacrev(f)(*xs)`` makes one leaf per number (``as_inputs``), calls f ONCE, which returns a
    sequence of m Nodes (``as_outputs`` checks it), then runs one ``backward()`` per output: the
    sweep from output i fills row i, J[i, k] = d f_i / d x_k, read off the leaves' grads.
    Careful: a sweep from output i only touches what f_i depends on, so a leaf that f_i does
    not use still holds its grad from the sweep before: set the leaves' grads to 0 first.
    Return a numpy array of shape (m, n) holding numbers: a float array (an integer one will
    do), never an array of Nodes. (``jax.jacrev`` does the same.)

    m sweeps here, against n passes for forward mode (stage 5's jacobian): few outputs and
    many inputs favour reverse mode, few inputs and many outputs forward mode.
    """
    raise NotImplementedError(
        "exercise 'jacrev': jacrev(f): a Jacobian row by row. "
        "Rule: the sweep from output i gives row i, d f_i / d x_k for every k; zero the leaves' "
        "grads before each sweep"
    )


# ---------------------------------------------------------------- exercise crossover


class OperationCount:
    """Ready-made: counts the primitive operations done while it is active (``with OperationCount() as count:``).

    - ``forward``: every operation on a stage-1 Variable (an operator, or a primitive of
      primitives.py): one value and one tangent computed. An operation that hands its work to another
      (``2 * x`` calling ``__mul__``) counts once.
    - ``recorded``: every Node made by an operation (leaves and constants are none).
    - ``swept``: every (parent, local) pair through which a ``backward()`` hands a grad on: a sweep
      from ``out`` counts the pairs of every node ``out`` depends on, each node once.

    Forward mode's cost is ``forward``; reverse mode's is ``recorded + swept`` (``reverse``). Only
    the classes it finds are counted: your Variable (variable.py) and the Node above.
    """

    OPERATORS = ("__add__", "__radd__", "__sub__", "__rsub__", "__mul__", "__rmul__", "__truediv__",
                 "__rtruediv__", "__pow__", "__rpow__", "__neg__", "log", "exp", "sigmoid", "tanh", "relu")

    def __init__(self) -> None:
        self.forward = self.recorded = self.swept = 0
        self._saved: list[tuple[object, str, object]] = []
        self._depth = self._sweeping = 0

    @property
    def reverse(self) -> int:
        return self.recorded + self.swept

    def __enter__(self) -> OperationCount:
        from . import reverse as module  # this module: a sweep under another name is a sweep too
        from .variable import Variable

        for name in self.OPERATORS:
            if name in vars(Variable) or hasattr(Variable, name):
                self._wrap(Variable, name, self._counted(getattr(Variable, name)))
        node_init, backward = Node.__init__, Node.backward

        def init(node: Node, value: float, parents: tuple = (), *args: object, **kwargs: object) -> None:
            if parents:
                self.recorded += 1
            node_init(node, value, parents, *args, **kwargs)

        def sweep(out: Node, *args: object, **kwargs: object) -> object:
            if self._sweeping == 0:  # a backward that calls itself is one sweep
                self.swept += pairs_below(out)
            self._sweeping += 1
            try:
                return backward(out, *args, **kwargs)
            finally:
                self._sweeping -= 1

        self._wrap(Node, "__init__", init)
        for owner in [module, *(v for v in vars(module).values() if isinstance(v, type) and v.__module__ == __name__)]:
            for name, value in list(vars(owner).items()):
                if value is backward:
                    self._wrap(owner, name, sweep)
        return self

    def __exit__(self, *exc: object) -> None:
        for owner, name, original in reversed(self._saved):
            setattr(owner, name, original)
        self._saved.clear()

    def _wrap(self, owner: object, name: str, replacement: object) -> None:
        self._saved.append((owner, name, vars(owner)[name] if name in vars(owner) else getattr(owner, name)))
        setattr(owner, name, replacement)

    def _counted(self, operation: Callable[..., object]) -> Callable[..., object]:
        def counted(*args: object, **kwargs: object) -> object:
            if self._depth == 0:
                self.forward += 1
            self._depth += 1
            try:
                return operation(*args, **kwargs)
            finally:
                self._depth -= 1

        return counted


def pairs_below(out: Node) -> int:
    """Ready-made: the (parent, local) pairs of every node ``out`` depends on (``out`` too), each node once."""
    seen, stack, pairs = {id(out)}, [out], 0
    while stack:
        node = stack.pop()
        pairs += len(node.parents)
        for parent, _ in node.parents:
            if id(parent) not in seen:
                seen.add(id(parent))
                stack.append(parent)
    return pairs


def as_forward_outputs(result: object) -> list[object]:
    """Ready-made: the outputs of f on Variables as a list: TypeError unless a sequence of Variables."""
    if not isinstance(result, Sequence) or not all(hasattr(out, "grad") for out in result):
        raise TypeError(f"f must return a sequence (a list or tuple) of results, one per output, got "
                        f"{type(result).__name__}")
    return list(result)


def jacfwd(f: Callable[..., Sequence[object]]) -> Callable[..., np.ndarray]:
    """Exercise crossover: the function ``xs -> J``, the (m, n) Jacobian of f: R^n -> R^m by forward mode.

    The counterpart of jacrev, with your stage-1 Variable: n passes, one per input, each a column
    J[:, k] = d f / d x_k. f takes n Variables and returns a sequence of m of them
    (``as_forward_outputs``); the inputs are checked as for jacrev (``as_inputs``). It evaluates f
    exactly n times and does no Variable operation of its own. Returns a float array of shape (m, n).
    """
    raise NotImplementedError(
        "exercise 'crossover': crossover: count each mode's operations. "
        "Rule: forward mode pays n passes of f's operations, reverse mode one recording plus one "
        "sweep per output: count both, and compare"
    )


def costs(f: Callable[..., Sequence[object]], *xs: float) -> tuple[int, int]:
    """Exercise crossover: ``(forward, reverse)``, the operations each mode takes for the Jacobian of f at xs.

    ``forward``: what OperationCount counts as forward operations while your jacfwd builds it;
    ``reverse``: its ``reverse`` (recorded + swept) while your jacrev builds it. f takes n numbers'
    stand-ins (Variables or Nodes) and returns a sequence of m results. Measured, not predicted:
    predict which is smaller before you run it.
    """
    raise NotImplementedError(
        "exercise 'crossover': crossover: count each mode's operations. "
        "Rule: forward mode pays n passes of f's operations, reverse mode one recording plus one "
        "sweep per output: count both, and compare"
    )


def crossover(family: Callable[[int], Callable[..., Sequence[object]]], largest: int = 32) -> int | None:
    """Exercise crossover: the smallest n in 1..largest at which reverse mode takes fewer operations than forward mode.

    ``family(n)`` is a function of n inputs with ONE output (a sequence of one result): a gradient.
    Count both modes with ``costs`` at the point (1.0, ..., 1.0), n = 1, 2, ... in turn, and return
    the first n for which reverse mode's count is strictly smaller; None if it never is up to
    ``largest``. TypeError if family is not callable, ValueError unless largest is a positive integer.
    """
    if not callable(family):
        raise TypeError(f"family must be a function of n, got {type(family).__name__}")
    if isinstance(largest, bool) or not isinstance(largest, int) or largest < 1:
        raise ValueError(f"largest must be a positive integer, got {largest!r}")
    raise NotImplementedError(
        "exercise 'crossover': crossover: count each mode's operations. "
        "Rule: forward mode pays n passes of f's operations, reverse mode one recording plus one "
        "sweep per output: count both, and compare"
    )

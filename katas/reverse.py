"""Stage 8: reverse mode, built beside forward mode, and when each one wins.

Forward mode pushes a tangent from the inputs to the output: one pass gives the derivative of
every output along ONE input direction, so a gradient of P parameters costs P passes (stage 4)
or P tangents carried through every operation (stage 5). Reverse mode runs the chain rule the
other way round, in two steps:

1. **Record** (forward). Every operation returns a ``Node`` that remembers its parents and, for
   each one, the local derivative d node / d parent, a number known while the values are at
   hand: ``z = x * y`` records ``((x, y.value), (y, x.value))``.
2. **Sweep** (backward). The chain rule, read from the output: d out / d node is the sum, over
   every use of the node, of d out / d (the node computed from it) times the local derivative
   recorded for that use. So a node's grad is known once the grads of every node computed from
   it are known: the sweep starts at the output, where d out / d out = 1, and works back to the
   inputs. A node used twice (``x * x``, a parameter shared by every sample) gets one
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

        Finite wherever the quotient and its locals are: Node(1e-160) / Node(1e-170) is about
        Node(1e10), with local derivatives 1e170 and -1e180 (mind b * b, 0 for |b| < 1e-154).
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

        - After it, ``self.grad`` is 1 (d self / d self) and every node self depends on holds
          d self / d node: the sum over all paths from it to self of the products of the locals
          along each path. A node reached along several paths (x * x, a diamond) gets all of them.
        - A second backward from self gives the same grads as the first: nothing left over from
          an earlier sweep adds in to the nodes self depends on. Nodes self does not depend on are
          left alone. Returns None.
        - Linear in the size of the graph, however many paths it holds (k diamonds stacked one
          on another hold 2**k: the tests stop a walk along paths), and 10,000 nodes deep.

        Why reverse topological order: a node's grad is complete only when every node computed
        from it has passed on its share; ``topological_order(self)`` lists the nodes so that, read
        from its end, that always holds.
        """
        raise NotImplementedError(
            "exercise 'backward': backward(): adjoints in reverse topo order. "
            "Rule: the chain rule summed over paths: a node's grad is the sum, over the operations "
            "that used it, of their grad times the local derivative"
        )


def topological_order(out: Node) -> list[Node]:
    """Exercise backward: every node ``out`` depends on (``out`` too), each once, parents first.

    In the list, every node comes after all of its parents, so ``out`` comes last; a node
    reached along several paths (a diamond, x * x) appears once; a node out does not depend on
    does not appear. The graph may be 10,000 nodes deep: Python stops a function that calls
    itself about 1000 times deep (RecursionError), so no recursion.
    """
    raise NotImplementedError(
        "exercise 'backward': backward(): adjoints in reverse topo order. "
        "Rule: the chain rule summed over paths: a node's grad is the sum, over the operations that "
        "used it, of their grad times the local derivative"
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

    - f: a function of n Nodes returning one Node computed from them.
    - ``grad(f)(*xs)`` returns a tuple of n numbers (see Node), the partial derivatives of f at
      xs in the order of xs; an input f ignores has partial derivative 0. Each call starts afresh.
    - TypeError for an input that is not a real number (``as_inputs`` checks them: a bool, a
      Node or a string is refused) and for an f that returns no Node (``check_output``).
    - Budget: each call evaluates f exactly once, on Nodes, and runs ONE ``backward()`` (the
      tests count both): every partial comes from that one sweep.

    (``jax.grad`` does the same, with one tuple element per argument when asked for
    ``argnums=(0, 1, ...)``.)
    """
    raise NotImplementedError(
        "exercise 'grad': grad(f): every partial from one sweep. "
        "Rule: one recording of f and one backward sweep give the derivatives of its one output "
        "with respect to every input"
    )


# ---------------------------------------------------------------- exercise both_ways


def deep_model_reverse(x: float, y: float, param_config: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Exercise both_ways: stage 4's network on one sample, its loss and ALL 7 partials in one sweep.

        h_0 = m0_0 x + b0_0,   h_1 = m0_1 x + b0_1
        p   = sigmoid(m1_0 h_0 + m1_1 h_1 + b1),   loss = logloss(y, p)

    ``param_config`` maps the names in PARAMETERS to values (a missing one is 0). Returns
    ``(loss, {name: d loss / d name for all seven names})``, numbers (see Node). Budget: ONE
    ``backward()`` (or one call of your ``grad``), and no stage-1 Variable: the tests count the
    sweeps, and read the partials off your leaves (they change the grads right after your sweep).
    Stage 4 needed seven seeded passes for the same numbers.

    Check the input first with ``check_parameters(param_config, "param_config")`` and
    ``check_label(y)``.
    """
    raise NotImplementedError(
        "exercise 'both_ways': Stage 4's network by reverse mode. "
        "Rule: reverse mode gives every parameter's derivative of the loss from one sweep, the "
        "numbers stage 4 needed one seeded pass each for"
    )


def train_deep_model_reverse(
    x: Sequence[float], y: Sequence[float], params: Mapping[str, float], lr: float = 0.1, iters: int = 100
) -> tuple[dict[str, float], list[float]]:
    """Exercise both_ways: stage 4's ``train_deep_model``, with every gradient from reverse mode.

    The same contract: full-batch gradient descent from ``params`` (a missing name is 0) on the
    mean log loss; ``history[i]`` the mean loss at iteration i before its update; return
    ``(new_params, history)``, a new dict of all seven names and a list (a tuple or a 1-d numpy
    array will do) of numbers, leaving ``params`` as it was. Budget: each iteration's gradients
    come from at least one ``backward()`` (or your ``grad``): one sweep per sample, or one of
    the mean loss over the whole batch; no stage-1 Variable. All seven parameters move together,
    by the gradients of the same iteration.

    Check the input with ``as_samples(x, y, labels=True)``, ``check_settings(lr, iters)`` and
    ``check_parameters(params, "params")``.
    """
    raise NotImplementedError(
        "exercise 'both_ways': Stage 4's network by reverse mode. "
        "Rule: reverse mode gives every parameter's derivative of the loss from one sweep, the "
        "numbers stage 4 needed one seeded pass each for"
    )


# ---------------------------------------------------------------- exercise jacrev


def jacrev(f: Callable[..., Sequence[Node]]) -> Callable[..., np.ndarray]:
    """Exercise jacrev: the function ``xs -> J``, the (m, n) Jacobian of f: R^n -> R^m by reverse mode.

    - f: a function of n Nodes returning a sequence (list or tuple) of m Nodes (``as_outputs``
      checks it: TypeError otherwise; ``as_inputs`` checks xs: TypeError for a non-number).
    - ``jacrev(f)(*xs)`` returns a numpy array of shape (m, n) holding numbers, J[i, k] =
      d f_i / d x_k: a float array (an integer one will do), never an array of Nodes.
      J[i, k] = 0 where f_i does not use x_k, even when another output does.
    - Budget: f is evaluated exactly once, on Nodes, and ``backward()`` runs at most m times,
      one sweep per output (the tests count both, and read the rows off your leaves' grads).
      (``jax.jacrev`` does the same.)

    m sweeps here, against n passes for forward mode (stage 5's jacobian): few outputs and
    many inputs favour reverse mode, few inputs and many outputs forward mode.
    """
    raise NotImplementedError(
        "exercise 'jacrev': jacrev(f): a Jacobian row by row. "
        "Rule: the sweep from output i gives row i of the Jacobian, d f_i / d x_k for every k"
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
    (``as_forward_outputs``); the inputs are checked as for jacrev (``as_inputs``). Budget: f is
    evaluated exactly n times, on your Variables, and jacfwd does no Variable operation of its own
    (the tests count both). Returns a float array of shape (m, n).
    """
    raise NotImplementedError(
        "exercise 'crossover': crossover: count each mode's operations. "
        "Rule: which mode is cheaper depends on the shape of f, its inputs against its outputs: "
        "predict, then count both"
    )


def costs(f: Callable[..., Sequence[object]], *xs: float) -> tuple[int, int]:
    """Exercise crossover: ``(forward, reverse)``, the operations each mode takes for the Jacobian of f at xs.

    ``forward``: what OperationCount counts as forward operations while your jacfwd builds it;
    ``reverse``: its ``reverse`` (recorded + swept) while your jacrev builds it. f takes n numbers'
    stand-ins (Variables or Nodes) and returns a sequence of m results; so that one f runs in both
    modes, it uses operators and the primitives' method form (``x.exp()``, not ``exp(x)``, which
    each module keeps for its own type). Budget: n + 1 evaluations
    of f, n by jacfwd and 1 by jacrev (counted). Measured, not predicted: predict which is smaller
    before you run it.
    """
    raise NotImplementedError(
        "exercise 'crossover': crossover: count each mode's operations. "
        "Rule: which mode is cheaper depends on the shape of f, its inputs against its outputs: "
        "predict, then count both"
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
        "Rule: which mode is cheaper depends on the shape of f, its inputs against its outputs: "
        "predict, then count both"
    )

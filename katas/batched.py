"""Stage 6: every sample and every parameter in one pass, then real data.

Stage 4 paid one forward pass per parameter, per sample, per iteration: 7 passes per sample for
the post's network. With stage 5's tangents both loops disappear:

- the samples become one array, and each operation runs over all of them at once;
- the parameters are seeded together (``seeded``), so the loss carries P tangents, which are
  its P partial derivatives.

Each iteration of gradient descent is then ONE evaluation of the loss: the mean over the batch
is a single scalar Variable, and its P tangents are the P partial derivatives the step needs,
the same numbers stage 4 gathered from P passes per sample.

The budget of every fit here is ONE evaluation of the loss per iteration. The tests check that
your loops take the same steps as stage 4's, and that they evaluate the loss once per iteration,
whatever the number of samples or parameters: they count your Variable's operations, which must
be the same for 6 samples or 12, 3 features or 6, 2 hidden units or 4.
So no Python loop over the samples, the features or the hidden units: whole arrays, and ``@``.
And every gradient must be the one your operations compute: while a check runs, each Variable
you seed (tangents of 0s and 1s, built outside your operations) sits 0.25 further along every
entry and carries 4 times its tangents, so with lr / 4 each step must be the gradient of your
loss at the parameters + 0.25. A gradient worked out by hand follows neither, however it is
carried (``(Variable(0, g) + 0).grad``, ``seeded(zeros) @ g``).

``logloss_from_logits`` is the loss to use from here on wherever a probability comes out of a
sigmoid; ``deep_model_batched`` gives all seven partials of the post's network in one pass, the
figures any other way of differentiating it must reproduce.

Exercises, in order: logits, batched_fits, real_data. Run one with ``pytest --exercise logits``.
"""

from __future__ import annotations

import math  # noqa: F401 - for your code: math.log1p, math.exp
from collections.abc import Mapping, Sequence

import numpy as np

from .losses import check_label, mse  # noqa: F401 - yours to use
from .primitives import lift, relu, sigmoid, tanh  # noqa: F401
from .tangents import as_point, seeded, split_like  # noqa: F401
from .training import PARAMETERS, as_samples, check_parameters, check_settings  # noqa: F401
from .variable import Variable  # noqa: F401

NETWORK = ("W1", "b1", "w2", "b2")  # the moons network's parameter arrays, in seeding order
ACTIVATIONS = ("tanh", "relu")

# ---------------------------------------------------------------- input validation (ready-made: call it)


def as_batch(x: Sequence[float], y: Sequence[float], labels: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """x and y as two 1-d float arrays, after stage 4's checks (``as_samples``)."""
    xs, ys = as_samples(x, y, labels)
    return np.array(xs), np.array(ys)


def as_design(X: object, y: object) -> tuple[np.ndarray, np.ndarray]:
    """X as an (n, d) float array of finite numbers and y as n labels 0 or 1; ValueError otherwise."""
    try:
        features, labels = np.asarray(X, dtype=float), np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"X and y must be arrays of real numbers: {exc}") from None
    if features.ndim != 2 or labels.ndim != 1 or len(features) != len(labels) or len(labels) == 0:
        raise ValueError(f"X must be (n, d) and y (n,) with n > 0, got shapes {features.shape} and {labels.shape}")
    if not (np.all(np.isfinite(features)) and np.all((labels == 0) | (labels == 1))):
        raise ValueError("X must hold finite numbers and y labels 0 or 1 only")
    return features, labels


def check_activation(activation: str) -> None:
    if activation not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {ACTIVATIONS}, got {activation!r}")


# ---------------------------------------------------------------- exercise logits


def softplus(u: Variable | float) -> Variable:
    """Exercise logits: softplus(u) = log(1 + e^u), for any u, whose derivative is sigmoid(u).

    - u: a Variable or a number (``lift`` makes it one), whose value is a number or an array
      (elementwise); the grad comes out as sigmoid(u) times u's tangents, in any of their forms.
    - Any u: no overflow error and no warning on the way (the tests turn numpy's warnings into
      errors), exact to rounding at both ends: softplus(1000) is 1000 with derivative 1,
      softplus(-40) is e^-40 (about 4.2e-18, not 0), softplus(-1000) is 0 with derivative 0.

    Written as it stands, log(1 + exp(u)) overflows beyond u = 709, and rounds 1 + e^u to 1 (the
    value to 0) long before its true value vanishes: the hints say how to stay clear of both.
    """
    u = lift(u)
    raise NotImplementedError(
        "exercise 'logits': the cross-entropy computed from the logit. "
        "Rule: the log loss written in the logit z needs no clipping: it stays finite for every z, "
        "and its derivative is p - y, never lost to a clip"
    )


def logloss_from_logits(true_val: Variable | float, logit: Variable | float) -> Variable:
    """Exercise logits: the binary cross-entropy of p = sigmoid(z), computed from the logit z itself.

        -(y log p + (1 - y) log(1 - p)),   p = sigmoid(z)

    exactly, for any z, with no p formed: no clip, no log(0), no overflow or warning (z = -1e6 or
    1000 included). Elementwise on arrays (where stage 3's logloss takes one sample); labels y in
    [0, 1], a ValueError otherwise (``check_label``, ready-made). Its derivative along z is p - y,
    the error itself.

    Why not stage 3's clipped logloss(y, sigmoid(z))? Take y = 1 and z = -40, a confident
    mistake. p = sigmoid(-40) = 4.2e-18 is clipped to 1e-15, and the grad passed through the
    clip is -(1 / 1e-15) * p (1 - p) = -0.0042: the loss barely pushes z back, where the true
    derivative is p - y = -1.0000. Beyond z = -745, p rounds to 0 and that grad is exactly 0.
    From the logit, the grad is -1.0000 at z = -40, -745 or -1e6.
    """
    true_val, logit = lift(true_val), lift(logit)
    raise NotImplementedError(
        "exercise 'logits': the cross-entropy computed from the logit. "
        "Rule: the log loss written in the logit z needs no clipping: it stays finite for every z, "
        "and its derivative is p - y, never lost to a clip"
    )


# ---------------------------------------------------------------- exercise batched_fits


def fit_linear_regression_batched(x: Sequence[float], y: Sequence[float], lr: float = 0.1,
                                  iters: int = 1000) -> tuple[float, float]:
    """Exercise batched_fits: stage 4's line, y ~ m x + b from m = b = 0, one evaluation per iteration.

    The same contract as stage 4's fit_linear_regression: gradient descent on the mean of mse
    over the samples, the same steps and the same (m, b), returned as floats; ValueError for bad
    input (``as_batch(x, y)``, ``check_settings(lr, iters)``). Budget: ONE evaluation of the loss
    per iteration, over every sample at once, its tangents the partial derivatives by m and b
    (the tests count your Variable's operations: the same for 6 samples as for 12).
    """
    raise NotImplementedError(
        "exercise 'batched_fits': stage 4's models, one pass per iteration. "
        "Rule: P tangents carry P partial derivatives through one evaluation: a whole batch and "
        "every parameter cost one pass per step, not one per parameter"
    )


def fit_logistic_regression_batched(x: Sequence[float], y: Sequence[float], lr: float = 0.1,
                                    iters: int = 1000) -> tuple[float, float]:
    """Exercise batched_fits: stage 4's classifier, P(y = 1) = sigmoid(m x + b), one evaluation per iteration.

    The loss is the mean of logloss_from_logits over all samples, with labels 0 or 1 only,
    checked before the loop (``as_batch(x, y, labels=True)``, ``check_settings(lr, iters)``): a
    bad label is a ValueError even with iters = 0. Return (m, b) as floats. Budget: ONE
    evaluation of the loss per iteration, as fit_linear_regression_batched.
    """
    raise NotImplementedError(
        "exercise 'batched_fits': stage 4's models, one pass per iteration. "
        "Rule: P tangents carry P partial derivatives through one evaluation: a whole batch and "
        "every parameter cost one pass per step, not one per parameter"
    )


def deep_model_batched(x: Sequence[float], y: Sequence[float],
                       params: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Exercise batched_fits: the post's network on every sample at once, with all 7 partials.

        h_0 = m0_0 x + b0_0,   h_1 = m0_1 x + b0_1,   z = m1_0 h_0 + m1_1 h_1 + b1

    Return ``(loss, grads)``: the mean over the samples of logloss_from_logits(y, z), a float,
    and a dict of its 7 partial derivatives by name (PARAMETERS). Budget: ONE forward pass, over
    every sample at once (the tests count your operations: the same for 6 samples as for 12).
    A missing parameter is 0. Check the input with ``as_batch(x, y, labels=True)`` and
    ``check_parameters(params, "params")``.
    """
    raise NotImplementedError(
        "exercise 'batched_fits': stage 4's models, one pass per iteration. "
        "Rule: P tangents carry P partial derivatives through one evaluation: a whole batch and "
        "every parameter cost one pass per step, not one per parameter"
    )


def train_deep_model_batched(x: Sequence[float], y: Sequence[float], params: Mapping[str, float], lr: float = 0.1,
                             iters: int = 100) -> tuple[dict[str, float], list[float]]:
    """Exercise batched_fits: stage 4's train_deep_model, one evaluation (deep_model_batched) per iteration.

    Budget: ONE evaluation of the loss (one deep_model_batched) per iteration. ``history[i]`` is
    the mean loss at iteration i, before its update; return ``(new_params, history)`` with all
    seven names, leaving ``params`` as it was. Check the input before the loop
    (``as_batch(x, y, labels=True)``, ``check_settings``, ``check_parameters``): a bad label is a
    ValueError even with iters = 0, as in stage 4.
    """
    raise NotImplementedError(
        "exercise 'batched_fits': stage 4's models, one pass per iteration. "
        "Rule: P tangents carry P partial derivatives through one evaluation: a whole batch and "
        "every parameter cost one pass per step, not one per parameter"
    )


# ---------------------------------------------------------------- exercise real_data


def fit_logistic_regression_l2(X: object, y: object, C: float = 1.0, lr: float = 0.5,
                               iters: int = 1000) -> tuple[np.ndarray, float]:
    """Exercise real_data: logistic regression on d features with an L2 penalty, by gradient descent.

    From w = 0, b = 0, minimise scikit-learn's objective for ``LogisticRegression(C=C)``
    divided by C n, which has the same minimum:

        mean over samples of logloss_from_logits(y, X @ w + b)  +  (w @ w) / (2 C n)

    (b is not penalised). Budget: ONE evaluation of that objective per iteration, carrying
    P = d + 1 tangents (the d entries of w, then b), every feature at once: the tests count your
    operations, the same for 3 features as for 6. Return (w, b): an array of d floats and a float.
    ValueError for bad input (``as_design``, ``check_settings``, C > 0).
    """
    raise NotImplementedError(
        "exercise 'real_data': 30 features of breast cancer, and moons. "
        "Rule: one evaluation per iteration with every parameter seeded: d + 1 tangents for the "
        "regression, every entry of W1, b1, w2, b2 for the network"
    )


def init_network(inputs: int, hidden: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Ready-made: the starting parameters of the network, on a fixed seed.

    W1 (inputs, hidden) ~ N(0, 1), b1 = 0, w2 (hidden,) ~ N(0, 1/hidden), b2 = 0 (a 0-d array).
    """
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(inputs, hidden)), "b1": np.zeros(hidden),
            "w2": rng.normal(size=hidden) / np.sqrt(hidden), "b2": np.zeros(())}


def network_logits(params: Mapping[str, object], X: np.ndarray, activation: str = "tanh") -> Variable:
    """Exercise real_data: the network's logit for every row of X, one Variable of shape (n,).

        z = act(X @ W1 + b1) @ w2 + b2,   act = your tanh or relu (``activation``)

    One ``@`` per layer, as written: every hidden unit at once, no loop over them (the hidden
    layer's layout is yours: (n, hidden) as written, or its transpose). ``params`` maps the
    names in NETWORK to Variables (training) or plain arrays (prediction).
    """
    check_activation(activation)
    raise NotImplementedError(
        "exercise 'real_data': 30 features of breast cancer, and moons. "
        "Rule: one evaluation per iteration with every parameter seeded: d + 1 tangents for the "
        "regression, every entry of W1, b1, w2, b2 for the network"
    )


def network_loss(params: Mapping[str, np.ndarray], X: object, y: object,
                 activation: str = "tanh") -> tuple[float, dict[str, np.ndarray]]:
    """Exercise real_data: the mean logloss_from_logits of the network and its gradient, in ONE pass.

    ``params`` maps the names in NETWORK to arrays (``init_network``'s shapes); X is (n, d) and y
    n labels 0 or 1 (``as_design``: ValueError otherwise). Returns ``(loss, grads)``: the mean
    loss as a float and, for each name in NETWORK, d loss / d that array, with its shape
    (``split_like`` reshapes a flat gradient, in ``seeded``'s order). Budget: ONE evaluation of
    the network and its loss, carrying one tangent per entry of W1, b1, w2 and b2 (the tests
    count your operations: the same for 6 samples or 12, 2 hidden units or 4).
    """
    raise NotImplementedError(
        "exercise 'real_data': 30 features of breast cancer, and moons. "
        "Rule: one evaluation per iteration with every parameter seeded: d + 1 tangents for the "
        "regression, every entry of W1, b1, w2, b2 for the network"
    )


def train_network(X: object, y: object, hidden: int = 8, activation: str = "tanh", lr: float = 1.0,
                  iters: int = 300, seed: int = 0) -> tuple[dict[str, np.ndarray], list[float]]:
    """Exercise real_data: train the network by full-batch gradient descent from ``init_network``.

    Budget: ONE evaluation (one ``network_loss``) per iteration, every array then updated by the
    same gradient. Return ``(params, history)``, history[i] being the mean loss at iteration i
    before its update. ValueError for bad input (``as_design``, ``check_settings``).
    """
    raise NotImplementedError(
        "exercise 'real_data': 30 features of breast cancer, and moons. "
        "Rule: one evaluation per iteration with every parameter seeded: d + 1 tangents for the "
        "regression, every entry of W1, b1, w2, b2 for the network"
    )


def predict_network(params: Mapping[str, np.ndarray], X: object, activation: str = "tanh") -> np.ndarray:
    """Ready-made: P(y = 1) for each row of X, from your network_logits with constant parameters."""
    features = np.asarray(X, dtype=float)
    return np.asarray(sigmoid(network_logits(params, features, activation)).value, dtype=float)

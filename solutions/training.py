"""Stage 4: training loops whose gradients come from your own Variable.

Every loop is full-batch gradient descent done the post's way. For each parameter p, one
forward pass per sample with p's grad seeded to 1 and every other grad 0 gives d loss / dp
for that sample; the mean over the samples is the gradient of the mean loss. Only when every
parameter's gradient is known are all of them updated together: p <- p - lr * mean_grad(p).

The hot path runs on plain Python floats (the data are converted once with ``tolist()``):
a numpy scalar per operation would make each step several times slower.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .losses import logloss, mse
from .primitives import sigmoid
from .variable import Variable

PARAMETERS = ("m0_0", "m0_1", "b0_0", "b0_1", "m1_0", "m1_1", "b1")
_KNOWN = frozenset(PARAMETERS)

# ---------------------------------------------------------------- input validation (shipped ready-made)


def as_samples(x: Sequence[float], y: Sequence[float], labels: bool = False) -> tuple[list[float], list[float]]:
    """x and y as two lists of plain floats, after checking their shape (and the labels, if asked)."""
    try:
        xs, ys = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"x and y must be sequences of real numbers: {exc}") from None
    if xs.ndim != 1 or ys.ndim != 1:
        raise ValueError(f"x and y must be 1-d sequences, got shapes {xs.shape} and {ys.shape}")
    if len(xs) != len(ys) or len(xs) == 0:
        raise ValueError(f"x and y must have the same, non-zero length, got {len(xs)} and {len(ys)}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ValueError("x and y must hold finite numbers only")
    if labels and not np.all((ys == 0) | (ys == 1)):
        bad = ys[(ys != 0) & (ys != 1)][:3].tolist()
        raise ValueError(f"a classifier needs labels 0 or 1, got {bad} (continuous targets belong to a regression)")
    return xs.tolist(), ys.tolist()


def check_settings(lr: float, iters: int) -> None:
    """A learning rate must be positive and an iteration count a non-negative integer."""
    if isinstance(lr, bool) or not isinstance(lr, numbers.Real) or not (math.isfinite(lr) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}")
    if isinstance(iters, bool) or not isinstance(iters, (int, np.integer)) or iters < 0:
        raise ValueError(f"iters must be a non-negative integer, got {iters!r}")


def check_parameters(config: Mapping[str, float], what: str) -> None:
    """Every key of ``config`` must name a parameter of the network (a typo would silently be 0)."""
    unknown = config.keys() - _KNOWN
    if unknown:
        raise ValueError(f"unknown parameter names in {what}: {sorted(unknown)}; the network's are {list(PARAMETERS)}")


def check_label(y: float) -> None:
    if y != 0 and y != 1:
        raise ValueError(f"a classifier needs a label of 0 or 1, got {y!r}")


# ---------------------------------------------------------------- exercise linear_regression


def fit_linear_regression(x: Sequence[float], y: Sequence[float], lr: float = 0.1, iters: int = 1000) -> tuple[float, float]:
    """Fit y ~ m x + b from m = b = 0 by gradient descent on the mean squared error."""
    xs, ys = as_samples(x, y)
    check_settings(lr, iters)
    n = len(xs)
    m = b = 0.0
    for _ in range(iters):
        m_sum = b_sum = 0.0
        for x_, y_ in zip(xs, ys, strict=True):
            m_sum += mse(y_, Variable(m, 1.0) * x_ + Variable(b, 0.0)).grad
            b_sum += mse(y_, Variable(m, 0.0) * x_ + Variable(b, 1.0)).grad
        m, b = m - lr * m_sum / n, b - lr * b_sum / n
    return m, b


# ---------------------------------------------------------------- exercise logistic_regression


def fit_logistic_regression(x: Sequence[float], y: Sequence[float], lr: float = 0.1, iters: int = 1000) -> tuple[float, float]:
    """Fit P(y = 1) = sigmoid(m x + b) from m = b = 0 by gradient descent on the mean log loss."""
    xs, ys = as_samples(x, y, labels=True)
    check_settings(lr, iters)
    n = len(xs)
    m = b = 0.0
    for _ in range(iters):
        m_total = b_total = 0.0
        for x_, y_ in zip(xs, ys, strict=True):
            m_total += logloss(y_, sigmoid(Variable(m, 1.0) * x_ + Variable(b, 0.0))).grad
            b_total += logloss(y_, sigmoid(Variable(m, 0.0) * x_ + Variable(b, 1.0))).grad
        m, b = m - lr * m_total / n, b - lr * b_total / n
    return m, b


# ---------------------------------------------------------------- exercise deep_model


def deep_model(
    x: float, y: float, param_config: Mapping[str, float], learn_config: Mapping[str, float] | None = None
) -> tuple[float, float]:
    """The post's network on one sample: (log loss, its derivative along the seeds of learn_config).

    h_k = m0_k x + b0_k for k = 0, 1;  p = sigmoid(m1_0 h_0 + m1_1 h_1 + b1);  loss = logloss(y, p).
    """
    seeds = learn_config if learn_config is not None else {}
    check_parameters(param_config, "param_config")
    check_parameters(seeds, "learn_config")
    check_label(y)
    p = {name: Variable(float(param_config.get(name, 0.0)), float(seeds.get(name, 0.0))) for name in PARAMETERS}
    h0 = p["m0_0"] * x + p["b0_0"]
    h1 = p["m0_1"] * x + p["b0_1"]
    loss = logloss(y, sigmoid(p["m1_0"] * h0 + p["m1_1"] * h1 + p["b1"]))
    return float(loss.value), float(loss.grad)


# ---------------------------------------------------------------- exercise deep_training


def train_deep_model(
    x: Sequence[float], y: Sequence[float], params: Mapping[str, float], lr: float = 0.1, iters: int = 100
) -> tuple[dict[str, float], list[float]]:
    """Train the network by full-batch gradient descent; history[i] is the mean loss before step i."""
    xs, ys = as_samples(x, y, labels=True)
    check_settings(lr, iters)
    check_parameters(params, "params")
    current = {name: float(params.get(name, 0.0)) for name in PARAMETERS}
    n = len(xs)
    history: list[float] = []
    for _ in range(iters):
        sums = dict.fromkeys(PARAMETERS, 0.0)
        total_loss = 0.0
        for x_, y_ in zip(xs, ys, strict=True):
            for name in PARAMETERS:
                loss, grad = deep_model(x_, y_, current, {name: 1.0})
                sums[name] += grad
            total_loss += loss  # every seeded pass computes the same loss: count it once per sample
        history.append(total_loss / n)
        current = {name: current[name] - lr * sums[name] / n for name in PARAMETERS}
    return current, history

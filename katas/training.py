"""Stage 4: training loops whose gradients come from your own Variable.

Every loop here is full-batch gradient descent, with the gradients computed the post's way.
For each parameter p, run one forward pass per sample with p's grad seeded to 1 and every
other parameter's grad 0: the result's grad is d loss / dp for that sample. The mean of those
over the samples is the gradient of the mean loss. Only when every parameter's gradient is
known, update them all together:

    p <- p - lr * mean over the samples of d loss / dp

Use your own Variable, primitives and losses (imported below): the tests check that every
gradient comes out of a seeded forward pass of your Variable, so a derivative worked out by
hand (or by finite differences) does not count.

Keep plain Python floats in the loop (the helper ``as_samples`` gives you lists of floats):
a numpy scalar in every operation makes each step several times slower.

Exercises, in order: linear_regression, logistic_regression, deep_model, deep_training.
Run one with ``pytest --exercise linear_regression``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence

import numpy as np

from .losses import logloss, mse  # noqa: F401 - yours to use in the exercises
from .primitives import sigmoid  # noqa: F401
from .variable import Variable  # noqa: F401

PARAMETERS = ("m0_0", "m0_1", "b0_0", "b0_1", "m1_0", "m1_1", "b1")
_KNOWN = frozenset(PARAMETERS)

# ---------------------------------------------------------------- input validation (ready-made: call it)


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
    """A classifier's label must be 0 or 1."""
    if y != 0 and y != 1:
        raise ValueError(f"a classifier needs a label of 0 or 1, got {y!r}")


# ---------------------------------------------------------------- exercise linear_regression


def fit_linear_regression(x: Sequence[float], y: Sequence[float], lr: float = 0.1, iters: int = 1000) -> tuple[float, float]:
    """Exercise linear_regression: fit y ~ m x + b, starting from m = b = 0.

    Loss: the mean over the samples of mse(y_i, m x_i + b), minimised over ``iters`` iterations
    with learning rate ``lr``. Return the final (m, b) as floats.

    Start with ``xs, ys = as_samples(x, y)`` and ``check_settings(lr, iters)``: they raise the
    ValueError the tests expect for bad input.
    """
    raise NotImplementedError(
        "exercise 'linear_regression': Fit y = m*x + b by gradient descent on mse. "
        "Rule: each iteration, one pass per sample with m seeded and one with b seeded; average "
        "each grad, then update m and b together"
    )


# ---------------------------------------------------------------- exercise logistic_regression


def fit_logistic_regression(x: Sequence[float], y: Sequence[float], lr: float = 0.1, iters: int = 1000) -> tuple[float, float]:
    """Exercise logistic_regression: fit P(y = 1) = sigmoid(m x + b), starting from m = b = 0.

    Loss: the mean over the samples of logloss(y_i, sigmoid(m x_i + b)). Return the final
    (m, b) as floats.

    Watch for: the post trained its classifier on the regression's continuous targets, which
    a log loss is not meant for (scikit-learn's log_loss refuses them). Labels here are 0 or 1
    only: ``as_samples(x, y, labels=True)`` raises ValueError for anything else.
    """
    raise NotImplementedError(
        "exercise 'logistic_regression': Fit P(y=1) = sigmoid(m*x + b) on logloss. "
        "Rule: the line's loop, with sigmoid on the prediction and logloss as the loss"
    )


# ---------------------------------------------------------------- exercise deep_model


def deep_model(
    x: float, y: float, param_config: Mapping[str, float], learn_config: Mapping[str, float] | None = None
) -> tuple[float, float]:
    """Exercise deep_model: the post's small network on one sample (x, y), with y 0 or 1.

        h_0 = m0_0 x + b0_0,   h_1 = m0_1 x + b0_1
        p   = sigmoid(m1_0 h_0 + m1_1 h_1 + b1),   loss = logloss(y, p)

    ``param_config`` maps the names in PARAMETERS to values (a missing one is 0);
    ``learn_config`` maps names to their seed (a missing one is 0, None means no seeds): with
    ``{"b1": 1}`` the grad returned is d loss / d b1. Return ``(loss, grad)`` as plain floats.

    Check the input first with ``check_parameters(param_config, "param_config")``, the same for
    learn_config, and ``check_label(y)``.
    """
    raise NotImplementedError(
        "exercise 'deep_model': The network on one sample: loss and grad. "
        "Rule: one Variable per parameter, its value from param_config and its grad (the seed) from "
        "learn_config; one forward pass"
    )


# ---------------------------------------------------------------- exercise deep_training


def train_deep_model(
    x: Sequence[float], y: Sequence[float], params: Mapping[str, float], lr: float = 0.1, iters: int = 100
) -> tuple[dict[str, float], list[float]]:
    """Exercise deep_training: train the network by full-batch gradient descent from ``params``.

    Loss: the mean over the samples of deep_model's loss. ``history[i]`` is that mean at
    iteration i, before its update. Return ``(new_params, history)``, where
    new_params is a new dict holding all seven names; leave ``params`` as it was.

    Watch for: the post kept a template dict of empty lists and "reset" its gradients each
    iteration with ``template.copy()``. That copy is shallow: it shares the very same lists,
    so every iteration's gradients piled on top of the earlier ones and the loss climbed back
    up. Make sure each iteration's gradients come from that iteration only.

    Check the input with ``as_samples(x, y, labels=True)``, ``check_settings(lr, iters)`` and
    ``check_parameters(params, "params")``.
    """
    raise NotImplementedError(
        "exercise 'deep_training': Train the network, fresh gradients each step. "
        "Rule: fresh gradients every iteration: for each parameter the mean of deep_model's grad "
        "with it seeded, then all seven updated together"
    )

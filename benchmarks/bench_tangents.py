"""Tangent vectors against the alternatives: stage 4's loops, and gradients written by hand.

    python benchmarks/bench.py --only tangents [--repeats N]

Every figure is a ratio of two timings taken in the same run, each the median CPU time of
``repeats`` runs after a warm-up, so the load of the machine cancels out as far as it can.

1. Batched fits against stage 4's loops, per iteration, with the same iterations on both sides:
   stage 4 runs one seeded pass per parameter and per sample; stage 6 one pass per iteration
   with every sample and every tangent in it. The two must reach the same parameters (checked).
   On the post's data (n = 100) and on larger samples of it: stage 4's cost grows with n, while
   at n = 100 the batched fit's cost is the fixed price of its few dozen numpy calls (about a
   microsecond each), which caps the speed-up of the two-parameter fits well below 100x there.
2. One gradient of the stable logistic loss for (m, b) at n = 10,000 samples: the reference's
   Variable with 2 tangents (``seeded``, ``logloss_from_logits``, ``sum``) against a
   hand-written numpy function computing the same loss and its gradient, derived by hand and
   stable (np.logaddexp, a sigmoid that never overflows). The naive unstable hand gradient is
   faster still but overflows for large |z|: it is no baseline.
3. The same on breast cancer (n = 569, 30 standardised features): the L2-penalised loss of
   ``fit_logistic_regression_l2`` with 31 tangents, against the hand gradient
   X.T @ (p - y) / n + w / (C n).

Why 31 parameters cost more than 2: forward mode carries P tangents through EVERY elementwise
operation of the loss (each is a (P, n) array), while the hand gradient forms one residual
vector of n numbers and pays for the P parameters once, in X.T @ r. The ratio therefore grows
with P; reverse mode (a later stage) is the way to pay for P only once.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # as the kata tools run
    os.environ.setdefault(_threads, "1")  # numpy (small matrices: threads only fight each other)

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from katatools.learner.demo import post_data  # noqa: E402
from solutions import batched, training  # noqa: E402
from solutions.tangents import seeded  # noqa: E402

ITERS = 20  # iterations timed at n = 100 for the line and the classifier (fewer at larger n)
NETWORK_ITERS = 3
C = 0.1  # the breast-cancer test's penalty
TARGETS = {"batched fits": 100.0, "(m, b), n = 10,000": 3.0, "31 parameters, breast cancer": 10.0}


def median_seconds(repeats: int, run: Callable[[], object], inner: int = 1) -> float:
    """Median CPU time of ``run`` (called ``inner`` times per measurement, divided back) after a warm-up.

    CPU time of this process (numpy runs one BLAS thread here), which other jobs on a busy
    machine disturb far less than wall time: they delay the run, they do not add to its work.
    """
    run()
    times = []
    for _ in range(repeats):
        start = time.process_time()
        for _ in range(inner):
            run()
        times.append((time.process_time() - start) / inner)
    return statistics.median(times)


def stable_sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


# ---------------------------------------------------------------- the hand-written baselines


def hand_logistic(m: float, b: float, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The mean stable logistic loss of sigmoid(m x + b) and its gradient, derived by hand."""
    z = m * x + b
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z))
    r = stable_sigmoid(z) - y
    return loss, np.array([np.mean(r * x), np.mean(r)])


def tangent_logistic(m: float, b: float, x: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """The same loss and gradient from one evaluation with 2 tangents."""
    slope, intercept = seeded(m, b)
    loss = batched.logloss_from_logits(y, slope * x + intercept).sum() / len(x)
    return float(loss.value), np.asarray(loss.grad)


def hand_l2(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    n = len(y)
    z = X @ w + b
    loss = float(np.mean(np.logaddexp(0.0, z) - y * z) + w @ w / (2 * C * n))
    r = (stable_sigmoid(z) - y) / n
    return loss, np.concatenate([X.T @ r + w / (C * n), [r.sum()]])


def tangent_l2(w: np.ndarray, b: float, X: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    n = len(y)
    weights, bias = seeded(w, b)
    loss = batched.logloss_from_logits(y, X @ weights + bias).sum() / n + (weights @ weights) / (2 * C * n)
    return float(loss.value), np.asarray(loss.grad)


def breast_cancer() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_breast_cancer

    data = load_breast_cancer()
    X = (data.data - data.data.mean(axis=0)) / data.data.std(axis=0)
    return X, data.target.astype(float)


# ---------------------------------------------------------------- the sections


def agree(first: object, second: object, what: str) -> None:
    a = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in first])
    b = np.concatenate([np.ravel(np.asarray(v, dtype=float)) for v in second])
    if not np.allclose(a, b, rtol=1e-9, atol=1e-12):
        raise RuntimeError(f"{what}: the two sides compute different things: {a} against {b}")


def model_pairs(n: int, iters: int) -> list[tuple[str, int, Callable[[], object], Callable[[], object]]]:
    """(model, iterations, stage 4's fit, the batched fit) on n samples of the post's data."""
    x, y, labels = post_data(seed=0, n=n)
    params = dict(zip(training.PARAMETERS, np.random.default_rng(1000).normal(size=7).tolist(), strict=True))
    pairs = [
        ("line", iters, lambda: training.fit_linear_regression(x, y, 0.1, iters),
         lambda: batched.fit_linear_regression_batched(x, y, 0.1, iters)),
        ("classifier", iters, lambda: training.fit_logistic_regression(x, labels, 0.1, iters),
         lambda: batched.fit_logistic_regression_batched(x, labels, 0.1, iters)),
    ]
    if n <= 1_000:  # stage 4's network takes seconds per iteration beyond
        steps = NETWORK_ITERS if n == 100 else 1
        pairs.append(("network", steps,
                      lambda: list(training.train_deep_model(x, labels, params, 0.1, steps)[0].values()),
                      lambda: list(batched.train_deep_model_batched(x, labels, params, 0.1, steps)[0].values())))
    return pairs


def fits_against_loops(repeats: int) -> list[tuple[str, float, float]]:
    """Milliseconds per iteration of stage 4's loop and of the batched fit, the same iterations each.

    The post's data (n = 100) first, then larger samples of the same model: stage 4's work grows
    with n (one pass per sample and parameter), the batched fit's barely does until numpy's own
    work outweighs its fixed cost per operation.
    """
    rows = []
    for n, iters in ((100, ITERS), (1_000, 3), (10_000, 2)):
        for name, count, loops, one_pass in model_pairs(n, iters):
            label = f"{name}, n = {n:,}" + (" (the post's data)" if n == 100 else "")
            agree(loops(), one_pass(), label)
            slow_repeats = repeats if n == 100 else max(1, repeats // 2)
            rows.append((label, median_seconds(slow_repeats, loops) / count, median_seconds(repeats, one_pass) / count))
    return rows


def against_hand(repeats: int) -> list[tuple[str, float, float]]:
    rng = np.random.default_rng(0)
    x = rng.normal(size=10_000)
    y = (rng.random(10_000) < stable_sigmoid(3 * x - 2)).astype(float)
    X, labels = breast_cancer()
    w = np.random.default_rng(1).normal(size=X.shape[1]) * 0.1
    cases = [
        ("(m, b), n = 10,000", lambda: hand_logistic(0.5, -0.3, x, y), lambda: tangent_logistic(0.5, -0.3, x, y)),
        ("31 parameters, breast cancer", lambda: hand_l2(w, 0.2, X, labels), lambda: tangent_l2(w, 0.2, X, labels)),
    ]
    rows = []
    for name, hand, tangent in cases:
        agree(hand(), tangent(), name)
        rows.append((name, median_seconds(repeats, hand, inner=20), median_seconds(repeats, tangent, inner=20)))
    return rows


def main(repeats: int) -> None:
    print(f"{'batched fits against stage 4, per iteration':<52}{'loops':>11}{'one pass':>11}{'speed-up':>11}")
    for name, loops, one_pass in fits_against_loops(repeats):
        target = TARGETS["batched fits"]
        verdict = "ok" if loops / one_pass >= target else f"below {target:g}x"
        print(f"  {name:<50}{loops * 1e3:>8.2f} ms{one_pass * 1e3:>8.3f} ms{loops / one_pass:>10.0f}x  {verdict}")
    print(f"{'one gradient: tangents against a hand gradient':<52}{'by hand':>11}{'tangents':>11}{'ratio':>11}")
    for name, hand, tangent in against_hand(repeats):
        target = TARGETS[name]
        verdict = "ok" if tangent / hand <= target else f"ABOVE {target:g}x"
        print(f"  {name:<50}{hand * 1e3:>8.3f} ms{tangent * 1e3:>8.3f} ms{tangent / hand:>10.1f}x  {verdict} "
              f"(at most {target:g}x)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

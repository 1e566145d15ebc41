"""Training-loop speed: the reference loops (solutions/training.py) against the post's own loops.

    python benchmarks/bench.py --only loops [--repeats N]

Both sides run the same work on the same data (the demo's: x ~ N(0, 1), n = 100, 0/1 labels
for the classifiers): the line and the classifier for 100 iterations, the network for 10, two
(or seven) seeded forward passes per sample and iteration. The post's side is a restatement
written for this benchmark, not the post's text: its own small Variable, primitives that call
numpy on every value (the data stay numpy float64 scalars, as in the post), its losses, and its
loops gathering per-sample grads in lists averaged with np.mean. Its network loop starts each
iteration with fresh lists: the post's shallow-copy bug would make it do more and more work.

Reported: medians of ``repeats`` runs per loop, and the ratio reference / post (below 1: the
reference is faster). Each pair's parameters are also compared, so a ratio never compares two
loops that compute different things.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from katatools.learner.demo import post_data  # noqa: E402
from solutions import training  # noqa: E402

LINE_ITERS = CLASSIFIER_ITERS = 100
NETWORK_ITERS = 10
LR = 0.1
NAMES = ("m0_0", "m0_1", "b0_0", "b0_1", "m1_0", "m1_1", "b1")

# ---------------------------------------------------------------- the post's code, restated


class PostVariable:
    """The post's dual number: Variable operands only, no validation, no slots."""

    def __init__(self, value, grad=0):
        self.value = value
        self.grad = grad

    def __add__(self, other):
        return PostVariable(self.value + other.value, self.grad + other.grad)

    def __sub__(self, other):
        return PostVariable(self.value - other.value, self.grad - other.grad)

    def __mul__(self, other):
        return PostVariable(self.value * other.value, self.grad * other.value + self.value * other.grad)

    def __truediv__(self, other):
        return PostVariable(self.value / other.value,
                            (self.grad * other.value - self.value * other.grad) / other.value**2)

    def __pow__(self, other):
        return PostVariable(self.value**other.value, other.value * self.value ** (other.value - 1) * self.grad)


def post_log(v):
    return PostVariable(np.log(v.value), v.grad / v.value)


def post_sigmoid(v):
    s = 1 / (1 + np.exp(-v.value))
    return PostVariable(s, s * (1 - s) * v.grad)


def post_mse(a, b):
    return (a - b) ** PostVariable(2, 0)


def post_logloss(label, prediction):
    p = PostVariable(np.clip(prediction.value, 1e-15, 1 - 1e-15), prediction.grad)
    if label.value == 1:
        return PostVariable(-1, 0) * post_log(p)
    return PostVariable(-1, 0) * post_log(PostVariable(1, 0) - p)


def post_line(x, y, lr, iters):
    m = b = 0.0
    for _ in range(iters):
        m_grads, b_grads = [], []
        for x_, y_ in zip(x, y, strict=True):
            for_m = PostVariable(m, 1) * PostVariable(x_) + PostVariable(b)
            for_b = PostVariable(m) * PostVariable(x_) + PostVariable(b, 1)
            m_grads.append(post_mse(PostVariable(y_), for_m).grad)
            b_grads.append(post_mse(PostVariable(y_), for_b).grad)
        m -= lr * np.mean(m_grads)
        b -= lr * np.mean(b_grads)
    return m, b


def post_classifier(x, y, lr, iters):
    m = b = 0.0
    for _ in range(iters):
        m_grads, b_grads = [], []
        for x_, y_ in zip(x, y, strict=True):
            for_m = post_sigmoid(PostVariable(m, 1) * PostVariable(x_, 0) + PostVariable(b, 0))
            for_b = post_sigmoid(PostVariable(m, 0) * PostVariable(x_, 0) + PostVariable(b, 1))
            m_grads.append(post_logloss(PostVariable(y_, 0), for_m).grad)
            b_grads.append(post_logloss(PostVariable(y_, 0), for_b).grad)
        m -= lr * np.mean(m_grads)
        b -= lr * np.mean(b_grads)
    return m, b


def post_deep_model(x, y, params, seeds=None):
    seeds = seeds or {}
    v = {name: PostVariable(params.get(name, 0), seeds.get(name, 0)) for name in NAMES}
    h0 = v["m0_0"] * PostVariable(x) + v["b0_0"]
    h1 = v["m0_1"] * PostVariable(x) + v["b0_1"]
    prediction = post_sigmoid(h0 * v["m1_0"] + h1 * v["m1_1"] + v["b1"])
    return post_logloss(PostVariable(y), prediction).value, post_logloss(PostVariable(y), prediction).grad


def post_network(x, y, params, lr, iters):
    params = dict(params)
    history = []
    for _ in range(iters):
        grads = {name: [] for name in NAMES}  # fresh lists: the post's shallow copy would keep the old ones
        losses = []
        for x_, y_ in zip(x, y, strict=True):
            for name in NAMES:
                grads[name].append(post_deep_model(x_, y_, params, {name: 1})[1])
            losses.append(post_deep_model(x_, y_, params)[0])
        history.append(np.mean(losses))
        for name in NAMES:
            params[name] -= lr * np.mean(grads[name])
    return params, history


# ---------------------------------------------------------------- timing


def median_time(repeats: int, run: Callable[[], object]) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        result = run()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def flat(result: object) -> np.ndarray:
    """A fit's parameters as one array, to check that both sides computed the same thing."""
    if isinstance(result, tuple) and isinstance(result[0], dict):
        return np.array([result[0][name] for name in NAMES] + list(result[1]), dtype=float)
    return np.array(result, dtype=float)


def main(repeats: int) -> None:
    x, y, labels = post_data(seed=0)
    params = dict(zip(NAMES, np.random.default_rng(1).normal(size=len(NAMES)).tolist(), strict=True))
    pairs = [
        (f"line, {LINE_ITERS} iterations",
         lambda: training.fit_linear_regression(x, y, lr=LR, iters=LINE_ITERS),
         lambda: post_line(x, y, LR, LINE_ITERS)),
        (f"classifier, {CLASSIFIER_ITERS} iterations",
         lambda: training.fit_logistic_regression(x, labels, lr=LR, iters=CLASSIFIER_ITERS),
         lambda: post_classifier(x, labels, LR, CLASSIFIER_ITERS)),
        (f"network, {NETWORK_ITERS} iterations",
         lambda: training.train_deep_model(x, labels, params, lr=LR, iters=NETWORK_ITERS),
         lambda: post_network(x, labels, params, LR, NETWORK_ITERS)),
    ]
    print(f"training loops on the post's data (n = {len(x)}), median of {repeats} runs")
    print(f"  {'loop':<28}{'reference':>12}{'post':>12}{'ref / post':>12}  same result")
    for name, reference, post in pairs:
        ref_time, ref_result = median_time(repeats, reference)
        post_time, post_result = median_time(repeats, post)
        same = np.allclose(flat(ref_result), flat(post_result), rtol=1e-9, atol=1e-12)
        print(f"  {name:<28}{ref_time:>10.3f} s{post_time:>10.3f} s{ref_time / post_time:>11.2f}x  {'yes' if same else 'NO'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

"""Newton's method (stage 7) against gradient descent (stage 4) on the classifier of the post's data.

    python benchmarks/bench.py --only newton [--repeats N]

1. Iterations. The gap of the mean log loss above its optimum after each of Newton's first 10
   steps from (0, 0), with the reference's fit_logistic_regression_newton, and the iterations
   stage 4's gradient descent needs to reach 1e-8 and Newton's own final gap, at the learning
   rates of stage 4's default (0.1), of the demo (1.0), of the tests (4.0, under 2 / L with L the
   curvature bound) and near 2 / L. The optimum comes from 50 numpy Newton steps (it agrees with
   scikit-learn's LogisticRegression(C=inf) to 1e-12 in loss); gradient descent is replayed in
   numpy with stage 4's update, checked against the reference's batched fit (the same steps).
2. Time to the 1e-8 gap, as ratios measured in one run: Newton's iterations (each one
   gradient and one hessian: 3 evaluations of the loss) against stage 6's batched gradient
   descent and stage 4's scalar loop, each with the iterations it needs at lr 4.
3. The stage's tests: bare pytest on tests/test_second_order.py against the reference.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

for _threads in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):  # as the kata tools run
    os.environ.setdefault(_threads, "1")

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from katatools.learner.demo import post_data  # noqa: E402
from solutions import batched, second_order, training  # noqa: E402

GAP = 1e-8  # the tests' NEWTON_LOSS_ABS
NEWTON_ITERS = 10
RATES = (0.1, 1.0, 4.0)


def mean_loss(m: float, b: float, x: np.ndarray, y: np.ndarray) -> float:
    z = m * x + b
    return float(np.mean(np.logaddexp(0.0, z) - y * z))


def sigmoid(z: np.ndarray) -> np.ndarray:
    return np.exp(-np.logaddexp(0.0, -z))


def optimum(x: np.ndarray, y: np.ndarray) -> float:
    design, theta = np.column_stack([x, np.ones_like(x)]), np.zeros(2)
    for _ in range(50):
        s = sigmoid(design @ theta)
        g, h = design.T @ (s - y) / len(x), design.T @ (design * (s * (1 - s))[:, None]) / len(x)
        theta = theta - np.linalg.solve(h, g)
    return mean_loss(theta[0], theta[1], x, y)


def descent_iterations(x: np.ndarray, y: np.ndarray, lr: float, best: float, gap: float, limit: int = 10**6) -> int:
    """Stage 4's gradient descent from (0, 0), replayed in numpy: the iterations to a loss within ``gap`` of ``best``."""
    m = b = 0.0
    for i in range(1, limit + 1):
        r = sigmoid(m * x + b) - y
        m, b = m - lr * float(np.mean(r * x)), b - lr * float(np.mean(r))
        if mean_loss(m, b, x, y) - best <= gap:
            return i
    return limit


def median_seconds(repeats: int, run: Callable[[], object]) -> float:
    run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main(repeats: int) -> None:
    x, _, y = post_data(0)
    best = optimum(x, y)
    design = np.column_stack([x, np.ones_like(x)])
    curvature = float(np.linalg.eigvalsh(design.T @ design / len(x)).max() / 4)
    print(f"Newton against gradient descent on the post's classifier (seed 0, n = {len(x)}), "
          f"optimum {best:.15f}, curvature bound L = {curvature:.4f}")
    print(f"  {'iteration':<10}{'Newton: loss - optimum':>26}")
    gaps = []
    for k in range(NEWTON_ITERS + 1):
        m, b = second_order.fit_logistic_regression_newton(x, y, iters=k)
        gaps.append(max(mean_loss(m, b, x, y) - best, 0.0))
        print(f"  {k:<10}{gaps[-1]:>26.3e}")
    within = next(k for k, g in enumerate(gaps) if g <= GAP)
    final = max(gaps[-1], 1e-16)
    print(f"  Newton: within {GAP:g} after {within} iterations; gap {gaps[-1]:.1e} after {NEWTON_ITERS}")
    check_m, check_b = batched.fit_logistic_regression_batched(x, y, lr=4.0, iters=50)
    replay_m = replay_b = 0.0
    for _ in range(50):
        r = sigmoid(replay_m * x + replay_b) - y
        replay_m, replay_b = replay_m - 4.0 * float(np.mean(r * x)), replay_b - 4.0 * float(np.mean(r))
    if not np.allclose([check_m, check_b], [replay_m, replay_b], rtol=1e-9, atol=1e-12):
        raise RuntimeError("the numpy replay of gradient descent does not take stage 4's steps")
    descent = {}
    for lr in (*RATES, round(1.9 / curvature, 2)):
        descent[lr] = descent_iterations(x, y, lr, best, GAP)
        to_final = descent_iterations(x, y, lr, best, final, limit=200_000)
        print(f"  gradient descent, lr {lr:<5}: {descent[lr]:>6} iterations to {GAP:g}, "
              f"{to_final if to_final < 200_000 else '> 200000':>7} to Newton's final gap ({final:.0e})")

    newton_time = median_seconds(repeats, lambda: second_order.fit_logistic_regression_newton(x, y, iters=within))
    batched_time = median_seconds(repeats, lambda: batched.fit_logistic_regression_batched(x, y, lr=4.0,
                                                                                         iters=descent[4.0]))
    loop_time = median_seconds(max(1, repeats // 2),
                               lambda: training.fit_logistic_regression(x, y, lr=4.0, iters=descent[4.0]))
    print(f"\nTime to within {GAP:g} (medians of {repeats} runs)")
    print(f"  Newton, {within} iterations (reference)            {1000 * newton_time:9.2f} ms")
    print(f"  batched gradient descent, lr 4, {descent[4.0]} its {1000 * batched_time:9.2f} ms  "
          f"({batched_time / newton_time:.1f}x Newton's)")
    print(f"  stage 4's loop, lr 4, {descent[4.0]} iterations         {1000 * loop_time:9.2f} ms  "
          f"({loop_time / newton_time:.1f}x Newton's)")

    cmd = [sys.executable, "-m", "pytest", "tests/test_second_order.py", "--target=solutions", "-q",
           "-p", "no:cacheprovider"]
    walls, inner = [], []
    subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)  # warm-up (and scikit-learn's stored answers)
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        walls.append(time.perf_counter() - start)
        found = re.findall(r" in ([0-9.]+)s", done.stdout)
        if done.returncode != 0 or not found:
            raise RuntimeError(f"the stage's tests failed:\n{done.stdout[-2000:]}")
        inner.append(float(found[-1]))
    print(f"\nStage 7's tests against the reference: {statistics.median(walls):.2f} s wall, "
          f"{statistics.median(inner):.2f} s in pytest (medians of {repeats})")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5)

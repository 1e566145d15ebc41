"""When each mode wins: forward against reverse mode, timed on the reference (stage 8's figure).

    python benchmarks/bench_reverse.py [--repeats N] [--target solutions|katas|DIR] [--out DIR] [--quick]

Two measurements, each the median of ``--repeats`` timings of CPU time (each long enough to trust;
CPU time, because on a shared machine wall time also measures the neighbours):

1. **One gradient against the number of parameters P = 1 ... 256.** f is the mean logistic loss
   of a linear model with P weights on 4 fixed samples (about 8 P operations). Three methods:
   stage 4's forward mode, one seeded pass per parameter (P passes of f); stage 5's tangents,
   one pass carrying P tangents (``seeded``); stage 8's reverse mode (``grad``: one recording,
   one sweep).
2. **A whole Jacobian of f: R^n -> R^m**, for n = 1 with m = 1 ... 256 and for m = 1 with
   n = 1 ... 256. f mixes its n inputs into one number, runs it through 16 shared tanh layers,
   and gives m outputs, sigmoid(b_i s + c_i). Forward mode: n seeded passes of stage 1's
   Variable, each giving a column. Reverse mode: ``jacrev``, one recording and m sweeps, each
   giving a row.

It prints the tables and the crossings (interpolated on log scales) and writes, with matplotlib
(`nox -s bench` installs it in its own environment), ``bench-output/reverse.png`` and the numbers
in ``bench-output/reverse.json``. Without matplotlib it prints the tables only.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from katatools import packages  # noqa: E402
from katatools.manifest import load_manifest  # noqa: E402

SIZES = [1, 2, 4, 8, 16, 32, 64, 128, 256]
QUICK_SIZES = [1, 2, 4, 16, 64]
SAMPLES = 4  # rows of the logistic loss
DEPTH = 16  # shared tanh layers of the Jacobian's f
MIN_TIMING = 0.05  # CPU seconds: a timing repeats its call until it lasts this long
CLOCK = time.process_time  # CPU time of this process: on a shared machine, wall time measures the neighbours too


def load(target: str):
    """The stage modules of ``target`` (solutions, katas or a directory), as the tests see them."""
    path = Path(target) if Path(target).is_dir() else ROOT / target
    manifest = load_manifest()
    package = packages.load_package(path.resolve(), "_bench_reverse")
    return packages.import_stage_modules(package, list(manifest.stages))


def timing(call: Callable[..., object], args: tuple, repeats: int) -> float:
    """Median CPU seconds of ``call(*args)`` over ``repeats`` timings, each of enough calls to last MIN_TIMING."""
    call(*args)
    start = CLOCK()
    call(*args)
    once = CLOCK() - start
    number = max(1, int(MIN_TIMING / max(once, 1e-6)))
    runs = []
    for _ in range(repeats):
        start = CLOCK()
        for _ in range(number):
            call(*args)
        runs.append((CLOCK() - start) / number)
    return statistics.median(runs)


# ---------------------------------------------------------------- the functions, written once for both kinds of number


def logistic_loss(sigmoid, logloss, w, X, y):
    """Mean log loss of sigmoid(X w) against y, with the given primitives (Variables or Nodes)."""
    total = 0.0
    for row, label in zip(X, y, strict=True):
        z = w[0] * row[0]
        for weight, feature in zip(w[1:], row[1:], strict=True):
            z = z + weight * feature
        total = total + logloss(label, sigmoid(z))
    return total / len(y)


def trunk(tanh, sigmoid, xs, a, b, c):
    """f: R^n -> R^m: mix the inputs, DEPTH shared tanh layers, then m sigmoid heads."""
    s = xs[0] * a[0]
    for x, weight in zip(xs[1:], a[1:], strict=True):
        s = s + x * weight
    for _ in range(DEPTH):
        s = tanh(s * 0.9 + 0.1)
    return [sigmoid(s * bi + ci) for bi, ci in zip(b, c, strict=True)]


# ---------------------------------------------------------------- the three ways to a gradient


def gradient_methods(m):
    Variable, primitives, losses = m["variable"].Variable, m["primitives"], m["losses"]
    seeded, reverse = m["tangents"].seeded, m["reverse"]

    def per_parameter(w, X, y):  # stage 4: one seeded pass per parameter
        out = []
        for k in range(len(w)):
            ws = [Variable(v, 1.0 if j == k else 0.0) for j, v in enumerate(w)]
            out.append(logistic_loss(primitives.sigmoid, losses.logloss, ws, X, y).grad)
        return np.array(out)

    def tangent_vectors(w, X, y):  # stage 5: one pass, P tangents
        return np.asarray(logistic_loss(primitives.sigmoid, losses.logloss, seeded(*w), X, y).grad)

    def reverse_mode(w, X, y):  # stage 8: one recording, one sweep
        return np.array(reverse.grad(lambda *ws: logistic_loss(reverse.sigmoid, reverse.logloss, ws, X, y))(*w))

    return {"forward, one pass per parameter": per_parameter, "forward, P tangents in one pass": tangent_vectors,
            "reverse": reverse_mode}


def jacobian_methods(m):
    Variable, primitives, reverse = m["variable"].Variable, m["primitives"], m["reverse"]

    def forward(xs, a, b, c):  # n passes, column k from the pass seeded at input k
        columns = []
        for k in range(len(xs)):
            outs = trunk(primitives.tanh, primitives.sigmoid,
                         [Variable(v, 1.0 if j == k else 0.0) for j, v in enumerate(xs)], a, b, c)
            columns.append([o.grad for o in outs])
        return np.array(columns).T

    def backward(xs, a, b, c):  # one recording, m sweeps, row i from the sweep from output i
        return reverse.jacrev(lambda *leaves: trunk(reverse.tanh, reverse.sigmoid, leaves, a, b, c))(*xs)

    return {"forward (n passes)": forward, "reverse (m sweeps)": backward}


# ---------------------------------------------------------------- measuring


def measure_gradients(m, sizes, repeats):
    rng = np.random.default_rng(0)
    methods = gradient_methods(m)
    times = {name: [] for name in methods}
    for P in sizes:
        w = (rng.normal(size=P) / math.sqrt(P)).tolist()
        X = rng.normal(size=(SAMPLES, P)).tolist()
        y = [1.0, 0.0, 1.0, 0.0]
        answers = [method(w, X, y) for method in methods.values()]
        for other in answers[1:]:  # the three must agree before their times mean anything
            assert np.allclose(other, answers[0], rtol=1e-9, atol=1e-12), (P, other, answers[0])
        for name, method in methods.items():
            times[name].append(timing(method, (w, X, y), repeats))
    return times


def measure_jacobians(m, sizes, repeats):
    rng = np.random.default_rng(1)
    methods = jacobian_methods(m)
    sweeps = {}
    for sweep, shape in (("n = 1, m growing", lambda k: (1, k)), ("m = 1, n growing", lambda k: (k, 1))):
        times = {name: [] for name in methods}
        for k in sizes:
            n, outputs = shape(k)
            xs = rng.normal(size=n).tolist()
            a, b, c = (rng.normal(size=n) / math.sqrt(n)).tolist(), rng.normal(size=outputs).tolist(), \
                rng.normal(size=outputs).tolist()
            answers = [method(xs, a, b, c) for method in methods.values()]
            assert np.allclose(answers[0], answers[1], rtol=1e-9, atol=1e-12), (n, outputs)
            for name, method in methods.items():
                times[name].append(timing(method, (xs, a, b, c), repeats))
        sweeps[sweep] = times
    return sweeps


def crossing(sizes, first, second):
    """The size from which ``first`` stays below ``second`` (interpolated in log-log), or None if it never does.

    Taken after the LAST size where ``first`` is slower, so that one noisy point does not move it.
    """
    ratio = [math.log(a / b) for a, b in zip(first, second, strict=True)]
    slower = [k for k, r in enumerate(ratio) if r > 0]
    if not slower:
        return float(sizes[0])
    k = slower[-1]
    if k == len(sizes) - 1:
        return None
    t = ratio[k] / (ratio[k] - ratio[k + 1])
    return math.exp(math.log(sizes[k]) + t * (math.log(sizes[k + 1]) - math.log(sizes[k])))


def summary(sizes, gradients, jacobians):
    """The crossings and ratios the docstring and docs/modes.md quote."""
    fwd, tangents, rev = gradients.values()  # in gradient_methods' order
    out = {
        "gradient: reverse overtakes one pass per parameter at P": crossing(sizes, rev, fwd),
        "gradient: reverse overtakes P tangents at P": crossing(sizes, rev, tangents),
        "gradient at the largest P: one pass per parameter / reverse": fwd[-1] / rev[-1],
        "gradient at the largest P: P tangents / reverse": tangents[-1] / rev[-1],
    }
    grow_m, grow_n = jacobians["n = 1, m growing"], jacobians["m = 1, n growing"]
    forward, reverse = "forward (n passes)", "reverse (m sweeps)"
    out["jacobian, m = 1: reverse overtakes forward at n"] = crossing(sizes, grow_n[reverse], grow_n[forward])
    out["jacobian, n = 1: reverse overtakes forward at m"] = crossing(sizes, grow_m[reverse], grow_m[forward])
    out["jacobian, n = 1: reverse / forward at m = 1"] = grow_m[reverse][0] / grow_m[forward][0]
    out["jacobian, n = 1: reverse / forward at the largest m"] = grow_m[reverse][-1] / grow_m[forward][-1]
    out["jacobian, m = 1: forward / reverse at the largest n"] = grow_n[forward][-1] / grow_n[reverse][-1]
    return out


# ---------------------------------------------------------------- reporting


def table(title, sizes, label, times):
    print(f"\n{title}  (median CPU ms per call)")
    names = list(times)
    print(f"  {label:>5}" + "".join(f"{name:>34}" for name in names))
    for i, size in enumerate(sizes):
        print(f"  {size:>5}" + "".join(f"{1000 * times[name][i]:>34.3f}" for name in names))


def figure(path, sizes, gradients, jacobians, facts):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\nmatplotlib is not installed: no figure (`nox -s bench` installs it in .nox/_bench)")
        return None
    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    ax = axes[0][0]
    for (name, times), style in zip(gradients.items(), ("o-", "s--", "^-"), strict=True):
        ax.loglog(sizes, times, style, label=name)
    ax.set(title="One gradient of a loss with P parameters", xlabel="parameters P", ylabel="CPU seconds")
    for ax, sweep, label in ((axes[0][1], "n = 1, m growing", "outputs m (n = 1 input)"),
                             (axes[1][0], "m = 1, n growing", "inputs n (m = 1 output)")):
        for (name, times), style in zip(jacobians[sweep].items(), ("o-", "^-"), strict=True):
            ax.loglog(sizes, times, style, label=name)
        ax.set(title=f"Jacobian of f: R^n -> R^m, {sweep}", xlabel=label, ylabel="CPU seconds")
    ax = axes[1][1]
    forward, reverse = "forward (n passes)", "reverse (m sweeps)"
    grow_m, grow_n = jacobians["n = 1, m growing"], jacobians["m = 1, n growing"]
    shape = [1 / k for k in sizes[::-1]] + sizes[1:]  # m / n from 1/256 (m = 1) to 256 (n = 1)
    ratio = [r / f for r, f in zip(grow_n[reverse][::-1] + grow_m[reverse][1:],
                                   grow_n[forward][::-1] + grow_m[forward][1:], strict=True)]
    ax.loglog(shape, ratio, "o-", color="black", label="reverse time / forward time")
    ax.axhline(1.0, color="grey", linestyle=":")
    cross = facts["jacobian, m = 1: reverse overtakes forward at n"]
    if cross:
        ax.axvline(1 / cross, color="red", linestyle="--", label=f"crossing: n = {cross:.1f} m")
    ax.set(title="Who wins: below 1 reverse, above 1 forward", xlabel="m / n (outputs per input)",
           ylabel="reverse / forward")
    for ax in axes.flat:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle("Forward against reverse mode, on the kata's reference (benchmarks/bench_reverse.py)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def run(repeats: int, target: str = "solutions", out: Path = ROOT / "bench-output", quick: bool = False) -> dict:
    modules = load(target)
    sizes = QUICK_SIZES if quick else SIZES
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    started = time.perf_counter()
    gradients = measure_gradients(modules, sizes, repeats)
    jacobians = measure_jacobians(modules, sizes, repeats)
    facts = summary(sizes, gradients, jacobians)
    load_after = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"reverse: medians of {repeats} timings on {target}, {time.perf_counter() - started:.0f} s; "
          f"1-minute load average {load_before:.1f} before, {load_after:.1f} after ({os.cpu_count()} CPUs)")
    table("One gradient of the logistic loss with P weights", sizes, "P", gradients)
    for sweep, times in jacobians.items():
        table(f"Jacobian of f: R^n -> R^m, {sweep}", sizes, "n" if "n growing" in sweep else "m", times)
    print("\nCrossings and ratios:")
    for name, value in facts.items():
        print(f"  {name}: " + ("never, within the sizes measured" if value is None else f"{value:.2f}"))
    record = {"sizes": sizes, "repeats": repeats, "load": [load_before, load_after], "gradients": gradients,
              "jacobians": jacobians, "facts": facts}
    png = figure(out / "reverse.png", sizes, gradients, jacobians, facts)
    out.mkdir(parents=True, exist_ok=True)
    (out / "reverse.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
    if png:
        print(f"\nfigure: {png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}")
    return record


_DONE: dict[int, dict] = {}


def main(repeats: int) -> None:
    """The `reverse` section of benchmarks/bench.py: measured once per run (bytecode does not matter here)."""
    if repeats in _DONE:
        print("reverse: measured above (in-process timings do not depend on the bytecode cache)")
        return
    _DONE[repeats] = run(repeats)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timings per measurement (median)")
    parser.add_argument("--target", default="solutions", help="solutions, katas, or a directory of kata modules")
    parser.add_argument("--out", type=Path, default=ROOT / "bench-output", help="where the PNG and JSON go")
    parser.add_argument("--quick", action="store_true", help=f"sizes {QUICK_SIZES} only")
    args = parser.parse_args()
    run(args.repeats, args.target, args.out, args.quick)

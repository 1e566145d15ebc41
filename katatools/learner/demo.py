"""The post's three experiments, run with your own code: ``nox -s demo -- katas|solutions``.

On the post's data (x ~ N(0, 1), y = 3 x - 2 + N(0, 0.01^2), fixed seeds) it fits the line, the
logistic classifier and the small network with the target's ``training`` module and prints what
the post prints: m and m prime, b and b prime, the MSE beside the truth's, the log loss beside
the truth's, and the network's loss every 5 iterations. Where matplotlib is installed (``nox -s
demo`` runs in an environment of its own that has it) it also writes one PNG and prints its path:
the three fits over their data (the line, the classifier's curve, the network's curve) and the
network's loss curve. A fourth experiment (stage 7) fits the classifier by Newton's method and
by gradient descent and prints how far each stays above the best loss, iteration by iteration;
the figure shows both on a log scale against the iteration.

The classifier learns 0/1 labels drawn from the true model, P(y = 1) = sigmoid(3 x - 2): the
post fed the regression's continuous y to its log loss, which is not a classification.

``python -m katatools demo [katas|solutions|DIR] [--out DIR]`` (default: solutions, demo-output/).
``--quick`` (hidden, for tests) runs shorter experiments.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from .. import packages
from ..manifest import ROOT, load_manifest

OUT_DIR = ROOT / "demo-output"
FIGURE_NAME = "post.png"
TRUE_M, TRUE_B = 3, -2
EPSILON = 1e-15  # the log loss's clip


@dataclass(frozen=True)
class Settings:
    """The experiments' sizes: the post's, except the classifier's lr (0.1 stops 2-15% short of the optimum)."""

    seed: int = 0
    n: int = 100
    line_lr: float = 0.1
    line_iters: int = 1000
    classifier_lr: float = 1.0
    classifier_iters: int = 1000
    network_lr: float = 0.1
    network_iters: int = 100
    network_every: int = 5
    network_seed: int = 1
    newton_iters: int = 10
    descent_lr: float = 1.0  # the classifier's, as above
    descent_checkpoints: tuple[int, ...] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)


SETTINGS = Settings()
QUICK = Settings(n=40, line_iters=150, classifier_iters=100, network_iters=12, descent_checkpoints=(1, 10, 100))
FIGURE_SIZE = (18, 9)  # inches, at FIGURE_DPI: a 1800 x 900 PNG
FIGURE_DPI = 100


def post_data(seed: int, n: int = 100) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """x ~ N(0, 1); the line's y = 3 x - 2 + N(0, 0.01^2); 0/1 labels drawn with P(y = 1) = sigmoid(3 x - 2)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=n)
    y = TRUE_M * x + TRUE_B + rng.normal(size=n) / 100
    labels = (rng.random(n) < _sigmoid(TRUE_M * x + TRUE_B)).astype(float)
    return x, y, labels


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-z))


def _mse(y: np.ndarray, predictions: np.ndarray) -> float:
    return float(np.mean((y - predictions) ** 2))


def _log_loss(labels: np.ndarray, probabilities: np.ndarray) -> float:
    p = np.clip(probabilities, EPSILON, 1 - EPSILON)
    return float(-np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p)))


def resolve_target(target: str) -> tuple[Path, str]:
    """The directory of a target and the package name to load it under."""
    if target in ("katas", "solutions"):
        return ROOT / target, target
    return Path(target).resolve(), "_kata_demo"


def load_modules(target: str) -> SimpleNamespace:
    """Every stage module of the target, by stage name (``modules.training``, ``modules.second_order``)."""
    directory, name = resolve_target(target)
    if not directory.is_dir():
        raise FileNotFoundError(f"{directory} is not a directory of kata modules")
    manifest = load_manifest()
    package = packages.load_package(directory, name)
    return SimpleNamespace(**packages.import_stage_modules(package, list(manifest.stages)))


def load_training(target: str) -> object:
    """The target's ``training`` module, with every stage module it builds on."""
    return load_modules(target).training


# ---------------------------------------------------------------- the experiments


def regression(modules: SimpleNamespace, s: Settings) -> dict:
    training = modules.training
    x, y, _ = post_data(s.seed, s.n)
    print(f"== Regression: y = m x + b, lr {s.line_lr}, {s.line_iters} iterations")
    m, b = training.fit_linear_regression(x, y, lr=s.line_lr, iters=s.line_iters)
    print("m", TRUE_M, "m prime", round(float(m), 4))
    print("b", TRUE_B, "b prime", round(float(b), 4))
    print("MSE autodiff", _mse(y, m * x + b))
    print("MSE truth", _mse(y, TRUE_M * x + TRUE_B))
    return {"x": x, "y": y, "m": float(m), "b": float(b)}


def classification(modules: SimpleNamespace, s: Settings) -> dict:
    training = modules.training
    x, _, labels = post_data(s.seed, s.n)
    print(f"== Classification: P(y=1) = sigmoid(m x + b) on 0/1 labels, lr {s.classifier_lr}, "
          f"{s.classifier_iters} iterations")
    m, b = training.fit_logistic_regression(x, labels, lr=s.classifier_lr, iters=s.classifier_iters)
    print("m", TRUE_M, "m prime", round(float(m), 4))
    print("b", TRUE_B, "b prime", round(float(b), 4))
    print("Log loss autodiff", _log_loss(labels, _sigmoid(m * x + b)))
    print("Log loss truth", _log_loss(labels, _sigmoid(TRUE_M * x + TRUE_B)))
    return {"x": x, "labels": labels, "m": float(m), "b": float(b)}


def network(modules: SimpleNamespace, s: Settings) -> dict:
    training = modules.training
    x, _, labels = post_data(s.seed, s.n)
    names = ("m0_0", "m0_1", "b0_0", "b0_1", "m1_0", "m1_1", "b1")
    params = dict(zip(names, np.random.default_rng(s.network_seed).normal(size=len(names)).tolist(), strict=True))
    print(f"== \"Deep\" network: 2 hidden units, sigmoid output, on the same labels, lr {s.network_lr}, "
          f"{s.network_iters} iterations")
    fitted, history = training.train_deep_model(x, labels, params, lr=s.network_lr, iters=s.network_iters)
    for i, loss in enumerate(history):
        if i % s.network_every == 0 or i == len(history) - 1:
            print("Iter/Log loss: ", i, loss)
    return {"x": x, "labels": labels, "params": {name: float(fitted[name]) for name in names},
            "history": list(history)}


def network_output(params: dict[str, float], x: np.ndarray) -> np.ndarray:
    """The trained network's P(y = 1) at each x, computed with numpy from its parameters."""
    h0 = params["m0_0"] * x + params["b0_0"]
    h1 = params["m0_1"] * x + params["b0_1"]
    return _sigmoid(params["m1_0"] * h0 + params["m1_1"] * h1 + params["b1"])


def newton_against_descent(modules: SimpleNamespace, s: Settings) -> dict:
    """Stage 7: the classifier by Newton's method and by gradient descent, each loss's gap above the best."""
    x, _, labels = post_data(s.seed, s.n)
    print(f"== Newton's method against gradient descent (lr {s.descent_lr}) on the classifier's data")
    newton = [_mean_loss(modules.second_order.fit_logistic_regression_newton(x, labels, iters=k), x, labels)
              for k in range(s.newton_iters + 1)]
    try:
        descent = [_mean_loss(modules.batched.fit_logistic_regression_batched(x, labels, lr=s.descent_lr, iters=k),
                              x, labels) for k in s.descent_checkpoints]
    except NotImplementedError:
        print("   gradient descent skipped: exercise 'batched_fits' (stage 6) runs its steps here, and it is not done")
        descent = []
    best = min(newton + descent)
    for k, loss in enumerate(newton):
        print(f"Newton iteration {k:>4}: loss - best {loss - best:.3e}")
    for k, loss in zip(s.descent_checkpoints, descent, strict=False):
        print(f"Descent iteration {k:>4}: loss - best {loss - best:.3e}")
    return {"newton": [loss - best for loss in newton], "descent_iterations": list(s.descent_checkpoints[:len(descent)]),
            "descent": [loss - best for loss in descent]}


def _mean_loss(fit: tuple[float, float], x: np.ndarray, labels: np.ndarray) -> float:
    """The exact mean log loss of sigmoid(m x + b), from the logit (no clip): fine enough for gaps of 1e-15."""
    z = float(fit[0]) * x + float(fit[1])
    return float(np.mean(np.logaddexp(0.0, z) - labels * z))


EXPERIMENTS: tuple[tuple[str, str, Callable[[SimpleNamespace, Settings], dict]], ...] = (
    ("regression", "linear_regression", regression),
    ("classification", "logistic_regression", classification),
    ("network", "deep_training", network),
    ("newton", "newton", newton_against_descent),
)


def run(modules: SimpleNamespace, settings: Settings) -> dict[str, dict | None]:
    """Run the three experiments; one that raises is reported in a line and the others still run."""
    results: dict[str, dict | None] = {}
    for key, exercise, experiment in EXPERIMENTS:
        try:
            results[key] = experiment(modules, settings)
        except NotImplementedError:
            print(f"   skipped: exercise {exercise!r} is not done yet (`pytest --exercise {exercise}` shows the next step)")
            results[key] = None
        except Exception as exc:  # noqa: BLE001 - the learner's code may raise anything; report it, go on
            print(f"   failed: {type(exc).__name__}: {exc} (run `pytest --exercise {exercise}`)")
            results[key] = None
        print()
    return results


# ---------------------------------------------------------------- the figure (optional)


def save_figure(results: dict[str, dict | None], path: Path) -> Path | None:
    """One PNG, the three fits and the two loss curves, or None (after a one-line note) without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no window, no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        print("no figure: matplotlib is not installed in this Python; `nox -s demo` runs the demo in an "
              "environment that has it")
        return None
    fig, axes = plt.subplots(2, 3, figsize=FIGURE_SIZE)
    _plot_line(axes[0][0], results.get("regression"))
    _plot_classifier(axes[0][1], results.get("classification"))
    _plot_network(axes[0][2], results.get("network"))
    _plot_history(axes[1][0], results.get("network"))
    _plot_newton(axes[1][1], results.get("newton"))
    axes[1][2].axis("off")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=FIGURE_DPI)
    plt.close(fig)
    return path


def _affine(m: float, b: float, digits: int) -> str:
    return f"{m:.{digits}f} x {'-' if b < 0 else '+'} {abs(b):.{digits}f}"


def _not_run(ax: object, title: str) -> None:
    ax.set_title(title)
    ax.text(0.5, 0.5, "not run", ha="center", va="center", transform=ax.transAxes)


def _plot_line(ax: object, r: dict | None) -> None:
    if r is None:
        return _not_run(ax, "Regression")
    grid = np.linspace(r["x"].min(), r["x"].max(), 50)
    ax.scatter(r["x"], r["y"], s=10, alpha=0.6, label="data")
    ax.plot(grid, r["m"] * grid + r["b"], label=f"fit: {_affine(r['m'], r['b'], 3)}")
    ax.plot(grid, TRUE_M * grid + TRUE_B, "--", label=f"truth: {_affine(TRUE_M, TRUE_B, 0)}")
    ax.set(title="Regression", xlabel="x", ylabel="y")
    ax.legend()


def _plot_classifier(ax: object, r: dict | None) -> None:
    if r is None:
        return _not_run(ax, "Classification")
    grid = np.linspace(r["x"].min(), r["x"].max(), 200)
    ax.scatter(r["x"], r["labels"], s=10, alpha=0.4, label="labels")
    ax.plot(grid, _sigmoid(r["m"] * grid + r["b"]), label=f"fit: sigmoid({_affine(r['m'], r['b'], 2)})")
    ax.plot(grid, _sigmoid(TRUE_M * grid + TRUE_B), "--", label=f"truth: sigmoid({_affine(TRUE_M, TRUE_B, 0)})")
    ax.set(title="Classification", xlabel="x", ylabel="P(y = 1)")
    ax.legend()


def _plot_network(ax: object, r: dict | None) -> None:
    if r is None:
        return _not_run(ax, "Network")
    grid = np.linspace(r["x"].min(), r["x"].max(), 200)
    ax.scatter(r["x"], r["labels"], s=10, alpha=0.4, label="labels")
    ax.plot(grid, network_output(r["params"], grid), label="fit: the two-layer network")
    ax.plot(grid, _sigmoid(TRUE_M * grid + TRUE_B), "--", label=f"truth: sigmoid({_affine(TRUE_M, TRUE_B, 0)})")
    ax.set(title="Network", xlabel="x", ylabel="P(y = 1)")
    ax.legend()


def _plot_history(ax: object, r: dict | None) -> None:
    if r is None:
        return _not_run(ax, "Network: loss")
    ax.plot(range(len(r["history"])), r["history"])
    ax.set(title="Network: mean log loss", xlabel="iteration", ylabel="log loss")


def _plot_newton(ax: object, r: dict | None) -> None:
    if r is None:
        return _not_run(ax, "Newton against gradient descent")
    floor = 1e-17  # a gap of exactly 0 (the best loss itself) has no place on a log scale
    ax.plot(range(len(r["newton"])), np.maximum(r["newton"], floor), "o-", label="Newton's method")
    if r["descent"]:
        ax.plot(r["descent_iterations"], np.maximum(r["descent"], floor), "s-", label="gradient descent")
    ax.set_yscale("log")
    ax.set_xscale("symlog", linthresh=10)  # linear up to Newton's 10 steps, logarithmic for descent's thousands
    ax.set_xlim(left=0)
    ax.set(title=f"Classifier: loss above the best (0 drawn at {floor:g})", xlabel="iteration",
           ylabel="mean log loss - best")
    ax.legend()


# ---------------------------------------------------------------- command line


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m katatools demo", description=__doc__.splitlines()[0])
    default = "solutions" if (ROOT / "solutions").is_dir() else "katas"  # a learner's edition has no reference
    parser.add_argument("target", nargs="?", default=default,
                        help="katas (your code), solutions (the reference, the default where there is one) or a "
                             "directory of kata modules")
    parser.add_argument("--out", type=Path, default=OUT_DIR, metavar="DIR", help="where the PNG goes (default: demo-output/)")
    parser.add_argument("--quick", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else SETTINGS
    try:
        modules = load_modules(args.target)
    except Exception as exc:  # noqa: BLE001 - a missing or broken module: say which, do not crash
        print(f"demo: cannot load the {args.target!r} modules: {type(exc).__name__}: {exc}")
        return 1
    print(f"The post's experiments with {args.target} (seed {settings.seed}, n = {settings.n})\n")
    results = run(modules, settings)
    figure = save_figure(results, args.out / FIGURE_NAME)
    if figure is not None:
        print(f"figure written to {figure}")
    missing = [key for key, result in results.items() if result is None]
    if missing:
        print(f"not every experiment ran ({', '.join(missing)}): finish the exercises named above, then run the "
              f"demo again")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

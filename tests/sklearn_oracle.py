"""scikit-learn's answers to the suite's questions, remembered per scikit-learn version.

Several tests compare the learner's code with scikit-learn: the datasets it ships, its losses on
fixed arrays, its fitted models. Importing scikit-learn takes over a second per process (it
imports scipy.stats), which would be most of the time a learner waits for ``nox -s check``.
Yet none of these questions depends on the code under test: each is a pure function of its
arguments and of the installed scikit-learn. So each answer is computed once, by scikit-learn,
and stored as an ``.npz`` under a key made of

    the question's name and source code, its arguments, and the scikit-learn and numpy versions.

A later run with the same key reads the file and never imports scikit-learn. Any change to a
question, its inputs or the libraries is a new key, so a stored answer is never stale; a file
that cannot be read is asked again. The comparisons themselves always run, in every test.

Where: ``.kata-cache/sklearn/`` beside ``tests/``, or the folder in ``KATA_SKLEARN_CACHE``;
``KATA_SKLEARN_CACHE=off`` always asks scikit-learn. A fresh clone, as in CI, asks it too. The
grader asks once, on the reference, and gives each stage run its own fresh copy, so that no
stage reads an answer a submission's code could have written (katatools/grading/grade.py).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.metadata
import inspect
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

from katatools.plugin import oracle

CACHE_VARIABLE = "KATA_SKLEARN_CACHE"
DEFAULT_CACHE = Path(__file__).resolve().parent.parent / ".kata-cache" / "sklearn"

Answer = dict[str, np.ndarray]


def cache_dir() -> Path | None:
    """Where answers are kept, or None when they must always be computed."""
    setting = os.environ.get(CACHE_VARIABLE, "")
    if setting.lower() == "off":
        return None
    return Path(setting) if setting else DEFAULT_CACHE


@functools.cache
def library_versions() -> str:
    """The versions an answer depends on (read from the installed metadata: no import)."""
    return " ".join(f"{name}=={importlib.metadata.version(name)}" for name in ("scikit-learn", "numpy"))


def _feed(digest: hashlib._Hash, value: object) -> None:
    """Hash a value by type and content: arrays by dtype, shape and bytes; the rest by repr."""
    if isinstance(value, np.ndarray):
        array = np.ascontiguousarray(value)
        digest.update(f"array {array.dtype.str} {array.shape}".encode())
        digest.update(array.tobytes())
    elif isinstance(value, (list, tuple)):
        digest.update(f"{type(value).__name__} {len(value)}".encode())
        for item in value:
            _feed(digest, item)
    elif value is None or isinstance(value, (bool, int, float, str)):
        digest.update(f"{type(value).__name__} {value!r}".encode())
    else:
        raise TypeError(f"sklearn_oracle: cannot key an argument of type {type(value).__name__}")


def question_key(question: Callable, args: tuple, kwargs: dict) -> str:
    digest = hashlib.sha256()
    for part in (question.__qualname__, inspect.getsource(question), library_versions()):
        digest.update(part.encode())
    _feed(digest, list(args))
    _feed(digest, sorted(kwargs.items()))
    return digest.hexdigest()[:32]


def _load(path: Path) -> Answer | None:
    try:
        with np.load(path, allow_pickle=False) as stored:
            return {name: stored[name] for name in stored.files}
    except (OSError, ValueError, EOFError):  # missing, truncated or not an npz: ask again
        return None


def _store(path: Path, answer: Answer) -> None:
    """Write atomically (two checks may ask at once); a folder that cannot be written is no error."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".partial")
        with os.fdopen(handle, "wb") as f:
            np.savez(f, **answer)
        os.replace(partial, path)
    except OSError:
        pass


def remembered(question: Callable[..., dict[str, object]]) -> Callable[..., Answer]:
    """Decorate a question to scikit-learn; it returns named arrays, read back as stored.

    Asking is an oracle's work, not the learner's: the running test's clock stops meanwhile
    (``oracle``), and the answer is stored as soon as it is known, whatever the test does next.
    """

    @oracle
    @functools.wraps(question)
    def ask(*args: object, **kwargs: object) -> Answer:
        folder = cache_dir()
        path = folder / f"{question.__name__}-{question_key(question, args, kwargs)}.npz" if folder else None
        if path is not None and (answer := _load(path)) is not None:
            return answer
        answer = {name: np.asarray(value) for name, value in question(*args, **kwargs).items()}
        if path is not None:
            _store(path, answer)
        return answer

    return ask


# ---------------------------------------------------------------- the questions


@remembered
def dataset_column(name: str, column: int, rows: int | None = None) -> dict[str, object]:
    """One feature of a dataset shipped inside scikit-learn (no download), and its target."""
    from sklearn import datasets

    data = getattr(datasets, f"load_{name}")()
    return {"x": data.data[:rows, column], "target": data.target[:rows]}


@remembered
def metric_values(metric: str, y_true: np.ndarray, predictions: np.ndarray, labels: tuple | None = None) -> dict[str, object]:
    """``sklearn.metrics.<metric>(y_true, row)`` for each row of ``predictions``."""
    from sklearn import metrics

    function = getattr(metrics, metric)
    options = {} if labels is None else {"labels": list(labels)}
    return {"values": [function(y_true, row, **options) for row in predictions]}


@remembered
def linear_regression(x: np.ndarray, y: np.ndarray) -> dict[str, object]:
    """LinearRegression on one feature: slope, intercept and the fitted values."""
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(x[:, None], y)
    return {"slope": model.coef_[0], "intercept": model.intercept_, "fitted": model.predict(x[:, None])}


@remembered
def logistic_regression(x: np.ndarray, labels: np.ndarray) -> dict[str, object]:
    """Unregularised LogisticRegression on one feature: slope, intercept, P(label 1), accuracy."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(x[:, None], labels)
    return {"slope": model.coef_[0, 0], "intercept": model.intercept_[0],
            "probability": model.predict_proba(x[:, None])[:, 1], "accuracy": model.score(x[:, None], labels)}


@remembered
def dataset(name: str) -> dict[str, object]:
    """Every feature of a dataset shipped inside scikit-learn (no download), and its target."""
    from sklearn import datasets

    data = getattr(datasets, f"load_{name}")()
    return {"X": data.data, "target": data.target}


@remembered
def moons(n_samples: int, noise: float, seed: int) -> dict[str, object]:
    """make_moons: two interleaved half circles in the plane, with Gaussian noise, and their 0/1 labels."""
    from sklearn.datasets import make_moons

    X, y = make_moons(n_samples=n_samples, noise=noise, random_state=seed)
    return {"X": X, "y": y}


@remembered
def logistic_regression_l2(X: np.ndarray, labels: np.ndarray, C: float) -> dict[str, object]:
    """LogisticRegression(C=C) (L2 penalty, unpenalised intercept) on every column of X, solved tightly."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=C, tol=1e-12, max_iter=10000).fit(X, labels)
    return {"coef": model.coef_[0], "intercept": model.intercept_[0], "accuracy": model.score(X, labels)}

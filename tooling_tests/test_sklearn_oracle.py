"""tests/sklearn_oracle.py: scikit-learn's answers are remembered, never stale, never forged in grading."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pytest

from katatools.grading.children import child_environment
from katatools.manifest import ROOT

sys.path.insert(0, str(ROOT / "tests"))
import sklearn_oracle  # noqa: E402


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "answers"
    monkeypatch.setenv(sklearn_oracle.CACHE_VARIABLE, str(folder))
    return folder


def stored(folder):
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


def test_an_answer_is_scikit_learns_own(cache):
    from sklearn.linear_model import LogisticRegression

    x = np.linspace(-2.0, 2.0, 40)
    labels = (np.sin(5 * x) + x > 0).astype(float)
    answer = sklearn_oracle.logistic_regression(x, labels)
    model = LogisticRegression(C=np.inf, tol=1e-10, max_iter=1000).fit(x[:, None], labels)
    assert answer["slope"] == model.coef_[0, 0] and answer["intercept"] == model.intercept_[0]
    assert np.array_equal(answer["probability"], model.predict_proba(x[:, None])[:, 1])
    assert len(stored(cache)) == 1


def test_a_stored_answer_is_read_back_without_importing_scikit_learn(cache):
    first = sklearn_oracle.dataset_column("diabetes", 2, rows=50)
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT / "tests")!r})
        import numpy as np
        import sklearn_oracle
        answer = sklearn_oracle.dataset_column("diabetes", 2, rows=50)
        assert "sklearn" not in sys.modules, "scikit-learn was imported for a stored answer"
        print(answer["x"].tobytes().hex())
    """)
    env = {**child_environment(cache.parent), sklearn_oracle.CACHE_VARIABLE: str(cache)}
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=1800)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == first["x"].tobytes().hex()


def test_each_argument_and_each_library_version_is_its_own_question(cache, monkeypatch):
    y = np.array([0.0, 1.0, 1.0])
    one = sklearn_oracle.metric_values("log_loss", y, np.array([[0.2, 0.7, 0.9]]), (0, 1))
    other = sklearn_oracle.metric_values("log_loss", y, np.array([[0.2, 0.7, 0.8]]), (0, 1))
    assert one["values"][0] != other["values"][0] and len(stored(cache)) == 2
    monkeypatch.setattr(sklearn_oracle, "library_versions", lambda: "scikit-learn==0.0 numpy==0.0")
    sklearn_oracle.metric_values("log_loss", y, np.array([[0.2, 0.7, 0.9]]), (0, 1))
    assert len(stored(cache)) == 3


def test_a_damaged_answer_is_asked_again(cache):
    y, p = np.array([1.0, 2.0]), np.array([[1.5, 2.5]])
    expected = sklearn_oracle.metric_values("mean_squared_error", y, p)["values"][0]
    (path,) = stored(cache)
    path.write_bytes(b"not an npz")
    assert sklearn_oracle.metric_values("mean_squared_error", y, p)["values"][0] == expected == 0.25
    assert np.load(path)["values"][0] == 0.25


def test_off_always_asks_scikit_learn_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(sklearn_oracle.CACHE_VARIABLE, "off")
    monkeypatch.setattr(sklearn_oracle, "DEFAULT_CACHE", tmp_path / "default")
    assert sklearn_oracle.metric_values("mean_squared_error", np.zeros(2), np.ones((1, 2)))["values"][0] == 1.0
    assert list(tmp_path.iterdir()) == []


def test_a_folder_that_cannot_be_written_still_gets_answers(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(sklearn_oracle.CACHE_VARIABLE, str(blocker / "answers"))
    assert sklearn_oracle.metric_values("mean_squared_error", np.zeros(2), np.ones((1, 2)))["values"][0] == 1.0


def test_an_unkeyable_argument_is_a_clear_error(cache):
    with pytest.raises(TypeError, match="cannot key an argument of type dict"):
        sklearn_oracle.metric_values("mean_squared_error", {"y": 1}, np.ones((1, 2)))


def test_a_grader_child_reads_only_the_answers_it_is_given(tmp_path):
    assert child_environment(tmp_path)[sklearn_oracle.CACHE_VARIABLE] == "off"
    given = tmp_path / "answers"
    assert child_environment(tmp_path, given)[sklearn_oracle.CACHE_VARIABLE] == str(given)


def run_reference_suite(marks: str, folder) -> subprocess.CompletedProcess:
    env = {**child_environment(folder.parent), sklearn_oracle.CACHE_VARIABLE: str(folder)}
    command = [sys.executable, "-m", "pytest", "tests", "--target=solutions", "-q", "-p", "no:cacheprovider",
               "--kata-summary=no", "-m", marks]
    return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_exactly_the_tests_marked_asks_sklearn_ask_it(tmp_path):
    """The grader asks scikit-learn once, through the marked tests: an unmarked asker would ask in every child."""
    unmarked = run_reference_suite("not asks_sklearn", tmp_path / "unmarked")
    assert unmarked.returncode == 0, unmarked.stdout + unmarked.stderr
    assert stored(tmp_path / "unmarked") == [], "a test asks scikit-learn without @pytest.mark.asks_sklearn"
    marked = run_reference_suite("asks_sklearn", tmp_path / "marked")
    assert marked.returncode == 0, marked.stdout + marked.stderr
    assert stored(tmp_path / "marked"), "the tests marked asks_sklearn asked scikit-learn nothing"

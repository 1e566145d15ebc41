"""What a grading learns from the grader's own code before any submission: the tests to expect,
and scikit-learn's answers to the tests' questions.

Two runs of the grader's own, at once: the tests collected on the pristine stubs (every stage's
node ids and exercises), and the ``asks_sklearn`` tests on the reference, which store scikit-learn's
answers. When nothing they depend on has changed (``reference_key``), the last grading's findings
are reused from ``.kata-cache/grader`` (the answers themselves in scikit-learn's own store).
"""

from __future__ import annotations

import concurrent.futures
import hashlib
import importlib.metadata
import json
import os
import shutil
import sys
from collections.abc import Mapping
from pathlib import Path

from ..manifest import ROOT, Manifest, Stage
from .children import Children

REFERENCE_TEST_TIMEOUT = 120.0  # seconds per test when the grader runs the reference itself (trusted, maybe busy)

Expected = dict[str, dict[str, str]]  # stage name -> {test node id: exercise}


class GradeError(RuntimeError):
    """The grader itself cannot run (its own tests do not collect, ...)."""


def reference_key(root: Path, stages: list[Stage], selection: list[str]) -> str:
    """A digest of everything the reference runs depend on: the grader's code and tests, the
    reference, the manifest and configuration, the libraries' versions, what is graded."""
    digest = hashlib.sha256(json.dumps([sys.version, [s.name for s in stages], selection]).encode())
    for module in ("pytest", "hypothesis", "numpy", "sklearn"):
        try:
            digest.update(f"{module}={importlib.metadata.version('scikit-learn' if module == 'sklearn' else module)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{module}=none".encode())
    files = [root / "exercises.toml", root / "pyproject.toml"]
    for folder in ("tests", "katatools", "solutions"):
        files += sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def stored_answers(root: Path = ROOT) -> Path | None:
    """The repository's store of scikit-learn's answers, unless KATA_SKLEARN_CACHE turns it off or moves it."""
    chosen = os.environ.get("KATA_SKLEARN_CACHE")
    if chosen == "off":
        return None
    return Path(chosen) if chosen else root / ".kata-cache" / "sklearn"


def keep_answers(store: Path, answers: dict[str, bytes]) -> None:
    """Store the answers the store lacks (each written whole, then renamed); a store that cannot be
    written is only a lost speed-up."""
    try:
        store.mkdir(parents=True, exist_ok=True)
        for name, content in answers.items():
            if not (store / name).exists():
                partial = store / f".{name}.{os.getpid()}.partial"
                partial.write_bytes(content)
                os.replace(partial, store / name)
    except OSError:
        pass


class ReferenceRuns:
    """The grader's own runs for ``stages`` (``selection``: the exercises graded, when only a few),
    in ``children``'s workspaces. ``reference``: module -> source, None without a reference."""

    def __init__(self, children: Children, manifest: Manifest, root: Path, stages: list[Stage],
                 selection: list[str], reference: Mapping[str, str] | None, test_timeout: float) -> None:
        self.children, self.manifest, self.root = children, manifest, root
        self.stages, self.selection, self.reference, self.test_timeout = stages, selection, reference, test_timeout

    def results(self) -> tuple[Expected, dict[str, bytes]]:
        """The tests to expect and scikit-learn's answers: from two runs of the grader's own (at
        once), or, when nothing they depend on has changed since the last grading, from what that
        grading stored in ``.kata-cache/grader`` (the answers themselves in scikit-learn's own store)."""
        store, memo = stored_answers(self.root), None
        if store is not None:
            memo = store.parent / "grader" / f"{reference_key(self.root, self.stages, self.selection)}.json"
            try:
                saved = json.loads(memo.read_text(encoding="utf-8"))
                answers = {name: (store / name).read_bytes() for name in saved["answers"]}
                return {stage: dict(tests) for stage, tests in saved["expected"].items()}, answers
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass  # never stored, or not readable: ask the reference
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            collecting, asking = pool.submit(self.collect), pool.submit(self.ask_sklearn)
            expected, answers = collecting.result(), asking.result()
        if memo is not None:
            try:
                memo.parent.mkdir(parents=True, exist_ok=True)
                partial = memo.with_name(f".{memo.name}.{os.getpid()}.partial")
                partial.write_text(json.dumps({"expected": expected, "answers": sorted(answers)}), encoding="utf-8")
                os.replace(partial, memo)
            except OSError:
                pass
        return expected, answers

    def collect(self) -> Expected:
        """Stage name -> {test node id: exercise}, from the grader's own tests (--collect-only, on the stubs)."""
        folder = self.children.folder("collect-")
        self.children.template.workspace(folder / "ws", self.children.stubs)
        tests = [s.tests for s in self.stages]
        run = self.children.run(folder, tests, "cumulative", ["--collect-only"], 300, answers="off")
        if run.report is None or run.returncode != 0:
            raise GradeError(f"the grader's own tests do not collect ({run.problem}):\n{run.output[-3000:]}")
        expected: Expected = {s.name: {} for s in self.stages}
        for record in run.report.tests:
            stage = self.manifest.stage_of_test_file(record.nodeid.split("::")[0])
            if stage is not None and stage.name in expected:
                expected[stage.name][record.nodeid] = record.exercise
        return expected

    def ask_sklearn(self) -> dict[str, bytes]:
        """scikit-learn's answers to the tests' questions, asked once by running the ``asks_sklearn``
        tests on the reference, in a folder no submission's run can see. None depends on the code
        under test, so each stage run of each submission gets a fresh, read-only copy of them and
        never imports scikit-learn. Without a reference: none, and each run asks scikit-learn itself
        (never reading a stored answer, which its submission could have written).

        The run starts from the answers this repository has stored (``.kata-cache/sklearn``, see
        tests/sklearn_oracle.py), so that scikit-learn is only asked what it was never asked; the
        reference must pass every comparison with them, and new answers are stored back."""
        if self.reference is None:
            return {}
        folder = self.children.folder("reference-")
        workspace = self.children.template.workspace(folder / "ws", {f"{m}.py": text for m, text in self.reference.items()})
        answers_dir = folder / "answers"  # writable: the reference's run stores what it asks
        answers_dir.mkdir()
        store = stored_answers(self.root)
        if store is not None and store.is_dir():
            for path in store.glob("*.npz"):
                shutil.copyfile(path, answers_dir / path.name)
        patient = f"--kata-timeout={max(self.test_timeout, REFERENCE_TEST_TIMEOUT):g}"  # the reference, on a busy machine
        run = self.children.run(folder, [s.tests for s in self.stages], "cumulative", ["-m", "asks_sklearn", patient],
                                600, answers=str(answers_dir))
        if run.returncode not in (0, 5):  # 5: no such test in the stages graded
            why = run.problem or f"exit code {run.returncode}"
            raise GradeError(f"the reference fails the grader's own scikit-learn comparisons ({why}):\n"
                             f"{run.output[-3000:]}")
        del workspace
        answers = {path.name: path.read_bytes() for path in sorted(answers_dir.glob("*.npz"))}
        if store is not None:
            keep_answers(store, answers)
        shutil.rmtree(folder, ignore_errors=True)
        return answers

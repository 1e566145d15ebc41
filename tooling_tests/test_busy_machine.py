"""Issue 23's proof: on a busy machine, a fresh clone's first check passes the reference, and a Variable
ten times slower, every exercise of every stage.

A fresh copy of the learner's side of the repository (learner_repo.make_repo) whose katas/ hold the
reference, or the corpus's 10x slower Variable (``training_with_a_10x_slower_variable`` in
alternatives/training.toml, built by the corpus runner), with an empty scikit-learn store
(``KATA_SKLEARN_CACHE``: a new, empty folder, so this first check asks scikit-learn itself), and six
CPU-bound processes beside it on this 2-core machine, started here and ended by their pids however the
test ends. ``python -m katatools check`` with its defaults (5 s of CPU time per test, one job per CPU)
must say that every exercise is done, exit 0, and time out nowhere: a test's limit counts its CPU
time, scikit-learn's answers are asked with the clock stopped, and a run's budget counts CPU time too.

Both clones are checked at once, beside the same six processes. Minutes by nature (the whole suite,
most of it at a fraction of a core): marked ``slow``
(registered in tooling_tests/conftest.py).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from learner_repo import MANIFEST, child_env, make_repo

from katatools.manifest import ROOT
from katatools.proofs.corpus import load_corpus, reference_sources
from katatools.runner import cpu_bound_neighbours

pytestmark = pytest.mark.slow

NEIGHBOURS = 6
SLOW_ALTERNATIVE = "training_with_a_10x_slower_variable"


def package(name: str) -> dict[str, str]:
    """File name -> text of the kata modules: the reference's, or the 10x slower Variable's."""
    if name == "reference":
        return reference_sources(MANIFEST, ROOT / "solutions")
    corpus = load_corpus(ROOT / "alternatives", MANIFEST)
    entry = next((e for e in corpus.entries if e.name == SLOW_ALTERNATIVE), None)
    assert entry is not None, f"alternatives/: no {SLOW_ALTERNATIVE!r}: {corpus.problems}"
    assert {s.name for s in entry.stages} == set(MANIFEST.stage_names), "the slow Variable must run every stage"
    return entry.sources


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


KINDS = ["reference", "10x slower Variable"]


@pytest.fixture(scope="module")
def first_checks(tmp_path_factory) -> dict[str, tuple[subprocess.CompletedProcess, object]]:
    """Both fresh clones checked at once, beside the same six CPU-bound processes (eight busy processes
    and more on two cores: harsher than one clone at a time, and half the minutes)."""
    clones = {}
    for kind in KINDS:
        folder = tmp_path_factory.mktemp(kind.replace(" ", "-"))
        repo = make_repo(folder / "clone")
        for name, text in package(kind).items():
            (repo / "katas" / name).write_text(text, encoding="utf-8")
        assert not (repo / ".kata-cache").exists(), "a fresh clone has no verdicts, costs or answers yet"
        answers = folder / "answers"
        answers.mkdir()
        clones[kind] = repo, answers
    with cpu_bound_neighbours(NEIGHBOURS) as pids:
        children = {kind: subprocess.Popen([sys.executable, "-m", "katatools", "check"], cwd=repo,
                                           env=child_env(KATA_SKLEARN_CACHE=str(answers)), stdout=subprocess.PIPE,
                                           stderr=subprocess.STDOUT, text=True)
                    for kind, (repo, answers) in clones.items()}
        try:
            done = {kind: (child.communicate(timeout=3600)[0], child.returncode) for kind, child in children.items()}
        finally:
            for child in children.values():
                child.kill()
        assert all(alive(pid) for pid in pids), "a neighbour stopped before the checks ended"
    assert not any(alive(pid) for pid in pids)
    return {kind: (done[kind], clones[kind][1]) for kind in KINDS}


@pytest.mark.parametrize("katas", KINDS)
def test_the_first_check_of_a_fresh_clone_beside_six_cpu_bound_processes(first_checks, katas):
    (output, returncode), answers = first_checks[katas]
    count = len(MANIFEST.exercises)
    assert returncode == 0, output
    assert f"{count} of {count} exercises done" in output, output
    assert "timed out" not in output and "ran out of time" not in output, output
    assert "earlier check" not in output, "a first check reuses no verdict"
    assert list(answers.glob("*.npz")), "the first check did not ask scikit-learn itself"

"""Stage 8 (reverse mode): the recursive backward of alternatives/reverse.toml is correct on shallow
graphs, and the deep chain tests fail it saying why: Python's recursion limit."""

from __future__ import annotations

from katatools import corpus, stubs
from katatools.check import CHECK_TIMEOUT
from katatools.manifest import load_manifest
from katatools.report import PASSED

RECURSIVE = "reverse_recursive_topological_order"
DEEP_TESTS = {"test_deep_chain", "test_deep_chain_through_operators", "test_topological_order_of_a_deep_chain"}


def test_a_recursive_backward_fails_only_the_deep_chains_and_says_why():
    manifest = load_manifest()
    loaded = corpus.load_corpus(corpus.CORPUS_DIR, manifest, stubs.REFERENCE_DIR)
    (entry,) = [e for e in loaded.entries if e.name == RECURSIVE]
    run = corpus.run_package(entry.sources, entry.stages, ["backward"], CHECK_TIMEOUT)
    assert run.report is not None, run.output[-2000:]
    failed = {t.nodeid.split("::")[1]: t.message for t in run.report.tests if t.status != PASSED}
    assert set(failed) == DEEP_TESTS, failed  # every shallow graph (diamonds, sharing, random graphs) passes
    for name, message in failed.items():
        assert "RecursionError" in message and "recursion limit" in message and "stack" in message, (name, message)

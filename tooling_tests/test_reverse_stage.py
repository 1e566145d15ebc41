"""Stage 8 (reverse mode): the recursive backward of alternatives/reverse.toml is correct on shallow
graphs, and the deep chain tests fail it saying why: Python's recursion limit."""

from __future__ import annotations

import pytest

from katatools import stubs
from katatools.learner.check import CHECK_TIMEOUT
from katatools.manifest import load_manifest
from katatools.proofs import corpus
from katatools.report import PASSED

RECURSIVE = "reverse_recursive_topological_order"
DEEP_TESTS = {"test_deep_chain", "test_deep_chain_through_operators", "test_topological_order_of_a_deep_chain"}


@pytest.mark.slow
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


def test_the_modes_document_quotes_what_exercise_crossover_measures():
    """docs/modes.md's "When each mode wins" gives the crossings a learner measures with the reference's graph."""
    import re
    import sys

    from katatools.manifest import ROOT
    from katatools.packages import import_stage_modules, load_package

    sys.path.insert(0, str(ROOT / "tests"))
    from test_reverse import negated_sum_of, product_of, scaled_copies

    manifest = load_manifest()
    reverse = import_stage_modules(load_package(ROOT / "solutions", "solutions"), list(manifest.stages))["reverse"]
    modes = (ROOT / "docs" / "modes.md").read_text(encoding="utf-8")
    rows = {row.split("|")[1].strip(): [c.strip() for c in row.split("|")[2:5]]
            for row in modes.splitlines() if re.match(r"\| (x_1 x_2|40 negations|\(1\.5 x)", row)}
    products, negations, copies = rows.values()
    assert products[2] == f"n = {reverse.crossover(product_of)}" and negations[2] == f"n = {reverse.crossover(negated_sum_of)}"
    assert reverse.costs(product_of(5), *[1.0] * 5) == (5 * 4, 3 * 4)  # n (n - 1), 3 (n - 1)
    assert reverse.costs(negated_sum_of(5), *[1.0] * 5) == (5 * (5 + 39), 3 * 4 + 80)
    assert reverse.costs(scaled_copies(6), 2.0) == (6, 18) and copies[2] == "never"

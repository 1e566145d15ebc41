"""Tests of `python -m katatools prove-stubs`: no kata test may pass against a stub by accident."""

from __future__ import annotations

import shutil

from katatools import prove_stubs
from katatools.manifest import load_manifest
from katatools.stubs import PRISTINE_DIR


def stubs_with(tmp_path, module, find, replace):
    """A copy of the pristine stubs with one exercise of ``module`` implemented."""
    stubs = tmp_path / "stubs"
    shutil.copytree(PRISTINE_DIR, stubs)
    path = stubs / f"{module}.py"
    text = path.read_text(encoding="utf-8")
    assert text.count(find) == 1, f"the stub of {module}.py changed: update this test's find string {find!r}"
    path.write_text(text.replace(find, replace), encoding="utf-8")
    return stubs


def test_pristine_stubs_pass_in_both_modes_for_one_stage(capsys):
    manifest = load_manifest()
    for mode in prove_stubs.MODES:
        assert prove_stubs.prove(manifest, mode, exercises=["variable"])
    out = capsys.readouterr().out
    assert "prove-stubs (cumulative): all" in out and "prove-stubs (isolated): all" in out


def test_an_implemented_stub_is_caught_passing(tmp_path, capsys):
    stubs = stubs_with(tmp_path, "variable", 'raise NotImplementedError("exercise \'neg\'',
                       'return Variable(-self.value, -self.grad)  # ("exercise \'neg\'')
    assert not prove_stubs.prove(load_manifest(), "cumulative", stubs, ["neg"])
    out = capsys.readouterr().out
    assert "test_neg_exact" in out and "passed (expected not_started)" in out
    assert "prove-stubs (cumulative): FAILED" in out


def test_a_pass_that_needs_the_earlier_stages_is_caught_in_isolated_mode(tmp_path, capsys):
    # mse written with the stage-1 operators: on the stage-1 stubs it still reaches a
    # NotImplementedError, so only the isolated run (reference stage 1) shows it passing.
    stubs = stubs_with(tmp_path, "losses", "raise NotImplementedError(\"exercise 'mse'",
                       "return (true_val - pred_val) ** Variable(2.0, 0.0)  # (\"exercise 'mse'")
    manifest = load_manifest()
    assert prove_stubs.prove(manifest, "cumulative", stubs, ["mse"])
    assert not prove_stubs.prove(manifest, "isolated", stubs, ["mse"])
    out = capsys.readouterr().out
    assert "prove-stubs (isolated): FAILED" in out and "passed (expected not_started)" in out

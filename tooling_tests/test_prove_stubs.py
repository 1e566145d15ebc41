"""Tests of `python -m katatools prove-stubs`: no kata test may pass against a stub by accident."""

from __future__ import annotations

from katatools.manifest import load_manifest
from katatools.proofs import prove_stubs
from katatools.stubs import generated_stubs, write_package


def stubs_with(tmp_path, *done):
    """The generated stubs with the exercises ``done`` implemented as in the reference."""
    manifest = load_manifest()
    stubbed = [e.name for e in manifest.exercises if e.name not in done]
    return write_package(tmp_path / "stubs", generated_stubs(manifest, exercises=stubbed))


def test_pristine_stubs_pass_in_both_modes_for_one_stage(capsys):
    manifest = load_manifest()
    for mode in prove_stubs.MODES:
        assert prove_stubs.prove(manifest, mode, exercises=["variable"])
    out = capsys.readouterr().out
    assert "prove-stubs (cumulative): all" in out and "prove-stubs (isolated): all" in out


def test_an_implemented_stub_is_caught_passing(tmp_path, capsys):
    stubs = stubs_with(tmp_path, "neg")
    assert not prove_stubs.prove(load_manifest(), "cumulative", stubs, ["neg"])
    out = capsys.readouterr().out
    assert "test_neg_exact" in out and "passed (expected not_started)" in out
    assert "prove-stubs (cumulative): FAILED" in out


def test_a_pass_that_needs_the_earlier_stages_is_caught_in_isolated_mode(tmp_path, capsys):
    # mse written with the stage-1 operators: on the stage-1 stubs it still reaches a
    # NotImplementedError, so only the isolated run (reference stage 1) shows it passing.
    stubs = stubs_with(tmp_path, "mse")
    manifest = load_manifest()
    assert prove_stubs.prove(manifest, "cumulative", stubs, ["mse"])
    assert not prove_stubs.prove(manifest, "isolated", stubs, ["mse"])
    out = capsys.readouterr().out
    assert "prove-stubs (isolated): FAILED" in out and "passed (expected not_started)" in out


def test_the_midway_run_covers_the_stages_that_extend_an_earlier_module():
    manifest = load_manifest()
    assert [s.name for s in prove_stubs.extending_stages(manifest)] == ["tangents", "second_order"]

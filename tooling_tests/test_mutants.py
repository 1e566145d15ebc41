"""Tests of the mistake-corpus runner, katatools/proofs/mutants.py (`nox -s mutants`)."""

from __future__ import annotations

import textwrap

import pytest

from katatools.manifest import load_manifest
from katatools.proofs import mutants
from katatools.proofs.mutants import CorpusError, Patch, apply_patches, load_corpus

REFERENCE = mutants.REFERENCE_DIR
NEG_LINE = "return Variable(-self.value, -self.grad)"


def write_corpus(directory, stage, body):
    directory.mkdir(exist_ok=True)
    (directory / f"{stage}.toml").write_text(textwrap.dedent(body), encoding="utf-8")
    return directory


def neg_mistake(name, replace, find=NEG_LINE):
    return f"""
    [[mistake]]
    name = "{name}"
    exercise = "neg"
    description = "a test mistake"
    [[mistake.patch]]
    find = '{find}'
    replace = '{replace}'
    """


# ---------------------------------------------------------------- patches (no pytest run)


def test_apply_patches_in_order():
    patched = apply_patches("a = 1\nb = 2\n", [Patch("a = 1", "a = 3"), Patch("a = 3", "a = 4")])
    assert patched == "a = 4\nb = 2\n"


@pytest.mark.parametrize("patches, message", [
    ([Patch("c = 1", "c = 2")], "not found"),
    ([Patch("= ", "=")], "found 2 times"),
    ([Patch("a = 1", "a = 1")], "changes nothing"),
    ([Patch("a = 1", "a = 2"), Patch("a = 2", "a = 1")], "unchanged"),
    ([Patch("a = 1", "a = (1")], "not valid Python"),
])
def test_apply_patches_rejects_stale_noop_and_broken_patches(patches, message):
    with pytest.raises(CorpusError, match=message):
        apply_patches("a = 1\nb = 2\n", patches)


def test_load_corpus_reports_unknown_exercise_wrong_stage_and_duplicates(tmp_path):
    write_corpus(tmp_path, "variable", neg_mistake("one", "return Variable(-self.value, self.grad)")
                 + neg_mistake("one", "return Variable(self.value, -self.grad)")
                 + neg_mistake("two", "x").replace('"neg"', '"no_such_exercise"')
                 + neg_mistake("three", "x").replace('"neg"', '"log"'))
    (tmp_path / "nonsense.toml").write_text("", encoding="utf-8")
    corpus = load_corpus(tmp_path, load_manifest(), REFERENCE)
    assert [m.name for m in corpus.mistakes] == ["one"]
    text = "\n".join(corpus.problems)
    assert "also defined" in text
    assert "unknown exercise 'no_such_exercise'" in text
    assert "belongs to stage 'primitives'" in text
    assert "nonsense.toml: not a stage" in text


def test_the_real_corpus_loads_cleanly():
    corpus = load_corpus(mutants.MISTAKES_DIR, load_manifest(), REFERENCE)
    assert corpus.problems == []
    assert len({m.name for m in corpus.mistakes}) == len(corpus.mistakes)


# ---------------------------------------------------------------- the command (runs pytest)


def test_a_caught_mistake_is_reported_caught(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "m", "variable", neg_mistake("neg_keeps_grad", "return Variable(-self.value, self.grad)"))
    assert mutants.main(["--mistakes", str(corpus), "--exercise", "neg", "--jobs", "1", "-v"]) == 0
    out = capsys.readouterr().out
    assert "neg                  1 of 1 caught" in out
    assert "caught  neg_keeps_grad" in out
    assert "mutants: 1 of 1 mistakes caught" in out


def test_an_escaping_mistake_fails_the_run(tmp_path, capsys):
    # -1 * g equals -g for every float: no test can tell, so the mistake escapes.
    corpus = write_corpus(tmp_path / "m", "variable",
                          neg_mistake("neg_times_minus_one", "return Variable(-self.value, -1 * self.grad)"))
    assert mutants.main(["--mistakes", str(corpus), "--exercise", "neg", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "0 of 1 caught" in out
    assert "ESCAPED neg_times_minus_one" in out
    assert "mutants: FAILED" in out


def test_a_stale_patch_is_an_error_not_a_pass(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "m", "variable",
                          neg_mistake("stale", "return Variable(self.value, self.grad)", find="return Variable(-self.v, -self.g)")
                          + neg_mistake("fine", "return Variable(-self.value, self.grad)"))
    assert mutants.main(["--mistakes", str(corpus), "--exercise", "neg", "--jobs", "1"]) == 1
    out = capsys.readouterr().out
    assert "ERROR variable.toml: mistake 'stale': patch 1: find string not found" in out
    assert "1 corpus errors" in out


def test_an_exercise_without_mistakes_is_an_error(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "m", "variable", "")
    assert mutants.main(["--mistakes", str(corpus), "--exercise", "neg"]) == 1
    assert "exercise 'neg' has no mistake" in capsys.readouterr().out


def test_unknown_exercise_is_a_usage_error(capsys):
    assert mutants.main(["--exercise", "no_such_exercise"]) == 2
    assert "unknown exercise" in capsys.readouterr().err


def test_a_patch_may_name_an_earlier_module_its_stage_extends(tmp_path, capsys):
    corpus = write_corpus(tmp_path / "m", "tangents", """
    [[mistake]]
    name = "sum_keeps_one_tangent"
    exercise = "reductions"
    description = "a test mistake in variable.py"
    [[mistake.patch]]
    module = "variable"
    find = "grad = grad.reshape(len(grad), -1).sum(axis=1)"
    replace = "grad = np.sum(grad)"
    """)
    assert mutants.main(["--mistakes", str(corpus), "--exercise", "reductions", "--jobs", "1"]) == 0
    assert "reductions           1 of 1 caught" in capsys.readouterr().out


def test_a_patch_may_not_name_a_module_its_stage_does_not_take_from_the_learner(tmp_path):
    write_corpus(tmp_path, "tangents", """
    [[mistake]]
    name = "elsewhere"
    exercise = "reductions"
    description = "a patch of a module the stage takes from the reference"
    [[mistake.patch]]
    module = "losses"
    find = "EPSILON = 1e-15"
    replace = "EPSILON = 1e-14"
    """)
    corpus = load_corpus(tmp_path, load_manifest(), REFERENCE)
    assert corpus.mistakes == [] and "module 'losses'" in "\n".join(corpus.problems)

"""Tests of the mutmut report, katatools/proofs/mutation.py (`nox -s mutation`), on made-up results."""

from __future__ import annotations

import json

from katatools.proofs import mutation


def fake_run(tmp_path, codes, equivalents):
    mutants = tmp_path / "mutants"
    (mutants / "solutions").mkdir(parents=True)
    (mutants / "solutions" / "variable.py.meta").write_text(json.dumps({"exit_code_by_key": codes}), encoding="utf-8")
    listed = tmp_path / "EQUIVALENT_MUTANTS.md"
    listed.write_text("# reviewed\n\n" + "".join(f"- {m}: {why}\n" for m, why in equivalents.items()), encoding="utf-8")
    return ["--mutants", str(mutants), "--equivalents", str(listed)]


CODES = {"solutions.variable.x_neg__mutmut_1": 1, "solutions.variable.x_neg__mutmut_2": 0,
         "solutions.variable.x_neg__mutmut_3": 36, "solutions.variable.x_add__mutmut_1": 0}


def test_counts_per_module_and_unexplained_survivors_fail(tmp_path, capsys):
    args = fake_run(tmp_path, CODES, {"solutions.variable.x_neg__mutmut_2": "message only"})
    assert mutation.main(args) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("solutions.variable"))
    assert row.split()[1:4] == ["1", "2", "1"]  # killed, survived, timeout
    assert "UNEXPLAINED solutions.variable.x_add__mutmut_1" in out
    assert "x_neg__mutmut_2" not in out.split("survivors:")[1]


def test_every_survivor_explained_passes_and_stale_entries_are_named(tmp_path, capsys):
    args = fake_run(tmp_path, CODES, {"solutions.variable.x_neg__mutmut_2": "message only",
                                      "solutions.variable.x_add__mutmut_1": "equivalent",
                                      "solutions.variable.x_gone__mutmut_9": "no longer exists"})
    assert mutation.main(args) == 0
    out = capsys.readouterr().out
    assert "2 survivors: 2 reviewed as equivalent" in out
    assert "stale entry (no longer a survivor): solutions.variable.x_gone__mutmut_9" in out


def test_no_results_is_an_error(tmp_path, capsys):
    assert mutation.main(["--mutants", str(tmp_path)]) == 1
    assert "no mutmut results" in capsys.readouterr().out

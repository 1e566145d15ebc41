"""Tests of the alternatives-and-cheats runner (katatools/proofs/corpus.py) and the independence proof."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from katatools import runner, stubs
from katatools.manifest import ROOT, load_manifest
from katatools.patching import CorpusError, Patch
from katatools.proofs import corpus, independence

MANIFEST = load_manifest()
REFERENCE = stubs.REFERENCE_DIR


def write_corpus(directory, stage, body):
    directory.mkdir(exist_ok=True)
    (directory / f"{stage}.toml").write_text(textwrap.dedent(body), encoding="utf-8")
    return directory


def entry(kind, name, body, extra=""):
    """A [[kind]] of the variable stage whose body replaces Variable.__neg__'s region."""
    exercise = 'exercise = "neg"\n' if kind == "cheat" else ""
    return f'''
[[{kind}]]
name = "{name}"
{exercise}description = "a test entry"
{extra}
[{kind}.bodies]
"Variable.__neg__" = """
{body}
"""
'''


# ---------------------------------------------------------------- building variants (no pytest run)


def test_a_body_replaces_the_outermost_region_re_indented():
    text = (REFERENCE / "variable.py").read_text(encoding="utf-8")
    new, replaced = stubs.replace_region(text, "Variable.__pow__", "value = 1.0\nreturn Variable(value, 0.0)\n")
    assert "        value = 1.0\n        return Variable(value, 0.0)\n" in new
    assert "# BEGIN pow\n" not in new and "when not _is_zero" not in new  # both regions of __pow__ went
    assert "ln(a) appears in" in replaced and not replaced.startswith(" ")  # the nested region went too
    outer = stubs.outermost_region(text, "Variable.__pow__")
    inside = [r for r in stubs.find_regions(text, "variable.py") if outer.begin <= r.begin <= outer.end]
    assert len(inside) >= 2 and new.count("# BEGIN") == text.count("# BEGIN") - len(inside)


def test_a_function_without_a_region_or_unknown_is_a_marker_error():
    text = (REFERENCE / "variable.py").read_text(encoding="utf-8")
    with pytest.raises(stubs.MarkerError, match="no function 'Variable.__floordiv__'"):
        stubs.replace_region(text, "Variable.__floordiv__", "return 1")
    with pytest.raises(stubs.MarkerError, match="holds no marked region"):
        stubs.replace_region(text, "Variable.__repr__", "return 'x'")


def test_build_variant_applies_bodies_then_patches_to_their_modules():
    base = corpus.reference_sources(MANIFEST, REFERENCE)
    sources = corpus.build_variant(MANIFEST, base, {"log": "return u"},
                                   [Patch("EPSILON = 1e-15", "EPSILON = 1e-14", "losses")], "primitives")
    assert "    return u\n" in sources["primitives.py"]
    assert "EPSILON = 1e-14" in sources["losses.py"]
    assert sources["variable.py"] == base["variable.py"]


@pytest.mark.parametrize("bodies, patches, message", [
    ({"lift": "return u"}, [], "'lift' is no function or method that an exercise covers"),
    ({"no_such": "return 1"}, [], "'no_such' is no function"),
    ({"Variable.__neg__": "return Variable(-self.value, -self.grad)"}, [], "is the reference's own code"),
    ({"exp": "return (("}, [], "not valid Python"),
    ({}, [Patch("no such text", "x")], "find string not found"),
    ({}, [Patch("import numbers", "import numbers")], "changes nothing"),
])
def test_build_variant_rejects_corpus_errors(bodies, patches, message):
    base = corpus.reference_sources(MANIFEST, REFERENCE)
    with pytest.raises(CorpusError, match=message):
        corpus.build_variant(MANIFEST, base, bodies, patches, "primitives")


def test_load_corpus_reports_every_kind_of_error(tmp_path):
    good = "return Variable(0.0 - self.value, 0.0 - self.grad)"
    write_corpus(tmp_path, "variable",
                 entry("alternative", "one", good)
                 + entry("alternative", "one", "return Variable(-1 * self.value, -1 * self.grad)")
                 + entry("cheat", "wrong_stage", good).replace('"neg"', '"log"')
                 + entry("cheat", "unknown_exercise", good).replace('"neg"', '"no_such_exercise"')
                 + entry("alternative", "bad_stage", good, 'stages = ["nowhere"]')
                 + entry("alternative", "not_own_stage", good, 'stages = ["primitives"]')
                 + '\n[[alternative]]\nname = "empty"\ndescription = "nothing"\n'
                 + '\n[[alternative]]\nname = "typo"\ndescription = "x"\nbody = {}\n')
    (tmp_path / "nonsense.toml").write_text("", encoding="utf-8")
    loaded = corpus.load_corpus(tmp_path, MANIFEST, REFERENCE)
    assert [e.name for e in loaded.entries] == ["one"]
    text = "\n".join(loaded.problems)
    for message in ("alternative 'one': the name is also used", "belongs to stage 'primitives'",
                    "unknown exercise 'no_such_exercise'", "unknown stage 'nowhere'", "must include 'variable'",
                    "no bodies and no patch", "unknown keys ['body']", "nonsense.toml: not a stage"):
        assert message in text


def test_the_real_corpus_loads_cleanly():
    loaded = corpus.load_corpus(corpus.CORPUS_DIR, MANIFEST, REFERENCE)
    assert loaded.problems == []
    assert len({e.name for e in loaded.entries}) == len(loaded.entries)


# ---------------------------------------------------------------- the command (runs pytest)


@pytest.mark.slow
def test_verdicts_of_alternatives_and_cheats(tmp_path, capsys):
    """One run: a correct alternative passes, a wrong one fails, a cheat is caught, another escapes."""
    directory = write_corpus(
        tmp_path / "c", "variable",
        entry("alternative", "neg_by_subtraction", "return Variable(0.0 - self.value, 0.0 - self.grad)")
        + entry("alternative", "neg_keeps_grad", "return Variable(-self.value, self.grad)")
        + entry("cheat", "neg_drops_grad", "return Variable(-self.value, 0.0)")
        + entry("cheat", "neg_honest_after_all", "return Variable(-1.0 * self.value, -1.0 * self.grad)"))
    assert corpus.main(["--corpus", str(directory), "--jobs", "2", "-v"]) == 1
    out = capsys.readouterr().out
    assert "alternatives  1 of 2 pass  (fewer than 3 alternatives)" in out
    assert "pass   neg_by_subtraction" in out
    assert "FAILED neg_keeps_grad" in out and "test_neg" in out
    assert "cheats        1 of 2 caught" in out
    assert "caught neg_drops_grad" in out
    assert "ESCAPED neg_honest_after_all" in out and "tests of 'neg' ended passed" in out
    assert "corpus: FAILED: 1 of 2 alternatives passed, 1 of 2 cheats caught" in out


def test_corpus_errors_fail_the_run(tmp_path, capsys):
    directory = write_corpus(tmp_path / "c", "variable", entry("alternative", "stale", "return 1")
                             .replace('"Variable.__neg__"', '"Variable.__abs__"'))
    assert corpus.main(["--corpus", str(directory)]) == 1
    out = capsys.readouterr().out
    assert "ERROR variable.toml: alternative 'stale': bodies: 'Variable.__abs__' is no function" in out
    assert "1 corpus errors" in out


def test_unknown_stage_is_a_usage_error(capsys):
    assert corpus.main(["--stage", "nowhere"]) == 2
    assert "unknown stage" in capsys.readouterr().err


def test_independence_names_a_test_that_needs_a_later_exercise(tmp_path, capsys):
    """A reference whose sub is written with neg (a later exercise): sub's tests stop at neg's stub."""
    reference = tmp_path / "reference"
    shutil.copytree(REFERENCE, reference)
    path = reference / "variable.py"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("return Variable(self.value - other.value, self.grad - other.grad)",
                                 "return self + (-other)"), encoding="utf-8")
    assert independence.main(["--reference", str(reference), "--exercise", "sub", "--exercise", "neg"]) == 1
    out = capsys.readouterr().out
    assert "DEPENDS sub:" in out and "exercise neg" in out
    assert "independence: FAILED: 1 of 2 exercises" in out


def test_a_missing_corpus_directory_is_an_error(tmp_path):
    assert "no such corpus directory" in corpus.load_corpus(tmp_path / "nowhere", MANIFEST, REFERENCE).problems[0]


# ---------------------------------------------------------------- --neighbours: the corpus beside CPU-bound work

LINUX = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads the processes in /proc")


def neighbours_of(pid):
    """The pids of the live CPU-bound neighbours (runner.NEIGHBOUR) whose parent is ``pid``."""
    found = []
    for entry_ in Path("/proc").iterdir():
        if not entry_.name.isdigit():
            continue
        try:
            stat = (entry_ / "stat").read_text()
            command = (entry_ / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        fields = stat.rpartition(")")[2].split()  # after the command's name: state, ppid...
        if fields[0] != "Z" and int(fields[1]) == pid and runner.NEIGHBOUR in command:
            found.append(int(entry_.name))
    return sorted(found)


@LINUX
@pytest.mark.parametrize("ending", ["normally", "by an exception"])
def test_neighbours_run_beside_the_whole_corpus_and_are_ended(tmp_path, monkeypatch, capsys, ending):
    directory = write_corpus(tmp_path / "c", "variable",
                             entry("alternative", "neg_by_subtraction", "return Variable(0.0 - self.value, 0.0 - self.grad)"))
    seen = []

    def check_entry(entry_, manifest, timeout):  # instead of running pytest: who is running beside it
        seen.append(neighbours_of(os.getpid()))
        if ending != "normally":
            raise KeyboardInterrupt
        return corpus.Verdict(entry_, True, "passed")

    monkeypatch.setattr(corpus, "check_entry", check_entry)
    if ending == "normally":
        assert corpus.main(["--corpus", str(directory), "--neighbours", "2", "--jobs", "1"]) == 0
        assert "beside 2 CPU-bound processes" in capsys.readouterr().out
    else:
        with pytest.raises(KeyboardInterrupt):
            corpus.main(["--corpus", str(directory), "--neighbours", "2", "--jobs", "1"])
    assert len(seen) == 1 and len(seen[0]) == 2, seen
    assert neighbours_of(os.getpid()) == [], "a neighbour outlived the run"
    for pid in seen[0]:
        assert not Path(f"/proc/{pid}").exists() or "Z" in (Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2][:3])


@LINUX
def test_a_neighbour_ends_itself_when_its_starter_is_killed(tmp_path):
    """Even a tool killed before its clean-up leaves no neighbour spinning."""
    script = ("import os, sys\nfrom katatools.runner import cpu_bound_neighbours\n"
              "with cpu_bound_neighbours(1) as pids:\n    print(pids[0], flush=True)\n    os._exit(0)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60)
    pid = int(done.stdout.split()[0])
    deadline = time.monotonic() + 30
    while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not Path(f"/proc/{pid}").exists(), "the orphaned neighbour kept spinning"


def test_neighbours_must_not_be_negative(capsys):
    with pytest.raises(SystemExit):
        corpus.main(["--neighbours", "-1"])
    assert "--neighbours must be 0 or more" in capsys.readouterr().err

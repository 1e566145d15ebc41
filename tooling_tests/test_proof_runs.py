"""Tests of katatools/proofs/runs.py: the proofs' runs, forked from one warm process where fork exists.

A forked run is a copy of the proof's process, so it already holds the proof's own modules; a
separate ``python -m pytest`` never imports them. Each kata module below records which it was.
The drivers run in a Python process of their own: a proof forks only outside pytest.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from katatools.manifest import ROOT, load_manifest
from katatools.proofs import runs

FORKS = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system: the fallback is all there is")
FIRST = load_manifest().stages[0]
MARKER = """

import pathlib as _pathlib
import sys as _sys

_pathlib.Path(__file__).with_name("forked.txt").write_text(str("katatools.proofs.runs" in _sys.modules))
"""

DRIVER = """
import json, pathlib, sys, threading, time
from katatools.proofs import runs
from katatools.runner import stop_all

target, tests = sys.argv[1], sys.argv[2]
with runs.warm_runs([tests]):
    warm = runs._worker is not None
{body}
"""


def drive(body: str, target: Path, **env: str) -> dict:
    script = DRIVER.format(body=textwrap.indent(textwrap.dedent(body), "    "))
    done = subprocess.run([sys.executable, "-c", script, str(target), FIRST.tests], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def package(tmp_path: Path, extra: str) -> Path:
    target = tmp_path / "target"
    target.mkdir()
    text = (ROOT / "solutions" / f"{FIRST.module}.py").read_text(encoding="utf-8")
    (target / f"{FIRST.module}.py").write_text(text + extra, encoding="utf-8")
    return target


ONE_RUN = """
result = runs.run(target, [tests], ["neg"], "cumulative", ["-q", "-p", "no:cacheprovider", "--kata-summary=no"],
                  timeout=300)
statuses = sorted({t.status for t in result.report.tests}) if result.report else result.problem
print(json.dumps({"warm": warm, "statuses": statuses,
                  "forked": (pathlib.Path(target) / "forked.txt").read_text()}))
"""


@FORKS
def test_a_proofs_run_is_forked_from_the_proof_and_reads_its_own_target(tmp_path):
    seen = drive(ONE_RUN, package(tmp_path, MARKER))
    assert seen == {"warm": True, "statuses": ["passed"], "forked": "True"}, (
        f"inside warm_runs, a run should be forked from the proof (its modules already loaded) and pass the "
        f"reference's neg tests; saw {seen}")


def test_with_kata_fork_0_a_proofs_run_is_a_separate_process_with_the_same_verdict(tmp_path):
    seen = drive(ONE_RUN, package(tmp_path, MARKER), KATA_FORK="0")
    assert seen == {"warm": False, "statuses": ["passed"], "forked": "False"}, (
        f"with KATA_FORK=0 a run should be an ordinary `python -m pytest` with the same verdict; saw {seen}")


def test_inside_a_pytest_session_a_proof_does_not_fork():
    with runs.warm_runs([FIRST.tests]):
        assert runs._worker is None, "a copy of a pytest session would run pytest inside pytest"


@FORKS
def test_stop_all_ends_a_forked_run_at_once(tmp_path):
    """Ctrl-C in runner.run_parallel calls stop_all: it must reach the forked runs too."""
    target = package(tmp_path, MARKER + "\nimport time as _time\n_time.sleep(600)\n")
    seen = drive("""
    box = {}
    thread = threading.Thread(target=lambda: box.update(result=runs.run(
        target, [tests], ["neg"], "cumulative", ["-q", "-p", "no:cacheprovider"], timeout=900)))
    thread.start()
    marker = pathlib.Path(target) / "forked.txt"
    while not marker.exists():
        time.sleep(0.1)
    started = time.monotonic()
    stop_all()
    thread.join(120)
    later = runs.run(target, [tests], ["neg"], "cumulative", ["-q"], timeout=900)  # a task the pool had begun
    print(json.dumps({"ended": not thread.is_alive(), "seconds": time.monotonic() - started,
                      "problem": box["result"].problem if "result" in box else None, "later": later.problem}))
    """, target)
    assert seen["ended"] and seen["seconds"] < 60, f"stop_all left the forked run going: {seen}"
    assert seen["problem"] == seen["later"] == runs.STOPPED, seen


def verdicts(output: str) -> list[str]:
    """The mutants command's lines without their seconds."""
    return [re.sub(r"\s*\(?\b(in )?[0-9.]+ s\)?", "", line) for line in output.splitlines()]


@FORKS
@pytest.mark.slow
def test_the_mutants_command_gives_the_same_verdicts_forked_or_not():
    command = [sys.executable, "-m", "katatools", "mutants", "--exercise", "neg", "-v"]
    forked = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=900)
    separate = subprocess.run(command, cwd=ROOT, env={**os.environ, "KATA_FORK": "0"}, capture_output=True,
                              text=True, timeout=900)
    assert forked.returncode == separate.returncode == 0, forked.stdout + forked.stderr + separate.stdout
    assert verdicts(forked.stdout) == verdicts(separate.stdout)
    assert sum("caught" in line for line in verdicts(forked.stdout)) >= 4, forked.stdout

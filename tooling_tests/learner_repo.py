"""Temporary copies of the repository for end-to-end tests of the learner's tools.

Each copy holds what a learner's clone needs to run the tools (manifest, pyproject, katatools,
tests, solutions, katas), so the tools run there exactly as in a real clone and nothing they
do can touch this repository's katas/.
"""

from __future__ import annotations

import os
import pty
import select
import shutil
import subprocess
import sys
import time
from pathlib import Path

from katatools.manifest import ROOT, load_manifest
from katatools.stubs import generated_stubs

MANIFEST = load_manifest()
STAGES = [s for s in MANIFEST.stages if (ROOT / s.tests).is_file()]  # the stages that have tests so far
COPIED = ("exercises.toml", "pyproject.toml", "katatools", "tests", "solutions", "katas")
PATIENT_TIMEOUT = "60"  # seconds per test
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.bak-*", ".pytest_cache", ".*.reset-partial")


def make_repo(dest: Path) -> Path:
    """A fresh copy of the learner's side of the repository in ``dest``; katas/ as shipped."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=IGNORED)
        else:
            shutil.copy2(source, dest / name)
    for name, text in generated_stubs(MANIFEST).items():  # katas/ as shipped, whatever this checkout's katas/ holds
        (dest / "katas" / name).write_text(text, encoding="utf-8", newline="\n")
    return dest


def stub_bytes(module: str) -> bytes:
    """The stub of a kata module as katas/ ships it: generated from the marked reference."""
    return generated_stubs(MANIFEST)[f"{module}.py"].encode("utf-8")


def stubs_dir(dest: Path) -> Path:
    """A folder holding every generated stub, as katas/ ships them."""
    dest.mkdir(parents=True, exist_ok=True)
    for name, text in generated_stubs(MANIFEST).items():
        (dest / name).write_text(text, encoding="utf-8", newline="\n")
    return dest


def child_env(**overrides: str) -> dict[str, str]:
    """The environment of a learner's shell: no colour settings, not inside nox, not CI (whose variable
    picks the heavier hypothesis profile, ``ci``: a learner's check uses ``kata``)."""
    env = {k: v for k, v in os.environ.items()
           if k not in ("NO_COLOR", "FORCE_COLOR", "PY_COLORS", "NOX_CURRENT_SESSION", "PYTHONPATH", "CI")}
    # scikit-learn's answers (tests/sklearn_oracle.py) are shared with this repository's: the
    # copies then answer as fast as a learner's warm clone, and only the oracle's own tests start cold
    env.setdefault("KATA_SKLEARN_CACHE", str(ROOT / ".kata-cache" / "sklearn"))
    env.update(overrides)
    return env


# A command's wall-clock guard against a hang, not a limit under test: a busy machine (CI's proofs, six CPU-bound
# processes beside a check) stretches a full check's minutes many times over.
HANG_GUARD = 1800


def generous(args: tuple[str, ...] | list[str]) -> list[str]:
    """A check's arguments with a long per-test limit, unless they set one: where the time limit is
    not what a test is about, a busy machine's slow sklearn import must not turn into a timeout."""
    args = list(args)
    if args and args[0] in ("check", "watch") and "--timeout" not in args:
        args += ["--timeout", PATIENT_TIMEOUT]
    return args


def tool(repo: Path, *args: str, timeout: float = HANG_GUARD, **env: str) -> subprocess.CompletedProcess:
    """``python -m katatools ARGS`` in ``repo``, output captured (so not a terminal)."""
    return subprocess.run([sys.executable, "-m", "katatools", *generous(args)], cwd=repo, env=child_env(**env),
                          capture_output=True, text=True, timeout=timeout)


def reference(module: str) -> str:
    return (ROOT / "solutions" / f"{module}.py").read_text()


def solve(repo: Path, stages=STAGES) -> None:
    """Put the reference modules of ``stages`` in the copy's katas/."""
    for stage in stages:
        write_kata(repo, stage.module, reference(stage.module))


def write_kata(repo: Path, module: str, source: str) -> Path:
    """Write a kata module with a modification time that any poller sees as new."""
    path = repo / "katas" / f"{module}.py"
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(source)
    later = max(time.time_ns(), before + 1_000_000_000)
    os.utime(path, ns=(later, later))
    return path


def run_in_terminal(repo: Path, args: list[str], timeout: float = 300, **env: str) -> tuple[int, str]:
    """Run ``python -m katatools ARGS`` with a pseudo-terminal as its stdout; its exit code and output."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "katatools", *generous(args)], cwd=repo, env=child_env(**env),
                               stdin=subprocess.DEVNULL, stdout=terminal, stderr=terminal)
    os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.2)
            if ready:
                try:
                    data = os.read(controller, 65536)
                except OSError:  # the terminal closed: the process has exited
                    break
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        else:
            process.kill()
            raise AssertionError(f"{args} did not finish within {timeout} s")
    finally:
        os.close(controller)
    return process.wait(), b"".join(chunks).decode("utf-8", errors="replace")

"""Run the kata tests in a child pytest process and read back its JSON results.

The one way every tool (prove-stubs, check, grade, the mistake corpus) runs the suite, so
they all see the same options, plugin and results format.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .manifest import ROOT
from .report import MalformedReport, RunReport, read_report


@dataclass
class PytestRun:
    returncode: int
    output: str
    report: RunReport | None
    problem: str = ""  # why there is no usable report


def run_suite(
    target: Path | str,
    tests: list[str] | None = None,
    exercises: list[str] | None = None,
    mode: str = "cumulative",
    extra: list[str] | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
) -> PytestRun:
    """Run pytest on ``tests`` (default: the configured testpaths) against ``target``."""
    with tempfile.TemporaryDirectory(prefix="kata-run-") as scratch:
        report_path = Path(scratch) / "results.json"
        args = [sys.executable, "-m", "pytest", *(tests or []), f"--target={target}", f"--mode={mode}",
                f"--kata-report={report_path}", "-p", "no:cacheprovider"]
        for name in exercises or []:
            args.append(f"--exercise={name}")
        args.extend(extra or [])
        child_env = dict(os.environ if env is None else env)
        child_env.pop("PYTHONPATH", None)
        try:
            done = subprocess.run(args, cwd=cwd, env=child_env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired as exc:
            out = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(errors="replace")
            return PytestRun(-1, out, None, f"pytest did not finish within {timeout:g} s")
        try:
            report = read_report(report_path)
        except MalformedReport as exc:
            return PytestRun(done.returncode, done.stdout + done.stderr, None, str(exc))
        return PytestRun(done.returncode, done.stdout + done.stderr, report)

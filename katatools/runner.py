"""Run the kata tests in a child pytest process and read back its JSON results.

The one way every tool (prove-stubs, check, grade, the mistake corpus) runs the suite, so
they all see the same options, plugin and results format.

The child runs in its own process group with stdin closed; its merged stdout and stderr are
drained through a pipe keeping only the first and last ``output_limit // 2`` bytes, so a test
that prints without end costs neither memory nor disk. On ``timeout`` the whole group is killed.
The child's temporary files (e.g. isolated mode's reference layer) go inside the run's own
scratch folder, unless ``env`` names a TMPDIR, so that a killed child leaves nothing behind.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

from .manifest import ROOT
from .report import MalformedReport, RunReport, read_report

OUTPUT_LIMIT = 1024 * 1024  # default bytes of child output kept (head and tail)
NO_REPORT = "pytest ended without writing its results file"
_RUNNING: set[subprocess.Popen] = set()  # live children, so that stop_all() can end them
_RUNNING_LOCK = threading.Lock()
T = TypeVar("T")


@dataclass
class PytestRun:
    returncode: int
    output: str
    report: RunReport | None
    problem: str = ""  # why there is no usable report
    timed_out: bool = False


class _Drain(threading.Thread):
    """Read a pipe to its end, keeping the first and the last ``limit // 2`` bytes."""

    def __init__(self, stream: IO[bytes], limit: int) -> None:
        super().__init__(daemon=True)
        self.stream, self.half = stream, max(1, limit // 2)
        self.head, self.tail, self.dropped = bytearray(), bytearray(), 0

    def run(self) -> None:
        while chunk := self.stream.read1(65536):
            room = self.half - len(self.head)
            if room > 0:
                self.head += chunk[:room]
                chunk = chunk[room:]
            self.tail += chunk
            if len(self.tail) > self.half:
                self.dropped += len(self.tail) - self.half
                del self.tail[: len(self.tail) - self.half]

    def text(self) -> str:
        gap = f"\n[... {self.dropped} bytes of output dropped ...]\n".encode() if self.dropped else b""
        return bytes(self.head + gap + self.tail).decode("utf-8", errors="replace")


def _kill_group(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, signal.SIGKILL) if hasattr(os, "killpg") else process.kill()
    except (ProcessLookupError, PermissionError):
        pass


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system reports one): the default --jobs."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def stop_all() -> None:
    """Kill every child pytest (and its process group) still running, e.g. after Ctrl-C in a thread pool."""
    with _RUNNING_LOCK:
        running = list(_RUNNING)
    for process in running:
        _kill_group(process)


def run_suite(
    target: Path | str,
    tests: list[str] | None = None,
    exercises: list[str] | None = None,
    mode: str = "cumulative",
    extra: list[str] | None = None,
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    timeout: float | None = None,
    python_flags: list[str] | None = None,
    output_limit: int = OUTPUT_LIMIT,
) -> PytestRun:
    """Run pytest on ``tests`` (default: the configured testpaths) against ``target``.

    ``python_flags`` go to the interpreter (e.g. ``-s -B``); ``env`` replaces the environment.
    """
    with tempfile.TemporaryDirectory(prefix="kata-run-") as scratch:
        report_path = Path(scratch) / "results.json"
        args = [sys.executable, *(python_flags or []), "-m", "pytest", *(tests or []), f"--target={target}",
                f"--mode={mode}", f"--kata-report={report_path}", "-p", "no:cacheprovider"]
        for name in exercises or []:
            args.append(f"--exercise={name}")
        args.extend(extra or [])
        child_env = dict(os.environ if env is None else env)
        child_env.pop("PYTHONPATH", None)
        if env is None or "TMPDIR" not in env:
            child_env.update(TMPDIR=scratch, TEMP=scratch, TMP=scratch)
        process = subprocess.Popen(args, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        with _RUNNING_LOCK:
            _RUNNING.add(process)
        drain = _Drain(process.stdout, output_limit)
        drain.start()
        try:
            returncode = process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:  # also on Ctrl-C in the parent: never leave the child, or what it started, running
            _kill_group(process)
            with _RUNNING_LOCK:
                _RUNNING.discard(process)
        if returncode is None:
            process.wait()
        drain.join(5)
        output = drain.text()
        if returncode is None:
            return PytestRun(-1, output, None, f"pytest did not finish within {timeout:g} s", timed_out=True)
        if not report_path.exists():
            return PytestRun(returncode, output, None, NO_REPORT)
        try:
            report = read_report(report_path)
        except MalformedReport as exc:
            return PytestRun(returncode, output, None, str(exc))
        return PytestRun(returncode, output, report)


def run_parallel(jobs: int, tasks: Sequence[Callable[[], T]]) -> list[T]:
    """Run the tasks (each starts child pytests) on ``jobs`` threads; their results in the tasks' order.

    On Ctrl-C the waiting tasks are dropped and every running child is killed: the children run
    in their own process groups, so the terminal's interrupt does not reach them.
    """
    if jobs <= 1:
        return [task() for task in tasks]
    pool = ThreadPoolExecutor(max_workers=jobs)
    try:
        return list(pool.map(lambda task: task(), tasks))
    except KeyboardInterrupt:
        pool.shutdown(wait=False, cancel_futures=True)
        stop_all()
        raise
    finally:
        pool.shutdown(wait=True)

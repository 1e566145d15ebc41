"""Run the kata tests in a child pytest process and read back its JSON results.

The one way every tool (prove-stubs, check, grade, the mistake corpus) runs the suite, so
they all see the same options, plugin and results format.

The child runs in its own process group with stdin closed; its merged stdout and stderr are
drained through a pipe keeping only the first and last ``output_limit // 2`` bytes, so a test
that prints without end costs neither memory nor disk. On ``timeout`` the whole group is killed; the
results of the tests that ended before then are still read (``PytestRun.partial``), since the
plugin writes each as it comes. The child's temporary files (e.g. isolated mode's reference
layer) go inside the run's own scratch folder, unless ``env`` names a TMPDIR, so that a killed
child leaves nothing behind. ``wrap`` turns the command into another that runs it, e.g. inside
the grader's sandbox (katatools/grading/sandbox.py). ``cpu_limit`` caps the child's CPU time (``limit_cpu``):
a run's budget, like a test's limit, can count CPU time, which a busy machine does not stretch.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
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
_STOPPERS: list[Callable[[], None]] = []  # more ways to end live runs (forked ones: proofs.runs)
T = TypeVar("T")


@dataclass
class PytestRun:
    returncode: int
    output: str
    report: RunReport | None
    problem: str = ""  # why there is no usable report
    timed_out: bool = False
    partial: RunReport | None = None  # when timed out: the results of the tests that ended before


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


def pytest_arguments(target: Path | str, tests: list[str] | None, exercises: list[str] | None, mode: str,
                     report_path: Path, extra: list[str] | None) -> list[str]:
    """pytest's command-line arguments for one run of the kata tests (what follows ``python -m pytest``)."""
    args = [*(tests or []), f"--target={target}", f"--mode={mode}", f"--kata-report={report_path}",
            "-p", "no:cacheprovider"]
    args += [f"--exercise={name}" for name in exercises or []]
    return args + list(extra or [])


def hypothesis_plugin() -> list[str]:
    """``-p`` for hypothesis's pytest plugin, to load it by name where entry-point autoloading is off.

    With autoloading on, pytest marks every module of a plugin's distribution for assertion
    rewriting: all of hypothesis (about 75 modules) is parsed and rewritten on every run where
    bytecode is not cached (PYTHONDONTWRITEBYTECODE), over a second each time. Loaded by name,
    only the plugin module itself is.
    """
    return ["-p", "_hypothesis_pytestplugin"] if importlib.util.find_spec("_hypothesis_pytestplugin") else []


AUTOLOAD_OFF = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # with hypothesis_plugin(): no stray plugins, no rewriting


def limit_cpu(seconds: float | None, pid: int = 0) -> bool:
    """Let process ``pid`` (0: this one) use at most ``seconds`` of CPU time; True where the system can.

    The kernel counts it (RLIMIT_CPU, in whole seconds, rounded up) and then ends the process with
    SIGXCPU, and with SIGKILL two seconds later should SIGXCPU be ignored; no core file is written.
    Only this process's own time counts, not that of the processes it starts. ``pid`` other than 0
    needs ``resource.prlimit`` (Linux); nothing is limited on Windows.
    """
    if seconds is None:
        return False
    try:
        import resource
    except ImportError:  # Windows
        return False
    limit = max(1, math.ceil(seconds))
    try:
        if pid == 0:
            resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
            resource.setrlimit(resource.RLIMIT_CPU, (limit, limit + 2))
        elif hasattr(resource, "prlimit"):
            resource.prlimit(pid, resource.RLIMIT_CORE, (0, 0))
            resource.prlimit(pid, resource.RLIMIT_CPU, (limit, limit + 2))
        else:
            return False
    except (OSError, ValueError):  # a hard limit already lower, or the process is gone
        return False
    return True


def over_cpu_limit(returncode: int | None) -> bool:
    """Whether a child ended because it used up its CPU time (``limit_cpu``)."""
    return hasattr(signal, "SIGXCPU") and returncode == -signal.SIGXCPU


def cpu_limit_problem(seconds: float) -> str:
    return f"pytest used more than {seconds:g} s of CPU time"


# A CPU-bound neighbour, as on a busy machine: it spins, and ends itself within a fraction of a second
# once the process that started it (its argument) is gone, so that even a killed tool leaves none behind.
NEIGHBOUR = ("import os, sys\nparent = int(sys.argv[1])\nwhile os.getppid() == parent:\n"
             "    for _ in range(200000):\n        pass\n")


@contextlib.contextmanager
def cpu_bound_neighbours(count: int) -> Iterator[list[int]]:
    """``count`` CPU-bound processes running for the block (their pids), as other work on a busy machine;
    each is ended by its pid when the block ends, however it ends."""
    processes: list[subprocess.Popen] = []
    try:
        for _ in range(max(0, count)):
            processes.append(subprocess.Popen([sys.executable, "-c", NEIGHBOUR, str(os.getpid())], stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        yield [process.pid for process in processes]
    finally:
        for process in processes:
            with contextlib.suppress(OSError):
                process.kill()
        for process in processes:
            process.wait()


def available_cpus() -> int:
    """The CPUs this process may run on (its affinity where the system reports one): the default --jobs."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def stop_all() -> None:
    """Kill every child pytest (and its process group) still running, e.g. after Ctrl-C in a thread pool."""
    with _RUNNING_LOCK:
        running, stoppers = list(_RUNNING), list(_STOPPERS)
    for process in running:
        _kill_group(process)
    for stop in stoppers:
        stop()


def register_stopper(stop: Callable[[], None]) -> Callable[[], None]:
    """``stop_all`` also calls ``stop`` (which ends runs started some other way) until the returned
    function is called."""
    with _RUNNING_LOCK:
        _STOPPERS.append(stop)

    def unregister() -> None:
        with _RUNNING_LOCK:
            if stop in _STOPPERS:
                _STOPPERS.remove(stop)

    return unregister


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
    on_start: Callable[[subprocess.Popen], None] | None = None,
    scratch: Path | None = None,
    wrap: Callable[[list[str], Path], list[str]] | None = None,
    cpu_limit: float | None = None,
    autoload: bool = True,
) -> PytestRun:
    """Run pytest on ``tests`` (default: the configured testpaths) against ``target``.

    ``python_flags`` go to the interpreter (e.g. ``-s -B``); ``env`` replaces the environment;
    ``on_start`` is called with the child process once it runs (e.g. to end it from another thread).
    ``scratch``: an existing folder for the run's results file (default: a temporary folder,
    removed after); ``wrap(command, scratch)``: the command actually started. ``timeout`` is wall-clock
    seconds; ``cpu_limit``, seconds of the child's CPU time (where ``limit_cpu`` can set one).
    ``autoload=False``: pytest loads no installed plugin but hypothesis's, by name (``AUTOLOAD_OFF``,
    ``hypothesis_plugin``), as the check's runs do: most of a second less per run.
    """
    if scratch is None:
        with tempfile.TemporaryDirectory(prefix="kata-run-") as folder:
            return run_suite(target, tests, exercises, mode, extra, cwd, env, timeout, python_flags, output_limit,
                             on_start, Path(folder), wrap, cpu_limit, autoload)
    report_path = Path(scratch) / "results.jsonl"
    if not autoload:
        extra = [*hypothesis_plugin(), *(extra or [])]
    args = [sys.executable, *(python_flags or []), "-m", "pytest",
            *pytest_arguments(target, tests, exercises, mode, report_path, extra)]
    if wrap is not None:
        args = wrap(args, Path(scratch))
    child_env = dict(os.environ if env is None else env)
    child_env.pop("PYTHONPATH", None)
    if not autoload:
        child_env.update(AUTOLOAD_OFF)
    if env is None or "TMPDIR" not in env:
        child_env.update(TMPDIR=str(scratch), TEMP=str(scratch), TMP=str(scratch))
    process = subprocess.Popen(args, cwd=cwd, env=child_env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, start_new_session=True)
    with _RUNNING_LOCK:
        _RUNNING.add(process)
    limit_cpu(cpu_limit, process.pid)
    if on_start is not None:
        on_start(process)
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
    if returncode is None or (cpu_limit is not None and over_cpu_limit(returncode)):
        try:
            partial = read_report(report_path, partial=True)
        except MalformedReport:
            partial = None
        problem = f"pytest did not finish within {timeout:g} s" if returncode is None else cpu_limit_problem(cpu_limit)
        return PytestRun(-1, drain.text(), None, problem, timed_out=True, partial=partial)
    return read_run(returncode, drain.text(), report_path)


def read_run(returncode: int, output: str, report_path: Path) -> PytestRun:
    """A finished run: its exit code, its output and the results file it wrote (or why there is none)."""
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

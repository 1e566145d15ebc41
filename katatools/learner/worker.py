"""A warm worker for the learner's loop: pytest's start-up paid once, a fresh child for every run.

Starting ``python -m pytest`` costs most of a second before the first test runs: the interpreter,
pytest, numpy and hypothesis, the kata test modules. ``check`` and ``watch`` pay that once, in
``Worker.warm``, then ``fork`` a child per run. The child inherits everything imported so far
and runs ``pytest.main`` with the arguments ``runner.run_suite`` would use; the kata modules
themselves are imported only by the child (the plugin's ``kata`` fixture loads them lazily, and
the worker never does), so every run sees the files as they are at that moment.

A child runs in its own process group with stdin closed and the default signal handlers; its
merged output goes through a pipe (``runner._Drain`` keeps its head and tail) and its results
through the run's own JSON file, read back with ``runner.read_run``. ``Run.kill`` ends the whole
group at once.

Where ``os.fork`` does not exist (Windows), or with ``KATA_FORK=0``, each run is an ordinary
child process (``runner.run_suite``) started from a thread: the same results, without the head
start.
"""

from __future__ import annotations

import contextlib
import gc
import os
import shutil
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path

from ..manifest import ROOT
from ..report import MalformedReport, read_report
from ..runner import (
    AUTOLOAD_OFF,
    OUTPUT_LIMIT,
    PytestRun,
    _Drain,
    _kill_group,
    cpu_limit_problem,
    hypothesis_plugin,
    limit_cpu,
    over_cpu_limit,
    pytest_arguments,
    read_run,
    run_suite,
)

FORK_VARIABLE = "KATA_FORK"  # "0": never fork (the fallback every platform has)
# BLAS libraries start thread pools when numpy loads; a process forked with them is not safe. The
# kata tests compute on scalars and small arrays, where one thread is all they use anyway.
ONE_THREAD = {"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
CHILD_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


def can_fork() -> bool:
    """True where runs are forked from the warm worker: os.fork exists and KATA_FORK is not "0"."""
    return hasattr(os, "fork") and os.environ.get(FORK_VARIABLE, "1") != "0"


class Run:
    """One pytest run in progress; ``result()`` waits for it, ``kill()`` ends it and what it started."""

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self.finished = threading.Event()
        self._result: PytestRun | None = None

    def done(self) -> bool:
        return self.finished.is_set()

    def result(self) -> PytestRun:
        """The run's results, once it has ended (or was killed: then without a report)."""
        self.finished.wait()
        assert self._result is not None
        return self._result

    def kill(self) -> None:
        raise NotImplementedError


class ForkedRun(Run):
    """A child forked from the warm worker, running ``pytest.main``."""

    def __init__(self, arguments: Callable[[Path], list[str]], cwd: Path, timeout: float | None,
                 output_limit: int, cpu_limit: float | None = None) -> None:
        super().__init__(timeout)
        self.cpu_limit = cpu_limit
        self.scratch = Path(tempfile.mkdtemp(prefix="kata-run-"))
        self.report_path = self.scratch / "results.json"
        args = arguments(self.report_path)
        self.killed = self.timed_out = False
        read_end, write_end = os.pipe()
        for stream in (sys.stdout, sys.stderr):  # or the child would print the parent's pending output again
            stream.flush()
        with warnings.catch_warnings():  # 3.12+ warns about forking with threads alive; ours hold no lock the child needs
            warnings.simplefilter("ignore", DeprecationWarning)
            pid = os.fork()
        if pid == 0:  # pragma: no cover - the child; its work shows in the results it writes
            os.close(read_end)
            _child(args, cwd, self.scratch, write_end, cpu_limit)
        os.close(write_end)
        self.pid = pid
        with contextlib.suppress(OSError):
            os.setpgid(pid, pid)  # the child does it too: whichever comes first, kill() reaches the group
        self.drain = _Drain(os.fdopen(read_end, "rb"), output_limit)
        self.drain.start()
        threading.Thread(target=self._reap, daemon=True).start()
        if timeout is not None:
            self.timer = threading.Timer(timeout, self._time_out)
            self.timer.daemon = True
            self.timer.start()

    def _time_out(self) -> None:
        self.timed_out = True
        self.kill()

    def _reap(self) -> None:
        _, status = os.waitpid(self.pid, 0)
        code = os.waitstatus_to_exitcode(status)
        _kill_group_of(self.pid)  # anything the child started ends with it
        self.drain.join(5)
        if self.timed_out:
            result = PytestRun(-1, self.drain.text(), None, f"pytest did not finish within {self.timeout:g} s",
                               timed_out=True)
        elif self.killed:
            result = PytestRun(code, self.drain.text(), None, "the run was stopped")
        elif self.cpu_limit is not None and over_cpu_limit(code):
            result = PytestRun(-1, self.drain.text(), None, cpu_limit_problem(self.cpu_limit), timed_out=True)
        else:
            result = read_run(code, self.drain.text(), self.report_path)
        shutil.rmtree(self.scratch, ignore_errors=True)
        if self.timeout is not None:
            self.timer.cancel()
        self._result = result
        self.finished.set()

    def kill(self) -> None:
        if not self.finished.is_set():
            self.killed = True
            _kill_group_of(self.pid)


def _kill_group_of(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _child(args: list[str], cwd: Path, scratch: Path, output: int,
           cpu_limit: float | None = None) -> None:  # pragma: no cover - runs in the child
    """The forked child: its own process group, default signals, at most ``cpu_limit`` seconds of CPU time,
    output to the pipe; pytest.main; exit."""
    code = 3
    try:
        os.setpgid(0, 0)
        limit_cpu(cpu_limit)  # a forked child's CPU time starts at 0
        for signum in CHILD_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(output, 1)
        os.dup2(output, 2)
        os.close(output)
        os.environ.update(TMPDIR=str(scratch), TEMP=str(scratch), TMP=str(scratch), **AUTOLOAD_OFF)
        tempfile.tempdir = None  # read TMPDIR again
        os.chdir(cwd)
        import pytest

        code = int(pytest.main(args))
    except BaseException:  # noqa: BLE001 - whatever happens, the child must exit here and nowhere else
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(code)


class ThreadRun(Run):
    """The fallback: ``runner.run_suite`` in a thread, one ordinary child process per run."""

    def __init__(self, target: Path | str, tests: list[str] | None, exercises: list[str] | None, mode: str,
                 extra: list[str], cwd: Path, timeout: float | None, output_limit: int,
                 cpu_limit: float | None = None) -> None:
        super().__init__(timeout)
        self.process = None
        self.killed = False
        env = {**os.environ, **AUTOLOAD_OFF}

        def work() -> None:
            try:
                result = run_suite(target, tests=tests, exercises=exercises, mode=mode, extra=extra, cwd=cwd, env=env,
                                   timeout=timeout, output_limit=output_limit, on_start=self._started,
                                   cpu_limit=cpu_limit)
                if self.killed and result.report is not None:
                    result = PytestRun(result.returncode, result.output, None, "the run was stopped")
            except BaseException as exc:  # noqa: BLE001 - reported as a run without results
                result = PytestRun(-1, "", None, f"could not start pytest: {exc}")
            self._result = result
            self.finished.set()

        threading.Thread(target=work, daemon=True).start()

    def _started(self, process: object) -> None:
        self.process = process
        if self.killed:
            _kill_group(process)

    def kill(self) -> None:
        self.killed = True
        if self.process is not None and not self.finished.is_set():
            _kill_group(self.process)


class Worker:
    """Starts kata test runs: forked from this warm process where possible, else as child processes."""

    def __init__(self, fork: bool | None = None, cwd: Path = ROOT, output_limit: int = OUTPUT_LIMIT) -> None:
        self.fork = can_fork() if fork is None else fork
        self.cwd = cwd
        self.output_limit = output_limit
        self.warmed: tuple[str, ...] = ()
        self.collected: dict[str, str] = {}  # node id -> exercise, in collection order (from warm)
        self.runs: list[Run] = []

    def warm(self, tests: list[str]) -> None:
        """Import pytest, numpy, hypothesis, the plugin and the test modules ``tests``, once.

        The test modules are imported by a ``--collect-only`` pytest run, so pytest rewrites their
        asserts as it would have; a forked child's pytest then finds them already imported. With
        no ``tests`` (a single round of runs, as the check makes), each child imports its own, in
        parallel. Nothing here imports a kata module. Without fork there is nothing to keep warm.
        """
        if not self.fork or tuple(tests) == self.warmed:
            return
        for name, value in ONE_THREAD.items():
            os.environ.setdefault(name, value)
        os.environ.update(AUTOLOAD_OFF)
        import hypothesis  # noqa: F401 - imported here once, for every child
        import numpy  # noqa: F401
        import pytest

        from .. import plugin  # noqa: F401

        if tests:
            with tempfile.TemporaryDirectory(prefix="kata-warm-") as scratch:
                report = Path(scratch) / "collected.json"
                with silenced(), working_directory(self.cwd):
                    pytest.main([*tests, "--collect-only", "-q", "-p", "no:cacheprovider", *hypothesis_plugin(),
                                 f"--rootdir={self.cwd}", "--kata-summary=no", f"--kata-report={report}"])
                with contextlib.suppress(MalformedReport):
                    self.collected = {t.nodeid: t.exercise for t in read_report(report).tests}
        self.warmed = tuple(tests)
        gc.freeze()  # what is imported stays put: the children's collections skip it, and share its pages

    def start(self, target: Path | str = "katas", tests: list[str] | None = None, exercises: list[str] | None = None,
              mode: str = "cumulative", extra: list[str] | None = None, timeout: float | None = None,
              cpu_limit: float | None = None) -> Run:
        """Begin one run (the arguments are ``runner.run_suite``'s) and return at once.

        A stop signal arriving meanwhile waits until the run is recorded in ``runs``: whatever
        its handler raises then, ``kill_all`` reaches every process started.
        """
        extra = [*hypothesis_plugin(), *(extra or [])]
        with stop_signals_held():
            if self.fork:
                def arguments(report: Path) -> list[str]:
                    return pytest_arguments(target, tests, exercises, mode, report, extra)

                run: Run = ForkedRun(arguments, self.cwd, timeout, self.output_limit, cpu_limit)
            else:
                run = ThreadRun(target, tests, exercises, mode, extra, self.cwd, timeout, self.output_limit,
                                cpu_limit)
            self.runs = [r for r in self.runs if not r.done()] + [run]
        return run

    def kill_all(self) -> None:
        """End every run still going (Ctrl-C, a newer save, a stop signal)."""
        for run in self.runs:
            run.kill()

    def wait_all(self) -> None:
        for run in self.runs:
            run.finished.wait()


@contextlib.contextmanager
def stop_signals_held() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block ends, then deliver the first that came.

    Python runs a signal's handler in the main thread between two bytecodes, so a handler that
    raises (Ctrl-C's KeyboardInterrupt, watch's Stopped) could leave a run forked but not yet
    recorded, beyond the reach of ``kill_all``. Blocking the signals in the OS would not help: the
    worker's other threads would take them. So the handlers are swapped for one that notes the
    signal, and the signal is raised again once the old handlers are back.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []
    previous = {signum: signal.signal(signum, lambda signum, frame: held.append(signum)) for signum in CHILD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if held:
            signal.raise_signal(held[0])


def raise_on_stop_signals(error: Callable[[str], BaseException]) -> None:
    """SIGTERM and SIGHUP raise ``error(name)`` in the main thread, as Ctrl-C raises KeyboardInterrupt."""
    def stop(signum: int, frame: object) -> None:
        raise error(signal.Signals(signum).name)

    for signum in CHILD_SIGNALS:
        if signum != signal.SIGINT:
            signal.signal(signum, stop)


def ignore_stop_signals() -> None:
    """From now on SIGINT, SIGTERM and SIGHUP do nothing: a second signal cannot cut the clean-up short."""
    if threading.current_thread() is threading.main_thread():
        for signum in CHILD_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)


@contextlib.contextmanager
def working_directory(path: Path) -> Iterator[None]:
    before = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(before)


@contextlib.contextmanager
def silenced() -> Iterator[None]:
    """Send this process's stdout and stderr (the file descriptors too) to the null device for a while."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    saved = [os.dup(1), os.dup(2)]
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 1)
        os.dup2(null, 2)
        yield
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, null):
            os.close(fd)

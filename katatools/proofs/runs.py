"""The proofs' pytest runs, forked from one warm process as the check's runs are.

The proofs make hundreds of runs: one per mistake, alternative, cheat and exercise. Started as
``python -m pytest``, each pays the interpreter, pytest, numpy and hypothesis, and the collection
of its stage's test modules: about a second of CPU time, most of a short run. Inside ``warm_runs``
a proof pays that once: ``learner.worker.Worker`` imports them and collects every stage's tests,
then forks a child per run (about a fifth of a second). The child imports the kata modules from
its own target folder, so each run still sees only the files it was given.

Only a process that has not imported pytest or numpy yet forks: a proof's own command
(``python -m katatools mutants``), not a test calling its ``main`` inside a pytest session, whose
copy would run pytest inside pytest. Elsewhere (that, no ``os.fork`` as on Windows, ``KATA_FORK=0``,
outside ``warm_runs``) a run is an ordinary child process (``runner.run_suite`` with
``autoload=False``): the same arguments, the same results (tooling_tests/test_proof_runs.py
compares the two).
"""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from ..learner.worker import Worker, can_fork
from ..runner import PytestRun, register_stopper, run_suite

STOPPED = "the run was stopped"
_worker: Worker | None = None
_stopped = False  # set by runner.stop_all inside warm_runs: no run starts after it
_forking = threading.Lock()  # one fork at a time: the pool's threads start runs together


@contextlib.contextmanager
def warm_runs(tests: list[str]) -> Iterator[None]:
    """Within the block, ``run`` forks its runs from this process, warmed with the test modules ``tests``.

    Call it before any thread is started. Every run still going when the block ends (Ctrl-C in
    ``runner.run_parallel``, an error) is ended with its whole process group.
    """
    global _worker, _stopped
    if not can_fork() or "pytest" in sys.modules or "numpy" in sys.modules:
        yield
        return
    worker = Worker(fork=True)
    worker.warm(sorted(set(tests)))
    _worker, _stopped = worker, False

    def stop() -> None:  # ends every run, and no run starts after it (a task the pool had already begun)
        global _stopped
        with _forking:
            _stopped = True
            worker.kill_all()

    unregister = register_stopper(stop)
    try:
        yield
    finally:
        _worker, _stopped = None, False
        unregister()
        worker.kill_all()
        worker.wait_all()


def run(target: Path | str, tests: list[str], exercises: list[str] | None, mode: str, extra: list[str],
        timeout: float | None = None, cpu_limit: float | None = None) -> PytestRun:
    """One run of ``tests`` against ``target`` (``runner.run_suite``'s arguments); its results."""
    with _forking:
        if _stopped:
            return PytestRun(-1, "", None, STOPPED)
        worker = _worker
        started = None if worker is None else worker.start(target, tests=tests, exercises=exercises, mode=mode,
                                                           extra=extra, timeout=timeout, cpu_limit=cpu_limit)
    if started is None:
        return run_suite(target, tests=tests, exercises=exercises, mode=mode, extra=extra, timeout=timeout,
                         cpu_limit=cpu_limit, autoload=False)
    return started.result()

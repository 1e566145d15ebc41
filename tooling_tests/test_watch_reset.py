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

from katatools import reset

FIRST = STAGES[0]
BACKUP = re.compile(rf"^{re.escape(FIRST.module)}\.py\.bak-\d{{8}}-\d{{6}}(-\d+)?$")
WAITING = "watch: waiting for you to save"


@pytest.fixture
def repo(tmp_path):
    return make_repo(tmp_path / "repo")


def kata_path(repo: Path, module: str = FIRST.module) -> Path:
    return repo / "katas" / f"{module}.py"


def backups(repo: Path) -> list[Path]:
    return sorted(p for p in (repo / "katas").iterdir() if ".bak-" in p.name)


# ---------------------------------------------------------------- watch


class Watch:
    """A running `python -m katatools watch`, its output read line by line in the background."""

    def __init__(self, repo: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "katatools", "watch", "--interval", "0.1", *generous(["watch", *args])[1:]],
            cwd=repo, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
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


@pytest.mark.skipif(not Path("/proc/self/cwd").exists(), reason="needs Linux /proc to find leftover processes")
def test_ctrl_c_during_a_check_leaves_no_process_behind(repo):
    loop = "\n\ndef _forever(self, other):\n    while True:\n        pass\n\n\nVariable.__add__ = _forever\n"
    write_kata(repo, FIRST.module, reference(FIRST.module) + loop)
    last = MANIFEST.exercises_of(STAGES[-1].name)[0].name  # in another pytest process, also looping on add
    watch = Watch(repo, "add", last, "--jobs", "2", "--timeout", "600")
    watch.wait_for("watch: checking")
    deadline = time.monotonic() + 60
    while len(processes_in(repo.resolve())) < 4:  # watch, check, and two pytest inside the loop
        assert time.monotonic() < deadline, "the check's pytest did not start"
        time.sleep(0.2)
    watch.process.send_signal(signal.SIGINT)  # to the watch alone, as a test harness would
    code, output = watch.finish(timeout=30)
    assert code == 0, output
    assert "check: interrupted." in output and output.rstrip().endswith("watch: stopped.")
    time.sleep(0.5)
    assert processes_in(repo.resolve()) == []


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

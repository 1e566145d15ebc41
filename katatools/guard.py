"""The grading guard: inside a graded test process, files outside the run's own folders do not exist.

bubblewrap (sandbox.py) is the boundary that holds: a stage run of a submission sees only its
workspace, Python, and the system's libraries. Where bwrap cannot start (macOS, Windows, a
container without user namespaces), the grader still runs every submission with this guard: an
audit hook (PEP 578), installed by the plugin before any kata module is imported, that refuses

- to open, list or change any path outside the run's folders (its workspace, read only; its
  scratch folder, the one place it may write), Python's own installation, and the system's
  programs and libraries (``/usr``, ``/lib``..., ``/etc``, ``/dev/null``, ``/dev/urandom``);
- to start another program (which would run without the hook), or to make a link (which could
  point outside).

So a submission that imports the reference by name, opens it by a path next to its own file, or
walks the folders around it for another ``tangents.py`` finds nothing, with or without bwrap. A
refusal raises PermissionError with ``GUARD_MARK`` in its message, which the grader turns into a
review flag when it reaches a test's result. The hook is no sandbox of its own: code that goes
around Python (ctypes, a C extension) is not seen, and is what bwrap and the review flags are for.

The allowed folders come from the grader in the environment variable ``KATA_GUARD``, as JSON:
``{"read": [...], "write": [...]}``.
"""

from __future__ import annotations

import json
import os
import sys
import sysconfig

GUARD_VARIABLE = "KATA_GUARD"
GUARD_MARK = "kata grading guard"
SYSTEM_READ = ("/usr", "/lib", "/lib32", "/lib64", "/libx32", "/bin", "/sbin", "/etc", "/dev/urandom", "/dev/random",
               "/dev/zero")
SYSTEM_WRITE = ("/dev/null",)
# (glob's patterns are no paths: glob lists folders with os.scandir, which is checked, and finds nothing outside)
READ_EVENTS = {"open", "os.listdir", "os.scandir", "os.chdir", "shutil.copyfile", "shutil.copytree", "os.chflags",
               "os.lchflags"}
WRITE_EVENTS = {"os.mkdir", "os.remove", "os.rmdir", "os.rename", "os.replace", "os.truncate", "os.chmod",
                "os.chown", "os.utime", "os.mkfifo", "os.mknod", "shutil.rmtree", "shutil.move", "shutil.make_archive"}
REFUSED_EVENTS = {"subprocess.Popen", "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.startfile",
                  "os.fchdir", "os.chroot", "os.symlink", "os.link", "pty.spawn"}
TWO_PATHS = {"os.rename", "os.replace", "shutil.copyfile", "shutil.copytree", "shutil.move"}  # (source, destination)
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC


def python_folders() -> list[str]:
    """Python's installation and the environment the tests run in."""
    folders = {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix,
               os.path.dirname(os.path.realpath(sys.executable))}
    folders.update(sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib", "purelib", "platlib"))
    return sorted(folders)


def install(read: list[str], write: list[str]) -> None:
    """Install the audit hook: reads under ``read`` (plus Python and the system), writes under
    ``write`` only. For the rest of the process: an audit hook cannot be removed."""
    getcwd, fspath, decode = os.getcwd, os.fspath, os.fsdecode  # captured now: later rebinding changes nothing

    def normal(path: object) -> str:
        text = fspath(path)
        text = decode(text) if isinstance(text, bytes) else text
        if not text.startswith("/"):
            text = getcwd() + "/" + text
        parts: list[str] = []
        for part in text.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if parts:
                    parts.pop()
                continue
            parts.append(part)
        return "/" + "/".join(parts)

    def within(path: str, folders: tuple[str, ...]) -> bool:
        return any(path == f or path.startswith(f + "/") for f in folders)

    writable = tuple(normal(f) for f in (*write, *SYSTEM_WRITE))
    readable = tuple(normal(f) for f in (*read, *python_folders(), *SYSTEM_READ)) + writable
    events = READ_EVENTS | WRITE_EVENTS | REFUSED_EVENTS

    def refuse(what: str) -> None:
        raise PermissionError(f"{GUARD_MARK}: {what} is not allowed while a submission is graded")

    def hook(event: str, args: tuple) -> None:
        if event not in events:
            return
        if event in REFUSED_EVENTS:
            refuse(event)
        paths = [a for a in args[:2 if event in TWO_PATHS else 1] if isinstance(a, str | bytes | os.PathLike)]
        if event in ("os.listdir", "os.scandir") and args and args[0] is None:
            paths = ["."]
        writing = event in WRITE_EVENTS or (event == "open" and _opens_for_writing(args))
        for path in paths:
            where = normal(path)
            if not within(where, writable if writing else readable):
                refuse(f"{'writing' if writing else 'reading'} {where}")

    sys.addaudithook(hook)


def _opens_for_writing(args: tuple) -> bool:
    mode = args[1] if len(args) > 1 else None
    flags = args[2] if len(args) > 2 else 0
    if isinstance(mode, str) and any(c in mode for c in "wax+"):
        return True
    return isinstance(flags, int) and bool(flags & WRITE_FLAGS)


def install_from_environment() -> bool:
    """Install the guard when the grader asked for it (``KATA_GUARD``); True if it did."""
    setting = os.environ.get(GUARD_VARIABLE)
    if not setting:
        return False
    folders = json.loads(setting)
    install([str(f) for f in folders.get("read", [])], [str(f) for f in folders.get("write", [])])
    return True

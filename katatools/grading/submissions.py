"""Find the learners' submissions and take their kata modules, and nothing else.

A submission is a learner's copy of the repository, its ``katas/`` folder alone, a ``.zip`` of
either, or a folder holding many of these (each graded separately, named by its folder or zip).
Only the stage modules named in exercises.toml (``variable.py``, ...) are read, as bytes: tests,
conftest.py, pytest.ini, sitecustomize.py and extra modules are never copied anywhere.

Zips are never extracted: the member list is checked (no absolute or ``..`` paths, no symlinks,
a bounded count and total size) and only the kata modules are read, each at most MODULE_LIMIT
bytes. A file, folder or zip that breaks a rule is refused with a reason and graded as an error.
"""

from __future__ import annotations

import os
import re
import stat
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..manifest import Manifest

MODULE_LIMIT = 1_000_000  # bytes per kata module: ten times anything a kata needs
ZIP_TOTAL_LIMIT = 500_000_000  # bytes, uncompressed, over every member of a zip
ZIP_MEMBER_LIMIT = 50_000
SEARCH_DEPTH = 4  # how deep in a folder or zip the katas/ folder is looked for
SKIPPED_DIRS = {".git", ".nox", ".venv", "venv", "node_modules", "__pycache__", "__MACOSX", "solutions", "pristine",
                "mutants", ".hypothesis", ".pytest_cache", ".ruff_cache"}


class SubmissionError(ValueError):
    """A path on the command line is neither a submission nor a folder of submissions."""


@dataclass
class Submission:
    id: str
    source: Path
    modules: dict[str, bytes] = field(default_factory=dict)  # "variable.py" -> its source
    problem: str = ""  # why it cannot be graded at all ("" when it can)
    notes: list[str] = field(default_factory=list)  # what was left aside (another copy of the kata modules)


def module_files(manifest: Manifest) -> list[str]:
    return [stage.module + ".py" for stage in manifest.stages]


# ---------------------------------------------------------------- locating the kata modules


def locate(files: list[str], wanted: list[str]) -> str | None:
    """The folder (a posix prefix, "" for the top) that holds the kata modules among ``files``.

    A folder named ``katas`` wins (a repository copy also holds solutions/ and other copies);
    otherwise the shallowest folder holding any kata module. None if there is none, or two
    candidates at the same depth (ambiguous).
    """
    found = candidates(files, wanted)
    return found[0] if len(found) == 1 else None


def candidates(files: list[str], wanted: list[str]) -> list[str]:
    """The folders that could hold the submission's kata modules: one (found), none, or several
    at the same depth (ambiguous), sorted."""
    holders: dict[str, int] = {}
    for name in files:
        path = PurePosixPath(name)
        if path.name in wanted and not (set(path.parts[:-1]) & SKIPPED_DIRS):
            folder = path.parent.as_posix()
            holders[folder if folder != "." else ""] = len(path.parts) - 1
    if not holders:
        return []
    katas = {f: d for f, d in holders.items() if PurePosixPath(f).name == "katas"}
    pool = katas or holders
    depth = min(pool.values())
    return sorted(f for f, d in pool.items() if d == depth)


def _read_limited(opener: Callable, name: str) -> bytes:
    with opener() as stream:
        data = stream.read(MODULE_LIMIT + 1)
    if len(data) > MODULE_LIMIT:
        raise SubmissionError(f"{name} is larger than {MODULE_LIMIT} bytes")
    return data


def _list_folder(root: Path) -> list[str]:
    found = []
    for here, dirs, files in os.walk(root):  # never follows symlinked folders
        depth = len(Path(here).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and depth < SEARCH_DEPTH)
        found.extend((Path(here) / f).relative_to(root).as_posix() for f in files)
    return found


def ignored_copies(files: list[str], wanted: list[str], chosen: str) -> list[str]:
    """The other folders holding kata modules, which are not graded (a deeper katas/, a copy elsewhere)."""
    others = {PurePosixPath(n).parent.as_posix() for n in files
              if PurePosixPath(n).name in wanted and not (set(PurePosixPath(n).parts[:-1]) & SKIPPED_DIRS)}
    return sorted(f if f != "." else "" for f in others if (f if f != "." else "") != chosen)


def _take(files: list[str], wanted: list[str], read: Callable[[str], bytes],
          notes: list[str] | None = None) -> dict[str, bytes]:
    found = candidates(files, wanted)
    if not found:
        raise SubmissionError(f"no kata modules found: looked for {', '.join(wanted)} (alone, in a katas/ folder, "
                              "or in a copy of the repository)")
    if len(found) > 1:
        places = ", ".join(f"{f}/" if f else "the top folder" for f in found)
        raise SubmissionError(f"kata modules found in {len(found)} places ({places}): keep one copy only")
    folder = found[0]
    if notes is not None:
        for other in ignored_copies(files, wanted, folder):
            notes.append(f"kata modules also in {other or 'the top folder'}/, not graded: "
                         f"{folder or 'the top folder'}/ was (a katas/ folder first, then the shallowest)")
    present = set(files)
    modules = {}
    for name in wanted:
        member = f"{folder}/{name}" if folder else name
        if member in present:
            modules[name] = read(member)
    return modules


def read_folder(root: Path, wanted: list[str], notes: list[str] | None = None) -> dict[str, bytes]:
    def read(member: str) -> bytes:
        path = root / member
        if path.is_symlink() or not path.is_file():
            raise SubmissionError(f"{member} is a symlink or not a regular file")
        return _read_limited(lambda: open(path, "rb"), member)

    return _take(_list_folder(root), wanted, read, notes)


def check_zip_member(info: zipfile.ZipInfo) -> None:
    """Refuse absolute paths, ``..`` components, drive letters and symlinks."""
    name = info.filename.replace("\\", "/")
    parts = PurePosixPath(name).parts
    if name.startswith("/") or ".." in parts or (parts and re.match(r"^[A-Za-z]:", parts[0])):
        raise SubmissionError(f"unsafe zip: member {info.filename!r} points outside the archive")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise SubmissionError(f"unsafe zip: member {info.filename!r} is a symlink")


def read_zip(path: Path, wanted: list[str], notes: list[str] | None = None) -> dict[str, bytes]:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
            if len(infos) > ZIP_MEMBER_LIMIT:
                raise SubmissionError(f"unsafe zip: more than {ZIP_MEMBER_LIMIT} members")
            if sum(i.file_size for i in infos) > ZIP_TOTAL_LIMIT:
                raise SubmissionError(f"unsafe zip: more than {ZIP_TOTAL_LIMIT} bytes once uncompressed")
            for info in infos:
                check_zip_member(info)
            by_name = {i.filename.replace("\\", "/"): i for i in infos if not i.is_dir()}
            files = [n for n in by_name if len(PurePosixPath(n).parts) <= SEARCH_DEPTH + 1]
            return _take(files, wanted, lambda member: _read_limited(lambda: archive.open(by_name[member]), member), notes)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, RuntimeError) as exc:
        raise SubmissionError(f"unreadable zip ({type(exc).__name__}: {exc})") from None


# ---------------------------------------------------------------- finding the submissions


def _is_zip(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() == ".zip"


def _is_single(folder: Path, wanted: list[str]) -> bool:
    return any((folder / name).is_file() for name in wanted) or any(
        (folder / "katas" / name).is_file() for name in wanted
    )


def _candidates(path: Path, wanted: list[str], exclude: set[Path]) -> list[Path]:
    if _is_zip(path) or (path.is_dir() and _is_single(path, wanted)):
        return [path]
    if path.is_dir():
        children = [c for c in sorted(path.iterdir()) if not c.name.startswith((".", "__MACOSX"))]
        found = [c for c in children if (c.is_dir() or _is_zip(c)) and c.resolve() not in exclude]
        if found:
            return found
        raise SubmissionError(f"{path}: neither a submission (no katas/ or kata modules) nor a folder of submissions")
    raise SubmissionError(f"{path}: not a folder or a .zip")


def safe_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "submission"


def load(path: Path, sid: str, wanted: list[str]) -> Submission:
    submission = Submission(sid, path)
    try:
        read = read_zip if _is_zip(path) else read_folder
        submission.modules = read(path, wanted, submission.notes)
    except SubmissionError as exc:
        submission.problem = str(exc)
    return submission


def discover(paths: list[Path], manifest: Manifest, exclude: list[Path] = ()) -> list[Submission]:
    """Every submission under ``paths``, sorted by id; ids are unique (``-2``, ``-3``... on a clash)."""
    wanted = module_files(manifest)
    excluded = {p.resolve() for p in exclude}
    found: list[Path] = []
    for path in paths:
        found.extend(_candidates(Path(path), wanted, excluded))
    seen: dict[str, int] = {}
    named = []
    for path in found:
        base = safe_id(path.stem if _is_zip(path) else path.resolve().name)
        seen[base] = seen.get(base, 0) + 1
        named.append((base if seen[base] == 1 else f"{base}-{seen[base]}", path))
    return sorted((load(p, sid, wanted) for sid, p in named), key=lambda s: s.id)

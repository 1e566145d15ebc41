"""Verdicts the check can reuse: an exercise that passed is not run again until something it read changes.

A test's verdict is a function of what it ran: the kata files it imported, the tests, the tools
and the reference, the packages' versions and the check's options. The tests are deterministic
(fixed seeds, a fixed hypothesis profile), so the same inputs give the same verdict, and an
exercise that passed need not run again while its inputs stay the same. That is what a build
system does with its targets (make, Bazel), and pytest-testmon with tests.

    inputs: the tooling's key (``tooling_key``) + the contents of every kata file the exercise's
            tests imported, recorded by the plugin as each test ended (``TestRecord.sources``)

Only passes are kept: a failing exercise always runs again (it is the one being worked on).
The files are read before the runs start and again after they end; if they changed meanwhile,
nothing is kept, so a save made during a check can never hide behind an old verdict.

What the inputs do not cover: a kata that reads other files at run time, or whose result
depends on the clock or on an unseeded random generator. ``--fresh`` runs everything; the
grader never reads this store (it runs every test of every submission).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
from dataclasses import asdict
from importlib import metadata
from pathlib import Path

from ..manifest import ROOT, Manifest
from ..report import DONE, PASSED, TestRecord, record_from, summarize

STORE = ROOT / ".kata-cache" / "verdicts.json"
STORE_VERSION = 1
# What the tests, the plugin and the reference are made of: a change to any of them changes every verdict.
TOOLING = ("tests/**/*.py", "katatools/**/*.py", "solutions/*.py", "exercises.toml", "pyproject.toml", "conftest.py")
PACKAGES = ("pytest", "numpy", "hypothesis", "scikit-learn")
ENVIRONMENT = ("KATA_", "HYPOTHESIS_", "PYTHONHASHSEED")  # variables that can change how the tests run

Files = dict[str, str]  # path relative to katas/ -> sha256 of its contents


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def kata_files(directory: Path) -> Files:
    """Every Python file under ``directory`` (backups and caches aside), by its contents' digest."""
    found: Files = {}
    for path in sorted(directory.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        try:
            found[path.relative_to(directory).as_posix()] = digest(path.read_bytes())
        except OSError:  # removed while we looked
            continue
    return found


def tooling_key(options: dict[str, object], root: Path = ROOT) -> str:
    """One digest of everything but the kata files that a verdict depends on."""
    parts: list[str] = [json.dumps(options, sort_keys=True), platform.python_version()]
    for package in PACKAGES:
        try:
            parts.append(f"{package}=={metadata.version(package)}")
        except metadata.PackageNotFoundError:
            parts.append(f"{package} missing")
    parts += sorted(f"{k}={v}" for k, v in os.environ.items() if k.startswith(ENVIRONMENT))
    for pattern in TOOLING:
        for path in sorted(root.glob(pattern)):
            if "__pycache__" not in path.parts and path.is_file():
                parts.append(f"{path.relative_to(root).as_posix()}:{digest(path.read_bytes())}")
    return digest("\n".join(parts).encode())


class VerdictStore:
    """The passes of earlier checks, each with the inputs it was measured on (``.kata-cache/verdicts.json``).

    A file that is missing, unreadable or from other tooling is an empty store: at worst every
    exercise runs, as with ``--fresh``. Writing is best effort and atomic.
    """

    def __init__(self, key: str, path: Path = STORE) -> None:
        self.key, self.path = key, path
        self.entries: dict[str, dict] = {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") == STORE_VERSION and data.get("key") == key:
                self.entries = {name: entry for name, entry in data["exercises"].items()
                                if isinstance(entry.get("files"), dict) and isinstance(entry.get("tests"), list)}
        except (OSError, ValueError, AttributeError, KeyError, TypeError):
            self.entries = {}

    def reuse(self, exercise: str, now: Files) -> list[TestRecord] | None:
        """The records of ``exercise``'s last pass, if every file it read is as it was then; else None."""
        entry = self.entries.get(exercise)
        if entry is None or not entry["files"] or any(now.get(name) != sha for name, sha in entry["files"].items()):
            return None
        try:
            records = [record_from(t) for t in entry["tests"]]
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        if not records or any(r.status != PASSED or r.exercise != exercise for r in records):
            return None
        return records

    def remember(self, manifest: Manifest, records: list[TestRecord], before: Files, after: Files) -> None:
        """Keep the exercises that passed in ``records``, if the files did not change during the runs."""
        if before != after:
            return
        by_exercise: dict[str, list[TestRecord]] = {}
        for record in records:
            by_exercise.setdefault(record.exercise, []).append(record)
        for result in summarize(manifest, records):
            name = result.exercise.name
            read = sorted({source for r in by_exercise[name] for source in r.sources})
            if result.status == DONE and read and all(source in before for source in read):
                self.entries[name] = {"files": {source: before[source] for source in read},
                                      "tests": [asdict(r) for r in by_exercise[name]]}
            else:
                self.entries.pop(name, None)
        self.save()

    def save(self) -> None:
        save_json(self.path, {"version": STORE_VERSION, "key": self.key, "exercises": self.entries})


def save_json(path: Path, data: object) -> None:
    """Write ``data`` to ``path`` (in .kata-cache/) whole or not at all; best effort, as a cache is."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.partial")
        partial.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        pass

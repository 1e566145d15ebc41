"""``nox -s reset -- NAME...``: put the pristine stub back, after saving your file beside it.

    nox -s reset -- mul            the stub of katas/variable.py back (your file kept as a backup)
    nox -s reset -- --undo mul     your latest backup of katas/variable.py back (the current file
                                   backed up first, so an undo can be undone the same way)

NAME is an exercise or a stage. An exercise lives in its stage's module, so resetting it
restores that whole module (``katas/variable.py`` for ``mul``). An exercise written inside an
earlier stage's module (stage 5's arrays and reductions, in your variable.py and primitives.py)
is refused: resetting those files would undo the earlier stages too, so name them if you mean it. Your current file is first
copied to ``katas/<module>.py.bak-YYYYMMDD-HHMMSS`` (``-2``, ``-3``... if that name is taken;
an existing backup is never overwritten, and the name does not end in ``.py``, so a backup is
never imported as a kata module). The stub is generated from the marked reference in
``solutions/`` (katatools/stubs.py), or, in a learner's edition, which has no reference, copied from
``pristine/``; your edits and commits to katas/ touch neither. An unknown name changes nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import re
import sys
import time
from pathlib import Path

from ..manifest import ROOT, Manifest, ManifestError, Stage, load_manifest
from ..stubs import pristine_stubs
from .check import unknown_name

KATAS = ROOT / "katas"


BACKUP_NAME = re.compile(r"\.bak-(?P<stamp>\d{8}-\d{6})(?:-(?P<attempt>\d+))?$")


def backup_path(original: Path, stamp: str, attempt: int) -> Path:
    suffix = f".bak-{stamp}" + (f"-{attempt}" if attempt > 1 else "")
    return original.with_name(original.name + suffix)


def save_backup(original: Path, content: bytes) -> Path:
    """Copy ``content`` to a new backup file beside ``original``; never replace an existing one."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for attempt in itertools.count(1):
        path = backup_path(original, stamp, attempt)
        try:
            with open(path, "xb") as f:  # "x": fails if the file exists, atomically
                f.write(content)
            return path
        except FileExistsError:
            continue
    raise AssertionError("unreachable")


def backups_of(original: Path) -> list[Path]:
    """The backups of ``original``, oldest first (by the time and the number in their names)."""
    found = []
    for path in original.parent.glob(original.name + ".bak-*"):
        match = BACKUP_NAME.search(path.name[len(original.name):])
        if match and path.is_file():
            found.append(((match["stamp"], int(match["attempt"] or 1)), path))
    return [path for _, path in sorted(found)]


def write_atomically(target: Path, content: bytes) -> None:
    partial = target.with_name(f".{target.name}.reset-partial")
    partial.write_bytes(content)
    os.replace(partial, target)  # atomic: the kata file is never half written


def undo(stage: Stage, katas: Path = KATAS) -> bool:
    """Put the latest backup of ``katas/<module>.py`` back, after backing up the current file."""
    name = f"{stage.module}.py"
    target, shown = katas / name, f"katas/{name}"
    saved = backups_of(target)
    if not saved:
        print(f"reset: no backup of {shown} to restore (reset makes one)", file=sys.stderr)
        return False
    latest = saved[-1]
    content = latest.read_bytes()
    if target.exists() and target.read_bytes() == content:
        print(f"reset: {shown} is already the same as its latest backup, katas/{latest.name}; nothing to do.")
        return True
    if target.exists():
        print(f"reset: saved the current {shown} as katas/{save_backup(target, target.read_bytes()).name}")
    write_atomically(target, content)
    print(f"reset: {shown} is katas/{latest.name} again.")
    return True


def restore(stage: Stage, exercises: list[str], stub: str, katas: Path = KATAS) -> None:
    """Back up ``katas/<module>.py`` if it differs from the stub, then write the stub in its place."""
    name = f"{stage.module}.py"
    target, stub = katas / name, stub.encode("utf-8")
    shown = f"katas/{name}"
    if target.exists() and target.read_bytes() == stub:
        print(f"reset: {shown} is already the pristine stub; nothing to do.")
        return
    if target.exists():
        backup = save_backup(target, target.read_bytes())
        print(f"reset: saved your {shown} as katas/{backup.name}")
    write_atomically(target, stub)
    print(f"reset: {shown} is the pristine stub again (exercises {', '.join(exercises)}).")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s reset --",
        description="Restore the pristine stub of the module holding each exercise or stage, after a backup.",
    )
    parser.add_argument("names", nargs="+", metavar="NAME", help="an exercise (e.g. mul) or a stage (e.g. variable)")
    parser.add_argument("--undo", action="store_true",
                        help="put back the latest backup of each module instead (the current file is backed up first)")
    args = parser.parse_args(argv)
    manifest = load_manifest()
    stages: set[str] = set()
    for name in args.names:  # check every name before touching any file
        try:
            stages.add(name if name in manifest.stage_names else manifest.exercise(name).stage)
        except ManifestError as exc:
            print(f"reset: nothing changed: {unknown_name(manifest, exc)}", file=sys.stderr)
            return 2
        elsewhere = modules_elsewhere(manifest, name)
        if elsewhere:
            files = " and ".join(f"katas/{m}.py" for m in elsewhere)
            print(f"reset: nothing changed: exercise {name} is written in your {files}, inside the exercises of "
                  f"earlier stages, which a reset would undo too. Undo it by hand, or reset "
                  f"{' and '.join(elsewhere)} by name (each file is saved beside first).", file=sys.stderr)
            return 2
    chosen = [s for s in manifest.stages if s.name in stages]
    if args.undo:
        return 0 if all([undo(stage) for stage in chosen]) else 1
    try:
        stubs = pristine_stubs(manifest)
    except FileNotFoundError as exc:
        print(f"reset: nothing changed: {exc}", file=sys.stderr)
        return 1
    for stage in chosen:
        own = [e.name for e in manifest.exercises_of(stage.name) if not modules_elsewhere(manifest, e.name)]
        restore(stage, own, stubs[f"{stage.module}.py"])
        other = [e.name for e in manifest.exercises_of(stage.name) if e.name not in own]
        if other:
            print(f"reset: exercises {', '.join(other)} live in earlier stages' modules: not reset.")
        for exercise in manifest.exercises_of(stage.name):
            parts = [c for c in exercise.covers if exercise.name in own and manifest.cover_module(exercise, c) != stage.module]
            if parts:
                places = ", ".join("katas/{}.py ({})".format(*c.split(":", 1)) for c in parts)
                print(f"reset: exercise {exercise.name} also has code in earlier stages' modules, not reset: {places}")
    return 0


def modules_elsewhere(manifest: Manifest, name: str) -> list[str]:
    """The earlier stages' modules holding an exercise's code, when its own module holds none of it."""
    if name in manifest.stage_names:
        return []
    exercise = manifest.exercise(name)
    own = manifest.stage(exercise.stage).module
    modules = list(dict.fromkeys(manifest.cover_module(exercise, c) for c in exercise.covers))
    return [] if own in modules else modules


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

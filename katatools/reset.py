"""``nox -s reset -- NAME...``: put the pristine stub back, after saving your file beside it.

NAME is an exercise or a stage. An exercise lives in its stage's module, so resetting it
restores that whole module (``katas/variable.py`` for ``mul``). An exercise written inside an
earlier stage's module (stage 5's arrays and reductions, in your variable.py and primitives.py)
is refused: resetting those files would undo the earlier stages too, so name them if you mean it. Your current file is first
copied to ``katas/<module>.py.bak-YYYYMMDD-HHMMSS`` (``-2``, ``-3``... if that name is taken;
an existing backup is never overwritten, and the name does not end in ``.py``, so a backup is
never imported as a kata module). The stub is generated from the marked reference in
``solutions/`` (katatools/stubs.py), which your edits and commits to katas/ do not touch. An
unknown name changes nothing.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import time
from pathlib import Path

from .check import unknown_name
from .manifest import ROOT, Manifest, ManifestError, Stage, load_manifest
from .stubs import REFERENCE_DIR, module_path, stub_of

KATAS = ROOT / "katas"


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


def restore(stage: Stage, exercises: list[str], katas: Path = KATAS, reference: Path = REFERENCE_DIR) -> None:
    """Back up ``katas/<module>.py`` if it differs from the stub, then write the stub in its place."""
    name = f"{stage.module}.py"
    target, stub = katas / name, stub_of(stage, reference=reference).encode("utf-8")
    shown = f"katas/{name}"
    if target.exists() and target.read_bytes() == stub:
        print(f"reset: {shown} is already the pristine stub; nothing to do.")
        return
    if target.exists():
        backup = save_backup(target, target.read_bytes())
        print(f"reset: saved your {shown} as katas/{backup.name}")
    partial = target.with_name(f".{name}.reset-partial")
    partial.write_bytes(stub)
    os.replace(partial, target)  # atomic: the kata file is never half written
    print(f"reset: {shown} is the pristine stub again (exercises {', '.join(exercises)}).")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s reset --",
        description="Restore the pristine stub of the module holding each exercise or stage, after a backup.",
    )
    parser.add_argument("names", nargs="+", metavar="NAME", help="an exercise (e.g. mul) or a stage (e.g. variable)")
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
    missing = [s for s in chosen if not module_path(REFERENCE_DIR, s).is_file()]
    if missing:
        names = ", ".join(f"{s.module}.py" for s in missing)
        print(f"reset: nothing changed: no reference for {names} in solutions/ to generate the stub from", file=sys.stderr)
        return 1
    for stage in chosen:
        own = [e.name for e in manifest.exercises_of(stage.name) if not modules_elsewhere(manifest, e.name)]
        restore(stage, own)
        other = [e.name for e in manifest.exercises_of(stage.name) if e.name not in own]
        if other:
            print(f"reset: exercises {', '.join(other)} live in earlier stages' modules: not reset.")
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

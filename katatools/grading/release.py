"""The learner's edition: the repository a learner gets, without the reference. ``nox -s release -- DIR``.

As nbgrader releases an assignment from the instructor's copy, this writes into ``DIR`` what a
learner needs and nothing that gives the exercises away:

- ``katas/``: the pristine stubs, generated from the reference (katatools/stubs.py), and a copy of
  them in ``pristine/``, from which ``reset`` restores a stub and the grader fills a missing module;
- ``tests/``, ``katatools/``, ``exercises.toml``, ``pyproject.toml``, ``noxfile.py``, ``README.md``,
  ``.gitignore``: the check, watch, reset, the demo (``demo -- katas``) and the grader in cumulative
  mode all work there;
- ``docs/``, which the README links to (no link of the edition's documents is broken);
- with ``--classroom``, GitHub Classroom's workflow (deprecated: see docs/instructors.md).

Not there: ``solutions/`` (the reference), ``alternatives/`` (correct implementations),
``mistakes/`` (the reference with slips), the benchmarks and the tooling's own tests, all of which
hold or need the reference. What needs it says so in the edition: isolated mode (``check --isolated``,
the grader's default), the proofs (``nox -s test``, ``corpus``, ``mutants``...).

``DIR`` must not exist, or be empty: the release never writes over anything.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..manifest import ROOT, load_manifest
from ..stubs import PRISTINE, generated_stubs, reference_sources, write_package

FILES = ("exercises.toml", "pyproject.toml", "noxfile.py", "README.md", ".gitignore")
FOLDERS = ("tests", "katatools", "docs")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache", "*.partial", "*.bak-*")


class ReleaseError(RuntimeError):
    """The edition cannot be written (no reference to make the stubs from, a folder in the way)."""


def check_destination(dest: Path, what: str = "the release") -> None:
    """ReleaseError unless ``dest`` is a new or empty folder: nothing is ever written over."""
    if dest.exists() and (not dest.is_dir() or any(dest.iterdir())):
        raise ReleaseError(f"{dest} exists and is not empty: {what} writes only into a new or empty folder")


def copy_public_files(dest: Path, root: Path, files: tuple[str, ...] = FILES,
                      folders: tuple[str, ...] = FOLDERS) -> None:
    """Copy ``files`` and ``folders`` of ``root`` into ``dest`` (created if needed), without caches
    and partial files: the parts of the repository that hold no reference."""
    dest.mkdir(parents=True, exist_ok=True)
    for name in files:
        shutil.copyfile(root / name, dest / name)
    for name in folders:
        shutil.copytree(root / name, dest / name, ignore=IGNORED)


def write_edition(dest: Path, root: Path = ROOT, classroom: bool = False) -> list[str]:
    """Write the learner's edition of the repository at ``root`` into ``dest``; the paths written."""
    manifest = load_manifest(root / "exercises.toml")
    if reference_sources(manifest, root) is None:
        raise ReleaseError(f"{root} has no complete solutions/ to make the stubs from (is it an edition already?)")
    check_destination(dest)
    stubs = generated_stubs(manifest, root / "solutions")
    copy_public_files(dest, root)
    write_package(dest / "katas", stubs)
    write_package(dest / PRISTINE, stubs)
    if classroom:
        from .classroom import workflow_text

        workflow = dest / ".github" / "workflows" / "classroom.yml"
        workflow.parent.mkdir(parents=True)
        workflow.write_text(workflow_text(root), encoding="utf-8")
    return sorted(p.relative_to(dest).as_posix() for p in dest.rglob("*") if p.is_file())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="nox -s release --", description=__doc__.splitlines()[0])
    parser.add_argument("dest", type=Path, metavar="DIR", help="a new or empty folder for the learner's edition")
    parser.add_argument("--classroom", action="store_true",
                        help="also write GitHub Classroom's autograding workflow (deprecated: see docs/instructors.md)")
    args = parser.parse_args(argv)
    from .grade import invoked_from

    dest = invoked_from() / args.dest
    try:
        written = write_edition(dest, classroom=args.classroom)
    except ReleaseError as exc:
        print(f"release: {exc}", file=sys.stderr)
        return 2
    print(f"release: wrote the learner's edition to {dest} ({len(written)} files; no solutions/, alternatives/ or "
          "mistakes/). Hand out this one: a learner with solutions/ can copy the reference into katas/.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

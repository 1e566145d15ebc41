"""Gradescope: build the autograder zip, and grade one submission inside Gradescope's container.

``python -m katatools gradescope [--out autograder.zip] [--mode M] [--stage S]... [--test-timeout S]
[--wall-limit S] [--no-sandbox]`` writes the zip Gradescope asks for (its "Autograder
Specifications"): at its root ``setup.sh`` (run once when Gradescope builds the image: Python, a
virtual environment, the dependencies of pyproject.toml's ``test`` and ``grade`` groups) and
``run_autograder`` (``#!`` line, executable), beside the repository's grading files (manifest,
katatools, tests, reference). The grading options given here are written into ``run_autograder``.
The zip is the same bytes for the same repository: fixed dates, sorted members.

``run_autograder`` calls ``python -m katatools gradescope run``, which grades
``/autograder/submission`` as one submission and always writes ``/autograder/results/results.json``:
a submission that cannot be read (no kata module, or copies in two places) and any error of the
grader itself become a score of 0 with a message saying why. Should Python itself fail,
``run_autograder`` writes that score of 0. Review flags go to ``extra_data`` and to standard output,
which Gradescope shows to staff only (``"stdout_visibility": "hidden"``): a hidden test would hide
the student's total.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import traceback
import zipfile
from pathlib import Path

from ..manifest import ROOT, load_manifest, tomllib
from .grade import MODES, Grader, invoked_from, say_how_code_runs
from .gradebook import gradescope_results
from .options import add_limits, forwarded, parse_with_limits, unknown_stage
from .submissions import Submission, load, module_files

AUTOGRADER = Path("/autograder")
ROOT_ENV = "KATA_AUTOGRADER_ROOT"  # run_autograder's /autograder, to try it in a folder of your own
SHIPPED = ("exercises.toml", "pyproject.toml", "katatools", "tests", "solutions")
GROUPS = ("test", "grade")  # pyproject.toml's dependency groups the grader needs
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
PYTHON_MINOR = (3, 10)

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image (see docs/instructors.md, "Gradescope").
set -euo pipefail
apt-get update -qq
apt-get install -y -qq python3 python3-venv python3-pip > /dev/null
python3 -c 'import sys; assert sys.version_info >= {minor}, "Python {version}+ is needed, found " + sys.version'
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet {requirements}
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission. It must leave results/results.json: the grader always
# writes one (a grading error is a score of 0 with its reason), and should Python itself fail, the
# lines below write that score of 0.
root="${{{root_env}:-/autograder}}"
results="$root/results/results.json"
python="$root/venv/bin/python"
[ -x "$python" ] || python=python3
mkdir -p "$root/results"
cd "$root/source" && "$python" -m katatools gradescope run --submission "$root/submission" --results "$results" {options}
status=$?
if [ ! -s "$results" ]; then
  printf '%s\\n' '{{"score": 0, "output": "The autograder could not run (exit code '"$status"'): nothing was graded. Please tell your instructor.", "output_format": "text", "stdout_visibility": "hidden", "tests": []}}' > "$results"
fi
exit 0
"""


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    with open(pyproject, "rb") as f:
        groups = tomllib.load(f)["dependency-groups"]
    return [r for g in GROUPS for r in groups[g] if isinstance(r, str)]


def grading_options(args: argparse.Namespace) -> list[str]:
    return ["--mode", args.mode, *forwarded(args)]


def build_zip(out: Path, options: list[str], root: Path = ROOT) -> list[str]:
    """Write the autograder zip to ``out``; its member names, in order."""
    minor = ".".join(map(str, PYTHON_MINOR))
    files: dict[str, tuple[bytes, int]] = {
        "setup.sh": (SETUP_SH.format(minor=PYTHON_MINOR, version=minor,
                                     requirements=shlex.join(requirements(root / "pyproject.toml"))).encode(), 0o755),
        "run_autograder": (RUN_AUTOGRADER.format(root_env=ROOT_ENV, options=shlex.join(options)).encode(), 0o755),
    }
    for name in SHIPPED:
        path = root / name
        members = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for member in members:
            if "__pycache__" in member.parts or member.suffix == ".pyc":
                continue
            files[member.relative_to(root).as_posix()] = (member.read_bytes(), 0o644)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".partial")
    with zipfile.ZipFile(partial, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(files):
            info = zipfile.ZipInfo(name, ZIP_DATE)
            info.external_attr = (0o100000 | files[name][1]) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, files[name][0])
    os.replace(partial, out)
    return sorted(files)


# ---------------------------------------------------------------- inside Gradescope's container


def error_results(message: str) -> dict:
    """A valid results.json for a submission that could not be graded: 0 points and why."""
    return {"score": 0, "output": message, "output_format": "text", "stdout_visibility": "hidden", "tests": [],
            "extra_data": {"grading_error": message}}


def grade_one(folder: Path, args: argparse.Namespace) -> tuple[dict, list[str]]:
    """Gradescope's results for the submission in ``folder``, and lines for staff (standard output)."""
    modes = MODES if args.mode == "both" else (args.mode,)
    manifest = load_manifest()
    if folder.is_dir():
        submission = load(folder, "submission", module_files(manifest))
    else:
        submission = Submission("submission", folder, problem=f"no submission folder at {folder}")
    grader = Grader(modes, args.test_timeout, args.wall_limit, args.stage, sandbox=not args.no_sandbox)
    try:
        say_how_code_runs(grader)
        graded = grader.grade(submission)
    finally:
        grader.close()
    results = gradescope_results(grader, graded)
    if submission.problem:
        results["output"] = (f"Nothing was graded: {submission.problem}.\nUpload your kata modules "
                             f"({', '.join(module_files(manifest))}), your katas/ folder, or your repository.")
        for test in results["tests"]:
            test["output"] = f"not graded: {submission.problem}"
    staff = [f"score {graded.total(modes[0])}; sandbox: {graded.sandbox}"]
    staff += [f"review flag: {f}" for f in graded.flags] or ["review flags: none"]
    staff += [f"problem: {p}" for p in graded.problems] + [f"note: {n}" for n in graded.notes]
    return results, staff


def run(args: argparse.Namespace) -> int:
    try:
        results, staff = grade_one(args.submission, args)
    except Exception as exc:  # whatever happens, the student gets a score and a reason
        print(traceback.format_exc())
        results = error_results(f"The autograder failed while grading this submission ({type(exc).__name__}: "
                                f"{exc}). You have 0 points for now; please tell your instructor.")
        staff = [f"grading error: {type(exc).__name__}: {exc}"]
    for line in staff:
        print(line)
    args.results.parent.mkdir(parents=True, exist_ok=True)
    partial = args.results.with_name(args.results.name + ".partial")
    partial.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(partial, args.results)
    return 0


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str]) -> argparse.Namespace:
    running = bool(argv) and argv[0] == "run"
    parser = argparse.ArgumentParser(
        prog="python -m katatools gradescope" + (" run" if running else ""),
        description="Grade one submission in Gradescope's container (run_autograder calls this)." if running else
        "Build Gradescope's autograder zip: setup.sh, run_autograder and the grading files.")
    if running:
        parser.add_argument("--submission", type=Path, default=AUTOGRADER / "submission")
        parser.add_argument("--results", type=Path, default=AUTOGRADER / "results" / "results.json")
    else:
        parser.add_argument("--out", type=Path, default=Path("autograder.zip"),
                            help="where to write the zip (default: autograder.zip, from where you run the command)")
    parser.add_argument("--mode", choices=(*MODES, "both"), default="isolated", help="as for grade (default isolated)")
    add_limits(parser, "seconds per submission and mode, shared by its stages (as for grade; Gradescope's own "
                       "limit is set in the assignment's settings)")
    args = parse_with_limits(parser, argv[1:] if running else argv)
    args.running = running
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.running:
        return run(args)
    manifest = load_manifest()
    problem = unknown_stage(args, manifest)
    if problem:
        print(f"gradescope: {problem}", file=sys.stderr)
        return 2
    out = invoked_from() / args.out
    members = build_zip(out, grading_options(args))
    total = sum(e.points for e in manifest.exercises if not args.stage or e.stage in args.stage)
    print(f"gradescope: wrote {out} ({len(members)} files: setup.sh, run_autograder, "
          f"{', '.join(SHIPPED)}); upload it as the assignment's autograder, with {total} points as its total")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

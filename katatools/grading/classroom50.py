"""Classroom 50: build an assignment's autograder bundle, and grade one learner's checkout in its runner.

``python -m katatools classroom50 [--out DIR] [--stage S]... [--test-timeout S] [--wall-limit S]
[--no-sandbox]`` (``nox -s classroom50 -- ...``) writes the bundle into DIR (default
``classroom50-autograder/``; a new or empty folder, never written over), for the instructor to
commit as ``CLASSROOM/autograders/ASSIGNMENT/`` of their classroom50 repository:

- ``autograder.py``, the runner's entry point (katatools/grading/classroom50_autograder.py: standard
  library only; it installs the grader's dependencies and runs the command below);
- ``autograder.json``: the requirements (pyproject.toml's ``test`` and ``grade`` groups) and the
  grading options given here;
- the grader: ``katatools/``, ``tests/``, ``exercises.toml``, ``pyproject.toml``, and the pristine
  stubs in ``pristine/`` (a missing kata module is graded as its stub).

Classroom 50 publishes each bundle on GitHub Pages, where anyone can fetch it without credentials,
so the bundle holds **no reference** (no ``solutions/``, ``alternatives/`` or ``mistakes/``): what it
holds is the learner's edition's (release.py) and nothing more. Grading there is therefore in
cumulative mode, the learner's own stack, with the same grader, limits, sandbox (where bwrap
works) and guard as ``nox -s grade -- CHECKOUT --mode cumulative``, and the same scores.

``python -m katatools classroom50 run --checkout DIR [OPTIONS]`` is what autograder.py runs, from
the bundle's folder: it grades DIR (the learner's checkout) as one submission and writes, in DIR,
``result.json`` (the ``classroom50/result/v1`` contract: one test per exercise graded, all or
nothing, named ``stage/exercise: description``, its points as ``max-score``; integer sums; the
submission's fields from the runner's variables; ``datetime`` the graded commit's committer date in
UTC), ``release-body.md`` (the score, a PASS/FAIL table with each failing exercise's first failure)
and, when ``$GITHUB_OUTPUT`` is set, ``status=success|failure`` and ``summary=`` lines. Exit 0 for
any grade, an empty or broken submission included; 1 when the grader itself failed, 2 when the
runner's variables are missing: nothing is written then, and Classroom 50 records an error.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import re
import shutil
import subprocess
import sys
import traceback
from pathlib import Path

from .. import report as results
from ..manifest import ROOT, load_manifest
from ..stubs import PRISTINE, pristine_stubs, write_package
from .grade import Grader, invoked_from, say_how_code_runs
from .gradebook import Graded, exercise_title
from .gradescope import requirements
from .options import add_limits, forwarded, parse_with_limits, unknown_stage
from .release import ReleaseError, check_destination, copy_public_files
from .submissions import load, module_files

SCHEMA = "classroom50/result/v1"
MODE = "cumulative"  # the bundle is public: no reference, so no isolated mode
DEFAULT_OUT = Path("classroom50-autograder")
ENTRY = "autograder.py"  # the name the runner looks for
ENTRY_SOURCE = "katatools/grading/classroom50_autograder.py"
CONFIG = "autograder.json"
BUNDLED_FILES = ("exercises.toml", "pyproject.toml")
BUNDLED_FOLDERS = ("katatools", "tests")
RESULT = "result.json"
RELEASE_BODY = "release-body.md"
RUNNER_VARIABLES = ("CLASSROOM", "ASSIGNMENT", "SUBMISSION_TAG", "COMMIT_URL", "RELEASE_URL")
TITLE = "autodiff-katas"
FAILURE_LIMIT = 160  # characters of a first failure, in the release body's table and in result.json
STATUS_LIMIT = 140  # characters of a commit status's description on GitHub
MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|~#!&])")


class Classroom50Error(RuntimeError):
    """The run cannot grade: the runner's variables are missing, or there is no checkout."""


# ---------------------------------------------------------------- the bundle


def build_bundle(out: Path, options: list[str], root: Path = ROOT) -> list[str]:
    """Write the bundle for the repository (or learner's edition) at ``root`` into ``out``, a new or
    empty folder; the paths written. Nothing in it comes from solutions/, alternatives/ or mistakes/."""
    manifest = load_manifest(root / "exercises.toml")
    check_destination(out, "the bundle")
    stubs = pristine_stubs(manifest, root)  # generated from the reference, or a learner's edition's copies
    copy_public_files(out, root, BUNDLED_FILES, BUNDLED_FOLDERS)
    write_package(out / PRISTINE, stubs)
    shutil.copyfile(root / ENTRY_SOURCE, out / ENTRY)
    config = {"requirements": requirements(root / "pyproject.toml"), "options": options}
    (out / CONFIG).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    return sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())


# ---------------------------------------------------------------- in the runner


def runner_fields(environ: dict[str, str]) -> dict[str, str]:
    """The submission's fields of result.json, from the variables the runner gives the autograder."""
    missing = [name for name in RUNNER_VARIABLES if not environ.get(name, "").strip()]
    owner = (environ.get("OWNER") or environ.get("USERNAME") or "").strip()
    if not owner:
        missing.append("OWNER (or USERNAME)")
    if missing:
        raise Classroom50Error(f"the runner's {plural(missing)} not set (Classroom 50's runner sets them; to try the "
                               "bundle by hand, set them yourself)")
    commit = environ["COMMIT_URL"].strip()
    return {"classroom": environ["CLASSROOM"].strip(), "assignment": environ["ASSIGNMENT"].strip(),
            "assignment_type": (environ.get("ASSIGNMENT_TYPE") or "individual").strip(), "owner": owner,
            "submission": environ["SUBMISSION_TAG"].strip(), "commit": commit,
            "release": environ["RELEASE_URL"].strip(), "review": (environ.get("REVIEW_URL") or commit).strip()}


def plural(names: list[str]) -> str:
    return f"variable {names[0]} is" if len(names) == 1 else f"variables {', '.join(names)} are"


def utc_text(moment: datetime.datetime) -> str:
    return moment.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def submitted_at(checkout: Path, sha: str = "") -> datetime.datetime:
    """The submission instant: the graded commit's committer date (the contract's ``datetime``, the
    same at every regrade), from git in the checkout; now, where git cannot tell (no repository)."""
    try:
        done = subprocess.run(["git", "-c", "safe.directory=*", "-C", str(checkout), "show", "-s", "--format=%cI",
                               sha or "HEAD"], capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        moment = datetime.datetime.fromisoformat(done.stdout.strip()) if done.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        moment = None
    if moment is None or moment.tzinfo is None:
        return datetime.datetime.now(datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def shortened(text: str, limit: int = FAILURE_LIMIT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3].rstrip() + "..."


def first_failure(result: results.ExerciseResult | None, problem: str, submission_problem: str) -> str:
    """One short line saying why an exercise is not done: its first failing test and message."""
    if submission_problem:  # its first clause; the release body says the whole of it once
        return shortened(f"not graded: {submission_problem.split(':')[0]}")
    failure = result.first_failure if result is not None else None
    if failure is not None and failure.message and not failure.message.startswith("no result:"):
        lines = failure.message.strip().splitlines()
        return shortened(f"{failure.nodeid.split('::', 1)[-1]}: {lines[0] if lines else failure.status}")
    if problem:
        return shortened(problem)
    return shortened(failure.message if failure is not None and failure.message else "not every test passed")


def exercise_rows(grader: Grader, graded: Graded) -> list[dict]:
    """One row per exercise graded, in the manifest's order: passed only when every test passes."""
    found = {r.exercise.name: (r, o.problem) for o in graded.outcomes if o.mode == MODE for r in o.results}
    rows = []
    for exercise in grader.exercises:
        result, problem = found.get(exercise.name, (None, "not graded"))
        passed = result is not None and result.status == results.DONE
        row = {"test-name": exercise_title(exercise), "passed": passed, "score": exercise.points if passed else 0,
               "max-score": exercise.points, "exercise": exercise.name}
        if not passed:
            row["first-failure"] = first_failure(result, problem, graded.submission.problem)
        rows.append(row)
    return rows


def result_document(grader: Grader, graded: Graded, fields: dict[str, str], when: datetime.datetime,
                    graded_at: datetime.datetime) -> dict:
    """result.json, in the classroom50/result/v1 contract (the runner stamps ``owner``,
    ``assignment_type``, ``datetime`` and ``graded_at`` again with its own values)."""
    tests = exercise_rows(grader, graded)
    return {"schema": SCHEMA, **fields, "datetime": utc_text(when), "graded_at": utc_text(graded_at),
            "score": sum(t["score"] for t in tests), "max-score": sum(t["max-score"] for t in tests), "tests": tests}


def markdown_text(text: str) -> str:
    """``text`` on one line, shown as it is in Markdown (a table cell included): no link, no
    emphasis, no HTML, no cell border can come from a test's message or a file name."""
    return MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def status_and_summary(result: dict) -> tuple[str, str]:
    """The commit status (``success`` when every exercise is done, else ``failure``) and its line."""
    done = sum(t["passed"] for t in result["tests"])
    total = len(result["tests"])
    status = "success" if done == total else "failure"
    summary = f"{TITLE}: {result['score']}/{result['max-score']} points, {done}/{total} exercises done ({MODE})"
    return status, summary[:STATUS_LIMIT]


def release_body(graded: Graded, result: dict, modules: list[str]) -> str:
    status, summary = status_and_summary(result)
    done = sum(t["passed"] for t in result["tests"])
    lines = [f"### {TITLE}: {result['score']}/{result['max-score']} points", ""]
    if graded.submission.problem:
        lines += [f"**Nothing was graded: {markdown_text(graded.submission.problem)}.** Push your kata modules "
                  f"({markdown_text(', '.join(modules))}) in the `katas/` folder of this repository.", ""]
    else:
        lines += [f"{done} of {len(result['tests'])} exercises done. Graded in cumulative mode: each stage runs on "
                  "your own modules, your earlier stages included, so a bug in an early stage can cost later ones; "
                  "an exercise earns its points only when every one of its tests passes.", ""]
    lines += ["| Exercise | Result | Score | First failure |", "|---|---|---|---|"]
    for test in result["tests"]:
        verdict = "PASS" if test["passed"] else "FAIL"
        lines.append(f"| {markdown_text(test['test-name'])} | {verdict} | {test['score']} / {test['max-score']} | "
                     f"{markdown_text(test.get('first-failure', ''))} |")
    lines.append("")
    problems = [p for p in graded.problems if p != graded.submission.problem]
    for heading, items in (("Problems", problems), ("Notes", graded.notes),
                           ("Review flags, for your teacher (a prompt to read the code, never a change of score)",
                            graded.flags)):
        if items:
            lines += [f"**{heading}:**", ""] + [f"- {markdown_text(item)}" for item in items] + [""]
    lines += [f"Status: {markdown_text(summary)}. Sandbox: {markdown_text(graded.sandbox)}.", ""]
    return "\n".join(lines)


def log_lines(result: dict, graded: Graded) -> list[str]:
    """What the job's log shows: one line per exercise, then the problems, notes and flags. Every
    line starts with a word of ours, so no message can pass for a workflow command (``::...``)."""
    lines = []
    for test in result["tests"]:
        verdict = "PASS" if test["passed"] else "FAIL"
        why = f": {test['first-failure']}" if not test["passed"] else ""
        lines.append(f"{verdict}  {test['test-name']}  ({test['score']}/{test['max-score']}){why}")
    lines += [f"problem: {p}" for p in graded.problems] + [f"note: {n}" for n in graded.notes]
    lines += [f"review flag: {f}" for f in graded.flags] or ["review flags: none"]
    lines.append(f"score: {result['score']}/{result['max-score']} ({MODE} mode; sandbox: {graded.sandbox})")
    return [" ".join(line.split()) for line in lines]


def write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8", newline="\n")
    os.replace(partial, path)


def grade_checkout(checkout: Path, args: argparse.Namespace, environ: dict[str, str]) -> int:
    """Grade ``checkout`` and write its result.json, release-body.md and $GITHUB_OUTPUT lines."""
    fields = runner_fields(environ)
    if not checkout.is_dir():
        raise Classroom50Error(f"no checkout at {checkout}")
    manifest = load_manifest()
    modules = module_files(manifest)
    submission = load(checkout, "submission", modules)
    grader = Grader((MODE,), args.test_timeout, args.wall_limit, args.stage, sandbox=not args.no_sandbox)
    try:
        say_how_code_runs(grader)
        graded = grader.grade(submission)
    finally:
        grader.close()
    result = result_document(grader, graded, fields, submitted_at(checkout, environ.get("GITHUB_SHA", "")),
                             datetime.datetime.now(datetime.timezone.utc))
    write_atomically(checkout / RELEASE_BODY, release_body(graded, result, modules))
    write_atomically(checkout / RESULT, json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    status, summary = status_and_summary(result)
    output = environ.get("GITHUB_OUTPUT")
    if output:
        try:
            with open(output, "a", encoding="utf-8") as stream:
                stream.write(f"status={status}\nsummary={summary}\n")
        except OSError as exc:  # the runner then derives both from result.json
            print(f"classroom50: could not append to $GITHUB_OUTPUT ({exc})", file=sys.stderr)
    for line in log_lines(result, graded):
        print(line)
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        return grade_checkout(args.checkout.resolve(), args, dict(os.environ))
    except Classroom50Error as exc:
        print(f"classroom50: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the grader itself failed: an infrastructure error, not a grade
        traceback.print_exc()
        print(f"classroom50: the grader failed ({type(exc).__name__}: {exc}); nothing was graded", file=sys.stderr)
        return 1


# ---------------------------------------------------------------- command line


def parse_args(argv: list[str]) -> argparse.Namespace:
    running = bool(argv) and argv[0] == "run"
    parser = argparse.ArgumentParser(
        prog="python -m katatools classroom50" + (" run" if running else ""),
        description="Grade one learner's checkout in Classroom 50's runner (autograder.py calls this)." if running
        else "Build the Classroom 50 autograder bundle: autograder.py and the grader, without the reference.")
    if running:
        parser.add_argument("--checkout", type=Path, default=Path("."), help="the learner's checkout (default: here)")
    else:
        parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                            help=f"a new or empty folder for the bundle (default: {DEFAULT_OUT}, from where you run "
                                 "the command)")
    add_limits(parser, "seconds per submission, shared by its stages (as for grade; Classroom 50 stops the whole "
                       "job at 15 minutes)")
    args = parse_with_limits(parser, argv[1:] if running else argv)
    args.running = running
    return args


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.running:
        return run(args)
    problem = unknown_stage(args, load_manifest())
    if problem:
        print(f"classroom50: {problem}", file=sys.stderr)
        return 2
    out = invoked_from() / args.out
    try:
        written = build_bundle(out, forwarded(args))
    except (ReleaseError, FileNotFoundError) as exc:
        print(f"classroom50: {exc}", file=sys.stderr)
        return 2
    size = sum((out / name).stat().st_size for name in written)
    print(f"classroom50: wrote {out} ({len(written)} files, {size / 1024:.0f} KB; no solutions/, alternatives/ or "
          "mistakes/: Classroom 50 serves it publicly). Commit its content as CLASSROOM/autograders/ASSIGNMENT/ in "
          "your classroom50 repository; it grades in cumulative mode")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

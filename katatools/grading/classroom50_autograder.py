"""Classroom 50's entry point for the katas: the bundle's ``autograder.py`` (see docs/instructors.md, "Classroom 50").

``nox -s classroom50`` copies this file into the bundle as ``autograder.py``, beside ``autograder.json``
(the requirements and the grading options chosen when the bundle was built), the grader
(``katatools/``, ``tests/``, ``exercises.toml``, ``pyproject.toml``) and the pristine stubs
(``pristine/``); no reference. Classroom 50's runner runs it once per submission with its own
Python, in the learner's checkout, with CLASSROOM, ASSIGNMENT, SUBMISSION_TAG, COMMIT_URL,
RELEASE_URL, REVIEW_URL and OWNER (or USERNAME) set. It:

1. checks those variables (a missing one: exit 2, before anything is installed);
2. makes a virtual environment beside this file, ``.venv``, with the grader's dependencies
   (pyproject.toml's ``test`` and ``grade`` groups, as listed in autograder.json), quietly and from
   binary wheels only; ``KATA_CLASSROOM50_SKIP_INSTALL=1`` installs nothing and grades with the
   Python running this file, which must have them (the project's tests do this);
3. runs ``python -m katatools classroom50 run --checkout CHECKOUT OPTIONS`` from this folder, so
   that the bundle's own katatools grades, never a copy the checkout holds. That writes
   ``./result.json`` (classroom50/result/v1), ``./release-body.md``, and ``status=``/``summary=``
   lines to ``$GITHUB_OUTPUT``.

Exit 0 whenever grading ran, whatever the grade (a failing, empty or broken submission is a
grade); non-zero, with what failed on standard error, only when the install or the grader itself
failed: Classroom 50 then records an error and publishes no Release. Options given on the command
line (``--stage NAME``, ``--test-timeout S``, ``--wall-limit S``, ``--no-sandbox``) are added to
autograder.json's. This file uses the standard library only: it runs before anything is installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CONFIG = "autograder.json"
VENV = ".venv"
SKIP_INSTALL = "KATA_CLASSROOM50_SKIP_INSTALL"  # "1": grade with this Python, install nothing
REQUIRED = ("CLASSROOM", "ASSIGNMENT", "SUBMISSION_TAG", "COMMIT_URL", "RELEASE_URL")
OWNER = ("OWNER", "USERNAME")  # the runner sets both to the repository's owner
INSTALL_TIMEOUT = 480  # seconds: the runner's job stops at 15 minutes, grading included
MINIMUM_PYTHON = (3, 10)
# Variables that would change what `python -m katatools` imports: the bundle's katatools must grade.
UNSET = ("PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONSTARTUP", "PYTHONUSERBASE")


class Failure(Exception):
    """An infrastructure failure: nothing was graded."""


def say(message: str) -> None:
    print(f"autograder: {message}", file=sys.stderr, flush=True)


def check_environment(environ: dict[str, str]) -> None:
    missing = [name for name in REQUIRED if not environ.get(name, "").strip()]
    if not any(environ.get(name, "").strip() for name in OWNER):
        missing.append("OWNER (or USERNAME)")
    if missing:
        names = f"variable {missing[0]} is" if len(missing) == 1 else f"variables {', '.join(missing)} are"
        raise Failure(f"the runner's {names} not set: this file is run by Classroom 50's runner, in the learner's "
                      "checkout (to try it by hand, set them; see docs/instructors.md, \"Classroom 50\")")
    if sys.version_info < MINIMUM_PYTHON:
        raise Failure(f"Python {'.'.join(map(str, MINIMUM_PYTHON))}+ is needed, this is {sys.version.split()[0]}: "
                      "set the assignment's runtime python")


def venv_python(venv: Path) -> Path:
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run_quietly(command: list[str], what: str, deadline: float) -> None:
    try:
        done = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        raise Failure(f"{what} took more than {INSTALL_TIMEOUT} s") from None
    except OSError as exc:
        raise Failure(f"{what} could not start ({exc})") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        raise Failure(f"{what} failed (exit code {done.returncode}):\n{tail}")


def install(requirements: list[str]) -> Path:
    """A Python with the grader's dependencies: a virtual environment beside this file, made once
    (reused while the Python and the requirements are the same)."""
    venv = HERE / VENV
    python = venv_python(venv)
    stamp = venv / ".kata-requirements"
    wanted = json.dumps({"python": sys.version, "requirements": requirements})
    if python.exists() and stamp.is_file() and stamp.read_text(encoding="utf-8") == wanted:
        return python
    shutil.rmtree(venv, ignore_errors=True)
    started = time.monotonic()
    deadline = started + INSTALL_TIMEOUT
    run_quietly([sys.executable, "-m", "venv", str(venv)], "making a virtual environment", deadline)
    run_quietly([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
                 "--only-binary=:all:", *requirements], "installing the grader's dependencies", deadline)
    stamp.write_text(wanted, encoding="utf-8")
    say(f"installed the grader's dependencies in {time.monotonic() - started:.0f} s")
    return python


def main(argv: list[str]) -> int:
    checkout = Path.cwd()
    for name in ("result.json", "release-body.md"):  # a stale file must never pass for this grading's
        (checkout / name).unlink(missing_ok=True)
    try:
        check_environment(dict(os.environ))
        config = json.loads((HERE / CONFIG).read_text(encoding="utf-8"))
        requirements, options = list(config["requirements"]), list(config["options"])
        python = Path(sys.executable) if os.environ.get(SKIP_INSTALL) == "1" else install(requirements)
    except Failure as exc:
        say(str(exc))
        return 2
    except (OSError, ValueError, KeyError, TypeError) as exc:
        say(f"{CONFIG} beside this file is missing or malformed ({type(exc).__name__}: {exc}): build the bundle "
            "again with `nox -s classroom50`")
        return 2
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    command = [str(python), "-m", "katatools", "classroom50", "run", "--checkout", str(checkout), *options, *argv]
    try:
        code = subprocess.run(command, cwd=HERE, env=env, stdin=subprocess.DEVNULL).returncode
    except OSError as exc:
        say(f"the grader could not start ({exc})")
        return 1
    if code != 0:
        say(f"grading failed (exit code {code}): nothing was graded, see the messages above")
        return 1
    if not (checkout / "result.json").is_file():
        say("the grader ended without writing result.json")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

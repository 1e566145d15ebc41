"""nox sessions for the autodiff katas.

Every session shares one environment, ``.nox/_shared``, built once from the dependency groups
in pyproject.toml (with uv where it is installed, else virtualenv + pip) and rebuilt only when those
groups change; the sessions themselves use ``venv_backend="none"`` and call its python. nox
cannot share one virtualenv between sessions by itself, hence the helper below.

    nox -s "stage(variable, katas)"   one stage against your katas (or solutions)
    nox -s test                       the project's quick proof (minutes): every stage against the
                                      reference, every kata test failing on the pristine stubs, the
                                      tooling tests that are not slow
    nox -s proofs                     the tests of the tests (mutants, corpus, independence, slow
                                      tooling tests), both cores
    nox -s lint                       ruff
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))
from katatools.manifest import load_manifest  # noqa: E402

# nox logs "uv binary not found." whenever a session runs on a machine without uv, which reads like an
# error; without uv, the environments are built with virtualenv and pip (shared_python), and all is well.
logging.getLogger("nox").addFilter(lambda record: "uv binary not found" not in record.getMessage())
nox.options.default_venv_backend = "none"
nox.options.sessions = ["test", "lint"]
nox.options.reuse_venv = "yes"

MANIFEST = load_manifest()
HAS_REFERENCE = (ROOT / "solutions").is_dir()  # a learner's edition (nox -s release) has none
TARGETS = ("katas", "solutions") if HAS_REFERENCE else ("katas",)
SHARED_ENV = ROOT / ".nox" / "_shared"
GROUPS = ("test", "lint")
# The grader's sessions and the project's tests add bubblewrap (and what the tooling tests read
# its outputs with): an environment of their own, so that a learner's check installs none of it.
GRADE_ENV = ROOT / ".nox" / "_grade"
GRADE_GROUPS = GROUPS + ("grade", "grade-tests")
ENV_RECIPE = 2  # bump when the way environments are built changes, so existing ones are rebuilt
# `proofs` runs the slow tooling tests in three parts, balanced by their CPU time (each file's measured alone in a
# cgroup, 2026-12-06): these files after the corpora (whose runs are forked: 2.5 min of CPU), these on a line of
# their own, then all the others but the busy machine's, which has a line of its own at the lowest priority.
SLOW_TOOLING_AFTER_CORPORA = ("test_classreport_class.py", "test_check.py", "test_classreport.py")
SLOW_TOOLING_OWN_LINE = ("test_integrity.py", "test_classroom.py")
BUSY_MACHINE = "test_busy_machine.py"
CORPUS_QUIET_STAGES = 4  # `test` runs the corpus's entries of stages 1-4 quietly, of 5-8 beside a CPU-bound process


def _requirements(groups: tuple[str, ...] = GROUPS) -> list[str]:
    pyproject = nox.project.load_toml(ROOT / "pyproject.toml")
    return list(nox.project.dependency_groups(pyproject, *groups))


def _env_python(env: Path) -> Path:
    return env / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def shared_python(session: nox.Session, env_dir: Path = SHARED_ENV, groups: tuple[str, ...] = GROUPS) -> str:
    """The shared environment's python, creating or updating the environment only when needed."""
    requirements = _requirements(groups)
    stamp_text = json.dumps({"python": sys.version, "requirements": requirements, "recipe": ENV_RECIPE})
    digest = hashlib.sha256(stamp_text.encode()).hexdigest()
    stamp = env_dir / ".kata-requirements"
    python = _env_python(env_dir)
    if python.exists() and stamp.exists() and stamp.read_text() == digest:
        return str(python)
    session.log(f"building the shared environment in {env_dir.relative_to(ROOT)}")
    uv = shutil.which("uv")
    if env_dir.exists():
        shutil.rmtree(env_dir)
    if uv:
        session.run(uv, "venv", "--quiet", "--python", sys.executable, str(env_dir), external=True)
        # --compile-bytecode: the .pyc files are then read on every run, even where
        # PYTHONDONTWRITEBYTECODE stops Python from caching them itself (pip compiles by default).
        session.run(uv, "pip", "install", "--quiet", "--compile-bytecode", "--python", str(python), *requirements,
                    external=True)
    else:  # virtualenv comes with nox, so it is importable from nox's own interpreter
        session.run(sys.executable, "-m", "virtualenv", "--quiet", str(env_dir), external=True)
        session.run(str(python), "-m", "pip", "install", "--quiet", *requirements, external=True)
    stamp.write_text(digest)
    return str(python)


def needs_reference(session: nox.Session) -> None:
    """Stop a session that reads the reference, in a learner's edition, saying why."""
    if not HAS_REFERENCE:
        session.error(f"`nox -s {session.name}` needs the reference (solutions/), which this learner's edition does "
                      "not have: it is for the katas' maintainers")


def run_python(session: nox.Session, *args: str, grading: bool = False, from_here: bool = False, **kwargs) -> None:
    """Run the shared environment's python (``grading``: the grader's) from the repository root.

    ``from_here``: relative paths given to the command resolve against the directory nox was run
    from (nox itself changes to the repository's root), passed on as KATA_INVOKED_FROM.
    """
    env = {"PYTHONPATH": None, "KATA_INVOKED_FROM": session.invoked_from if from_here else None,
           **kwargs.pop("env", {})}  # the root is put on sys.path by pytest / python -m
    python = shared_python(session, GRADE_ENV, GRADE_GROUPS) if grading else shared_python(session)
    session.run(python, *args, external=True, env=env, **kwargs)


# ---------------------------------------------------------------- per stage


@nox.session(venv_backend="none")
@nox.parametrize(
    "stage, target",
    [(s.name, t) for s in MANIFEST.stages for t in TARGETS],
    ids=[f"{s.name}, {t}" for s in MANIFEST.stages for t in TARGETS],
)
def stage(session: nox.Session, stage: str, target: str) -> None:
    """One stage's tests against katas/ (your code) or solutions/ (the reference)."""
    tests = MANIFEST.stage(stage).tests
    run_python(session, "-m", "pytest", tests, f"--target={target}", "-q", *session.posargs)


# ---------------------------------------------------------------- the project's own tests


@nox.session(venv_backend="none")
def test(session: nox.Session) -> None:
    """The project's quick proof (minutes): katas/ is the generated stubs, every stage passes on the reference,
    every kata test fails on the pristine stubs, and the tooling tests that are not slow.

    The slow proofs (mutants, the corpus, independence, the end-to-end tooling tests) are `nox -s proofs`.
    In the grader's environment (.nox/_grade)."""
    needs_reference(session)
    run_python(session, "-m", "katatools", "stubs", "--check", grading=True)  # katas/ is exactly the generated stubs
    run_python(session, "-m", "pytest", "--target=solutions", "-q", "-p", "no:cacheprovider", *session.posargs,
               grading=True)
    run_python(session, "-m", "katatools", "prove-stubs", grading=True)
    tooling = ROOT / "tooling_tests"
    if tooling.is_dir():
        run_python(session, "-m", "pytest", str(tooling), "-q", "-p", "no:cacheprovider", "-m", "not slow",
                   grading=True)


@nox.session(venv_backend="none")
def proofs(session: nox.Session) -> None:
    """The tests of the tests (tens of minutes, both cores): every mistake caught, every alternative passing and
    every cheat caught, each exercise's tests independent of later ones, and the slow end-to-end tooling tests.

    Five lines of work side by side, each printed when it ends: the corpora then a third of the slow tooling
    tests, the other two thirds, and the two proofs on a busy machine (the corpus of stages 5-8 beside a
    CPU-bound process, a fresh clone's first check beside six). Those two run at the lowest priority (`nice`, where there is one): each
    competes with its own CPU-bound neighbours as an equal, so it is as crowded as it claims or more, while
    their spinning takes only the CPU the other lines leave idle."""
    needs_reference(session)
    python = shared_python(session, GRADE_ENV, GRADE_GROUPS)
    early, late = MANIFEST.stage_names[:CORPUS_QUIET_STAGES], MANIFEST.stage_names[CORPUS_QUIET_STAGES:]
    corpora = [
        [python, "-m", "katatools", "mutants"],
        # Correct alternatives pass, cheats fail: the entries of stages 1-4 here, quietly; each entry once.
        [python, "-m", "katatools", "corpus", *[f"--stage={name}" for name in early]],
        [python, "-m", "katatools", "independence"],  # each exercise's tests need no later exercise
    ]
    # Those of stages 5-8 beside a CPU-bound neighbour: a test's limit counts CPU time, so a busy machine changes
    # no verdict.
    busy_corpus = [python, "-m", "katatools", "corpus", *[f"--stage={name}" for name in late], "--neighbours", "1"]
    tooling = ROOT / "tooling_tests"
    after_corpora = [str(tooling / name) for name in SLOW_TOOLING_AFTER_CORPORA]
    own_line = [str(tooling / name) for name in SLOW_TOOLING_OWN_LINE]
    rest = [f"--ignore={f}" for f in [*after_corpora, *own_line, str(tooling / BUSY_MACHINE)]]
    pytest = [python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "slow", *session.posargs]
    env = {"KATA_DEMO_PYTHON": demo_python(session)}  # the demo's test draws its figure with the demo's own python
    side_by_side(session, {
        "corpora, then slow tooling tests (1 of 3)": [*corpora, [*pytest, *after_corpora]],
        "slow tooling tests (2 of 3)": [[*pytest, *own_line]],
        "slow tooling tests (3 of 3)": [[*pytest, str(tooling), *rest]],
        "the corpus of stages 5-8 on a busy machine": [lowest_priority(busy_corpus)],
        "a fresh clone's first check on a busy machine": [lowest_priority([*pytest, str(tooling / BUSY_MACHINE)])],
    }, env)


def lowest_priority(command: list[str]) -> list[str]:
    """``command`` under `nice -n 19` where the system has `nice` (Linux, macOS); as it is elsewhere."""
    nice = shutil.which("nice")
    return [nice, "-n", "19", *command] if nice else command


def side_by_side(session: nox.Session, lines: dict[str, list[list[str]]], extra_env: dict[str, str]) -> None:
    """Run each line of work (its commands one after another) beside the others, one process per line; print
    each line's output when it ends, and fail the session if any command failed."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | extra_env
    failed = []

    def run_line(name: str, commands: list[list[str]]) -> tuple[str, str, bool, float]:
        output, ok, started = [], True, time.monotonic()
        for command in commands:
            done = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  text=True)
            output.append(f"$ {' '.join(Path(command[0]).name if i == 0 else a for i, a in enumerate(command))}\n"
                          f"{done.stdout}")
            if done.returncode != 0:
                ok = False
                output.append(f"(exit code {done.returncode})\n")
                break
        return name, "".join(output), ok, time.monotonic() - started

    started, busy = time.monotonic(), machine_cpu_seconds()
    with ThreadPoolExecutor(max_workers=len(lines)) as pool:
        for future in as_completed([pool.submit(run_line, n, c) for n, c in lines.items()]):
            name, output, ok, seconds = future.result()
            session.log(f"{name}: {'passed' if ok else 'FAILED'} after {seconds:.0f} s")
            print(output, flush=True)
            if not ok:
                failed.append(name)
    took, after = time.monotonic() - started, machine_cpu_seconds()
    if busy is not None and after is not None:
        session.log(f"all lines: {took:.0f} s, in which the machine's {os.cpu_count()} CPUs were busy "
                    f"{after - busy:.0f} s ({(after - busy) / (took * (os.cpu_count() or 1)):.0%}: this and any other work)")
    if failed:
        session.error(f"failed: {', '.join(failed)}")


def machine_cpu_seconds() -> float | None:
    """CPU seconds the whole machine has been busy since boot (Linux's /proc/stat; None elsewhere). Machine-wide
    on purpose: a process's own accounting misses its children that run in the sandbox (bwrap reaps them)."""
    try:
        fields = [int(n) for n in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")  # all but idle and iowait


@nox.session(venv_backend="none")
def envs(session: nox.Session) -> None:
    """Build (or bring up to date) the environments the sessions share: before sessions run side by side, so
    that no two of them build one at once (CI runs `test` beside `proofs`)."""
    shared_python(session)
    shared_python(session, GRADE_ENV, GRADE_GROUPS)
    if HAS_REFERENCE:
        demo_python(session)


@nox.session(venv_backend="none")
def lint(session: nox.Session) -> None:
    """ruff over the whole project."""
    run_python(session, "-m", "ruff", "check", ".", *session.posargs)


# ---------------------------------------------------------------- learner tools (issue 5)


@nox.session(venv_backend="none")
def check(session: nox.Session) -> None:
    """Your progress: every exercise against katas/, the next step, a hint. See `nox -s check -- --help`."""
    run_python(session, "-m", "katatools", "check", *session.posargs)


@nox.session(venv_backend="none")
def watch(session: nox.Session) -> None:
    """Re-run the check whenever a file under katas/ is saved (Ctrl-C stops)."""
    try:
        # Ctrl-C is how a watch ends: give it time to stop its check (nox waits only 0.3 s by default).
        run_python(session, "-m", "katatools", "watch", *session.posargs, interrupt_timeout=15)
    except KeyboardInterrupt:
        session.log("watch stopped")


@nox.session(venv_backend="none")
def reset(session: nox.Session) -> None:
    """Restore the pristine stub of an exercise's module (or a stage's), after a backup."""
    run_python(session, "-m", "katatools", "reset", *session.posargs)


# ---------------------------------------------------------------- instructor tools (issue 6)


@nox.session(venv_backend="none")
def grade(session: nox.Session) -> None:
    """Grade submissions: `nox -s grade -- SUBMISSION... [--out DIR] [--jobs N] [--mode M]`."""
    run_python(session, "-m", "katatools", "grade", *session.posargs, grading=True, from_here=True)


@nox.session(venv_backend="none")
def gradescope(session: nox.Session) -> None:
    """Build Gradescope's autograder zip: `nox -s gradescope -- [--out autograder.zip] [--mode M]...`."""
    run_python(session, "-m", "katatools", "gradescope", *session.posargs, grading=True, from_here=True)


@nox.session(venv_backend="none")
def release(session: nox.Session) -> None:
    """Write the learner's edition, without the reference: `nox -s release -- DIR [--classroom]`."""
    needs_reference(session)
    run_python(session, "-m", "katatools", "release", *session.posargs, from_here=True)


@nox.session(venv_backend="none")
def classroom(session: nox.Session) -> None:
    """Write GitHub Classroom's autograding workflow: `nox -s classroom -- [--out PATH]`."""
    run_python(session, "-m", "katatools", "classroom", *session.posargs, grading=True, from_here=True)


@nox.session(venv_backend="none")
def classroom50(session: nox.Session) -> None:
    """Build the Classroom 50 autograder bundle, without the reference: `nox -s classroom50 -- [--out DIR]...`."""
    run_python(session, "-m", "katatools", "classroom50", *session.posargs, grading=True, from_here=True)


# ---------------------------------------------------------------- the post, and testing the tests


DEMO_ENV = ROOT / ".nox" / "_demo"


def demo_python(session: nox.Session) -> str:
    """The demo's own environment (dependency group `demo`: numpy and matplotlib), built when needed."""
    return shared_python(session, DEMO_ENV, ("demo",))


@nox.session(venv_backend="none")
def demo(session: nox.Session) -> None:
    """The post's three experiments with katas or solutions, and their figure: `nox -s demo -- katas|solutions`."""
    session.run(demo_python(session), "-m", "katatools", "demo", *session.posargs, external=True,
                env={"PYTHONPATH": None})


@nox.session(venv_backend="none")
def mutants(session: nox.Session) -> None:
    """Every hand-written learner mistake in mistakes/ must fail a test of its own exercise."""
    needs_reference(session)
    run_python(session, "-m", "katatools", "mutants", *session.posargs)


@nox.session(venv_backend="none")
def corpus(session: nox.Session) -> None:
    """Every alternative in alternatives/ passes its stages, every cheat fails its exercise (`-- --help`)."""
    needs_reference(session)
    run_python(session, "-m", "katatools", "corpus", *session.posargs)


@nox.session(venv_backend="none")
def mutation(session: nox.Session) -> None:
    """mutmut over solutions/ with the kata suite (not CI: minutes). `-- --show` prints each unexplained survivor."""
    needs_reference(session)
    python = shared_python(session, ROOT / ".nox" / "_mutation", GROUPS + ("mutation",))
    # Byte-compile the environment once: with PYTHONDONTWRITEBYTECODE set, every forked test run
    # would otherwise recompile numpy, hypothesis and scikit-learn from source.
    session.run(python, "-c", "import compileall, sysconfig; compileall.compile_dir("
                "sysconfig.get_paths()['purelib'], quiet=1, workers=0)", external=True)
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # a fresh run: mutmut's cache could hide a stale result
    session.run(python, "-m", "mutmut", "run", "--max-children", "2", external=True, env={"PYTHONPATH": None})
    session.run(python, "-m", "katatools", "mutation", *session.posargs, external=True, env={"PYTHONPATH": None})


@nox.session(venv_backend="none")
def bench(session: nox.Session) -> None:
    """The benchmark script (medians of several runs): `nox -s bench -- --help`.

    It runs in .nox/_bench: the shared environment's groups plus the demo's (matplotlib), for its figures.
    """
    needs_reference(session)
    python = shared_python(session, ROOT / ".nox" / "_bench", GROUPS + ("demo",))
    session.run(python, "benchmarks/bench.py", *session.posargs, external=True, env={"PYTHONPATH": None})


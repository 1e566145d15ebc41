"""Grade a folder of submissions: ``nox -s grade -- SUBMISSION... [--out DIR] [--jobs N] [--mode M]``.

For each submission (see submissions.py) the grader builds a fresh workspace holding its own
copy of the tests, katatools, the manifest, the reference and a pytest.ini made from its own
pyproject.toml, plus the submission's kata modules only, in ``katas/`` (a missing one is
replaced by its stub, generated from the reference). Each stage then runs in its own child pytest
(katatools.runner.run_suite), inside a bubblewrap sandbox where it works (sandbox.py): isolated
from the environment, without plugin autoloading, cache or conftest from outside the workspace,
with the derandomized ``grade`` hypothesis profile, a per-test timeout, a wall limit and at most
64 KB of output kept, writing only to a scratch folder of its own. An ``os._exit`` or a crash on
import thus loses only the stages that import that module. scikit-learn's answers to the tests'
questions are asked once, on the reference, and each stage run gets its own fresh copy of them
(see ``_ask_sklearn``).

In isolated mode a stage module that takes names from its own earlier modules which the
reference's lack runs on its own earlier modules instead, with a note (isolation.py).

Scoring: an exercise earns its points (exercises.toml) only when every one of its tests passes.
A test the grader collected but the child did not report counts as not passed; a stage whose
child died, hung past its limit, or left a missing or malformed results file is an error. A stage
stopped at its wall limit keeps the exercises whose tests had all ended and passed (the plugin
writes each result as it comes). The wall limit is shared by the stages, and each mode's runs get
the same share, so a stage's isolated score is the same under ``--mode isolated`` and ``both``.

Outputs in DIR: gradebook.csv (one row per submission), <id>/results.json (Gradescope's format),
report.html (the class at a glance, classreport.py) and a summary on the terminal. Nothing in
them depends on time, on temporary paths or on memory addresses, so grading the same submissions
twice gives byte-identical files.
"""

from __future__ import annotations

import argparse
import compileall
import concurrent.futures
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shlex
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from . import report as results
from .gradebook import Graded, StageOutcome, summary_lines, write_outputs
from .isolation import needs_own_stages
from .manifest import ROOT, Exercise, Manifest, ManifestError, Stage, load_manifest, tomllib
from .review import review_modules
from .runner import NO_REPORT, PytestRun, available_cpus, run_suite, stop_all
from .sandbox import Sandbox
from .sandbox import start as start_sandbox
from .stubs import generated_stubs
from .submissions import Submission, SubmissionError, discover, module_files

MODES = ("isolated", "cumulative")
OUTPUT_LIMIT = 64 * 1024  # bytes of a child's output kept
REFERENCE_TEST_TIMEOUT = 120.0  # seconds per test when the grader runs the reference itself (trusted, maybe busy)
TARGET_DIR = "katas"  # the workspace folder holding the submission's kata modules, named as in the learner's clone
INVOKED_FROM = "KATA_INVOKED_FROM"  # where the instructor ran the command (nox changes directory): paths resolve there
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")  # a memory address in a repr, different at every run
TEMPORARY_NAME = re.compile(r"\b(kata-[a-z]+-|tmp)[a-z0-9_]{8}\b")  # tempfile's random folder names


class GradeError(RuntimeError):
    """The grader itself cannot run (its own tests do not collect, ...)."""


def pytest_ini(pyproject: Path) -> str:
    """The grader's own pytest configuration, from its pyproject.toml, as an ini file."""
    with open(pyproject, "rb") as f:
        options = tomllib.load(f)["tool"]["pytest"]["ini_options"]
    lines = ["[pytest]"]
    for key, value in options.items():
        text = shlex.join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def writes_bytecode() -> bool:
    """Children cache bytecode (of numpy, pytest...) as the grader's own Python does, for speed."""
    return not os.environ.get("PYTHONDONTWRITEBYTECODE")


def child_environment(scratch: Path, answers: Path | None = None) -> dict[str, str]:
    """An explicit environment: nothing inherited but PATH. HOME, temporary files and hypothesis's
    folder are in the run's own ``scratch`` folder, removed after the run (and the only folder a
    sandboxed run may write to). ``answers``: the folder of scikit-learn's stored answers this
    child may read (tests/sklearn_oracle.py); none by default."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(scratch), "LC_ALL": "C.UTF-8",
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8",
           "PYTHONNOUSERSITE": "1", "NO_COLOR": "1", "COLUMNS": "100", "KATA_HYPOTHESIS_PROFILE": "grade",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "KATA_SKLEARN_CACHE": str(answers) if answers else "off",
           "HYPOTHESIS_STORAGE_DIRECTORY": str(scratch / ".hypothesis")}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # set on some machines for numpy's safety
        if name in os.environ:
            env[name] = os.environ[name]
    if not writes_bytecode():
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    temporary = scratch / "tmp"
    temporary.mkdir(exist_ok=True)
    env.update(TMPDIR=str(temporary), TEMP=str(temporary), TMP=str(temporary))
    if "SYSTEMROOT" in os.environ:  # Windows needs it to start python
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


def reference_key(root: Path, stages: list[Stage], selection: list[str]) -> str:
    """A digest of everything the reference runs depend on: the grader's code and tests, the
    reference, the manifest and configuration, the libraries' versions, what is graded."""
    digest = hashlib.sha256(json.dumps([sys.version, [s.name for s in stages], selection]).encode())
    for module in ("pytest", "hypothesis", "numpy", "sklearn"):
        try:
            digest.update(f"{module}={importlib.metadata.version('scikit-learn' if module == 'sklearn' else module)}".encode())
        except importlib.metadata.PackageNotFoundError:
            digest.update(f"{module}=none".encode())
    files = [root / "exercises.toml", root / "pyproject.toml"]
    for folder in ("tests", "katatools", "solutions"):
        files += sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)
    for path in files:
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:32]


def stored_answers(root: Path = ROOT) -> Path | None:
    """The repository's store of scikit-learn's answers, unless KATA_SKLEARN_CACHE turns it off or moves it."""
    chosen = os.environ.get("KATA_SKLEARN_CACHE")
    if chosen == "off":
        return None
    return Path(chosen) if chosen else root / ".kata-cache" / "sklearn"


def keep_answers(store: Path, answers: dict[str, bytes]) -> None:
    """Store the answers the store lacks (each written whole, then renamed); a store that cannot be
    written is only a lost speed-up."""
    try:
        store.mkdir(parents=True, exist_ok=True)
        for name, content in answers.items():
            if not (store / name).exists():
                partial = store / f".{name}.{os.getpid()}.partial"
                partial.write_bytes(content)
                os.replace(partial, store / name)
    except OSError:
        pass


def stable(text: str, workspace: Path, *scratches: Path) -> str:
    """A message without the run's temporary paths and memory addresses, so that outputs are
    reproducible: paths in the workspace become relative, scratch folders ``<scratch>``."""
    for path, name in [(workspace, "")] + [(s, "<scratch>") for s in scratches]:
        for form in sorted({str(path), str(path.resolve())}, key=len, reverse=True):
            text = text.replace(form + os.sep, name + os.sep if name else "").replace(form, name or ".")
    text = TEMPORARY_NAME.sub(r"\1", text)
    return ADDRESS.sub("0x...", text)


class Grader:
    """Grades submissions against one snapshot of the grader's tests, reference and manifest.

    ``exercises``: grade only these (e.g. one Classroom step); ``sandbox``: try bubblewrap.
    """

    def __init__(self, modes: tuple[str, ...], test_timeout: float, wall_limit: float, stages: list[str] | None = None,
                 root: Path = ROOT, sandbox: bool = True, exercises: list[str] | None = None) -> None:
        self.manifest: Manifest = load_manifest(root / "exercises.toml")
        self.root, self.modes, self.test_timeout, self.wall_limit = root, modes, test_timeout, wall_limit
        try:
            wanted = {self.manifest.stage(name).name for name in stages or self.manifest.stage_names}
            only = {e.name for e in self.manifest.select(exercises)} if exercises else None
        except ManifestError as exc:
            raise GradeError(f"--stage or exercise: {exc}") from None
        self.selection = sorted(only) if only else []  # --exercise for every child, when grading a few exercises
        self.stages = [s for s in self.manifest.stages if s.name in wanted and (root / s.tests).is_file()
                       and (only is None or any(e.stage == s.name for e in self.manifest.exercises if e.name in only))]
        if not self.stages:
            raise GradeError("none of the stages to grade has a test module in tests/")
        self.exercises: list[Exercise] = [e for s in self.stages for e in self.manifest.exercises_of(s.name)
                                          if only is None or e.name in only]
        self.scratch = Path(tempfile.mkdtemp(prefix="kata-grade-"))
        self.template = self.scratch / "template"
        self.sandbox: Sandbox | None = None
        self.unsandboxed = "--no-sandbox"  # why submissions run without the sandbox ("" when they run in it)
        self.stop = threading.Event()
        try:
            self._build_template(root)
            self.stubs = generated_stubs(self.manifest, root / "solutions")  # for a module a submission lacks
            if sandbox:
                self.sandbox, self.unsandboxed = start_sandbox(self.scratch)
            self.expected, self.answers = self._reference_runs(root)
        except BaseException:
            self.close()
            raise

    @property
    def sandbox_column(self) -> str:
        """How each submission ran, for the gradebook: ``bwrap``, or ``none`` with the reason's gist."""
        if self.sandbox is not None:
            return "bwrap"
        return "none (--no-sandbox)" if self.unsandboxed == "--no-sandbox" else "none (bwrap unavailable)"

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def _build_template(self, root: Path) -> None:
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
        shutil.copytree(root / "tests", self.template / "tests", ignore=ignore)
        shutil.copytree(root / "katatools", self.template / "katatools", ignore=ignore)
        (self.template / "solutions").mkdir()
        for stage in self.manifest.stages:
            shutil.copyfile(root / "solutions" / f"{stage.module}.py", self.template / "solutions" / f"{stage.module}.py")
        shutil.copyfile(root / "exercises.toml", self.template / "exercises.toml")
        (self.template / "pytest.ini").write_text(pytest_ini(root / "pyproject.toml"), encoding="utf-8")
        if writes_bytecode():  # workspaces are read-only in the sandbox: compile the grader's own code once
            compileall.compile_dir(self.template, quiet=2)

    def _run(self, workspace: Path, target: Path, tests: list[str], mode: str, extra: list[str],
             timeout: float | None, answers: Path | None = None, scratch: Path | None = None,
             sandboxed: bool = False) -> PytestRun:
        # Plugin autoloading is off (no stray plugin of the environment); hypothesis's is loaded by name.
        hypothesis_plugin = ["-p", "_hypothesis_pytestplugin"] if importlib.util.find_spec("_hypothesis_pytestplugin") else []
        options = ["-c", str(workspace / "pytest.ini"), f"--rootdir={workspace}", f"--confcutdir={workspace}",
                   "-s", "-q", "--tb=short", "--kata-summary=no", f"--reference={workspace / 'solutions'}",
                   *hypothesis_plugin, *[f"--exercise={name}" for name in self.selection], *extra]
        own = scratch is None
        scratch = scratch or Path(tempfile.mkdtemp(prefix="run-", dir=self.scratch))
        wrap = None
        if sandboxed and self.sandbox is not None:
            sandbox = self.sandbox

            def wrap(command: list[str], writable: Path) -> list[str]:
                return sandbox.wrap(command, writable, readable=[workspace], cwd=workspace)
        try:
            return run_suite(target, tests=tests, mode=mode, extra=options, cwd=workspace,
                             env=child_environment(scratch, answers), timeout=timeout,
                             python_flags=["-s"] if writes_bytecode() else ["-s", "-B"],
                             output_limit=OUTPUT_LIMIT, scratch=scratch, wrap=wrap)
        finally:
            if own:
                shutil.rmtree(scratch, ignore_errors=True)

    def _reference_runs(self, root: Path) -> tuple[dict[str, dict[str, str]], dict[str, bytes]]:
        """The tests to expect and scikit-learn's answers: from two runs on the reference (at once),
        or, when nothing they depend on has changed since the last grading, from what that grading
        stored in ``.kata-cache/grader`` (the answers themselves in scikit-learn's own store)."""
        store, memo = stored_answers(root), None
        if store is not None:
            memo = store.parent / "grader" / f"{reference_key(root, self.stages, self.selection)}.json"
            try:
                saved = json.loads(memo.read_text(encoding="utf-8"))
                answers = {name: (store / name).read_bytes() for name in saved["answers"]}
                return {stage: dict(tests) for stage, tests in saved["expected"].items()}, answers
            except (OSError, ValueError, KeyError, TypeError, AttributeError):
                pass  # never stored, or not readable: ask the reference
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            collecting, asking = pool.submit(self._collect), pool.submit(self._ask_sklearn)
            expected, answers = collecting.result(), asking.result()
        if memo is not None:
            try:
                memo.parent.mkdir(parents=True, exist_ok=True)
                partial = memo.with_name(f".{memo.name}.{os.getpid()}.partial")
                partial.write_text(json.dumps({"expected": expected, "answers": sorted(answers)}), encoding="utf-8")
                os.replace(partial, memo)
            except OSError:
                pass
        return expected, answers

    def _collect(self) -> dict[str, dict[str, str]]:
        """Stage name -> {test node id: exercise}, from the grader's own tests (--collect-only)."""
        tests = [s.tests for s in self.stages]
        run = self._run(self.template, self.template / "solutions", tests, "cumulative", ["--collect-only"], 300)
        if run.report is None or run.returncode != 0:
            raise GradeError(f"the grader's own tests do not collect ({run.problem}):\n{run.output[-3000:]}")
        expected: dict[str, dict[str, str]] = {s.name: {} for s in self.stages}
        for record in run.report.tests:
            stage = self.manifest.stage_of_test_file(record.nodeid.split("::")[0])
            if stage is not None and stage.name in expected:
                expected[stage.name][record.nodeid] = record.exercise
        return expected

    def _ask_sklearn(self) -> dict[str, bytes]:
        """scikit-learn's answers to the tests' questions, asked once by running the ``asks_sklearn``
        tests on the reference. None depends on the code under test, so each stage run of each
        submission gets a fresh copy of them (``_answers_for``) and never imports scikit-learn:
        what one child writes there, no other child reads.

        The run starts from the answers this repository has stored (``.kata-cache/sklearn``, see
        tests/sklearn_oracle.py), so that scikit-learn is only asked what it was never asked; the
        reference must pass every comparison with them, and new answers are stored back."""
        tests = [s.tests for s in self.stages]
        folder = self.scratch / "answers"
        folder.mkdir()
        store = stored_answers(self.root)
        if store is not None and store.is_dir():
            for path in store.glob("*.npz"):
                shutil.copyfile(path, folder / path.name)
        patient = f"--kata-timeout={max(self.test_timeout, REFERENCE_TEST_TIMEOUT):g}"  # the reference, on a busy machine
        run = self._run(self.template, self.template / "solutions", tests, "cumulative", ["-m", "asks_sklearn", patient],
                        600, answers=folder)
        if run.returncode not in (0, 5):  # 5: no such test in the stages graded
            why = run.problem or f"exit code {run.returncode}"
            raise GradeError(f"the reference fails the grader's own scikit-learn comparisons ({why}):\n"
                             f"{run.output[-3000:]}")
        answers = {path.name: path.read_bytes() for path in sorted(folder.glob("*.npz"))}
        if store is not None:
            keep_answers(store, answers)
        shutil.rmtree(folder, ignore_errors=True)
        return answers

    def _answers_for(self, scratch: Path) -> Path:
        folder = scratch / "answers"
        folder.mkdir()
        for file_name, content in self.answers.items():
            (folder / file_name).write_bytes(content)
        return folder

    # ------------------------------------------------------------ one submission

    def own_stages(self, submission: Submission) -> dict[str, list[str]]:
        """Stage name -> why its module must run on the submission's own earlier modules in
        isolated mode (isolation.py); stages absent run on the reference's."""
        plan = {}
        for stage in self.stages:
            source = submission.modules.get(f"{stage.module}.py")
            reasons = needs_own_stages(source, stage, self.manifest, self.template / "solutions") if source else []
            if reasons:
                plan[stage.name] = reasons
        return plan

    def grade(self, submission: Submission) -> Graded:
        graded = Graded(submission, self.modes, sandbox=self.sandbox_column)
        if submission.problem:  # nothing to run: every exercise earns 0, the reason is the submission's
            graded.outcomes = [self._outcome(s, m, {}, "") for m in self.modes for s in self.stages]
            return graded
        own = [s.module for s in self.manifest.stages]
        graded.flags = review_modules(submission.modules, own)
        plan = self.own_stages(submission) if "isolated" in self.modes else {}
        workspace, target = self._workspace(submission.modules)
        try:
            graded.notes += [f"{name} missing: its pristine stub was graded" for name in module_files(self.manifest)
                             if name not in submission.modules]
            for stage in self.stages:
                if stage.name in plan:
                    graded.notes.append(f"isolated {stage.name}: graded on the submission's own earlier modules, "
                                        f"since {stage.module}.py uses {'; '.join(plan[stage.name])}")
            # Every stage run gets the same share of the wall limit, in every mode; a run that two
            # modes share (a stage graded on its own earlier modules) runs once.
            limit = self.wall_limit / len(self.stages)
            done: dict[tuple[str, str], StageOutcome] = {}
            for mode in self.modes:
                for stage in self.stages:
                    runs_as = "cumulative" if mode == "isolated" and stage.name in plan else mode
                    if self.stop.is_set():
                        graded.outcomes.append(self._outcome(stage, mode, {}, "grading interrupted"))
                        continue
                    if (runs_as, stage.name) not in done:
                        done[runs_as, stage.name] = self._grade_stage(stage, runs_as, workspace, target, limit)
                    outcome = done[runs_as, stage.name]
                    graded.outcomes.append(StageOutcome(stage, mode, outcome.results, outcome.problem, outcome.records))
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        return graded

    def _workspace(self, modules: dict[str, bytes]) -> tuple[Path, Path]:
        """A fresh workspace with these kata modules in katas/ (a missing one: its stub)."""
        workspace = Path(tempfile.mkdtemp(prefix="ws-", dir=self.scratch))
        shutil.copytree(self.template, workspace, dirs_exist_ok=True)
        target = workspace / TARGET_DIR
        target.mkdir()
        for name in module_files(self.manifest):
            if name in modules:
                (target / name).write_bytes(modules[name])
            else:
                (target / name).write_text(self.stubs[name], encoding="utf-8")
        return workspace, target

    def failing_tests(self, modules: dict[str, bytes], stage: Stage, exercise: str) -> list[str]:
        """The tests of ``exercise`` that do not pass for these kata modules, run exactly as a
        submission's stage is (isolated mode, same limits): e.g. a known mistake's signature."""
        workspace, target = self._workspace(modules)
        try:
            outcome = self._grade_stage(stage, "isolated", workspace, target, self.wall_limit / len(self.stages),
                                        only=[exercise])
        finally:
            shutil.rmtree(workspace, ignore_errors=True)
        return sorted(r.nodeid for r in outcome.records if r.exercise == exercise and r.status != results.PASSED)

    def _grade_stage(self, stage: Stage, mode: str, workspace: Path, target: Path, limit: float,
                     only: list[str] = ()) -> StageOutcome:
        scratch = Path(tempfile.mkdtemp(prefix="run-", dir=self.scratch))
        try:
            answers = self._answers_for(scratch)
            options = [f"--kata-timeout={self.test_timeout:g}", *[f"--exercise={name}" for name in only]]
            run = self._run(workspace, target, [stage.tests], mode, options, limit, answers, scratch, sandboxed=True)
            return self._score(stage, mode, run, target, workspace, scratch)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _outcome(self, stage: Stage, mode: str, reported: dict[str, results.TestRecord], problem: str) -> StageOutcome:
        """Per-exercise results of a stage; a collected test without a reported result counts as an error."""
        records = []
        for nodeid, exercise in self.expected[stage.name].items():
            got = reported.get(nodeid)
            if got is None:
                records.append(results.TestRecord(nodeid, exercise, results.ERROR, f"no result: {problem or 'not reported'}"))
            else:
                records.append(results.TestRecord(nodeid, exercise, got.status, got.message))
        return StageOutcome(stage, mode, results.summarize(self.manifest, records), problem, records)

    def _score(self, stage: Stage, mode: str, run: PytestRun, target: Path, workspace: Path,
               scratch: Path) -> StageOutcome:
        report, problem = run.report, ""
        if run.timed_out:
            report = run.partial  # the tests that ended before the limit: those that passed keep their points
            problem = ("stopped at the wall limit: its tests did not all finish (a hang, or output without end?); "
                       "exercises whose tests had all ended and passed keep their points")
        elif report is None and run.returncode < 0:
            problem = f"the test process was killed by {signal_name(-run.returncode)} (did the code crash the interpreter?)"
        elif report is None and run.problem == NO_REPORT:
            problem = (f"the test process ended (exit code {run.returncode}) without writing valid results: "
                       "does a kata module exit the interpreter (sys.exit, os._exit)?")
        elif report is None:
            problem = f"the test process ended (exit code {run.returncode}) without writing valid results: malformed file"
        elif run.returncode not in (0, 1):
            problem = f"pytest ended with exit code {run.returncode} (interrupted or internal error)"
        if report is not None and (report.mode != mode or Path(report.target) != target.resolve()):
            problem, report = "malformed results file (for another target or mode)", None
        known = self.expected[stage.name]
        reported = {t.nodeid: t for t in (report.tests if report else []) if t.nodeid in known}
        for record in reported.values():
            record.message = stable(record.message, workspace, scratch, self.scratch)
            if record.status == results.TIMEOUT:  # how far a slow test got depends on the machine: not said
                record.message = (f"[{record.exercise}] timed out: a test of this exercise ran longer than "
                                  f"{self.test_timeout:g} s (--test-timeout); slow but correct code needs a longer one")
        outcome = self._outcome(stage, mode, reported, problem)
        if report and any(t.nodeid not in known for t in report.tests):
            outcome.problem = outcome.problem or "the results file names tests the grader does not have"
        unfinished = (results.ERROR, results.TIMEOUT)
        if not outcome.problem and reported and all(t.status in unfinished for t in reported.values()):
            outcome.problem = first_line(next(iter(reported.values())).message)  # e.g. "cannot import ..."
        slow = {known[n] for n, t in reported.items() if t.status == results.TIMEOUT}
        timed_out = [r.exercise.name for r in outcome.results if r.exercise.name in slow]
        if not outcome.problem and timed_out:
            outcome.problem = f"timed out (more than {self.test_timeout:g} s for a test) in {', '.join(timed_out)}"
        return outcome


def signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0] if text.strip() else ""


# ---------------------------------------------------------------- command line


def invoked_from() -> Path:
    """The directory the instructor ran the command from: nox passes it on, since nox itself
    changes to the repository's root (``session.invoked_from``)."""
    return Path(os.environ.get(INVOKED_FROM) or os.getcwd())


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="nox -s grade --", description="Grade learners' submissions: a gradebook, "
                                     "a Gradescope results.json per submission, a class report and a summary.")
    parser.add_argument("submissions", nargs="+", type=Path, metavar="SUBMISSION",
                        help="a repository copy, a katas/ folder, a .zip of either, or a folder of these "
                             "(relative paths: from the directory you run the command in)")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="output folder (default: grades)")
    parser.add_argument("--jobs", type=int, default=available_cpus(), help="submissions graded at once (default: cores)")
    parser.add_argument("--mode", choices=(*MODES, "both"), default="isolated",
                        help="isolated (default): each stage on the reference's earlier stages; cumulative: the "
                             "learner's own stack; both: isolated scored, cumulative as extra columns")
    parser.add_argument("--stage", action="append", default=[], metavar="NAME",
                        help="grade only this stage (repeatable; default: every stage that has tests)")
    parser.add_argument("--test-timeout", type=float, default=30.0, metavar="S", help="seconds per test (default 30)")
    parser.add_argument("--wall-limit", type=float, default=900.0, metavar="S",
                        help="seconds per submission and mode, shared equally by its stages (default 900)")
    parser.add_argument("--no-sandbox", action="store_true",
                        help="run the submissions' code without bubblewrap (default: in it, where it works)")
    parser.add_argument("--no-report", action="store_true", help="do not write report.html (nor run the mistakes "
                        "it compares the failures with)")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.test_timeout <= 0 or args.wall_limit <= 0:
        parser.error("--jobs, --test-timeout and --wall-limit must be positive")
    base = invoked_from()
    args.submissions = [base / path for path in args.submissions]
    args.out = base / args.out
    return args


def progress(done: int, total: int, g: Graded) -> None:
    line = f"graded {done}/{total}: {g.submission.id} ({g.status})"
    if sys.stderr.isatty():
        sys.stderr.write(f"\r\033[K{line}" + ("\n" if done == total else ""))
    else:
        sys.stderr.write(line + "\n")
    sys.stderr.flush()


def say_how_code_runs(grader: Grader) -> None:
    """Once per grading: where bwrap cannot start, the grader says so, and grades without it."""
    if grader.sandbox is None and grader.unsandboxed != "--no-sandbox":
        print(f"grade: no sandbox: {grader.unsandboxed}. Grading without it, with your user's rights "
              "(gradebook.csv's sandbox column says so; --no-sandbox silences this).", file=sys.stderr)


def grade_all(grader: Grader, submissions: list[Submission], jobs: int, show_progress: bool = True) -> list[Graded]:
    """Every submission graded, ``jobs`` at once, sorted by id. Ctrl-C ends every child and raises."""
    graded: list[Graded] = []
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=jobs)
    try:
        futures = [pool.submit(grader.grade, s) for s in submissions]
        for future in concurrent.futures.as_completed(futures):
            graded.append(future.result())
            if show_progress:
                progress(len(graded), len(submissions), graded[-1])
    except KeyboardInterrupt:
        grader.stop.set()
        stop_all()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    return sorted(graded, key=lambda g: g.submission.id)


def main(argv: list[str]) -> int:
    """Grade, write the gradebook and results, print the summary, then write the class report.

    Exit codes: 0 done; 1 the grader cannot run; 2 bad arguments or submissions; 3 report.html
    could not be written (the gradebook, the results and the summary are complete; the error,
    naming its cause, comes after them); 130 interrupted.
    """
    args = parse_args(argv)
    modes = MODES if args.mode == "both" else (args.mode,)
    manifest = load_manifest()
    try:
        for name in args.stage:
            manifest.stage(name)
        submissions = discover(args.submissions, manifest, exclude=[args.out])
    except (SubmissionError, ManifestError) as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 2
    try:
        grader = Grader(modes, args.test_timeout, args.wall_limit, args.stage, sandbox=not args.no_sandbox)
    except GradeError as exc:
        print(f"grade: {exc}", file=sys.stderr)
        return 1
    report = args.out / "report.html"
    try:
        try:
            say_how_code_runs(grader)
            graded = grade_all(grader, submissions, args.jobs)
            write_outputs(args.out, grader, graded)
        except KeyboardInterrupt:
            print("\ngrade: interrupted; no output written", file=sys.stderr)
            return 130
        for line in summary_lines(grader, graded):
            print(line)
        print(f"gradebook: {args.out / 'gradebook.csv'}; Gradescope results: {args.out}/<id>/results.json")
        if args.no_report:
            return 0
        sys.stdout.flush()
        import traceback

        from .classreport import write_report

        try:
            write_report(report, grader, graded, jobs=args.jobs)
        except KeyboardInterrupt:
            print(f"\ngrade: interrupted; {report} not written (the gradebook and results are)", file=sys.stderr)
            return 130
        except Exception as exc:  # any bug of the report's: the grades above stand
            traceback.print_exc()
            report.unlink(missing_ok=True)  # an older grading's report would pass for this one's
            print(f"grade: error: the class report {report} could not be written: {type(exc).__name__}: {exc} "
                  "(the gradebook, the results and the summary above are complete)", file=sys.stderr)
            return 3
        print(f"class report: {report}")
        return 0
    finally:
        grader.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

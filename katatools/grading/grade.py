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
import concurrent.futures
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import signal
import sys
import tempfile
import threading
from pathlib import Path

from .. import report as results
from ..guard import GUARD_MARK, GUARD_VARIABLE
from ..manifest import ROOT, Exercise, Manifest, ManifestError, Stage, load_manifest
from ..runner import NO_REPORT, PytestRun, available_cpus, run_suite, stop_all
from ..stubs import pristine_stubs, reference_sources
from .gradebook import Graded, StageOutcome, summary_lines, write_outputs
from .isolation import Run, plan_runs
from .review import review_modules
from .sandbox import Sandbox
from .sandbox import start as start_sandbox
from .submissions import Submission, SubmissionError, discover, module_files
from .workspace import ANSWERS_DIR, LAYER_DIR, TARGET_DIR, Template, reference_layer

MODES = ("isolated", "cumulative")
OUTPUT_LIMIT = 64 * 1024  # bytes of a child's output kept
REFERENCE_TEST_TIMEOUT = 120.0  # seconds per test when the grader runs the reference itself (trusted, maybe busy)
DEFAULT_TEST_TIMEOUT = 30.0  # CPU seconds per test (plugin.deadline): generous, so that slow but correct code passes
DEFAULT_WALL_LIMIT = 600.0  # seconds per submission and mode: grade, Gradescope, Classroom and Classroom 50 alike
NO_REFERENCE = ("isolated mode grades each exercise on the reference's other modules, and this copy of the katas has "
                "no solutions/ (a learner's edition, or a Classroom 50 bundle): grade with --mode cumulative")
INVOKED_FROM = "KATA_INVOKED_FROM"  # where the instructor ran the command (nox changes directory): paths resolve there
ADDRESS = re.compile(r"\b0x[0-9a-fA-F]{6,}\b")  # a memory address in a repr, different at every run
TEMPORARY_NAME = re.compile(r"\b(kata-[a-z]+-|tmp)[a-z0-9_]{8}\b")  # tempfile's random folder names


class GradeError(RuntimeError):
    """The grader itself cannot run (its own tests do not collect, ...)."""


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

    ``exercises``: grade only these (e.g. one Classroom step); ``sandbox``: try bubblewrap. Where
    ``root`` has no reference (a learner's edition, a Classroom 50 bundle), only cumulative mode
    grades, and every run asks scikit-learn itself.
    """

    def __init__(self, modes: tuple[str, ...], test_timeout: float, wall_limit: float, stages: list[str] | None = None,
                 root: Path = ROOT, sandbox: bool = True, exercises: list[str] | None = None) -> None:
        self.manifest: Manifest = load_manifest(root / "exercises.toml")
        self.root, self.modes, self.test_timeout, self.wall_limit = root, modes, test_timeout, wall_limit
        self.reference = reference_sources(self.manifest, root)
        if self.reference is None and "isolated" in modes:
            raise GradeError(NO_REFERENCE)
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
        self.sandbox: Sandbox | None = None
        self.unsandboxed = "--no-sandbox"  # why submissions run without the sandbox ("" when they run in it)
        self.stop = threading.Event()
        try:
            self.stubs = pristine_stubs(self.manifest, root)  # for a module a submission lacks
            self.template = Template(self.scratch / "template", root, self.manifest, self.stubs, writes_bytecode())
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

    def _run(self, folder: Path, tests: list[str], mode: str, extra: list[str], timeout: float | None,
             graded: bool = False, answers: str = "") -> PytestRun:
        """One child pytest on the workspace ``folder``/ws, writing only to ``folder``/scratch.
        ``graded``: a submission's code runs, in the sandbox where it works and always under the
        guard (guard.py); the grader's own runs on the reference or the stubs are trusted."""
        workspace, scratch = folder / "ws", folder / "scratch"
        scratch.mkdir(exist_ok=True)
        # Plugin autoloading is off (no stray plugin of the environment); hypothesis's is loaded by name.
        hypothesis_plugin = ["-p", "_hypothesis_pytestplugin"] if importlib.util.find_spec("_hypothesis_pytestplugin") else []
        options = ["-c", str(workspace / "pytest.ini"), f"--rootdir={workspace}", f"--confcutdir={workspace}",
                   "-s", "-q", "--tb=short", "--kata-summary=no", *hypothesis_plugin,
                   *[f"--exercise={name}" for name in self.selection], *extra]
        env = child_environment(scratch, answers or (str(workspace / ANSWERS_DIR) if self.answers else "off"))
        wrap = None
        if graded:
            env[GUARD_VARIABLE] = json.dumps({"read": [str(workspace)], "write": [str(scratch)]})
            if self.sandbox is not None:
                sandbox = self.sandbox

                def wrap(command: list[str], writable: Path) -> list[str]:
                    return sandbox.wrap(command, writable, readable=[workspace], cwd=workspace)
        return run_suite(workspace / TARGET_DIR, tests=tests, mode=mode, extra=options, cwd=workspace, env=env,
                         timeout=timeout, python_flags=["-s"] if writes_bytecode() else ["-s", "-B"],
                         output_limit=OUTPUT_LIMIT, scratch=scratch, wrap=wrap)

    def _reference_runs(self, root: Path) -> tuple[dict[str, dict[str, str]], dict[str, bytes]]:
        """The tests to expect and scikit-learn's answers: from two runs of the grader's own (at
        once), or, when nothing they depend on has changed since the last grading, from what that
        grading stored in ``.kata-cache/grader`` (the answers themselves in scikit-learn's own store)."""
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
        """Stage name -> {test node id: exercise}, from the grader's own tests (--collect-only, on the stubs)."""
        folder = Path(tempfile.mkdtemp(prefix="collect-", dir=self.scratch))
        self.template.workspace(folder / "ws", self.stubs)
        tests = [s.tests for s in self.stages]
        run = self._run(folder, tests, "cumulative", ["--collect-only"], 300, answers="off")
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
        tests on the reference, in a folder no submission's run can see. None depends on the code
        under test, so each stage run of each submission gets a fresh, read-only copy of them and
        never imports scikit-learn. Without a reference: none, and each run asks scikit-learn itself
        (never reading a stored answer, which its submission could have written).

        The run starts from the answers this repository has stored (``.kata-cache/sklearn``, see
        tests/sklearn_oracle.py), so that scikit-learn is only asked what it was never asked; the
        reference must pass every comparison with them, and new answers are stored back."""
        if self.reference is None:
            return {}
        folder = Path(tempfile.mkdtemp(prefix="reference-", dir=self.scratch))
        workspace = self.template.workspace(folder / "ws", {f"{m}.py": text for m, text in self.reference.items()})
        answers_dir = folder / "answers"  # writable: the reference's run stores what it asks
        answers_dir.mkdir()
        store = stored_answers(self.root)
        if store is not None and store.is_dir():
            for path in store.glob("*.npz"):
                shutil.copyfile(path, answers_dir / path.name)
        patient = f"--kata-timeout={max(self.test_timeout, REFERENCE_TEST_TIMEOUT):g}"  # the reference, on a busy machine
        run = self._run(folder, [s.tests for s in self.stages], "cumulative", ["-m", "asks_sklearn", patient], 600,
                        answers=str(answers_dir))
        if run.returncode not in (0, 5):  # 5: no such test in the stages graded
            why = run.problem or f"exit code {run.returncode}"
            raise GradeError(f"the reference fails the grader's own scikit-learn comparisons ({why}):\n"
                             f"{run.output[-3000:]}")
        del workspace
        answers = {path.name: path.read_bytes() for path in sorted(answers_dir.glob("*.npz"))}
        if store is not None:
            keep_answers(store, answers)
        shutil.rmtree(folder, ignore_errors=True)
        return answers

    # ------------------------------------------------------------ one submission

    def runs_of(self, stage: Stage, mode: str, modules: dict[str, bytes], only: list[str] | None = None) -> list[Run]:
        """The runs grading ``stage`` in ``mode`` (those of its exercises in ``only``, if given):
        one in cumulative mode; in isolated mode one per set of modules taken from the submission."""
        names = [e.name for e in self.exercises if e.stage == stage.name and (only is None or e.name in only)]
        modules_of = [s.module for s in self.manifest.stages]
        if mode == "cumulative":
            return [Run(stage, tuple(names), tuple(modules_of), cumulative=True)]
        mine = {name[:-3]: source for name, source in modules.items()}
        return plan_runs(stage, names, self.manifest, mine, self.reference or {})

    def grade(self, submission: Submission) -> Graded:
        graded = Graded(submission, self.modes, sandbox=self.sandbox_column)
        if submission.problem:  # nothing to run: every exercise earns 0, the reason is the submission's
            graded.outcomes = [self._outcome(s, m, [e.name for e in self.exercises if e.stage == s.name], {}, "")
                               for m in self.modes for s in self.stages]
            return graded
        own = [s.module for s in self.manifest.stages]
        graded.flags = review_modules(submission.modules, own)
        graded.notes += list(submission.notes)
        graded.notes += [f"{name} missing: its pristine stub was graded" for name in module_files(self.manifest)
                         if name not in submission.modules]
        modules = {name: submission.modules.get(name, self.stubs[name].encode("utf-8"))
                   for name in module_files(self.manifest)}
        done: dict[tuple, StageOutcome] = {}
        for mode in self.modes:
            for stage in self.stages:
                runs = self.runs_of(stage, mode, modules)
                if mode == "isolated":
                    graded.notes += [isolation_note(self.manifest, r) for r in runs if r.reasons]
                # Every stage gets the same share of the wall limit, in every mode, shared by its runs;
                # a run that two modes share (the same tests on the same modules) runs once.
                limit = self.wall_limit / len(self.stages) / len(runs)
                parts = []
                for run in runs:
                    key = (run.stage.name, run.exercises, self.layer_modules(run), limit)
                    if self.stop.is_set():
                        parts.append(self._outcome(stage, mode, list(run.exercises), {}, "grading interrupted"))
                        continue
                    if key not in done:
                        done[key] = self._grade_run(run, modules, limit)
                    parts.append(done[key])
                graded.outcomes.append(merged(self.manifest, stage, mode, parts))
        graded.flags += guard_flags(graded.outcomes)
        return graded

    def layer_modules(self, run: Run) -> tuple[str, ...]:
        """The modules ``run`` takes from the reference: the earlier stages' modules it does not own."""
        if run.cumulative:
            return ()
        return tuple(s.module for s in self.manifest.stages if s.index < run.stage.index and s.module not in run.own)

    def failing_tests(self, modules: dict[str, bytes], stage: Stage, exercise: str) -> list[str]:
        """The tests of ``exercise`` that do not pass for these kata modules, run exactly as a
        submission's stage is (isolated mode, same limits): e.g. a known mistake's signature."""
        runs = self.runs_of(stage, "isolated", modules, only=[exercise])
        limit = self.wall_limit / len(self.stages) / len(self.runs_of(stage, "isolated", modules))
        parts = [self._grade_run(run, modules, limit) for run in runs]
        outcome = merged(self.manifest, stage, "isolated", parts)
        return sorted(r.nodeid for r in outcome.records if r.exercise == exercise and r.status != results.PASSED)

    def _grade_run(self, run: Run, modules: dict[str, bytes], limit: float) -> StageOutcome:
        """One run of a submission's stage, in a fresh workspace of its own."""
        folder = Path(tempfile.mkdtemp(prefix="run-", dir=self.scratch))
        try:
            layer_modules = self.layer_modules(run)
            layer = None
            if not run.cumulative:
                layer = reference_layer(self.manifest, self.reference or {}, layer_modules, run.exercises)
            self.template.workspace(folder / "ws", modules, layer, self.answers)
            mode = "cumulative" if run.cumulative else "isolated"
            options = [f"--kata-timeout={self.test_timeout:g}", *[f"--exercise={name}" for name in run.exercises]]
            if not run.cumulative:
                options.append(f"--reference={folder / 'ws' / LAYER_DIR}")
            child = self._run(folder, [run.stage.tests], mode, options, limit, graded=True)
            return self._score(run, mode, child, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _outcome(self, stage: Stage, mode: str, exercises: list[str], reported: dict[str, results.TestRecord],
                 problem: str) -> StageOutcome:
        """Per-exercise results of ``exercises`` of a stage; a collected test without a reported result
        counts as an error."""
        records = []
        for nodeid, exercise in self.expected[stage.name].items():
            if exercise not in exercises:
                continue
            got = reported.get(nodeid)
            if got is None:
                records.append(results.TestRecord(nodeid, exercise, results.ERROR, f"no result: {problem or 'not reported'}"))
            else:
                records.append(results.TestRecord(nodeid, exercise, got.status, got.message))
        return StageOutcome(stage, mode, results.summarize(self.manifest, records), problem, records)

    def _score(self, run: Run, mode: str, child: PytestRun, folder: Path) -> StageOutcome:
        stage, workspace, scratch = run.stage, folder / "ws", folder / "scratch"
        report, problem = child.report, ""
        if child.timed_out:
            report = child.partial  # the tests that ended before the limit: those that passed keep their points
            problem = ("stopped at the wall limit: its tests did not all finish (a hang, or output without end?); "
                       "exercises whose tests had all ended and passed keep their points")
        elif report is None and child.returncode < 0:
            problem = f"the test process was killed by {signal_name(-child.returncode)} (did the code crash the interpreter?)"
        elif report is None and child.problem == NO_REPORT:
            problem = (f"the test process ended (exit code {child.returncode}) without writing valid results: "
                       "does a kata module exit the interpreter (sys.exit, os._exit)?")
        elif report is None:
            problem = f"the test process ended (exit code {child.returncode}) without writing valid results: malformed file"
        elif child.returncode not in (0, 1):
            problem = f"pytest ended with exit code {child.returncode} (interrupted or internal error)"
        target = workspace / TARGET_DIR
        if report is not None and (report.mode != mode or Path(report.target) != target.resolve()):
            problem, report = "malformed results file (for another target or mode)", None
        known = {n: e for n, e in self.expected[stage.name].items() if e in run.exercises}
        reported = {t.nodeid: t for t in (report.tests if report else []) if t.nodeid in known}
        for record in reported.values():
            record.message = stable(record.message, workspace, scratch, self.scratch)
            if record.status == results.TIMEOUT:  # how far a slow test got depends on the machine: not said
                record.message = (f"[{record.exercise}] timed out: a test of this exercise used more than "
                                  f"{self.test_timeout:g} s of CPU time (--test-timeout); slow but correct code needs "
                                  "a longer one")
        outcome = self._outcome(stage, mode, list(run.exercises), reported, problem)
        if report and any(t.nodeid not in self.expected[stage.name] for t in report.tests):
            outcome.problem = outcome.problem or "the results file names tests the grader does not have"
        unfinished = (results.ERROR, results.TIMEOUT)
        if not outcome.problem and reported and all(t.status in unfinished for t in reported.values()):
            outcome.problem = first_line(next(iter(reported.values())).message)  # e.g. "cannot import ..."
        slow = {known[n] for n, t in reported.items() if t.status == results.TIMEOUT}
        timed_out = [r.exercise.name for r in outcome.results if r.exercise.name in slow]
        if not outcome.problem and timed_out:
            outcome.problem = f"timed out (more than {self.test_timeout:g} s of CPU time for a test) in {', '.join(timed_out)}"
        return outcome


def isolation_note(manifest: Manifest, run: Run) -> str:
    """Why an isolated run takes more of the submission's modules than its exercises' own."""
    first = manifest.learner_modules(run.stage, list(run.exercises))
    extra = [m for m in run.own if m not in first] if not run.cumulative else []
    taken = f"your own {', '.join(m + '.py' for m in extra)} too" if extra else "your own earlier modules (cumulative)"
    return f"isolated {run.stage.name} ({', '.join(run.exercises)}): graded on {taken}, since {'; '.join(run.reasons)}"


def merged(manifest: Manifest, stage: Stage, mode: str, parts: list[StageOutcome]) -> StageOutcome:
    """One stage's outcome from the outcomes of its runs: every record, and each run's problem,
    named by its exercises when the stage had several runs."""
    records = [r for part in parts for r in part.records]
    problems = []
    for part in parts:
        if part.problem:
            names = ", ".join(r.exercise.name for r in part.results)
            problems.append(part.problem if len(parts) == 1 else f"({names}) {part.problem}")
    return StageOutcome(stage, mode, results.summarize(manifest, records), "; ".join(problems), records)


def guard_flags(outcomes: list[StageOutcome]) -> list[str]:
    """A review flag for each stage where the grading guard refused something (guard.py): the code
    went looking outside its workspace, for the reference or anything else."""
    flags = []
    for outcome in outcomes:
        refused = sorted({line.strip() for r in outcome.records for line in r.message.splitlines() if GUARD_MARK in line})
        if refused:
            flags.append(f"{outcome.stage.module}.py ({outcome.mode}): {refused[0]}"
                         + (f" (and {len(refused) - 1} more)" if len(refused) > 1 else ""))
    return sorted(set(flags))


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
    parser.add_argument("--test-timeout", type=float, default=DEFAULT_TEST_TIMEOUT, metavar="S",
                        help=f"CPU seconds per test (default {DEFAULT_TEST_TIMEOUT:g})")
    parser.add_argument("--wall-limit", type=float, default=DEFAULT_WALL_LIMIT, metavar="S",
                        help=f"seconds per submission and mode, shared equally by its stages (default {DEFAULT_WALL_LIMIT:g})")
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

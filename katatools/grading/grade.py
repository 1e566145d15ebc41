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
(see reference_runs.py).

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
import os
import shutil
import sys
import threading
from pathlib import Path

from .. import report as results
from ..manifest import ROOT, Exercise, Manifest, ManifestError, Stage, load_manifest
from ..runner import available_cpus, stop_all
from ..stubs import reference_sources
from .children import Children
from .gradebook import Graded, StageOutcome, summary_lines, write_outputs
from .isolation import Run, plan_runs
from .options import add_limits, check_limits, unknown_stage
from .reference_runs import GradeError, ReferenceRuns
from .review import review_modules
from .scoring import Scorer, guard_flags, merged
from .submissions import Submission, SubmissionError, discover, module_files
from .workspace import ANSWERS_DIR, LAYER_DIR, reference_layer

MODES = ("isolated", "cumulative")
NO_REFERENCE = ("isolated mode grades each exercise on the reference's other modules, and this copy of the katas has "
                "no solutions/ (a learner's edition, or a Classroom 50 bundle): grade with --mode cumulative")
INVOKED_FROM = "KATA_INVOKED_FROM"  # where the instructor ran the command (nox changes directory): paths resolve there


class Grader:
    """Grades submissions against one snapshot of the grader's tests, reference and manifest.

    ``exercises``: grade only these (e.g. one Classroom step); ``sandbox``: try bubblewrap. Where
    ``root`` has no reference (a learner's edition, a Classroom 50 bundle), only cumulative mode
    grades, and every run asks scikit-learn itself.

    Building it runs the grader's own code once (reference_runs.py) in the shared folders of its
    children (children.py); ``grade`` then grades one submission, each run scored by scoring.py.
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
        self.stop = threading.Event()
        self.children = Children(root, self.manifest, self.selection, sandbox)
        self.scratch, self.stubs, self.template = self.children.scratch, self.children.stubs, self.children.template
        self.sandbox, self.unsandboxed = self.children.sandbox, self.children.unsandboxed
        try:
            self.expected, self.answers = ReferenceRuns(self.children, self.manifest, root, self.stages, self.selection,
                                                        self.reference, test_timeout).results()
        except BaseException:
            self.close()
            raise
        self.scorer = Scorer(self.manifest, self.expected, test_timeout, self.scratch)

    @property
    def sandbox_column(self) -> str:
        """How each submission ran, for the gradebook: ``bwrap``, or ``none`` with the reason's gist."""
        if self.sandbox is not None:
            return "bwrap"
        return "none (--no-sandbox)" if self.unsandboxed == "--no-sandbox" else "none (bwrap unavailable)"

    def close(self) -> None:
        self.children.close()

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
        folder = self.children.folder("run-")
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
            answers = str(folder / "ws" / ANSWERS_DIR) if self.answers else "off"
            child = self.children.run(folder, [run.stage.tests], mode, options, limit, answers, graded=True)
            return self.scorer.score(run, mode, child, folder)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    def _outcome(self, stage: Stage, mode: str, exercises: list[str], reported: dict[str, results.TestRecord],
                 problem: str) -> StageOutcome:
        """Per-exercise results of ``exercises`` of a stage (scoring.Scorer.outcome)."""
        return self.scorer.outcome(stage, mode, exercises, reported, problem)


def isolation_note(manifest: Manifest, run: Run) -> str:
    """Why an isolated run takes more of the submission's modules than its exercises' own."""
    first = manifest.learner_modules(run.stage, list(run.exercises))
    extra = [m for m in run.own if m not in first] if not run.cumulative else []
    taken = f"your own {', '.join(m + '.py' for m in extra)} too" if extra else "your own earlier modules (cumulative)"
    return f"isolated {run.stage.name} ({', '.join(run.exercises)}): graded on {taken}, since {'; '.join(run.reasons)}"



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
    add_limits(parser, "seconds per submission and mode, shared equally by its stages",
               sandbox_help="run the submissions' code without bubblewrap (default: in it, where it works)")
    parser.add_argument("--no-report", action="store_true", help="do not write report.html (nor run the mistakes "
                        "it compares the failures with)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be positive")
    check_limits(parser, args)
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
    problem = unknown_stage(args, manifest)
    if problem:
        print(f"grade: {problem}", file=sys.stderr)
        return 2
    try:
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

"""The pytest plugin behind every kata test run.

Options: ``--target`` (which package the tests exercise), ``--exercise`` (select by exercise
or stage), ``--mode isolated`` (each stage on top of the reference's earlier stages, but for
the earlier modules the stage's own exercises extend: see packages.py), ``--kata-report`` (a
results file for the tools: one JSON line per test, written as each test ends, so a run killed
half-way still tells what it did), ``--kata-timeout`` (seconds per test).

It validates the tests against the manifest at collection, gives tests their stage's modules
through the ``kata`` fixture (imported lazily, so one broken kata file fails only its stage),
reports a stub's ``NotImplementedError`` as "not started", turns a hanging test into a failure
that names its exercise (and, for a test that reports its ``progress``, how far the code got:
slow code is not an endless loop), and prints the progress table at the end of the run.
"""

from __future__ import annotations

import contextlib
import functools
import linecache
import os
import re
import signal
import sys
import tempfile
import threading
import time
import traceback
import types
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, Phase, settings

from . import guard, packages
from . import report as results
from .manifest import Manifest, ManifestError, Stage, load_manifest, split_cover

# ---------------------------------------------------------------- hypothesis profiles
# Every profile is derandomized: a learner's run, CI and grading see the same examples.
settings.register_profile(
    "kata",
    max_examples=40,
    derandomize=True,
    deadline=None,
    # No "explain" phase: it costs seconds per failing test (every test fails on a fresh stub).
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    database=None,
    print_blob=False,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("ci", settings.get_profile("kata"), max_examples=100)
settings.register_profile("grade", settings.get_profile("ci"))
settings.load_profile(os.environ.get("KATA_HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "kata"))

DEFAULT_TIMEOUT = 10.0
STATE = pytest.StashKey["KataRun"]()
EXERCISE = pytest.StashKey[str]()
STATUS_PROPERTY = "kata_status"
T = TypeVar("T")
STUB_MESSAGE = re.compile(r"exercise '(?P<name>\w+)'")  # how katatools/stubs.py begins every stub's message


class KataTimeout(BaseException):
    """Raised by the alarm; a BaseException so that learner code's `except Exception` lets it by."""


class StubReached(BaseException):
    """A stub's NotImplementedError, carried past hypothesis so it does not shrink a stub's failure."""


def stop_hypothesis_at_stubs(item: pytest.Item) -> None:
    """Make a @given test end at the first NotImplementedError instead of shrinking it.

    Hypothesis treats NotImplementedError as a failure to minimise, which costs a fraction of a
    second per property on every untouched exercise; a BaseException passes straight through.
    ``inner_test`` is hypothesis's documented hook for wrapping the test body.
    """
    handle = getattr(getattr(item, "obj", None), "hypothesis", None)
    inner = getattr(handle, "inner_test", None)
    if inner is None or getattr(inner, "_kata_stops_at_stubs", False):
        return

    @functools.wraps(inner)
    def body(*args, **kwargs):
        try:
            return inner(*args, **kwargs)
        except NotImplementedError as exc:
            raise StubReached(exc) from None

    body._kata_stops_at_stubs = True
    handle.inner_test = body


class KataModules:
    """The kata modules a run tests: where they are (``--target``, and ``--reference`` in isolated
    mode), how each stage's tests import them (``namespace``), and where in them a test was."""

    def __init__(self, config: pytest.Config, manifest: Manifest) -> None:
        self.manifest = manifest
        self.selected: set[str] = set()  # the exercises of --exercise, set by KataRun once it has read them
        self.root = Path(config.rootpath)
        self.target = self._resolve(config.getoption("target"), self.root)
        self.mode = config.getoption("mode")
        self.reference = self._reference(config.getoption("reference"), self.root) if self.mode == "isolated" else None
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._namespaces: dict[str, types.SimpleNamespace] = {}
        self._sources_seen: tuple = ()  # sys.modules' size and newest name when sources last looked
        self._sources: list[str] = []

    @staticmethod
    def _resolve(value: str, root: Path) -> Path:
        path = Path(value)
        if not path.is_absolute():
            path = (root / value) if (root / value).is_dir() else path.resolve()
        if not path.is_dir():
            raise pytest.UsageError(f"{value!r} is not a directory holding kata modules")
        return path.resolve()

    @classmethod
    def _reference(cls, value: str, root: Path) -> Path:
        try:
            return cls._resolve(value, root)
        except pytest.UsageError:
            raise pytest.UsageError(
                f"--mode isolated runs each stage on the reference's earlier modules, and {value!r} is not a folder "
                "of them: this copy of the katas has no reference (a learner's edition?); run in cumulative mode"
            ) from None

    def package_name(self, stage: Stage) -> str:
        if self.mode == "isolated":
            return f"_kata_isolated_{stage.name}"
        root = self.root.resolve()
        if self.target.parent == root and self.target.name in ("katas", "solutions"):
            return self.target.name
        return "_kata_target"

    def namespace(self, stage: Stage) -> types.SimpleNamespace:
        """The modules of every stage up to ``stage``, as the tests of ``stage`` see them."""
        if stage.name not in self._namespaces:
            search_first = None
            if self.mode == "isolated":
                if self._scratch is None:
                    self._scratch = tempfile.TemporaryDirectory(prefix="kata-isolated-")
                layer = Path(self._scratch.name) / stage.name
                search_first = packages.reference_layer(self.manifest, stage, self.reference, layer,
                                                        self.selected_of(stage))
            package = packages.load_package(self.target, self.package_name(stage), search_first)
            stages = packages.earlier_stages(self.manifest, stage) + [stage]
            modules: dict[str, types.ModuleType] = {}
            for s in stages:
                try:
                    modules.update(packages.import_stage_modules(package, [s]))
                except BaseException as exc:  # SyntaxError, SystemExit, anything raised on import
                    if isinstance(exc, KeyboardInterrupt | KataTimeout):
                        raise
                    from_reference = search_first is not None and (search_first / f"{s.module}.py").is_file()
                    origin = self.reference if from_reference else self.target
                    message = describe_import_failure(stage, s, origin, exc)
                    if search_first is not None:  # the layer is a temporary copy of the reference's modules
                        message = message.replace(str(search_first) + os.sep, self.reference.name + os.sep)
                    raise ImportFailure(message) from None
            ns = types.SimpleNamespace(stage=stage.name, **modules)
            ns.Variable = modules["variable"].Variable
            self._namespaces[stage.name] = ns
        return self._namespaces[stage.name]

    def selected_of(self, stage: Stage) -> list[str]:
        """The exercises of ``stage`` this run selected (isolated mode takes from the learner only the
        modules holding their code)."""
        return [e.name for e in self.manifest.exercises_of(stage.name) if e.name in self.selected]

    def location(self, exc: BaseException) -> str:
        """Where in the kata modules (the target's files) ``exc`` was raised: the innermost such frame,
        as "katas/training.py, line 12, in fit" and the line's text below it; "" when it never got there."""
        grouped = getattr(exc, "exceptions", None)  # an exception group: hypothesis reports several bugs so
        if isinstance(grouped, tuple) and grouped and isinstance(grouped[0], BaseException):
            return self.location(grouped[0])
        inside = str(self.target) + os.sep
        found = None
        for frame, line in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename.startswith(inside):
                found = (frame.f_code.co_filename, line, frame.f_code.co_name)
        if found is None:
            return ""
        filename, line, function = found
        linecache.checkcache(filename)  # the file may have been edited since another run read it
        text = linecache.getline(filename, line).strip()
        root = str(self.root.resolve()) + os.sep
        shown = Path(filename[len(root):]).as_posix() if filename.startswith(root) else filename
        return f"{shown}, line {line}, in {function}" + (f"\n        {text}" if text else "")

    def sources(self) -> list[str]:
        """The files under the target imported so far, relative to it: what the tests so far have read.

        Recomputed only when a module has been imported since the last call (the size of
        ``sys.modules`` or its newest entry differs).
        """
        seen = (len(sys.modules), next(reversed(sys.modules), None))
        if seen != self._sources_seen:
            self._sources_seen = seen
            inside = str(self.target) + os.sep
            files = {getattr(module, "__file__", None) for module in list(sys.modules.values())}
            self._sources = sorted(Path(f[len(inside):]).as_posix() for f in files
                                   if isinstance(f, str) and f.startswith(inside))
        return list(self._sources)

    def cleanup(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()


def manifest_problems(manifest: Manifest, items: list[pytest.Item], whole_files: bool) -> list[str]:
    """What does not match exercises.toml among the collected stage tests; each matching test's
    exercise is stashed on it. ``whole_files``: the run collected whole test files, so an exercise
    without tests is a problem too."""
    problems: list[str] = []
    covered: dict[str, set[str]] = {}  # stage -> exercises with at least one test
    for item in items:
        stage = manifest.stage_of_test_file(item.path)
        if stage is None:
            continue
        covered.setdefault(stage.name, set())
        marks = list(item.iter_markers("exercise"))
        if len(marks) != 1 or len(marks[0].args) != 1:
            problems.append(f"{item.nodeid}: needs exactly one @pytest.mark.exercise(NAME), has {len(marks)}")
            continue
        name = marks[0].args[0]
        try:
            exercise = manifest.exercise(name)
        except ManifestError as exc:
            problems.append(f"{item.nodeid}: {exc}")
            continue
        if exercise.stage != stage.name:
            problems.append(f"{item.nodeid}: exercise {name!r} belongs to stage {exercise.stage!r}, not {stage.name!r}")
            continue
        item.stash[EXERCISE] = name
        covered[stage.name].add(name)
    for stage_name, names in covered.items() if whole_files else ():
        for exercise in manifest.exercises_of(stage_name):
            if exercise.name not in names:
                problems.append(f"exercise {exercise.name!r} (stage {stage_name!r}) has no tests")
    return problems


class KataRun:
    """What one pytest run knows: the manifest, the kata modules (``KataModules``), the limits, and
    the results so far; its hooks check the collection, run each test under the limit with the
    teaching conversions, record each result, and report them."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.manifest: Manifest = load_manifest()
        self.modules = KataModules(config, self.manifest)
        self.target, self.mode = self.modules.target, self.modules.mode
        timeout = config.getoption("kata_timeout")
        self.timeout = float(timeout if timeout is not None else config.getini("kata_timeout") or DEFAULT_TIMEOUT)
        self.more_time = config.getoption("kata_timeout_flag")
        try:
            self.selected = {e.name for e in self.manifest.select(config.getoption("exercise"))}
        except ManifestError as exc:
            raise pytest.UsageError(f"--exercise: {exc}") from None
        self.modules.selected = self.selected
        self.timed_out: set[str] = set()
        self.records: dict[str, results.TestRecord] = {}
        self.durations: dict[str, float] = {}
        self.writer: results.ReportWriter | None = None  # --kata-report: each test's result written as it ends
        self.locations: dict[str, str] = {}  # node id -> where in the kata modules its exception was raised

    # ------------------------------------------------------------ collection

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        """Check every stage test against the manifest, then apply --exercise."""
        # An exercise without tests is an error, unless the run names single tests (file::test).
        problems = manifest_problems(self.manifest, items, whole_files=not any("::" in arg for arg in config.args))
        if problems:
            raise pytest.UsageError("the kata tests do not match exercises.toml:\n  " + "\n  ".join(problems))
        keep = [i for i in items if EXERCISE not in i.stash or i.stash[EXERCISE] in self.selected]
        self.exercise_of = {i.nodeid: i.stash[EXERCISE] for i in keep if EXERCISE in i.stash}
        if len(keep) != len(items):
            config.hook.pytest_deselected(items=[i for i in items if i not in keep])
            items[:] = keep

    # ------------------------------------------------------------ running

    def _guarded(self, item: pytest.Item, phase: str) -> Generator[None, object, object]:
        """Run one phase of a kata test under the time limit, with the teaching conversions."""
        exercise = item.stash.get(EXERCISE, None)
        if exercise is None:
            return (yield)
        if phase == "call" and exercise in self.timed_out:
            item.user_properties.append((STATUS_PROPERTY, results.TIMEOUT))
            pytest.fail(f"[{exercise}] not run: an earlier test of this exercise ran out of time", pytrace=False)
        if phase == "call":
            stop_hypothesis_at_stubs(item)
        try:
            with deadline(self.timeout):
                return (yield)
        except KataTimeout as exc:
            self.timed_out.add(exercise)
            status = results.TIMEOUT
            done, clock = (tuple(exc.args) + (None, "cpu"))[:2]
            message = timeout_message(exercise, self.timeout, done, self.more_time, clock)
            where = self.modules.location(exc)
            message += f"\n    It was running {where}" if where else ""
        except (NotImplementedError, StubReached) as exc:
            status = results.NOT_STARTED
            message = self.stub_message(exercise, exc.args[0] if isinstance(exc, StubReached) else exc)
        # Fail outside the except block, so the report shows the message and no exception chain.
        item.user_properties.append((STATUS_PROPERTY, status))
        pytest.fail(message, pytrace=False)

    def stub_message(self, exercise: str, stub: BaseException) -> str:
        """What a stub's NotImplementedError means for this test: its own exercise is not started, or
        it needs another exercise (named by the stub's function, through the manifest's ``covers``)."""
        owner = stub_owner(self.manifest, stub)
        if owner is None or owner[0] == exercise:
            return f"[{exercise}] not started yet: {stub}"
        other, function = owner
        return (f"[{exercise}] needs {function} (exercise {other}), which is still a stub; "
                f"do exercise {other} first.\n    its stub says: {stub}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._guarded(item, "setup"))

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, object, object]:
        return (yield from self._guarded(item, "call"))

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> pytest.TestReport | None:
        """Report a kata test's teaching failure as its message alone, without building a traceback.

        Every check in tests/checks.py and every conversion above fails with
        ``pytest.fail(message, pytrace=False)``: pytest would show only the message anyway, but
        would still walk and filter the whole traceback (hypothesis makes it deep) for each of the
        hundreds of failures of a fresh set of stubs. Everything else goes to pytest's own report.
        """
        excinfo = call.excinfo
        if EXERCISE not in item.stash or excinfo is None:
            return None
        if not isinstance(excinfo.value, pytest.fail.Exception) or excinfo.value.pytrace:
            where = self.modules.location(excinfo.value)  # for the short summary: pytest's says only what was raised
            if where:
                self.locations[item.nodeid] = where
            return None
        sections = [(f"Captured {key} {when}", content) for when, key, content in item._report_sections]
        return pytest.TestReport(
            item.nodeid, item.location, {k: 1 for k in item.keywords}, "failed", str(excinfo.value.msg),
            call.when, sections, call.duration, call.start, call.stop, user_properties=item.user_properties,
        )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        exercise = self.exercise_of.get(report.nodeid)
        if exercise is None:
            return
        self.durations[report.nodeid] = self.durations.get(report.nodeid, 0.0) + report.duration
        if report.when == "call" or (report.when == "setup" and not report.passed):
            if report.passed:
                status = results.PASSED
            elif dict(report.user_properties).get(STATUS_PROPERTY):
                status = dict(report.user_properties)[STATUS_PROPERTY]
            elif report.when == "call" and report.failed:
                status = results.FAILED
            else:
                status = results.ERROR  # setup failed, or the test was skipped: it earns nothing
            self.records[report.nodeid] = results.TestRecord(report.nodeid, exercise, status, self.summary(report))
        elif report.when == "teardown" and report.failed:
            self.records[report.nodeid] = results.TestRecord(report.nodeid, exercise, results.ERROR, self.summary(report))
        if report.when == "teardown" and report.nodeid in self.records:
            self.records[report.nodeid].duration = round(self.durations[report.nodeid], 4)
            self.records[report.nodeid].sources = self.modules.sources()
            if self.writer is not None:  # final now: written at once, in case the run is killed later
                self.writer.add(self.records[report.nodeid])

    def summary(self, report: pytest.TestReport) -> str:
        """The short message of a failure, and where in the kata modules it was raised, if it was."""
        where = self.locations.pop(report.nodeid, "")
        return short_message(report) + (f"\n    raised at {where}" if where else "")

    # ------------------------------------------------------------ reporting

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        path = self.config.getoption("kata_report")
        if path:
            self.writer = results.ReportWriter(Path(path), str(self.target), self.mode)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.writer is None:
            return
        collected = []
        if self.config.option.collectonly:  # the map of tests to exercises, e.g. for the grader
            exercise_of = getattr(self, "exercise_of", {})
            collected = [results.TestRecord(n, e, results.COLLECTED) for n, e in exercise_of.items()]
        self.writer.finish(collected)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> Generator[None, None, None]:
        # The outermost wrapper: the table comes after pytest's short test summary, at the very end.
        yield
        if not self.records or self.config.getoption("kata_summary") == "no":
            return
        colour = results.use_colour(terminalreporter._tw._file) and terminalreporter.hasmarkup
        lines = results.render_progress(self.manifest, list(self.records.values()), self.mode, colour,
                                        command=results.check_command())
        for line in lines:
            terminalreporter.write_line(line)

    def pytest_unconfigure(self) -> None:
        self.modules.cleanup()


class ImportFailure(Exception):
    pass


def describe_import_failure(tested: Stage, failing: Stage, origin: Path, exc: BaseException) -> str:
    where = f"{origin.name}/{failing.module}.py"
    if isinstance(exc, SyntaxError):
        what = f"SyntaxError: {exc.msg} (line {exc.lineno})"
        if exc.text:
            what += f"\n    {exc.text.strip()}"
    elif isinstance(exc, SystemExit):
        what = f"it called sys.exit({exc.code!r}) while being imported"
    else:
        frames = traceback.extract_tb(exc.__traceback__)
        line = next((f.lineno for f in reversed(frames) if f.filename.endswith(f"{failing.module}.py")), None)
        what = f"{type(exc).__name__}: {exc}" + (f" (line {line})" if line else "")
    return (
        f"[{tested.name}] cannot import {where}: {what}\n"
        f"Every test of stage {tested.name!r} needs this module; fix it first."
    )


# ---------------------------------------------------------------- options and configuration


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("katas", "autodiff katas")
    group.addoption("--target", default="katas", help="package to test: katas (default), solutions, or a directory of kata modules")
    group.addoption("--exercise", action="append", default=[], metavar="NAME", help="run only this exercise or stage (repeatable)")
    group.addoption("--mode", choices=("cumulative", "isolated"), default="cumulative", help="isolated: each stage on top of the reference's earlier stages")
    group.addoption("--reference", default="solutions", help="reference package for --mode isolated (default: solutions)")
    group.addoption("--kata-report", default=None, metavar="PATH", help="write per-test results to PATH (JSON lines, each test as it ends)")
    group.addoption("--kata-timeout", type=float, default=None, metavar="SECONDS", help="time limit per test (default: ini kata_timeout)")
    group.addoption("--kata-timeout-flag", default="--kata-timeout", metavar="TEXT",
                    help="how the learner allows more time per test, for timeout messages (e.g. 'nox -s check -- --timeout')")
    group.addoption("--kata-summary", choices=("yes", "no"), default="yes", help="print the progress table at the end")
    parser.addini("kata_timeout", "time limit per kata test, in seconds", default=str(DEFAULT_TIMEOUT))


def pytest_configure(config: pytest.Config) -> None:
    waiting_clock()  # opened before the guard, which would refuse it (deadline's backstop counts only waiting)
    guard.install_from_environment()  # when grading: before any kata module is imported (guard.py)
    config.addinivalue_line("markers", "exercise(name): the manifest exercise this test belongs to (exactly one)")
    config.addinivalue_line("markers", "asks_sklearn: asks scikit-learn through tests/sklearn_oracle.py (the grader "
                                       "runs these on the reference first, to store the answers)")
    run = KataRun(config)
    config.stash[STATE] = run
    config.pluginmanager.register(run, "kata-run")


@pytest.fixture(scope="module")
def kata(request: pytest.FixtureRequest) -> types.SimpleNamespace:
    """The target's modules for this test module's stage: ``kata.Variable``, ``kata.primitives``..."""
    run = request.config.stash[STATE]
    stage = run.manifest.stage_of_test_file(request.path)
    if stage is None:
        raise pytest.UsageError(f"{request.path} is not a stage test module listed in exercises.toml")
    try:
        return run.modules.namespace(stage)
    except ImportFailure as exc:
        pytest.fail(str(exc), pytrace=False)


# A test's time limit counts the CPU time of its process (ITIMER_PROF: user and system time, every
# thread), not the wall clock: on a machine busy with other work a test gets a smaller share of a core,
# but needs no more CPU, so its verdict does not depend on the load. A loop that never ends burns CPU
# and still hits the limit. A test that waits without computing (a sleep, a lock) is stopped instead
# once it has waited WALL_FACTOR times the limit: where the system tells how long a thread waited
# (Linux: ``waiting_clock``), only that time counts, not the time the test was ready to run while
# other work had the cores; elsewhere, the wall clock.
WALL_FACTOR = 10.0


def _timers_usable(seconds: float = 1.0) -> bool:
    return seconds > 0 and hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


_SCHEDSTAT: dict[tuple[int, int], int | None] = {}  # (process, thread) -> its open schedstat, None: not readable


def waiting_clock() -> Callable[[], float] | None:
    """A clock of the calling thread's waiting: seconds it spent neither running nor ready to run (asleep,
    blocked on a lock, a pipe or input), up to an arbitrary origin; None where the system does not tell.

    Linux's schedstat gives a thread's time on a CPU and its time ready in the run queue; the rest of the
    wall clock it waited. On a busy machine the run queue grows, the waiting does not. The file is opened
    once per process and thread and read again from its start each time; pytest_configure opens the main
    thread's before the grading guard (guard.py), which refuses later opens outside the run's folders.
    """
    key = (os.getpid(), threading.get_native_id())
    if key not in _SCHEDSTAT:
        try:
            _SCHEDSTAT[key] = os.open(f"/proc/self/task/{key[1]}/schedstat", os.O_RDONLY)
        except OSError:
            _SCHEDSTAT[key] = None
    descriptor = _SCHEDSTAT[key]
    if descriptor is None:
        return None

    def waited() -> float:
        running, ready = os.pread(descriptor, 256, 0).split()[:2]
        return time.monotonic() - (int(running) + int(ready)) / 1e9

    try:
        waited()
    except (OSError, ValueError):
        return None
    return waited


@dataclass
class _Watch:
    """What a running ``deadline`` knows of its waiting: the clock, its reading at the start, and how much of
    the waiting since was inside ``clock_paused`` (an oracle's, not the test's)."""

    clock: Callable[[], float] | None
    start: float = 0.0
    paused: float = 0.0
    pausing: int = 0

    def waited(self) -> float:
        return self.clock() - self.start - self.paused if self.clock else 0.0


_WATCHES: list[_Watch] = []


@contextlib.contextmanager
def deadline(seconds: float) -> Iterator[None]:
    """Raise KataTimeout in the main thread once the block has used ``seconds`` of CPU time, or has waited
    ``WALL_FACTOR`` times that (the wall clock, where no ``waiting_clock``), where setitimer exists: not on Windows."""
    if not _timers_usable(seconds):
        yield
        return
    patience = seconds * WALL_FACTOR
    clock = waiting_clock()
    watch = _Watch(clock, clock() if clock else 0.0)

    def on_limit(signum: int, frame: object) -> None:
        if signum == signal.SIGALRM and watch.clock is not None:
            waited = watch.waited()
            if waited < patience:  # the clock ran while the test was ready to run: a busy machine, not waiting
                signal.setitimer(signal.ITIMER_REAL, max(patience - waited, 0.001))
                return
        # how far the test got, read while its code still runs; and which clock ran out
        raise KataTimeout(progress_now(), "wall" if signum == signal.SIGALRM else "cpu")

    previous = {number: signal.signal(number, on_limit) for number in (signal.SIGPROF, signal.SIGALRM)}
    _WATCHES.append(watch)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    signal.setitimer(signal.ITIMER_REAL, patience)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        _WATCHES.remove(watch)
        for number, handler in previous.items():
            signal.signal(number, handler)


@contextlib.contextmanager
def clock_paused() -> Iterator[None]:
    """Stop the running test's clock for the block: an oracle's cost (scikit-learn's import and fits,
    the tests' own reference computations), its CPU time and its waiting, is never the learner's. The
    clock resumes where it stopped."""
    if not _timers_usable():
        yield
        return
    cpu = signal.setitimer(signal.ITIMER_PROF, 0)[0]
    wall = signal.setitimer(signal.ITIMER_REAL, 0)[0]
    watch = _WATCHES[-1] if _WATCHES else None
    before = watch.clock() if watch is not None and watch.clock is not None and not watch.pausing else None
    if watch is not None:
        watch.pausing += 1
    try:
        yield
    finally:
        if watch is not None:
            watch.pausing -= 1
            if before is not None:
                watch.paused += watch.clock() - before
        if cpu > 0:
            signal.setitimer(signal.ITIMER_PROF, cpu)
        if wall > 0:
            signal.setitimer(signal.ITIMER_REAL, wall)


def oracle(function: Callable[..., T]) -> Callable[..., T]:
    """Decorate a function of the tests that computes an expected answer: its time is not the test's."""

    @functools.wraps(function)
    def timed_apart(*args: object, **kwargs: object) -> T:
        with clock_paused():
            return function(*args, **kwargs)

    return timed_apart


# ---------------------------------------------------------------- progress of long tests, for timeout messages


@dataclass(frozen=True)
class Progress:
    """How far a long test has got: ``done`` of ``total`` ``unit`` (e.g. 37 of 200 iterations)."""

    done: int
    total: int
    unit: str = "iterations"
    seconds: float | None = None  # CPU seconds spent on them so far (None: the whole time limit)


_PROGRESS: list[Callable[[], Progress | None]] = []
MORE_TIME_CHOICES = (10, 20, 30, 60, 120, 300, 600)  # seconds a timeout message may suggest


@contextlib.contextmanager
def progress(report: Callable[[], Progress | None]) -> Iterator[None]:
    """While the block runs, a timeout asks ``report()`` how far the code got, and says so.

    ``report`` is called from the alarm, inside the running test: it must be quick and only read
    counters. A test without one gets the plain message (a loop that never ends, or slow code).
    """
    _PROGRESS.append(report)
    try:
        yield
    finally:
        _PROGRESS.remove(report)


def progress_now() -> Progress | None:
    """The innermost active test's progress, or None (never raises: it runs in the alarm)."""
    for report in reversed(_PROGRESS):
        try:
            found = report()
        except Exception:  # noqa: BLE001 - a broken report must not hide the timeout
            found = None
        if found is not None:
            return found
    return None


def time_needed(timeout: float, done: Progress) -> float:
    """The whole test's time at the pace so far: what came before the loop, then every step of it."""
    spent = timeout if done.seconds is None else min(done.seconds, timeout)
    return timeout - spent + spent * done.total / done.done


def more_time(timeout: float, done: Progress | None) -> int:
    """Seconds to suggest: half again what the pace so far needs (30 when there is no pace)."""
    if done is None or done.done <= 0:
        return max(30, next((c for c in MORE_TIME_CHOICES if c > timeout), MORE_TIME_CHOICES[-1]))
    needed = 1.5 * time_needed(timeout, done)
    return next((c for c in MORE_TIME_CHOICES if c >= needed and c > timeout), MORE_TIME_CHOICES[-1])


def timeout_message(exercise: str, timeout: float, done: Progress | None, flag: str, clock: str = "cpu") -> str:
    """What a timeout means: progress made is slow code, not an endless loop (issue 11's wording).

    ``clock``: "cpu" when the test used its ``timeout`` seconds of CPU time, "wall" when it waited
    WALL_FACTOR times that without using them (a sleep, a lock, input)."""
    advice = f"`{flag} {more_time(timeout, done)}`"
    if clock == "wall":
        return (f"[{exercise}] timed out: the test waited {timeout * WALL_FACTOR:g} s without computing (it used less "
                f"than its {timeout:g} s of CPU time); does your code wait for something (sleep, input, a lock)?")
    spent = f"{timeout:g} s of CPU time"
    if done is None:
        return (f"[{exercise}] timed out after {spent}: a loop that never ends, or code that is only slow? "
                f"If it is slow, allow more time: {advice}")
    if done.done <= 0:
        return (f"[{exercise}] timed out after {spent} before the first of {done.total} {done.unit} finished: "
                f"a loop that never ends, or very slow code? If it is slow, allow more time: {advice}")
    needed = time_needed(timeout, done)
    pace = f" (at this pace the test needs about {needed:.1f} s)" if needed < 10 else \
        f" (at this pace the test needs about {needed:.0f} s)"
    return (f"[{exercise}] {done.done} of {done.total} {done.unit} in {spent}: correct but slow? "
            f"Allow more time: {advice}{pace}")


def stub_owner(manifest: Manifest, stub: BaseException) -> tuple[str, str] | None:
    """(exercise, function) of the stub that raised, or None when it is no generated stub.

    The exercise is the one the generated message names (``exercise 'pow_variable': ...``); the
    function, the innermost frame of the traceback that the exercise's ``covers`` lists.
    """
    named = STUB_MESSAGE.match(str(stub))
    if named is None or named["name"] not in {e.name for e in manifest.exercises}:
        return None
    exercise = manifest.exercise(named["name"])
    # walk_tb, not extract_tb: only the functions' names are needed, not their source lines (a
    # fresh set of stubs raises hundreds of these, each through hypothesis's deep stack).
    names = [frame.f_code.co_name for frame, _ in traceback.walk_tb(stub.__traceback__)]
    for name in reversed(names):
        function = next((c for c in exercise.covers if _names(c, name)), None)
        if function is not None:
            return exercise.name, cover_label(function)
    return exercise.name, cover_label(exercise.covers[0])


def _names(cover: str, function: str) -> bool:
    qualname = split_cover(cover)[1]
    return qualname == function or qualname.endswith("." + function)


def cover_label(cover: str) -> str:
    """A ``covers`` entry as messages show it: "Variable.__add__", or "log in primitives.py"."""
    module, function = split_cover(cover)
    return function if module is None else f"{function} in {module}.py"


def short_message(rep: pytest.TestReport) -> str:
    """The failure without its traceback: our teaching message, or the exception's last line."""
    longrepr = rep.longrepr
    if longrepr is None:
        return ""
    crash = getattr(longrepr, "reprcrash", None)
    text = crash.message if crash is not None else str(longrepr)
    if text.startswith("Failed: "):
        text = text[len("Failed: ") :]
    return text[:4000]

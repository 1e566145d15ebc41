"""How long `nox -s check` takes, warm, on pristine and on solved katas, with 1 and 2 CPUs; and the first
check of a fresh clone, quiet and on a busy machine.

    python benchmarks/bench_check.py [--repeats N] [--cpus 1,2] [--neighbours N] [--only nox,fresh,save,python,pytest]
    python benchmarks/bench_check.py --fresh-clone [--repeats N] [--neighbours N]
    (or through benchmarks/bench.py)

Each case runs in a temporary copy of the repository (katas/ as shipped, or with the reference
copied in), whose ``.nox`` is a link to this repository's, so nox reuses the shared environment
instead of building one. Every command runs once to warm up (OS file cache, bytecode cache when
it is allowed, the check's measured costs), then ``repeats`` times; the medians are printed.
``--cpus``: the CPUs each command may use (its CPU affinity, which the check's default --jobs
follows), where the system can set one. ``--neighbours N`` (``--neighbour``: one): N CPU-bound
processes run beside every command, as on a shared machine (started here, ended by their pids). The environment, and so PYTHONDONTWRITEBYTECODE, is taken as it
is: bench.py sets it for each of its modes.
The check reuses the passes whose files have not changed (katatools/learner/verdicts.py), so it is timed
three ways: as is (after the warm-up every pass is reused), with ``--fresh`` (every test runs), and
after a save in the last stage's module before each run (that stage runs again).
Target: `nox -s check` on the solved katas in 2 s or less with 2 CPUs.

``--fresh-clone``: the first ``python -m katatools check`` (its defaults: 5 s of CPU time per test, one
job per CPU) of a fresh clone (tooling_tests/learner_repo.py's copy: no verdicts, no measured costs)
whose katas/ hold the reference, then the corpus's 10x slower Variable (alternatives/training.toml,
as benchmarks/bench_slow.py builds it), each with an empty scikit-learn store, so that the check asks
scikit-learn itself; quiet, then beside ``--neighbours`` CPU-bound processes (default 6). Every
repeat is a new clone. Medians (and ranges) of the wall time and of the CPU time of the check and
all it started, and of the slowest test's CPU time as its limit counts it (without the oracles'
time, which runs with the clock stopped: its oracles' time is shown beside it, and the largest oracle
time of any test, scikit-learn's first import among them), read by a small
pytest plugin the clone's check loads through PYTEST_ADDOPTS; and whether every exercise was done.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tooling_tests"))

from learner_repo import MANIFEST, STAGES, child_env, make_repo, solve  # noqa: E402

from katatools.proofs.corpus import load_corpus, reference_sources  # noqa: E402
from katatools.runner import available_cpus, cpu_bound_neighbours  # noqa: E402

TARGET = 2.0  # seconds, warm, for `nox -s check` on the solved katas with 2 CPUs
SLOW_ALTERNATIVE = "training_with_a_10x_slower_variable"


def pinned(cpus: int | None):
    """A preexec_fn that limits the child to ``cpus`` CPUs (None, or no affinity on this system: no limit)."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        return None
    allowed = sorted(os.sched_getaffinity(0))[:cpus]
    return lambda: os.sched_setaffinity(0, allowed)


def median_seconds(repeats: int, cmd: list[str], cwd: Path, expected_code: int,
                   cpus: int | None = None, before_each=None) -> tuple[float, float, str]:
    """Median wall time after a warm-up, the warm-up's own time, and a note when a run did not end as expected.

    An unexpected exit (e.g. a test timed out on a busy machine) is reported, not fatal: the
    time is still what the learner would have waited.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NOX_CURRENT_SESSION")}
    times, note, first = [], "", 0.0
    for attempt in range(repeats + 1):  # the first run only warms up
        if before_each is not None:
            before_each(cwd, attempt)
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, preexec_fn=pinned(cpus))
        elapsed = time.perf_counter() - start
        if done.returncode != expected_code and not note:
            tail = "\n    ".join((done.stdout + done.stderr).strip().splitlines()[-6:])
            note = f"{' '.join(cmd[-3:])} in {cwd.name}: exit code {done.returncode}, expected {expected_code}:\n    {tail}"
        if attempt:
            times.append(elapsed)
        else:
            first = elapsed
    return statistics.median(times), first, note


def prepare(scratch: Path, name: str, solved: bool) -> Path:
    repo = make_repo(scratch / name)
    shutil.copy2(ROOT / "noxfile.py", repo / "noxfile.py")
    (repo / ".nox").symlink_to(ROOT / ".nox", target_is_directory=True)
    if solved:
        solve(repo)
    return repo


COMMANDS = ("nox", "fresh", "save", "python", "pytest")


def save_in_the_last_stage(repo: Path, attempt: int) -> None:
    """A learner's save in the last stage's module (a new comment each time): only what imports it runs again."""
    path = repo / "katas" / f"{STAGES[-1].module}.py"
    path.write_text(path.read_text() + f"\n# save {attempt}\n")


def main(repeats: int, cpu_counts: tuple[int, ...] = (1, 2), neighbours: int = 0,
         only: tuple[str, ...] = COMMANDS) -> None:
    nox = shutil.which("nox")
    tests = [s.tests for s in STAGES]
    last = STAGES[-1].name
    commands = {
        "nox -s check": [nox, "-s", "check"] if nox else None,
        "nox -s check -- --fresh": [nox, "-s", "check", "--", "--fresh"] if nox else None,
        f"nox -s check, after a save in {last}": [nox, "-s", "check"] if nox else None,
        "python -m katatools check --fresh": [sys.executable, "-m", "katatools", "check", "--fresh"],
        "bare pytest, same tests (-q)": [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider"],
    }
    hooks = {f"nox -s check, after a save in {last}": save_in_the_last_stage}
    commands = {label: cmd for (label, cmd), key in zip(commands.items(), COMMANDS, strict=True) if key in only}
    if not hasattr(os, "sched_setaffinity"):
        cpu_counts = (None,)
    bytecode = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"check, warm: medians of {repeats} runs after a warm-up (bytecode cache {bytecode}; load average "
          f"{load:.2f} on {os.cpu_count()} cores{beside(neighbours)}; "
          f"stages with tests: {', '.join(s.name for s in STAGES)})")
    header = "".join(f"{(str(n) + ' CPU' + ('s' if n != 1 else '')) if n else 'all CPUs':>28}" for n in cpu_counts)
    print(f"  {'':<44}{header}")
    print(f"  {'':<44}" + f"{'pristine':>14}{'solved':>14}" * len(cpu_counts))
    figures: dict[tuple[str, int | None, bool], float] = {}
    notes, firsts = [], {}
    with cpu_bound_neighbours(neighbours):
        with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
            repos = {False: prepare(Path(scratch), "pristine", False), True: prepare(Path(scratch), "solved", True)}
            for label, cmd in commands.items():
                if cmd is None:
                    print(f"  {label:<44}{'nox not on PATH':>28}")
                    continue
                row = ""
                for cpus in cpu_counts:
                    for solved, repo in repos.items():
                        key = (label, cpus, solved)
                        figures[key], firsts[key], note = median_seconds(repeats, cmd, repo, 0 if solved else 1, cpus,
                                                                         hooks.get(label))
                        notes += [note] if note else []
                        row += f"{figures[key]:>12.2f} s"
                print(f"  {label:<44}{row}", flush=True)
    if nox:  # the very first check of a clone asks scikit-learn itself (tests/sklearn_oracle.py)
        print(f"  first `nox -s check` of the clone, before scikit-learn's answers are stored: "
              f"{firsts['nox -s check', cpu_counts[0], True]:.2f} s on the solved katas")
    for note in notes:
        print(f"  warning: {note}")
    cpus = 2 if 2 in cpu_counts else cpu_counts[-1]
    for label, what in (("nox -s check", "their verdicts reused"), ("nox -s check -- --fresh", "every test run"),
                        (f"nox -s check, after a save in {last}", f"{last} run again")):
        if (label, cpus, True) in figures:
            figure = figures[label, cpus, True]
            verdict = "met" if figure <= TARGET else "NOT met"
            print(f"  target: the check of the solved katas ({what}) in {TARGET:g} s or less with {cpus or 'all'} "
                  f"CPUs: {verdict} (median {figure:.2f} s)")


def beside(neighbours: int) -> str:
    return f"; {neighbours} CPU-bound process{'es' if neighbours > 1 else ''} beside each run" if neighbours else ""


# ---------------------------------------------------------------- the first check of a fresh clone

CPU_PLUGIN = '''"""Written into a fresh clone by benchmarks/bench_check.py: each test's CPU time, and the oracles' part of it."""
import contextlib
import json
import os
import time

import pytest

from katatools import plugin

_paused = {"seconds": 0.0, "depth": 0}
_clock_paused = plugin.clock_paused


@contextlib.contextmanager
def _measured():
    _paused["depth"] += 1
    start = time.process_time()
    try:
        with _clock_paused():
            yield
    finally:
        _paused["depth"] -= 1
        if not _paused["depth"]:
            _paused["seconds"] += time.process_time() - start


plugin.clock_paused = _measured  # what plugin.oracle (and so every scikit-learn question) calls


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    _paused["seconds"] = 0.0
    start = time.process_time()
    yield
    line = json.dumps([item.nodeid, time.process_time() - start, _paused["seconds"]])
    with open(os.path.join(os.environ["KATA_BENCH_CPU"], f"{os.getpid()}.jsonl"), "a") as out:
        out.write(line + "\\n")
'''


def kata_packages() -> dict[str, dict[str, str]]:
    """Label -> the kata modules (file name -> text): the reference, and the corpus's 10x slower Variable."""
    corpus = load_corpus(ROOT / "alternatives", MANIFEST)
    slow = next((e for e in corpus.entries if e.name == SLOW_ALTERNATIVE), None)
    if slow is None:
        raise SystemExit(f"alternatives/: no {SLOW_ALTERNATIVE!r} ({'; '.join(corpus.problems) or 'not found'})")
    return {"reference": reference_sources(MANIFEST, ROOT / "solutions"), "10x slower Variable": slow.sources}


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def one_first_check(scratch: Path, sources: dict[str, str]) -> dict[str, object]:
    """A fresh clone holding ``sources`` in katas/, an empty scikit-learn store: its first check, measured."""
    repo = make_repo(scratch / "clone")
    for name, text in sources.items():
        (repo / "katas" / name).write_text(text, encoding="utf-8")
    (repo / "kata_bench_cpu.py").write_text(CPU_PLUGIN, encoding="utf-8")
    answers, cpu_dir = scratch / "answers", scratch / "cpu"
    answers.mkdir()
    cpu_dir.mkdir()
    env = child_env(KATA_SKLEARN_CACHE=str(answers), KATA_BENCH_CPU=str(cpu_dir), PYTEST_ADDOPTS="-p kata_bench_cpu")
    before, start = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "katatools", "check"], cwd=repo, env=env, capture_output=True, text=True)
    wall, cpu = time.perf_counter() - start, children_cpu() - before
    tests = [json.loads(line) for path in cpu_dir.glob("*.jsonl") for line in path.read_text().splitlines()]
    counted = max(tests, key=lambda t: t[1] - t[2]) if tests else ["-", 0.0, 0.0]
    oracle = max(tests, key=lambda t: t[2]) if tests else ["-", 0.0, 0.0]
    count = len(MANIFEST.exercises)
    output = done.stdout + done.stderr
    all_done = done.returncode == 0 and f"{count} of {count} exercises done" in output and "timed out" not in output
    return {"wall": wall, "cpu": cpu, "slowest": counted[1] - counted[2], "slowest_oracles": counted[2],
            "slowest_test": counted[0], "oracle": oracle[2], "oracle_test": oracle[0], "tests": len(tests), "all_done": all_done, "asked": len(list(answers.glob("*.npz"))),
            "tail": "\n    ".join(output.strip().splitlines()[-4:])}


def spread(values: list[float], digits: int = 1) -> str:
    low, high = min(values), max(values)
    return f"{statistics.median(values):.{digits}f} s" + (f" ({low:.{digits}f}-{high:.{digits}f})" if len(values) > 1 else "")


def first_checks(repeats: int = 3, neighbours: int = 6) -> None:
    """The first check of fresh clones (see the module's docstring), quiet and beside ``neighbours``."""
    packages = kata_packages()
    print(f"the first `python -m katatools check` of a fresh clone (empty scikit-learn store; 5 s of CPU time per "
          f"test, --jobs {available_cpus()}), a new clone each time, medians (ranges) of {repeats}")
    for load in [0] + ([neighbours] if neighbours else []):
        with cpu_bound_neighbours(load):
            time.sleep(2.0 if load else 0.0)  # the neighbours at full speed first
            where = f"beside {load} CPU-bound processes" if load else "quiet"
            print(f"\n  {where} (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores at the start)")
            print(f"    {'katas/':<22}{'wall':>20}{'CPU':>20}{'slowest test, CPU':>24}{'(its oracles)':>20}"
                  f"{'largest oracle':>20}  every exercise done")
            for label, sources in packages.items():
                runs = []
                for _ in range(repeats):
                    with tempfile.TemporaryDirectory(prefix="bench-first-check-") as scratch:
                        runs.append(one_first_check(Path(scratch), sources))
                done = sum(bool(r["all_done"]) for r in runs)
                slowest = max(runs, key=lambda r: r["slowest"])
                print(f"    {label:<22}{spread([r['wall'] for r in runs]):>20}{spread([r['cpu'] for r in runs]):>20}"
                      f"{spread([r['slowest'] for r in runs], 2):>24}{spread([r['slowest_oracles'] for r in runs], 2):>20}"
                      f"{spread([r['oracle'] for r in runs], 2):>20}"
                      f"  {done} of {repeats} first checks", flush=True)
                print(f"      slowest test: {slowest['slowest_test']}; largest oracle in {slowest['oracle_test']}; "
                      f"load average now {os.getloadavg()[0]:.1f}")
                for r in runs:
                    if not r["all_done"] or not r["asked"]:
                        print(f"      warning: not every exercise done, or scikit-learn not asked ({r['asked']} answers):"
                              f"\n    {r['tail']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=None, help="timed runs (default 5; 3 with --fresh-clone)")
    parser.add_argument("--cpus", default="1,2", help="comma-separated CPU counts to measure with (default 1,2)")
    parser.add_argument("--neighbours", type=int, default=None, metavar="N",
                        help="N CPU-bound processes beside every command (default 0; 6 with --fresh-clone)")
    parser.add_argument("--neighbour", action="store_true", help="one CPU-bound process beside every command")
    parser.add_argument("--only", default=",".join(COMMANDS), help=f"commands to time, of {', '.join(COMMANDS)}")
    parser.add_argument("--fresh-clone", action="store_true",
                        help="time the first check of fresh clones (reference, 10x slower Variable), quiet and busy")
    options = parser.parse_args()
    count = options.neighbours if options.neighbours is not None else (1 if options.neighbour else None)
    if options.fresh_clone:
        first_checks(options.repeats or 3, 6 if count is None else count)
    else:
        main(options.repeats or 5, tuple(int(n) for n in options.cpus.split(",")), count or 0,
             tuple(options.only.split(",")))

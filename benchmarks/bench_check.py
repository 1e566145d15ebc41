"""How long `nox -s check` takes, warm, on pristine and on solved katas, with 1 and 2 CPUs.

    python benchmarks/bench_check.py [--repeats N] [--cpus 1,2] [--neighbour] [--only nox,fresh,save,python,pytest]
    (or through benchmarks/bench.py)

Each case runs in a temporary copy of the repository (katas/ as shipped, or with the reference
copied in), whose ``.nox`` is a link to this repository's, so nox reuses the shared environment
instead of building one. Every command runs once to warm up (OS file cache, bytecode cache when
it is allowed, the check's measured costs), then ``repeats`` times; the medians are printed.
``--cpus``: the CPUs each command may use (its CPU affinity, which the check's default --jobs
follows), where the system can set one. ``--neighbour``: a CPU-bound process runs beside every
command, as on a shared machine. The environment, and so PYTHONDONTWRITEBYTECODE, is taken as it
is: bench.py sets it for each of its modes.
The check reuses the passes whose files have not changed (katatools/verdicts.py), so it is timed
three ways: as is (after the warm-up every pass is reused), with ``--fresh`` (every test runs), and
after a save in the last stage's module before each run (that stage runs again).
Target: `nox -s check` on the solved katas in 2 s or less with 2 CPUs.
"""

from __future__ import annotations

import argparse
import os
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

from learner_repo import STAGES, make_repo, solve  # noqa: E402

TARGET = 2.0  # seconds, warm, for `nox -s check` on the solved katas with 2 CPUs
NEIGHBOUR = "while True: pass"


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


def main(repeats: int, cpu_counts: tuple[int, ...] = (1, 2), neighbour: bool = False,
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
          f"{load:.2f} on {os.cpu_count()} cores{'; a CPU-bound process beside each run' if neighbour else ''}; "
          f"stages with tests: {', '.join(s.name for s in STAGES)})")
    header = "".join(f"{(str(n) + ' CPU' + ('s' if n != 1 else '')) if n else 'all CPUs':>28}" for n in cpu_counts)
    print(f"  {'':<44}{header}")
    print(f"  {'':<44}" + f"{'pristine':>14}{'solved':>14}" * len(cpu_counts))
    busy = subprocess.Popen([sys.executable, "-c", NEIGHBOUR]) if neighbour else None
    figures: dict[tuple[str, int | None, bool], float] = {}
    notes, firsts = [], {}
    try:
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
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
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


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--cpus", default="1,2", help="comma-separated CPU counts to measure with (default 1,2)")
    parser.add_argument("--neighbour", action="store_true", help="a CPU-bound process runs beside every command")
    parser.add_argument("--only", default=",".join(COMMANDS), help=f"commands to time, of {', '.join(COMMANDS)}")
    options = parser.parse_args()
    main(options.repeats, tuple(int(n) for n in options.cpus.split(",")), options.neighbour,
         tuple(options.only.split(",")))

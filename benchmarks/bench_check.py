"""How long `nox -s check` takes, warm, on pristine and on solved katas, beside bare pytest.

    python benchmarks/bench_check.py [--repeats N]     (or through benchmarks/bench.py)

Each case runs in a temporary copy of the repository (katas/ as shipped, or with the reference
copied in), whose ``.nox`` is a link to this repository's, so nox reuses the shared environment
instead of building one. Every command runs once to warm up (OS file cache, bytecode cache when
it is allowed), then ``repeats`` times; the medians are printed. The environment, and so
PYTHONDONTWRITEBYTECODE, is taken as it is: bench.py sets it for each of its modes.
Target: the whole check answers in under 3 s warm.
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

TARGET = 3.0  # seconds, warm, for `nox -s check`


def median_seconds(repeats: int, cmd: list[str], cwd: Path, expected_code: int) -> tuple[float, float, str]:
    """Median wall time after a warm-up, the warm-up's own time, and a note when a run did not end as expected.

    An unexpected exit (e.g. a test timed out on a busy machine) is reported, not fatal: the
    time is still what the learner would have waited.
    """
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NOX_CURRENT_SESSION")}
    times, note, first = [], "", 0.0
    for attempt in range(repeats + 1):  # the first run only warms up
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
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


def main(repeats: int) -> None:
    nox = shutil.which("nox")
    tests = [s.tests for s in STAGES]
    commands = {
        "nox -s check": [nox, "-s", "check"] if nox else None,
        "nox -s check -- --jobs 1": [nox, "-s", "check", "--", "--jobs", "1"] if nox else None,
        "python -m katatools check (no nox)": [sys.executable, "-m", "katatools", "check"],
        "bare pytest, same tests (-q)": [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider"],
    }
    bytecode = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"check, warm: medians of {repeats} runs after a warm-up (bytecode cache {bytecode}; "
          f"stages with tests: {', '.join(s.name for s in STAGES)})")
    print(f"  {'':<40}{'pristine katas':>16}{'solved katas':>16}")
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        repos = {False: prepare(Path(scratch), "pristine", False), True: prepare(Path(scratch), "solved", True)}
        figures: dict[str, dict[bool, float]] = {}
        notes, firsts = [], {}
        for label, cmd in commands.items():
            if cmd is None:
                print(f"  {label:<40}{'nox not on PATH':>32}")
                continue
            figures[label] = {}
            for solved, repo in repos.items():
                figures[label][solved], firsts[label, solved], note = median_seconds(repeats, cmd, repo,
                                                                                     0 if solved else 1)
                notes += [note] if note else []
            print(f"  {label:<40}{figures[label][False]:>14.2f} s{figures[label][True]:>14.2f} s", flush=True)
        if nox:  # the very first check of a clone asks scikit-learn itself (tests/sklearn_oracle.py)
            print(f"  first `nox -s check` of the clone, before scikit-learn's answers are stored: "
                  f"{firsts['nox -s check', True]:.2f} s on the solved katas")
        for note in notes:
            print(f"  warning: {note}")
    if "nox -s check" in figures:
        worst = max(figures["nox -s check"].values())
        verdict = "met" if worst < TARGET else "NOT met"
        print(f"  target: nox -s check under {TARGET:g} s warm: {verdict} (slowest median {worst:.2f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    main(parser.parse_args().repeats)

"""Grading speed: 20 copies of the reference, graded at --jobs 1 and --jobs 2 (medians of several runs).

    python benchmarks/bench.py --only grade [--repeats N]

Each run is one `python -m katatools grade` over a folder of 20 katas/ folders holding the
reference modules, in the default (isolated) mode, into a fresh output folder. Reported: the
median wall time per --jobs value and the time per submission (wall time / 20). The environment
(bytecode on or off) is the one bench.py sets.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COPIES = 20
JOBS = (1, 2)


def make_submissions(folder: Path, copies: int) -> None:
    for i in range(copies):
        target = folder / f"learner{i:02d}" / "katas"
        target.mkdir(parents=True)
        for module in sorted((ROOT / "solutions").glob("*.py")):
            if module.name != "__init__.py":
                shutil.copyfile(module, target / module.name)


def grade_once(submissions: Path, out: Path, jobs: int, copies: int) -> float:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "katatools", "grade", str(submissions), "--out", str(out), f"--jobs={jobs}"]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"grade exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    totals = [line.split(",") for line in (out / "gradebook.csv").read_text().splitlines()[1:]]
    if len(totals) != copies or any(row[1] != "ok" for row in totals):
        raise RuntimeError(f"grading the reference did not give {copies} clean rows:\n{done.stdout[-2000:]}")
    return elapsed


def main(repeats: int, copies: int = COPIES) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        submissions = Path(scratch) / "submissions"
        make_submissions(submissions, copies)
        for jobs in JOBS:
            times = [grade_once(submissions, Path(scratch) / "out", jobs, copies) for _ in range(repeats)]
            median = statistics.median(times)
            print(f"grade: {copies} copies of the reference, --jobs {jobs}: median {median:.1f} s over {repeats} runs "
                  f"(min {min(times):.1f}, max {max(times):.1f}); {median / copies:.2f} s per submission")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)

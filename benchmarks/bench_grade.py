"""Grading speed: copies of the reference graded at --jobs 1 to 4, in the sandbox and without it.

    python benchmarks/bench.py --only grade [--repeats N]
    python benchmarks/bench_grade.py [REPEATS [COPIES [JOBS,...]]]     e.g. 1 8 1,2,3,4

Each run is one `python -m katatools grade` over a folder of katas/ folders holding the
reference modules, in the default (isolated) mode, without the class report, into a fresh output
folder. Reported: the median wall time per --jobs value, the time per submission, and the time
projected for a class of 300 (the reference runs every test: a class's submissions, which stop at
their first failures, take at most as long); then, at the best --jobs, the same without the sandbox
(--no-sandbox), for the sandbox's cost. The environment (bytecode on or off) is the one bench.py sets.
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
JOBS = (1, 2, 3, 4)
CLASS = 300


def make_submissions(folder: Path, copies: int) -> None:
    for i in range(copies):
        target = folder / f"learner{i:02d}" / "katas"
        target.mkdir(parents=True)
        for module in sorted((ROOT / "solutions").glob("*.py")):
            if module.name != "__init__.py":
                shutil.copyfile(module, target / module.name)


def grade_once(submissions: Path, out: Path, jobs: int, copies: int, sandbox: bool = True) -> float:
    if out.exists():
        shutil.rmtree(out)
    cmd = [sys.executable, "-m", "katatools", "grade", str(submissions), "--out", str(out), f"--jobs={jobs}",
           "--no-report", *([] if sandbox else ["--no-sandbox"])]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=dict(os.environ), capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"grade exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    totals = [line.split(",") for line in (out / "gradebook.csv").read_text().splitlines()[1:]]
    if len(totals) != copies or any(row[1] != "ok" for row in totals):
        raise RuntimeError(f"grading the reference did not give {copies} clean rows:\n{done.stdout[-2000:]}")
    return elapsed


def main(repeats: int, copies: int = COPIES, jobs_list: tuple[int, ...] = JOBS) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-grade-") as scratch:
        submissions = Path(scratch) / "submissions"
        make_submissions(submissions, copies)
        grade_once(submissions, Path(scratch) / "out", max(jobs_list), copies)  # warm-up (answers stored, caches)
        medians = {}
        for jobs in jobs_list:
            times = [grade_once(submissions, Path(scratch) / "out", jobs, copies) for _ in range(repeats)]
            medians[jobs] = median = statistics.median(times)
            print(f"grade: {copies} copies of the reference, --jobs {jobs}: median {median:.1f} s over {repeats} runs "
                  f"(min {min(times):.1f}, max {max(times):.1f}); {median / copies:.2f} s per submission, "
                  f"{CLASS} submissions in {median / copies * CLASS / 60:.0f} min")
        best = min(medians, key=medians.get)
        times = [grade_once(submissions, Path(scratch) / "out", best, copies, sandbox=False) for _ in range(repeats)]
        bare = statistics.median(times)
        print(f"grade: --jobs {best} without the sandbox: median {bare:.1f} s; the sandbox costs "
              f"{(medians[best] - bare) / copies:+.2f} s per submission ({100 * (medians[best] / bare - 1):+.0f}%)")


if __name__ == "__main__":
    arguments = sys.argv[1:]
    main(int(arguments[0]) if arguments else 3, int(arguments[1]) if len(arguments) > 1 else COPIES,
         tuple(int(j) for j in arguments[2].split(",")) if len(arguments) > 2 else JOBS)

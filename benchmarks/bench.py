"""Benchmarks for the katas: how long a learner waits, as medians of several runs.

    python benchmarks/bench.py [--repeats N] [--only SECTION,...] [--bytecode on|off|both]

Sections:
  suites  each stage's suite against the solutions with bare pytest: wall time, and pytest's own time
  nox     the stage-1 suite through `nox -s "stage(variable, solutions)"`, warm, against bare pytest
  check   `nox -s check` on pristine and on solved katas (benchmarks/bench_check.py)
  watch   a save in katas/ to watch's verdict for the exercise, and to its whole table (benchmarks/bench_watch.py)
  grade   grading 20 copies of the reference at --jobs 1 to 4, and without the sandbox (benchmarks/bench_grade.py)
  loops   the reference training loops against a restatement of the post's loops (benchmarks/bench_loops.py)
  slow    each stage's tests with the reference and with a Variable made 10x slower, quiet and beside a
          CPU-bound job (benchmarks/bench_slow.py, which alone also takes --load off|on|both)
  tangents  stages 5-6: batched fits against stage 4's loops, tangent gradients against hand-written numpy
          ones (benchmarks/bench_tangents.py)
  newton  stage 7: Newton's iterations and time against stage 4's gradient descent, the stage's test time
          (benchmarks/bench_newton.py)
  reverse forward against reverse mode: gradients and Jacobians, the crossings, bench-output/reverse.png
          (benchmarks/bench_reverse.py; `--only reverse --bytecode on` for this alone)

``--bytecode``: these machines set PYTHONDONTWRITEBYTECODE=1, so no .pyc is ever cached and every
run recompiles; learners' machines normally cache bytecode. "on" lets Python write and use .pyc
files (the learner's case), "off" forbids it (this machine's default); "both" reports each.
Run it through nox (`nox -s bench -- ...`) so it uses the shared environment.
"""

from __future__ import annotations

import argparse
import importlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from katatools.manifest import load_manifest  # noqa: E402

PYTEST_TIME = re.compile(r" in ([0-9.]+)s")


def child_env(bytecode: bool) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    if bytecode:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def timed(cmd: list[str], env: dict[str, str], ok_codes: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Wall time of one run of ``cmd`` from the repository root, and its output."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode not in ok_codes:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return elapsed, done.stdout


def median_of(repeats: int, cmd: list[str], env: dict[str, str]) -> tuple[float, float | None]:
    """Median wall time, and the median of pytest's own reported time when it prints one."""
    timed(cmd, env)  # warm-up: environment, bytecode cache, OS file cache
    walls, inner = [], []
    for _ in range(repeats):
        wall, out = timed(cmd, env)
        walls.append(wall)
        found = PYTEST_TIME.findall(out)
        if found:
            inner.append(float(found[-1]))
    return statistics.median(walls), (statistics.median(inner) if inner else None)


def pytest_cmd(stage_tests: str) -> list[str]:
    return [sys.executable, "-m", "pytest", stage_tests, "--target=solutions", "-q", "-p", "no:cacheprovider"]


def section_suites(repeats: int, bytecode: bool) -> None:
    """Each stage's suite; beside pytest's own time, the stage's ``cost`` in exercises.toml, which
    `nox -s check` balances its processes by (update it when the two drift far apart)."""
    print(f"{'stage suite vs solutions (bare pytest)':<44}{'wall median':>14}{'pytest time':>14}{'manifest cost':>16}")
    for stage in load_manifest().stages:
        if not (ROOT / stage.tests).exists():
            continue
        wall, inner = median_of(repeats, pytest_cmd(stage.tests), child_env(bytecode))
        inner_text = f"{inner:.2f} s" if inner is not None else "-"
        print(f"  {stage.name:<42}{wall:>12.2f} s{inner_text:>14}{stage.cost:>14.2f} s")


def section_nox(repeats: int, bytecode: bool) -> None:
    nox = shutil.which("nox")
    if nox is None:
        print("nox: not on PATH, skipped")
        return
    stage = load_manifest().stages[0]
    bare, _ = median_of(repeats, pytest_cmd(stage.tests), child_env(bytecode))
    via_nox, _ = median_of(repeats, [nox, "-s", f"stage({stage.name}, solutions)"], child_env(bytecode))
    print(f"{'stage-1 suite vs solutions':<44}{'wall median':>14}")
    print(f"  {'bare pytest':<42}{bare:>12.2f} s")
    print(f"  {'nox (warm shared environment)':<42}{via_nox:>12.2f} s")
    print(f"  {'nox / bare':<42}{via_nox / bare:>13.2f}x  (nox adds {100 * (via_nox / bare - 1):.0f}%)")


def section_module(name: str) -> Callable[[int, bool], None]:
    def run(repeats: int, bytecode: bool) -> None:
        module_name = f"bench_{name}"
        if not (ROOT / "benchmarks" / f"{module_name}.py").exists():
            print(f"{name}: benchmarks/{module_name}.py not present, skipped")
            return
        saved, wanted = dict(os.environ), child_env(bytecode)
        os.environ.clear()
        os.environ.update(wanted)
        try:
            importlib.import_module(module_name).main(repeats)
        finally:
            os.environ.clear()
            os.environ.update(saved)

    return run


SECTIONS = {
    "suites": section_suites,
    "nox": section_nox,
    "check": section_module("check"),
    "watch": section_module("watch"),
    "grade": section_module("grade"),
    "loops": section_module("loops"),
    "slow": section_module("slow"),
    "tangents": section_module("tangents"),
    "newton": section_module("newton"),
    "reverse": section_module("reverse"),
}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed runs per measurement (after one warm-up)")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections: " + ", ".join(SECTIONS))
    parser.add_argument("--bytecode", choices=("on", "off", "both"), default="both")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = [s for s in chosen if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.bytecode]
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cores, medians of {args.repeats} runs after a warm-up")
    for bytecode in modes:
        print(f"\n##### bytecode cache {'on (.pyc written and reused)' if bytecode else 'off (PYTHONDONTWRITEBYTECODE=1)'}")
        for name in chosen:
            print()
            SECTIONS[name](args.repeats, bytecode)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

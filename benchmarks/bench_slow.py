"""Slow is not wrong: each stage's tests with the reference, and with a Variable made 10x slower.

    python benchmarks/bench.py --only slow [--repeats N] [--load off|on|both]
    python benchmarks/bench_slow.py [--repeats N] [--load off|on|both] [--stage NAME]...

The slow package is the alternative ``training_with_a_10x_slower_variable`` of
alternatives/training.toml, built by the corpus runner (katatools/proofs/corpus.py): its patches make
every Variable operator, reduction, primitive and loss about 10x slower (the work done nine times
over on numbers and small arrays; on large arrays the work once, then nine times its CPU time
spun away), and the benchmark and the corpus measure the same code. First that slowdown is
measured (one forward pass of the classifier's loss, and one of stage 6's network_loss on 200
samples, the fastest of 15 alternating rounds of each), then each
stage's suite runs with bare pytest, cumulative mode, at the check's default per-test limit
(katatools/learner/check.py's CHECK_TIMEOUT): the medians of the whole suite's time and of its slowest
test, and how many tests failed or ran out of time (none may).

Last, the whole ``python -m katatools check`` (all stages, the default 5 s per test and --jobs) in
a copy of the repository whose katas/ hold each package: it must say every exercise is done.

``--load on`` runs the same with a CPU-bound neighbour (``python -c "while True: pass"``, one
process, started here and ended by its pid afterwards), as on a learner's busy 2-core machine;
the system's load average is printed with each table.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from katatools.learner.check import CHECK_TIMEOUT  # noqa: E402
from katatools.manifest import load_manifest  # noqa: E402
from katatools.proofs.corpus import load_corpus  # noqa: E402
from katatools.stubs import write_package  # noqa: E402

SLOW_ALTERNATIVE = "training_with_a_10x_slower_variable"
SLOWEST = re.compile(r"^([0-9.]+)s call\s", re.MULTILINE)
COUNTS = re.compile(r"(\d+) (passed|failed|error|errors)")


def slow_package(dest: Path) -> Path:
    """The slow alternative's whole package, built by the corpus runner, written to ``dest``."""
    corpus = load_corpus(ROOT / "alternatives", load_manifest())
    entry = next((e for e in corpus.entries if e.name == SLOW_ALTERNATIVE), None)
    if entry is None:
        raise SystemExit(f"alternatives/: no {SLOW_ALTERNATIVE!r} ({'; '.join(corpus.problems) or 'not found'})")
    return write_package(dest, entry.sources)


def pass_seconds(targets: list[Path], passes: int = 1000, rounds: int = 15, batched: bool = False) -> list[float]:
    """Seconds per forward pass of logloss(y, sigmoid(m x + b)) with m seeded, for each package; with
    ``batched``, per call of stage 6's network_loss (8 hidden units, 200 samples: 33 tangents of (200, 8)).

    One fresh interpreter times them all, in alternating rounds, and keeps each one's fastest
    round (of CPU time): the ratio then compares like with like, even on a machine whose load changes.
    """
    passes = max(1, passes // 200) if batched else passes
    script = f"""
import importlib, sys, time
import numpy as np
targets = {[(str(t.parent), t.name) for t in targets]!r}
X = np.random.default_rng(0).normal(size=(200, 2))
y = (X[:, 0] * X[:, 1] > 0).astype(float)
passes = []
for parent, name in targets:
    sys.path.insert(0, parent)
    V = importlib.import_module(name + ".variable").Variable
    sigmoid = importlib.import_module(name + ".primitives").sigmoid
    logloss = importlib.import_module(name + ".losses").logloss
    if {batched!r}:
        b = importlib.import_module(name + ".batched")
        passes.append(lambda b=b, params=b.init_network(2, 8, 0): b.network_loss(params, X, y))
    else:
        passes.append(lambda V=V, sigmoid=sigmoid, logloss=logloss: logloss(1.0, sigmoid(V(0.3, 1.0) * 1.5 + V(-0.2, 0.0))))
best = [float("inf")] * len(passes)
for _ in range({rounds}):
    for i, one in enumerate(passes):
        start = time.process_time()
        for _ in range({passes}):
            one()
        best[i] = min(best[i], (time.process_time() - start) / {passes})
print(" ".join(map(repr, best)))
"""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    return [float(x) for x in out.split()]


def suite(target: Path, tests: str) -> tuple[float, float, int]:
    """(wall seconds, slowest test's seconds, tests not passed) of one stage's suite at the check's time limit."""
    cmd = [sys.executable, "-m", "pytest", tests, f"--target={target}", "-q", "-p", "no:cacheprovider",
           "--kata-summary=no", f"--kata-timeout={CHECK_TIMEOUT:g}", "--durations=1", "--durations-min=0"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    slowest = SLOWEST.search(done.stdout)
    bad = sum(int(n) for n, what in COUNTS.findall(done.stdout.splitlines()[-1] if done.stdout else "")
              if what != "passed")
    return wall, float(slowest[1]) if slowest else 0.0, bad


def table(repeats: int, targets: dict[str, Path], stages: list[str] | None = None) -> None:
    manifest = load_manifest()
    print(f"{'stage':<12}{'code':<22}{'suite (median)':>16}{'slowest test':>14}{'not passed':>12}")
    for stage in manifest.stages:
        if not (ROOT / stage.tests).is_file() or (stages and stage.name not in stages):
            continue
        for label, target in targets.items():
            suite(target, stage.tests)  # warm-up
            runs = [suite(target, stage.tests) for _ in range(repeats)]
            wall = statistics.median(r[0] for r in runs)
            slowest = statistics.median(r[1] for r in runs)
            bad = max(r[2] for r in runs)
            print(f"{stage.name:<12}{label:<22}{wall:>14.2f} s{slowest:>12.2f} s{bad:>12}")


def check_rows(repeats: int, packages: dict[str, Path], scratch: Path) -> None:
    """``python -m katatools check`` (every stage, default limits and --jobs) on katas/ holding each package."""
    sys.path.insert(0, str(ROOT / "tooling_tests"))
    from learner_repo import child_env, make_repo

    for label, package in packages.items():
        repo = make_repo(scratch / f"repo-{len(list(scratch.iterdir()))}")
        for module in package.glob("*.py"):
            (repo / "katas" / module.name).write_text(module.read_text(encoding="utf-8"), encoding="utf-8")
        times, codes = [], set()
        for attempt in range(repeats + 1):  # the first run warms up
            start = time.perf_counter()
            done = subprocess.run([sys.executable, "-m", "katatools", "check"], cwd=repo, env=child_env(),
                                  capture_output=True, text=True)
            if attempt:
                times.append(time.perf_counter() - start)
                codes.add(done.returncode)
        verdict = "all done" if codes == {0} else f"NOT all done (exit codes {sorted(codes)})"
        print(f"{'check':<12}{label:<22}{statistics.median(times):>14.2f} s{'':>14}  {verdict}")


def main(repeats: int = 3, load: str = "both", stages: list[str] | None = None) -> None:
    with tempfile.TemporaryDirectory(prefix="kata-bench-slow-") as scratch:
        slow = slow_package(Path(scratch) / "slow_variable")
        reference, slowed = pass_seconds([ROOT / "solutions", slow])
        print(f"one forward pass of the classifier's loss: reference {1e6 * reference:.1f} us, "
              f"slow Variable {1e6 * slowed:.1f} us ({slowed / reference:.1f}x)")
        network, network_slowed = pass_seconds([ROOT / "solutions", slow], batched=True)
        print(f"one network_loss on 200 samples (33 tangents): reference {1e3 * network:.2f} ms, "
              f"slow Variable {1e3 * network_slowed:.2f} ms ({network_slowed / network:.1f}x)")
        print(f"per-test limit: {CHECK_TIMEOUT:g} s (the check's default); {os.cpu_count()} CPUs")
        targets = {"reference": ROOT / "solutions", f"{slowed / reference:.0f}x slower Variable": slow}
        for loaded in {"off": [False], "on": [True], "both": [False, True]}[load]:
            neighbour = None
            if loaded:
                neighbour = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                time.sleep(1.0 if loaded else 0.0)
                print(f"\n{'with a CPU-bound job beside it' if loaded else 'quiet'} "
                      f"(load average {os.getloadavg()[0]:.2f}), medians of {repeats}")
                table(repeats, targets, stages)
                if not stages:
                    check_rows(repeats, targets, Path(scratch))
            finally:
                if neighbour is not None:
                    neighbour.kill()
                    neighbour.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--load", choices=("off", "on", "both"), default="both")
    parser.add_argument("--stage", action="append", metavar="NAME", help="only this stage (repeatable)")
    arguments = parser.parse_args()
    main(arguments.repeats, arguments.load, arguments.stage)

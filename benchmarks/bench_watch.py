"""How long a learner waits for watch's verdict after saving a kata file, warm.

    python benchmarks/bench_watch.py [--repeats N]     (or through benchmarks/bench.py: `--only watch`)

In a temporary copy of the repository (katas/ as shipped), ``python -m katatools watch`` runs as
a learner leaves it running. Once its first table is printed, the benchmark saves
``katas/variable.py`` again and again, alternately with exercise mul done and as its stub (the
edit a learner makes), and times, from the moment of each save, the verdict for mul (the first
thing watch prints) and the end of the whole table. One save warms up; the medians of the
others are printed, with the worker forking its runs and, for comparison, with ``KATA_FORK=0``
(the fallback of systems without fork: one process per run). Target: the verdict within 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import queue
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tooling_tests"))

from learner_repo import MANIFEST, child_env, make_repo, write_kata  # noqa: E402

from katatools.stubs import generated_stubs  # noqa: E402

TARGET = 0.5  # seconds from a save to the verdict of the exercise being worked on
EXERCISE = "mul"
WAITING = "watch: waiting for you to save"


class Watcher:
    """A running watch; each line of its output with the time it arrived."""

    def __init__(self, repo: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen([sys.executable, "-m", "katatools", "watch", "--timeout", "60"], cwd=repo,
                                        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.process.stdout:
            self.lines.put((time.perf_counter(), line))

    def until(self, pattern: str, timeout: float = 300) -> float:
        """The time of the next line matching ``pattern``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                when, line = self.lines.get(timeout=1)
            except queue.Empty:
                if self.process.poll() is not None:
                    raise RuntimeError("watch ended early") from None
                continue
            if re.search(pattern, line):
                return when
        raise RuntimeError(f"watch printed no {pattern!r} within {timeout} s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


def measure(repeats: int, fork: bool) -> tuple[float, float]:
    """Median seconds from a save to the verdict, and to the end of the table."""
    stage = MANIFEST.exercise(EXERCISE).stage
    module = MANIFEST.stage(stage).module
    others = [e.name for e in MANIFEST.exercises if e.name != EXERCISE]
    versions = [generated_stubs(MANIFEST, exercises=others)[f"{module}.py"], generated_stubs(MANIFEST)[f"{module}.py"]]
    verdicts, tables = [], []
    with tempfile.TemporaryDirectory(prefix="bench-watch-") as scratch:
        repo = make_repo(Path(scratch) / "repo")
        watcher = Watcher(repo, child_env(**({} if fork else {"KATA_FORK": "0"})))
        try:
            watcher.until(WAITING)
            for attempt in range(repeats + 1):  # the first save only warms up
                time.sleep(0.3)
                saved = time.perf_counter()
                write_kata(repo, module, versions[attempt % 2])
                verdict = watcher.until(rf"^\[.\] {EXERCISE}: ") - saved
                table = watcher.until(WAITING) - saved
                if attempt:
                    verdicts.append(verdict)
                    tables.append(table)
        finally:
            watcher.stop()
    return statistics.median(verdicts), statistics.median(tables)


def main(repeats: int) -> None:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    bytecode = "off" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "on"
    print(f"watch, warm: a save of katas/ to the verdict for {EXERCISE} and to the whole table, medians of "
          f"{repeats} saves (bytecode cache {bytecode}; load average {load:.2f} on {os.cpu_count()} cores)")
    print(f"  {'':<40}{'verdict':>12}{'table':>12}")
    results = {}
    for label, fork in (("forked from the warm worker", True), ("one process per run (KATA_FORK=0)", False)):
        if fork and not hasattr(os, "fork"):
            print(f"  {label:<40}{'no fork here':>24}")
            continue
        results[fork] = measure(repeats, fork)
        print(f"  {label:<40}{results[fork][0]:>10.2f} s{results[fork][1]:>10.2f} s", flush=True)
    best = results.get(True, results.get(False))
    print(f"  target: the verdict within {TARGET:g} s of a save: {'met' if best[0] <= TARGET else 'NOT met'} "
          f"(median {best[0]:.2f} s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9)
    main(parser.parse_args().repeats)

"""Grading a class as an instructor gets it: how long, per submission, with the slow cases in it.

    python benchmarks/bench_class.py [JOBS,...]        e.g. 1,2 (default: 2)

bench_grade.py times copies of the reference, which run every test and never loop. A real class
also holds the cases that cost the grader most: a loop that never ends (every test it reaches runs
to its CPU limit, until its stage's share of the wall limit is spent), learners who stopped
halfway, slips from the mistake corpus, zips, a duplicate, an unparseable module, an empty
folder, and the four hostile kinds that went looking for the reference. This script builds such a
class of 27 from the reference, the stubs and mistakes/, grades it with `python -m katatools grade` at each --jobs
(isolated mode, sandbox on, the class report on), and prints the wall time of the grading and of
the report, the time per submission, the slowest submission's share, and the load average.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from katatools.manifest import load_manifest  # noqa: E402
from katatools.mistakes import load_corpus, patched_sources  # noqa: E402
from katatools.stubs import generated_stubs  # noqa: E402

SLIPS = ("product_rule_drops_second_term", "neg_keeps_grad", "pow_variable_drops_log_term", "log_forgets_chain_factor",
         "tanh_derivative_not_squared", "relu_grad_at_zero", "tangent_axis_broadcast_the_wrong_way",
         "add_not_lined_up", "one_tag_shared_by_every_call", "relu_step_one_level_down")
# Loops that never end: every test reaching them spins until its CPU limit stops it.
LOOPS = {
    "loop-in-add": ("variable.py", "    def __add__(self, other: Variable | float) -> Variable:\n"),
    "loop-in-jvp": ("tangents.py", "def jvp(f: Function, x: object, v: object) -> tuple[float | np.ndarray, float | np.ndarray]:\n"),
}
# The four hostile kinds of issue 22, each on a stage-5 stub: none may find the reference.
HOSTILE = {
    "hostile-star-import": "\nfrom solutions.tangents import *  # noqa\n",
    "hostile-copied-names": ("\nimport solutions.tangents as _reference\n"
                             "globals().update({k: v for k, v in vars(_reference).items() if not k.startswith('__')})\n"),
    "hostile-read-by-path": "\nexec(open(__file__.replace('katas', 'solutions')).read())\n",
    "hostile-walk": """
import pathlib as _p
for _f in _p.Path(__file__).resolve().parents[2].rglob("tangents.py"):
    if _f.resolve() != _p.Path(__file__).resolve():
        exec(_f.read_text())
        break
""",
}


def reference() -> dict[str, str]:
    return {p.name: p.read_text() for p in sorted((ROOT / "solutions").glob("*.py")) if p.name != "__init__.py"}


def spin_inside(text: str, anchor: str) -> str:
    """The function at ``anchor`` with a loop that never ends as its first statement."""
    assert text.count(anchor) == 1, f"the loop's anchor moved: {anchor!r}"
    body = " " * (len(anchor) - len(anchor.lstrip()) + 4)
    return text.replace(anchor, f"{anchor}{body}while True:\n{body}    pass\n")


def make_class(folder: Path) -> list[str]:
    """Write the class's 27 submissions into ``folder``; return their ids."""
    manifest = load_manifest()
    ref = reference()
    stubs = generated_stubs(manifest)
    corpus = {m.name: m for m in load_corpus(ROOT / "mistakes", manifest, ROOT / "solutions").mistakes}
    early = {"variable.py", "primitives.py", "losses.py", "training.py"}
    first_two = {**stubs, "variable.py": ref["variable.py"], "primitives.py": ref["primitives.py"]}
    first_four = {**stubs, **{name: ref[name] for name in early}}
    slipped = {f"slip-{name}": {**ref, **patched_sources(corpus[name], ROOT / "solutions")} for name in SLIPS}
    made = {
        "reference-a": ref, "reference-b": ref, "stubs": stubs,
        "stages-1-2": first_two, "stages-1-4": first_four,
        "stages-1-2-product-slip": {**first_two, "variable.py": slipped["slip-product_rule_drops_second_term"]
                                    ["variable.py"]},
        **slipped,
        **{sid: {**ref, module: spin_inside(ref[module], anchor)} for sid, (module, anchor) in LOOPS.items()},
        "unparseable": {**ref, "variable.py": ref["variable.py"] + "\ndef broken(:\n"},
        **{sid: {**ref, "tangents.py": stubs["tangents.py"] + code} for sid, code in HOSTILE.items()},
        "duplicate-copies": ref,
    }
    for sid, modules in made.items():
        target = folder / sid / "katas"
        target.mkdir(parents=True)
        for name, text in modules.items():
            (target / name).write_text(text)
    shutil.copytree(folder / "duplicate-copies" / "katas", folder / "duplicate-copies" / "old" / "katas")
    with zipfile.ZipFile(folder / "zipped-repository.zip", "w") as archive:  # GitHub's "Download ZIP"
        for name, text in ref.items():
            archive.writestr(f"autodiff-katas-main/katas/{name}", text)
    with zipfile.ZipFile(folder / "zipped-katas.zip", "w") as archive:  # the katas/ folder alone
        for name, text in first_four.items():
            archive.writestr(f"katas/{name}", text)
    (folder / "empty").mkdir()  # refused: nothing to grade
    (folder / "empty" / "notes.txt").write_text("I will hand it in tomorrow\n")
    return sorted([*made, "zipped-repository", "zipped-katas", "empty"])


def grade(submissions: Path, out: Path, jobs: int) -> tuple[float, float, list[str]]:
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-u", "-m", "katatools", "grade", str(submissions), "--out", str(out), f"--jobs={jobs}"]
    start = time.perf_counter()
    graded_at = None
    lines = []
    with subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) as child:
        for line in child.stdout:
            lines.append(line.rstrip())
            if line.startswith("gradebook:"):
                graded_at = time.perf_counter()
    end = time.perf_counter()
    if child.returncode != 0 or graded_at is None:
        raise RuntimeError(f"grade exited {child.returncode}:\n" + "\n".join(lines[-40:]))
    return graded_at - start, end - graded_at, lines


def main(jobs_list: tuple[int, ...]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-class-") as scratch:
        submissions = Path(scratch) / "class"
        names = make_class(submissions)
        print(f"class of {len(names)}: {', '.join(names)}")
        for jobs in jobs_list:
            load_before = os.getloadavg()[0]
            grading, report, lines = grade(submissions, Path(scratch) / f"out{jobs}", jobs)
            table = [line for line in lines if any(line.lstrip().startswith(n) for n in names)]
            print("\n".join(table))
            print(f"--jobs {jobs}: grading {grading:.0f} s ({grading / len(names):.1f} s per submission), "
                  f"class report {report:.0f} s; load average {load_before:.1f} before, "
                  f"{os.getloadavg()[0]:.1f} after")


if __name__ == "__main__":
    main(tuple(int(j) for j in sys.argv[1].split(",")) if len(sys.argv) > 1 else (2,))

"""Report a mutmut run over ``solutions/``: killed / survived / timed out per module, and the survivors.

``nox -s mutation`` runs ``mutmut run`` (configured in ``[tool.mutmut]`` of pyproject.toml),
then this report, which reads mutmut's per-module result files (``mutants/**/*.py.meta``).
Every surviving mutant must be listed in ``mistakes/EQUIVALENT_MUTANTS.md`` with the reason no
learner-observable behaviour changes (one line each: ``- MUTANT_ID: why``); otherwise it needs a
test that kills it. An unexplained survivor makes the report exit 1; an entry that no longer
names a survivor is printed as stale, so the file stays a true record.

``python -m katatools mutation [--mutants DIR] [--equivalents FILE] [--show]``
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

from ..manifest import ROOT

MUTANTS_DIR = ROOT / "mutants"
EQUIVALENTS = ROOT / "mistakes" / "EQUIVALENT_MUTANTS.md"
ENTRY = re.compile(r"^\s*[-*]\s+`?([\w.\u01c1]+__mutmut_\d+)`?\s*:\s*(\S.*)$")

# mutmut's exit codes per mutant (mutmut/stats.py): 1 and 3 killed, 0 survived, 5 and 33 no tests...
try:
    from mutmut.stats import status_by_exit_code as _MUTMUT_STATUS
except ImportError:  # the report also reads results without mutmut installed
    _MUTMUT_STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped",
                      36: "timeout", 24: "timeout", -24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}
COLUMNS = ("killed", "survived", "timeout", "no tests", "other")


def status_of(exit_code: int | None) -> str:
    status = _MUTMUT_STATUS.get(exit_code, "suspicious") if isinstance(_MUTMUT_STATUS, dict) else "other"
    return status if status in COLUMNS else "other"


def score(counts: Counter[str]) -> str:
    """Killed (timeouts count as killed) over the mutants some test ran."""
    tested = counts["killed"] + counts["survived"] + counts["timeout"]
    return f"{100 * (counts['killed'] + counts['timeout']) / tested:.0f}%" if tested else "-"


def read_results(mutants_dir: Path) -> dict[str, dict[str, str]]:
    """{module: {mutant id: status}} from every ``*.py.meta`` file mutmut wrote."""
    results: dict[str, dict[str, str]] = {}
    for meta in sorted(Path(mutants_dir).rglob("*.py.meta")):
        module = ".".join(meta.relative_to(mutants_dir).with_suffix("").with_suffix("").parts)
        data = json.loads(meta.read_text(encoding="utf-8"))
        codes = data.get("exit_code_by_key", {})
        if codes:
            results[module] = {key: status_of(code) for key, code in codes.items()}
    return results


def read_equivalents(path: Path) -> dict[str, str]:
    """{mutant id: reason} from the lines ``- MUTANT_ID: reason`` of the equivalents file."""
    if not Path(path).is_file():
        return {}
    entries = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        match = ENTRY.match(line)
        if match:
            entries[match.group(1)] = match.group(2).strip()
    return entries


def show_mutant(mutant: str) -> str:
    """mutmut's diff of one mutant (empty when mutmut is not importable here)."""
    done = subprocess.run([sys.executable, "-m", "mutmut", "show", mutant], cwd=ROOT, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    return "\n".join("        " + line for line in lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m katatools mutation", description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=MUTANTS_DIR, help="mutmut's work directory (default: mutants/)")
    parser.add_argument("--equivalents", type=Path, default=EQUIVALENTS, help="the reviewed survivors")
    parser.add_argument("--show", action="store_true", help="print mutmut's diff of every unexplained survivor")
    args = parser.parse_args(argv)
    results = read_results(args.mutants)
    if not results:
        print(f"mutation: no mutmut results under {args.mutants}; run `nox -s mutation` first")
        return 1
    equivalents = read_equivalents(args.equivalents)
    print(f"{'module':<24}" + "".join(f"{c:>10}" for c in COLUMNS) + f"{'score':>8}")
    unexplained: list[str] = []
    survivors: set[str] = set()
    totals: Counter[str] = Counter()
    for module, mutants in results.items():
        counts = Counter(mutants.values())
        totals.update(counts)
        print(f"{module:<24}" + "".join(f"{counts[c]:>10}" for c in COLUMNS) + f"{score(counts):>8}")
        for mutant, status in mutants.items():
            if status == "survived":
                survivors.add(mutant)
                if mutant not in equivalents:
                    unexplained.append(mutant)
    explained = len(survivors) - len(unexplained)
    print(f"{'total':<24}" + "".join(f"{totals[c]:>10}" for c in COLUMNS) + f"{score(totals):>8}")
    print(f"{len(survivors)} survivors: {explained} reviewed as equivalent in {args.equivalents.name}, "
          f"{len(unexplained)} unexplained")
    for mutant in unexplained:
        print(f"  UNEXPLAINED {mutant}")
        if args.show:
            print(show_mutant(mutant))
    stale = sorted(set(equivalents) - survivors)
    for mutant in stale:
        print(f"  stale entry (no longer a survivor): {mutant}")
    if totals["no tests"]:
        print(f"  note: {totals['no tests']} mutants are in code no test reaches (a module whose stage has no tests yet?)")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""The import graph of katatools/: its modules, its import arrows, and the arrows between its groups.

    python benchmarks/import_graph.py [--arrows] [--package DIR]

A module's group is its subpackage (``learner``, ``grading``, ``proofs``) or ``core`` for a module at
the top. In a flat katatools/ (before the subpackages) the groups are those of ``PLANNED``, so that
the two layouts can be compared. Every import of a katatools module counts once per importing module,
also the imports inside functions; ``__init__`` and ``__main__`` are left out (the package itself and
its command line). ``--arrows`` lists the arrows between groups; ``--package`` reads another
checkout's katatools/ (default: this one's).
"""

from __future__ import annotations

import argparse
import ast
from collections import Counter
from pathlib import Path

KATATOOLS = Path(__file__).resolve().parent.parent / "katatools"
PLANNED = {
    **dict.fromkeys(("check", "watch", "reset", "worker", "verdicts", "demo"), "learner"),
    **dict.fromkeys(("grade", "gradebook", "gradescope", "classroom", "classroom50", "classroom50_autograder",
                     "classreport", "submissions", "sandbox", "isolation", "review", "release", "workspace"),
                    "grading"),
    **dict.fromkeys(("corpus", "mutants", "mutation", "independence", "prove_stubs"), "proofs"),
}


def modules(package: Path) -> dict[str, Path]:
    """Dotted name inside the package (``grading.grade``) -> file, without ``__init__`` and ``__main__``."""
    found = {}
    for path in sorted(package.rglob("*.py")):
        if "__pycache__" in path.parts or path.stem in ("__init__", "__main__"):
            continue
        found[".".join(path.relative_to(package).with_suffix("").parts)] = path
    return found


def imported(name: str, path: Path, known: set[str]) -> set[str]:
    """The katatools modules ``name`` imports (relative imports, and absolute ``katatools.*`` ones)."""
    here = name.split(".")[:-1]  # the package ``name`` lives in, inside katatools
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = here[:len(here) - (node.level - 1)] if node.level > 1 else here
            target = [*base, *(node.module.split(".") if node.module else [])]
            candidates = [".".join([*target, a.name]) for a in node.names] + [".".join(target)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("katatools."):
            target = node.module.split(".")[1:]
            candidates = [".".join([*target, a.name]) for a in node.names] + [".".join(target)]
        elif isinstance(node, ast.Import):
            candidates = [a.name.removeprefix("katatools.") for a in node.names if a.name.startswith("katatools.")]
        else:
            continue
        found |= {c for c in candidates if c in known}
    found.discard(name)
    return found


def group(name: str) -> str:
    parts = name.split(".")
    return parts[0] if len(parts) > 1 else PLANNED.get(name, "core")


def graph(package: Path = KATATOOLS) -> dict[str, set[str]]:
    found = modules(package)
    return {name: imported(name, path, set(found)) for name, path in found.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arrows", action="store_true", help="list the arrows between groups")
    parser.add_argument("--package", type=Path, default=KATATOOLS, metavar="DIR", help="the katatools/ folder to read")
    args = parser.parse_args()
    edges = graph(args.package)
    arrows = [(a, b) for a, targets in edges.items() for b in sorted(targets)]
    sizes = Counter(group(name) for name in edges)
    between = Counter((group(a), group(b)) for a, b in arrows if group(a) != group(b))
    print(f"modules: {len(edges)} ({', '.join(f'{g} {n}' for g, n in sorted(sizes.items()))})")
    print(f"import arrows: {len(arrows)}")
    print(f"arrows between groups: {sum(between.values())}")
    for (a, b), n in sorted(between.items()):
        print(f"  {a} -> {b}: {n}")
        if args.arrows:
            for x, y in arrows:
                if (group(x), group(y)) == (a, b):
                    print(f"      {x} -> {y}")


if __name__ == "__main__":
    main()

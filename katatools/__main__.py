"""``python -m katatools COMMAND``: the entry point the nox sessions call."""

from __future__ import annotations

import sys

from .manifest import ROOT

# Commands that read the reference: the stub generator and the proofs of the tests.
NEEDS_REFERENCE = ("stubs", "prove-stubs", "mutants", "mutation", "corpus", "independence", "release")


def main(argv: list[str]) -> int:
    commands = {
        "stubs": "katatools.stubs",
        "prove-stubs": "katatools.prove_stubs",
        "check": "katatools.check",
        "watch": "katatools.watch",
        "reset": "katatools.reset",
        "grade": "katatools.grade",
        "gradescope": "katatools.gradescope",
        "classroom": "katatools.classroom",
        "classroom50": "katatools.classroom50",
        "demo": "katatools.demo",
        "mutants": "katatools.mutants",
        "mutation": "katatools.mutation",
        "corpus": "katatools.corpus",
        "independence": "katatools.independence",
        "release": "katatools.release",
    }
    if not argv or argv[0] not in commands:
        print(f"usage: python -m katatools {{{','.join(commands)}}} [ARGS...]", file=sys.stderr)
        return 2
    if argv[0] in NEEDS_REFERENCE and not (ROOT / "solutions").is_dir():
        print(f"python -m katatools {argv[0]} needs the reference (solutions/), which this copy does not have "
              "(a learner's edition): it is for the katas' maintainers", file=sys.stderr)
        return 2
    import importlib

    return importlib.import_module(commands[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

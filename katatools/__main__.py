"""``python -m katatools COMMAND``: the entry point the nox sessions call."""

from __future__ import annotations

import sys

from .manifest import ROOT

# Commands that read the reference: the stub generator and the proofs of the tests.
NEEDS_REFERENCE = ("stubs", "prove-stubs", "mutants", "mutation", "corpus", "independence", "release")


def main(argv: list[str]) -> int:
    commands = {
        "stubs": "katatools.stubs",
        "prove-stubs": "katatools.proofs.prove_stubs",
        "check": "katatools.learner.check",
        "watch": "katatools.learner.watch",
        "reset": "katatools.learner.reset",
        "grade": "katatools.grading.grade",
        "gradescope": "katatools.grading.gradescope",
        "classroom": "katatools.grading.classroom",
        "classroom50": "katatools.grading.classroom50",
        "demo": "katatools.learner.demo",
        "mutants": "katatools.proofs.mutants",
        "mutation": "katatools.proofs.mutation",
        "corpus": "katatools.proofs.corpus",
        "independence": "katatools.proofs.independence",
        "release": "katatools.grading.release",
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

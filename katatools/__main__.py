"""``python -m katatools COMMAND``: the entry point the nox sessions call."""

from __future__ import annotations

import sys


def main(argv: list[str]) -> int:
    commands = {
        "stubs": "katatools.stubs",
        "prove-stubs": "katatools.prove_stubs",
        "check": "katatools.check",
        "watch": "katatools.watch",
        "reset": "katatools.reset",
        "grade": "katatools.grade",
        "demo": "katatools.demo",
        "mutants": "katatools.mutants",
        "mutation": "katatools.mutation",
        "corpus": "katatools.corpus",
        "independence": "katatools.independence",
    }
    if not argv or argv[0] not in commands:
        print(f"usage: python -m katatools {{{','.join(commands)}}} [ARGS...]", file=sys.stderr)
        return 2
    import importlib

    return importlib.import_module(commands[argv[0]]).main(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

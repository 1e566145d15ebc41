"""The options every grading command shares: which stages, how long, and in which sandbox.

``grade``, Gradescope's ``run_autograder``, a Classroom step and Classroom 50's ``autograder.py``
all grade with the same limits. Each command declares them here, checks them here, and a command
that builds a bundle passes them on to the grader inside it with :func:`forwarded`.
"""

from __future__ import annotations

import argparse

from ..manifest import Manifest, ManifestError

DEFAULT_TEST_TIMEOUT = 30.0  # CPU seconds per test (plugin.deadline): generous, so that slow but correct code passes
DEFAULT_WALL_LIMIT = 600.0  # seconds per submission and mode: grade, Gradescope, Classroom and Classroom 50 alike


def add_limits(parser: argparse.ArgumentParser, wall_help: str, stages: bool = True,
               sandbox_help: str = "run the submissions' code without bubblewrap (the guard stays)") -> None:
    """--stage (unless ``stages`` is false), --test-timeout, --wall-limit and --no-sandbox."""
    if stages:
        parser.add_argument("--stage", action="append", default=[], metavar="NAME",
                            help="grade only this stage (repeatable; default: every stage that has tests)")
    parser.add_argument("--test-timeout", type=float, default=DEFAULT_TEST_TIMEOUT, metavar="S",
                        help=f"CPU seconds per test (default {DEFAULT_TEST_TIMEOUT:g})")
    parser.add_argument("--wall-limit", type=float, default=DEFAULT_WALL_LIMIT, metavar="S",
                        help=f"{wall_help} (default {DEFAULT_WALL_LIMIT:g})")
    parser.add_argument("--no-sandbox", action="store_true", help=sandbox_help)


def check_limits(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Exit with argparse's usage error (status 2) unless both limits are positive."""
    if args.test_timeout <= 0 or args.wall_limit <= 0:
        parser.error("--test-timeout and --wall-limit must be positive")


def parse_with_limits(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """``parser.parse_args(argv)``, then :func:`check_limits`."""
    args = parser.parse_args(argv)
    check_limits(parser, args)
    return args


def unknown_stage(args: argparse.Namespace, manifest: Manifest) -> str | None:
    """The manifest's complaint about the first --stage it does not hold; None when all are known."""
    try:
        for name in args.stage:
            manifest.stage(name)
    except ManifestError as exc:
        return f"--stage: {exc}"
    return None


def forwarded(args: argparse.Namespace) -> list[str]:
    """The options again, as a bundle's grader receives them on its command line."""
    options = [f"--test-timeout={args.test_timeout:g}", f"--wall-limit={args.wall_limit:g}"]
    return options + [f"--stage={s}" for s in args.stage] + (["--no-sandbox"] if args.no_sandbox else [])

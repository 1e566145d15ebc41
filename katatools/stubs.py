"""Where the pristine stubs live: a copy of katas/ as shipped, that a learner's edits never touch."""

from __future__ import annotations

from pathlib import Path

PRISTINE_DIR = Path(__file__).resolve().parent / "pristine"

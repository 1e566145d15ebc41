"""Settings of the tooling's own tests (not of the kata tests in tests/).

The marker ``slow``: a test of minutes by nature, such as test_busy_machine.py's proofs beside six
CPU-bound processes. A session may leave them out (``-m "not slow"``) or run only them (``-m slow``).
"""

from __future__ import annotations

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: minutes by nature (a proof on a loaded machine); -m 'not slow' skips them")

"""katatools/runner.py: a child pytest that is killed leaves no temporary files behind."""

from __future__ import annotations

import tempfile

import pytest
from learner_repo import MANIFEST, STAGES, reference

from katatools.runner import run_suite

LOOPING_MODULE_TAIL = '''

def _forever(*args, **kwargs):
    while True:
        pass


{name} = _forever
'''


@pytest.mark.slow
def test_a_child_killed_at_its_time_limit_leaves_no_temporary_files(tmp_path, monkeypatch):
    """Isolated mode builds the reference layer in a temporary folder; a hang is killed with SIGKILL."""
    stage = STAGES[1]  # a stage with an earlier one, so isolated mode builds a reference layer
    exercise = MANIFEST.exercises_of(stage.name)[0].name
    target = tmp_path / "target"
    target.mkdir()
    (target / f"{stage.module}.py").write_text(reference(stage.module) + LOOPING_MODULE_TAIL.format(name=exercise))
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    monkeypatch.setenv("TMPDIR", str(temporary))
    monkeypatch.setattr(tempfile, "tempdir", None)
    run = run_suite(target, tests=[stage.tests], exercises=[exercise], mode="isolated",
                    extra=["--kata-timeout=600"], timeout=8)
    assert run.timed_out, run.output
    assert list(temporary.iterdir()) == []

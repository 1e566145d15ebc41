"""One child pytest of a grading: its environment, its workspace, and the sandbox around it.

``Children`` holds what every child of one grading shares: a scratch folder, the workspace
template (workspace.py), the pristine stubs and the sandbox (sandbox.py, where bwrap starts).
``Children.run`` runs one child on a workspace made from the template: the reference's own runs
(trusted) and the submissions' (``graded``: in the sandbox, and always under the guard, guard.py).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from ..guard import GUARD_VARIABLE
from ..manifest import Manifest
from ..runner import PytestRun, run_suite
from ..stubs import pristine_stubs
from .sandbox import Sandbox
from .sandbox import start as start_sandbox
from .workspace import TARGET_DIR, Template

OUTPUT_LIMIT = 64 * 1024  # bytes of a child's output kept


def writes_bytecode() -> bool:
    """Children cache bytecode (of numpy, pytest...) as the grader's own Python does, for speed."""
    return not os.environ.get("PYTHONDONTWRITEBYTECODE")


def child_environment(scratch: Path, answers: Path | None = None) -> dict[str, str]:
    """An explicit environment: nothing inherited but PATH. HOME, temporary files and hypothesis's
    folder are in the run's own ``scratch`` folder, removed after the run (and the only folder a
    sandboxed run may write to). ``answers``: the folder of scikit-learn's stored answers this
    child may read (tests/sklearn_oracle.py); none by default."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "HOME": str(scratch), "LC_ALL": "C.UTF-8",
           "LANG": "C.UTF-8", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "utf-8",
           "PYTHONNOUSERSITE": "1", "NO_COLOR": "1", "COLUMNS": "100", "KATA_HYPOTHESIS_PROFILE": "grade",
           "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1", "KATA_SKLEARN_CACHE": str(answers) if answers else "off",
           "HYPOTHESIS_STORAGE_DIRECTORY": str(scratch / ".hypothesis")}
    for name in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):  # set on some machines for numpy's safety
        if name in os.environ:
            env[name] = os.environ[name]
    if not writes_bytecode():
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    temporary = scratch / "tmp"
    temporary.mkdir(exist_ok=True)
    env.update(TMPDIR=str(temporary), TEMP=str(temporary), TMP=str(temporary))
    if "SYSTEMROOT" in os.environ:  # Windows needs it to start python
        env["SYSTEMROOT"] = os.environ["SYSTEMROOT"]
    return env


class Children:
    """The scratch folder, template, stubs and sandbox of one grading, and how each child runs.

    ``selection``: the exercises every child is limited to (``--exercise``), when grading a few.
    ``close`` removes the scratch folder; it is called here if building any of the rest fails.
    """

    def __init__(self, root: Path, manifest: Manifest, selection: list[str], sandbox: bool) -> None:
        self.selection = selection
        self.scratch = Path(tempfile.mkdtemp(prefix="kata-grade-"))
        self.sandbox: Sandbox | None = None
        self.unsandboxed = "--no-sandbox"  # why submissions run without the sandbox ("" when they run in it)
        try:
            self.stubs = pristine_stubs(manifest, root)  # for a module a submission lacks
            self.template = Template(self.scratch / "template", root, manifest, self.stubs, writes_bytecode())
            if sandbox:
                self.sandbox, self.unsandboxed = start_sandbox(self.scratch)
        except BaseException:
            self.close()
            raise

    def folder(self, prefix: str) -> Path:
        """A new folder of the scratch folder, for one run's workspace and scratch."""
        return Path(tempfile.mkdtemp(prefix=prefix, dir=self.scratch))

    def close(self) -> None:
        shutil.rmtree(self.scratch, ignore_errors=True)

    def run(self, folder: Path, tests: list[str], mode: str, extra: list[str], timeout: float | None,
            answers: str, graded: bool = False) -> PytestRun:
        """One child pytest on the workspace ``folder``/ws, writing only to ``folder``/scratch, reading
        scikit-learn's ``answers`` there (``off``: none). ``graded``: a submission's code runs, in the
        sandbox where it works and always under the guard (guard.py); the grader's own runs on the
        reference or the stubs are trusted."""
        workspace, scratch = folder / "ws", folder / "scratch"
        scratch.mkdir(exist_ok=True)
        options = ["-c", str(workspace / "pytest.ini"), f"--rootdir={workspace}", f"--confcutdir={workspace}",
                   "-s", "-q", "--tb=short", "--kata-summary=no",
                   *[f"--exercise={name}" for name in self.selection], *extra]
        env = child_environment(scratch, answers)
        wrap = None
        if graded:
            env[GUARD_VARIABLE] = json.dumps({"read": [str(workspace)], "write": [str(scratch)]})
            if self.sandbox is not None:
                sandbox = self.sandbox

                def wrap(command: list[str], writable: Path) -> list[str]:
                    return sandbox.wrap(command, writable, readable=[workspace], cwd=workspace)
        return run_suite(workspace / TARGET_DIR, tests=tests, mode=mode, extra=options, cwd=workspace, env=env,
                         timeout=timeout, python_flags=["-s"] if writes_bytecode() else ["-s", "-B"],
                         output_limit=OUTPUT_LIMIT, scratch=scratch, wrap=wrap,
                         autoload=False)  # no stray plugin of the environment; hypothesis's loaded by name

"""What one graded run may see: a fresh folder holding the tests, the plugin, the submission's kata
modules and, in isolated mode, the reference's earlier modules that this run needs, and nothing else.

The grader builds a *template* once (``Template``): the tests, the modules of katatools the plugin
imports (``plugin_modules``: not the grader, not the corpus tools), the manifest, a pytest.ini made
from pyproject.toml, and the pristine stubs. Every stage run of a submission then gets a fresh copy
of it (``Template.workspace``), with:

- ``katas/``: the submission's kata modules, a missing one replaced by its stub;
- ``reference/`` (isolated mode only): the reference modules this run takes from the reference
  (isolation.py), each with the code of the exercises being graded and of every later exercise
  stubbed out (``reference_layer``). No ``solutions`` package, no reference file of the graded
  exercises, nothing of the repository beyond these;
- ``answers/``: scikit-learn's answers to the tests' questions (tests/sklearn_oracle.py), asked on the
  reference beforehand.

A fresh copy per run means nothing one run writes (a cached .pyc, an edited test) reaches the next,
even where no sandbox keeps the workspace read-only.
"""

from __future__ import annotations

import ast
import compileall
import shlex
import shutil
from collections.abc import Collection, Mapping
from pathlib import Path

from ..manifest import Manifest, tomllib
from ..stubs import stub_source

TARGET_DIR = "katas"  # the submission's kata modules, named as in the learner's clone
LAYER_DIR = "reference"  # the reference's earlier modules an isolated run takes
ANSWERS_DIR = "answers"  # scikit-learn's stored answers
PRISTINE_DIR = "pristine"  # the stubs: what the grader collects its tests against
PLUGIN = "plugin"  # the katatools module every run loads (``-p katatools.plugin``)


def pytest_ini(pyproject: Path) -> str:
    """The grader's own pytest configuration, from its pyproject.toml, as an ini file."""
    with open(pyproject, "rb") as f:
        options = tomllib.load(f)["tool"]["pytest"]["ini_options"]
    lines = ["[pytest]"]
    for key, value in options.items():
        text = shlex.join(value) if isinstance(value, list) else str(value).lower() if isinstance(value, bool) else str(value)
        lines.append(f"{key} = {text}")
    return "\n".join(lines) + "\n"


def plugin_modules(katatools: Path) -> list[str]:
    """The modules of ``katatools`` that the plugin needs, following its relative imports (and the
    package's ``__init__``): what a graded run loads, and all of katatools it gets to see."""
    needed, pending = {"__init__"}, [PLUGIN]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        tree = ast.parse((katatools / f"{name}.py").read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names = [node.module] if node.module else [a.name for a in node.names]
                pending += [n for n in names if (katatools / f"{n}.py").is_file()]
    return sorted(needed)


def reference_layer(manifest: Manifest, reference: Mapping[str, str], modules: Collection[str],
                    graded: Collection[str]) -> dict[str, str]:
    """File name -> source of the reference modules ``modules``, with the code of every exercise from
    the first of ``graded`` on (in learning order) stubbed out: what a run grading ``graded`` may see."""
    first = min(manifest.exercise(name).index for name in graded)
    later = [e.name for e in manifest.exercises if e.index >= first]
    return {f"{m}.py": stub_source(reference[m], manifest, later, f"{LAYER_DIR}/{m}.py") for m in modules}


class Template:
    """The parts every graded run shares, built once per grading in ``folder``."""

    def __init__(self, folder: Path, root: Path, manifest: Manifest, stubs: Mapping[str, str], compile_: bool) -> None:
        self.folder = folder
        ignore = shutil.ignore_patterns("__pycache__", "*.pyc", ".hypothesis", ".pytest_cache")
        shutil.copytree(root / "tests", folder / "tests", ignore=ignore)
        (folder / "katatools").mkdir(parents=True)
        for name in plugin_modules(root / "katatools"):
            shutil.copyfile(root / "katatools" / f"{name}.py", folder / "katatools" / f"{name}.py")
        shutil.copyfile(root / "exercises.toml", folder / "exercises.toml")
        (folder / "pytest.ini").write_text(pytest_ini(root / "pyproject.toml"), encoding="utf-8")
        write_modules(folder / PRISTINE_DIR, stubs)
        if compile_:  # workspaces are read-only in the sandbox: compile the shared code once
            compileall.compile_dir(folder, quiet=2)

    def workspace(self, dest: Path, katas: Mapping[str, bytes | str], layer: Mapping[str, str] | None = None,
                  answers: Mapping[str, bytes] | None = None) -> Path:
        """A fresh workspace in ``dest``: the template, ``katas`` in katas/, the reference ``layer``
        in reference/ (isolated runs), scikit-learn's ``answers`` in answers/."""
        shutil.copytree(self.folder, dest, ignore=shutil.ignore_patterns(PRISTINE_DIR))
        write_modules(dest / TARGET_DIR, katas)
        if layer is not None:
            write_modules(dest / LAYER_DIR, layer)
        (dest / ANSWERS_DIR).mkdir()
        for name, content in (answers or {}).items():
            (dest / ANSWERS_DIR / name).write_bytes(content)
        return dest


def write_modules(folder: Path, modules: Mapping[str, bytes | str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in modules.items():
        data = content.encode("utf-8") if isinstance(content, str) else content
        (folder / name).write_bytes(data)

"""Load a kata package (katas/, solutions/, or any copy of one) without installing it.

A *target* is a directory holding the stage modules (``variable.py``, ``primitives.py``, ...).
Stage modules import earlier stages relatively (``from .variable import Variable``), so a
directory becomes a package simply by giving it a module object whose ``__path__`` lists it.
Its own ``__init__.py`` is never executed: only the stage modules are code under test.

Isolated mode: the package for stage *k* searches a folder holding *reference* modules of the
stages before *k* first (``reference_layer``), then the target directory. Stage *k*'s own module
(and anything later) exists only in the target, so the tests of stage *k* run the learner's code
for that stage on top of the reference for the earlier ones, and tracebacks point at the learner's
real file. An earlier module that the exercises being run extend (exercises.toml's
"module:function" covers; stage 5's arrays teaches the operators of ``variable.py`` to carry
arrays) holds the learner's code for them, so it too comes from the target; run one exercise of
stage 5 that lives in ``tangents.py`` alone (``--exercise jvp``), and ``variable.py`` comes from the
reference.
"""

from __future__ import annotations

import importlib
import shutil
import sys
import types
from pathlib import Path

from .manifest import Manifest, Stage

STAGE_MODULE_SUFFIX = ".py"


def load_package(directory: Path, name: str, search_first: Path | None = None) -> types.ModuleType:
    """Register (or reuse) a package called ``name`` whose modules live in ``directory``."""
    path = [str(directory)] if search_first is None else [str(search_first), str(directory)]
    existing = sys.modules.get(name)
    if existing is not None and list(getattr(existing, "__path__", [])) == path:
        return existing
    for stale in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
        del sys.modules[stale]  # a different directory under the same name: forget its modules
    package = types.ModuleType(name, f"kata package loaded from {directory}")
    package.__path__ = path
    package.__file__ = None
    sys.modules[name] = package
    return package


def import_stage_modules(package: types.ModuleType, stages: list[Stage]) -> dict[str, types.ModuleType]:
    """Import each stage module of ``package`` in order; exceptions propagate to the caller."""
    return {s.name: importlib.import_module(f"{package.__name__}.{s.module}") for s in stages}


def earlier_stages(manifest: Manifest, stage: Stage) -> list[Stage]:
    return [s for s in manifest.stages if s.index < stage.index]


def reference_modules(manifest: Manifest, stage: Stage, exercises: list[str] | None = None) -> list[str]:
    """The modules isolated mode takes from the reference for ``stage``: the earlier stages' modules,
    except those the stage's exercises (or those named in ``exercises``) extend, which hold the
    learner's code for this stage."""
    own = manifest.learner_modules(stage, exercises)
    return [s.module for s in earlier_stages(manifest, stage) if s.module not in own]


def reference_layer(manifest: Manifest, stage: Stage, reference: Path, dest: Path,
                    exercises: list[str] | None = None) -> Path:
    """The folder isolated mode searches before the target: the reference's modules among
    ``reference_modules`` that ``reference`` holds.

    ``reference`` itself when it holds nothing else (the grader hands each run such a folder, made
    for it alone); otherwise a copy of those modules in ``dest`` (created anew), e.g. from solutions/.
    """
    wanted = [m for m in reference_modules(manifest, stage, exercises) if (reference / f"{m}{STAGE_MODULE_SUFFIX}").is_file()]
    if {p.stem for p in reference.glob(f"*{STAGE_MODULE_SUFFIX}")} <= set(wanted):
        return reference
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for module in wanted:
        shutil.copyfile(reference / f"{module}{STAGE_MODULE_SUFFIX}", dest / f"{module}{STAGE_MODULE_SUFFIX}")
    return dest

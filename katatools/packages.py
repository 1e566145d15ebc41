"""Load a kata package (katas/, solutions/, or any copy of one) without installing it.

A *target* is a directory holding the stage modules (``variable.py``, ``primitives.py``, ...).
Stage modules import earlier stages relatively (``from .variable import Variable``), so a
directory becomes a package simply by giving it a module object whose ``__path__`` lists it.
Its own ``__init__.py`` is never executed: only the stage modules are code under test.

Isolated mode: the package for stage *k* searches a scratch directory holding the
*reference* modules of the stages before *k* first, then the target directory. Stage *k*'s
own module (and anything later) exists only in the target, so the tests of stage *k* run the
learner's code for that stage on top of the reference for the earlier ones, and tracebacks
point at the learner's real file. One exception: an earlier module that stage *k*'s exercises
extend (exercises.toml's "module:function" covers; stage 5 teaches the operators of
``variable.py`` to carry arrays) holds code of stage *k*, so it too comes from the target.
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


def reference_modules(manifest: Manifest, stage: Stage) -> list[str]:
    """The modules isolated mode takes from the reference for ``stage``: the earlier stages' modules,
    except those ``stage``'s exercises extend, which hold the learner's code for this stage."""
    own = manifest.learner_modules(stage)
    return [s.module for s in earlier_stages(manifest, stage) if s.module not in own]


def write_reference_layer(manifest: Manifest, stage: Stage, reference: Path, dest: Path) -> Path:
    """Copy the reference modules of the stages before ``stage`` into ``dest`` (created anew),
    leaving out the modules that ``stage``'s exercises extend."""
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for earlier in earlier_stages(manifest, stage):
        if earlier.module not in reference_modules(manifest, stage):
            continue
        shutil.copyfile(reference / (earlier.module + STAGE_MODULE_SUFFIX), dest / (earlier.module + STAGE_MODULE_SUFFIX))
    return dest

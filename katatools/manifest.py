"""Load ``exercises.toml``: the one list of stages and exercises every tool reads."""

from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent
MANIFEST_PATH = ROOT / "exercises.toml"
HINT_LEVELS = 3
# Characters of an exercise's description: it stands whole in the progress table, which fits 100
# columns beside the longest names and statuses (katatools/report.py).
MAX_DESCRIPTION = 44


class ManifestError(ValueError):
    """The manifest is malformed, or a name does not appear in it."""


@dataclass(frozen=True)
class Stage:
    name: str
    title: str
    module: str  # file stem under katas/ and solutions/
    tests: str  # test module, relative to the repository root
    index: int  # 0-based position in learning order
    cost: float = 1.0  # rough seconds its tests take on the reference; the check balances processes by it


@dataclass(frozen=True)
class Exercise:
    name: str
    stage: str
    points: int
    description: str
    hints: tuple[str, ...]
    index: int  # 0-based position in learning order
    rule: str = ""  # the rule to apply, named once: in the stub's NotImplementedError
    # functions and methods holding its code: "Variable.__add__", "log" in its own stage's module,
    # "module:function" ("primitives:log") in an earlier stage's module that the exercise extends
    covers: tuple[str, ...] = ()


def split_cover(cover: str) -> tuple[str | None, str]:
    """("primitives", "log") for "primitives:log"; (None, "log") for a function of the exercise's own module."""
    module, _, function = cover.rpartition(":")
    return module or None, function


@dataclass(frozen=True)
class Manifest:
    stages: tuple[Stage, ...]
    exercises: tuple[Exercise, ...]

    def stage(self, name: str) -> Stage:
        for stage in self.stages:
            if stage.name == name:
                return stage
        raise ManifestError(f"unknown stage {name!r}; stages are: {', '.join(self.stage_names)}")

    def exercise(self, name: str) -> Exercise:
        for exercise in self.exercises:
            if exercise.name == name:
                return exercise
        raise ManifestError(
            f"unknown exercise {name!r}; exercises are: {', '.join(e.name for e in self.exercises)}"
        )

    @property
    def stage_names(self) -> list[str]:
        return [stage.name for stage in self.stages]

    def exercises_of(self, stage: str) -> list[Exercise]:
        return [e for e in self.exercises if e.stage == stage]

    def stage_of_test_file(self, path: Path | str) -> Stage | None:
        path = Path(path)
        for stage in self.stages:
            if path.name == Path(stage.tests).name:
                return stage
        return None

    def select(self, names: list[str] | tuple[str, ...]) -> list[Exercise]:
        """Exercises named directly or through their stage, in manifest order.

        An empty selection means every exercise. An unknown name raises ManifestError.
        """
        if not names:
            return list(self.exercises)
        wanted: set[str] = set()
        for name in names:
            if name in self.stage_names:
                wanted.update(e.name for e in self.exercises_of(name))
            else:
                wanted.add(self.exercise(name).name)
        return [e for e in self.exercises if e.name in wanted]

    def cover_module(self, exercise: Exercise, cover: str) -> str:
        """The module holding a ``covers`` entry of ``exercise``."""
        return split_cover(cover)[0] or self.stage(exercise.stage).module

    def exercise_modules(self, exercise: Exercise) -> list[str]:
        """The modules holding an exercise's code, in the order its ``covers`` first names them."""
        return list(dict.fromkeys(self.cover_module(exercise, c) for c in exercise.covers))

    def learner_modules(self, stage: Stage, exercises: list[str] | None = None) -> list[str]:
        """The modules holding the code of ``stage``'s exercises (or of those among them named in
        ``exercises``): its own module first, then any earlier stage's module they extend. Isolated
        mode takes exactly these from the learner."""
        modules = [stage.module]
        for exercise in self.exercises_of(stage.name):
            if exercises is not None and exercise.name not in exercises:
                continue
            for module in self.exercise_modules(exercise):
                if module not in modules:
                    modules.append(module)
        return modules

    @property
    def max_points(self) -> int:
        return sum(e.points for e in self.exercises)


def _require(table: dict, key: str, kind: type, where: str):
    if key not in table:
        raise ManifestError(f"{where}: missing key {key!r}")
    value = table[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ManifestError(f"{where}: {key!r} must be {kind.__name__}, got {value!r}")
    return value


def _cost(table: dict, where: str) -> float:
    value = table.get("cost", 1.0)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ManifestError(f"{where}: 'cost' must be a positive number of seconds, got {value!r}")
    return float(value)


def parse_manifest(data: dict) -> Manifest:
    """Build and validate a Manifest from the parsed TOML tables."""
    stages = []
    for i, table in enumerate(data.get("stage", [])):
        where = f"stage #{i + 1}"
        stages.append(
            Stage(
                name=_require(table, "name", str, where),
                title=_require(table, "title", str, where),
                module=_require(table, "module", str, where),
                tests=_require(table, "tests", str, where),
                index=i,
                cost=_cost(table, where),
            )
        )
    stage_names = [s.name for s in stages]
    if not stages or len(set(stage_names)) != len(stage_names):
        raise ManifestError("stages must be present and uniquely named")
    exercises = []
    for i, table in enumerate(data.get("exercise", [])):
        where = f"exercise #{i + 1} ({table.get('name', '?')})"
        hints = tuple(_require(table, "hints", list, where))
        if len(hints) != HINT_LEVELS or not all(isinstance(h, str) and h for h in hints):
            raise ManifestError(f"{where}: needs {HINT_LEVELS} non-empty hints (nudge, rule, near-answer)")
        covers = tuple(_require(table, "covers", list, where))
        if not covers or not all(isinstance(c, str) and c for c in covers):
            raise ManifestError(f"{where}: 'covers' must list the functions and methods holding the exercise's code")
        exercise = Exercise(
            name=_require(table, "name", str, where),
            stage=_require(table, "stage", str, where),
            points=_require(table, "points", int, where),
            description=_require(table, "description", str, where),
            hints=hints,
            index=i,
            rule=_require(table, "rule", str, where),
            covers=covers,
        )
        if not exercise.description.strip() or len(exercise.description) > MAX_DESCRIPTION:
            raise ManifestError(f"{where}: 'description' must be one line of 1 to {MAX_DESCRIPTION} characters "
                                f"(it stands whole in the progress table), got {len(exercise.description)}: "
                                f"{exercise.description!r}")
        if exercise.stage not in stage_names:
            raise ManifestError(f"{where}: unknown stage {exercise.stage!r}")
        if exercise.points <= 0:
            raise ManifestError(f"{where}: points must be positive")
        exercises.append(exercise)
    names = [e.name for e in exercises]
    if len(set(names)) != len(names) or set(names) & set(stage_names):
        raise ManifestError("exercise names must be unique and differ from stage names")
    order = [stage_names.index(e.stage) for e in exercises]
    if order != sorted(order):
        raise ManifestError("exercises must be listed stage by stage, in stage order")
    module_stage = {s.module: s for s in stages}
    for e in exercises:
        own = stage_names.index(e.stage)
        for cover in e.covers:
            module, function = split_cover(cover)
            if not function or (module is not None and (module not in module_stage or module_stage[module].index > own)):
                raise ManifestError(f"exercise {e.name!r}: cover {cover!r} must be a function of its own module, or "
                                    f"'module:function' in an earlier stage's module")
    return Manifest(tuple(stages), tuple(exercises))


@functools.cache
def load_manifest(path: Path = MANIFEST_PATH) -> Manifest:
    with open(path, "rb") as f:
        return parse_manifest(tomllib.load(f))

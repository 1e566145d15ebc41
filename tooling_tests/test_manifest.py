"""exercises.toml: a stage's optional `cost`, which the check balances its processes by; an exercise's `rule` and `covers`."""

from __future__ import annotations

import pytest

from katatools.manifest import MANIFEST_PATH, ManifestError, load_manifest, parse_manifest, tomllib


def manifest_with(exercise_keys: dict | None = None, **stage_keys) -> dict:
    stage = {"name": "s", "title": "Stage", "module": "m", "tests": "tests/test_m.py", **stage_keys}
    exercise = {"name": "e", "stage": "s", "points": 1, "description": "d", "rule": "r", "covers": ["f"],
                "hints": ["a", "b", "c"], **(exercise_keys or {})}
    return {"stage": [stage], "exercise": [exercise]}


def test_cost_defaults_to_one_second():
    assert parse_manifest(manifest_with()).stages[0].cost == 1.0
    assert parse_manifest(manifest_with(cost=2)).stages[0].cost == 2.0


@pytest.mark.parametrize("cost", [0, -1.5, "fast", True])
def test_cost_must_be_a_positive_number(cost):
    with pytest.raises(ManifestError, match="'cost' must be a positive number of seconds"):
        parse_manifest(manifest_with(cost=cost))


def test_every_stage_of_the_real_manifest_declares_its_cost():
    with open(MANIFEST_PATH, "rb") as f:
        stages = tomllib.load(f)["stage"]
    assert [table["name"] for table in stages if "cost" not in table] == []
    assert len(load_manifest().stages) == len(stages)


def test_an_exercise_names_its_rule_and_the_functions_it_covers():
    exercise = parse_manifest(manifest_with({"covers": ["Variable.__add__", "as_variable"]})).exercises[0]
    assert exercise.rule == "r" and exercise.covers == ("Variable.__add__", "as_variable")


@pytest.mark.parametrize("keys, message", [
    ({"covers": []}, "'covers' must list"),
    ({"covers": ["f", ""]}, "'covers' must list"),
    ({"covers": "f"}, "'covers' must be list"),
    ({"rule": 3}, "'rule' must be str"),
])
def test_rule_and_covers_are_checked(keys, message):
    with pytest.raises(ManifestError, match=message):
        parse_manifest(manifest_with(keys))


@pytest.mark.parametrize("cover", ["later:f", "nowhere:f", "m:"])
def test_a_cover_in_another_module_names_an_earlier_or_the_same_stage_module(cover):
    data = manifest_with({"covers": [cover]})
    data["stage"].append({"name": "t", "title": "Later", "module": "later", "tests": "tests/test_later.py"})
    with pytest.raises(ManifestError, match="'module:function' in an earlier stage's module"):
        parse_manifest(data)


def test_isolated_mode_takes_the_extended_modules_from_the_learner():
    manifest = load_manifest()
    assert manifest.learner_modules(manifest.stage("variable")) == ["variable"]
    assert manifest.learner_modules(manifest.stage("tangents")) == ["tangents", "variable", "primitives"]
    assert manifest.learner_modules(manifest.stage("batched")) == ["batched"]


def test_isolated_mode_takes_the_other_earlier_modules_from_the_reference():
    from katatools.packages import reference_modules

    manifest = load_manifest()
    assert reference_modules(manifest, manifest.stage("variable")) == []
    assert reference_modules(manifest, manifest.stage("training")) == ["variable", "primitives", "losses"]
    assert reference_modules(manifest, manifest.stage("tangents")) == ["losses", "training"]
    assert reference_modules(manifest, manifest.stage("batched")) == ["variable", "primitives", "losses", "training",
                                                                      "tangents"]


def test_a_stub_of_another_module_is_named_with_its_module():
    from katatools.plugin import cover_label

    assert cover_label("Variable.__add__") == "Variable.__add__"
    assert cover_label("primitives:log") == "log in primitives.py"

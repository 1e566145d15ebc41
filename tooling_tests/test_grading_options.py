"""Every grading command takes the same limits, refuses the same bad ones, and a bundle's grader gets them back.

grade, Gradescope (building the zip, and run_autograder's ``run``), a Classroom step and Classroom 50
(building the bundle, and autograder.py's ``run``) declare --stage, --test-timeout, --wall-limit and
--no-sandbox in katatools/grading/options.py. Each is called in-process: a bad option stops it
before it reads a submission or writes a file.
"""

from __future__ import annotations

import argparse

import pytest

from katatools.grading import classroom, classroom50, grade, gradescope
from katatools.grading.options import DEFAULT_TEST_TIMEOUT, DEFAULT_WALL_LIMIT, add_limits, forwarded

# command -> the arguments it needs besides the limits
COMMANDS = {
    "grade": (grade.main, ["submissions"]),
    "gradescope": (gradescope.main, []),
    "gradescope run": (gradescope.main, ["run"]),
    "classroom run": (classroom.main, ["run", "add"]),
    "classroom50": (classroom50.main, []),
    "classroom50 run": (classroom50.main, ["run"]),
}
STAGED = ("grade", "gradescope", "classroom50")  # they take --stage and check it before anything else


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("bad", [["--test-timeout", "0"], ["--wall-limit", "-5"], ["--test-timeout", "-0.1"]],
                         ids=["zero test timeout", "negative wall limit", "negative test timeout"])
def test_every_grading_command_refuses_a_limit_that_is_not_positive(command, bad, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    main, needed = COMMANDS[command]
    with pytest.raises(SystemExit) as stopped:
        main([*needed, *bad])
    err = capsys.readouterr().err
    assert stopped.value.code == 2, f"{command} {' '.join(bad)}: exit {stopped.value.code}, expected 2; stderr: {err}"
    assert "--test-timeout and --wall-limit must be positive" in err, f"{command}: stderr was {err!r}"
    assert list(tmp_path.iterdir()) == [], f"{command} wrote {list(tmp_path.iterdir())} before refusing"


@pytest.mark.parametrize("command", STAGED)
def test_a_stage_the_manifest_does_not_hold_is_named_and_nothing_is_graded_or_written(command, tmp_path, capsys,
                                                                                     monkeypatch):
    monkeypatch.chdir(tmp_path)
    main, needed = COMMANDS[command]
    code = main([*needed, "--stage", "nowhere"])
    err = capsys.readouterr().err
    assert code == 2, f"{command} --stage nowhere: exit {code}, expected 2; stderr: {err}"
    assert f"{command}: --stage:" in err and "nowhere" in err, f"{command}: stderr was {err!r}"
    assert list(tmp_path.iterdir()) == [], f"{command} wrote {list(tmp_path.iterdir())} before refusing"


def parser_with_limits() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    add_limits(parser, "seconds")
    return parser


@pytest.mark.parametrize("given", [
    [],
    ["--test-timeout", "2.5", "--wall-limit", "90"],
    ["--stage", "variable", "--stage", "tangents", "--no-sandbox"],
    ["--test-timeout=0.125", "--wall-limit=1e4", "--stage=training"],
])
def test_a_bundle_grader_receives_exactly_the_limits_it_was_built_with(given):
    parser = parser_with_limits()
    built = parser.parse_args(given)
    received = parser.parse_args(forwarded(built))
    assert vars(received) == vars(built), f"built with {given}: forwarded {forwarded(built)}, read back {received}"


def test_the_defaults_are_the_same_for_every_command():
    parser = parser_with_limits()
    defaults = parser.parse_args([])
    assert (defaults.test_timeout, defaults.wall_limit, defaults.stage, defaults.no_sandbox) == (
        DEFAULT_TEST_TIMEOUT, DEFAULT_WALL_LIMIT, [], False)
    for command in STAGED:
        main, needed = COMMANDS[command]
        module = {"grade": grade, "gradescope": gradescope, "classroom50": classroom50}[command]
        args = module.parse_args([*needed])
        assert (args.test_timeout, args.wall_limit) == (DEFAULT_TEST_TIMEOUT, DEFAULT_WALL_LIMIT), command

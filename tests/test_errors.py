"""Errors carry what the command line needs (the field of each problem) without it reading their messages."""

from __future__ import annotations

import pytest

from ambientgen.cli.commands import for_cli, usage_line
from ambientgen.errors import SceneError, UsageError


def test_a_usage_error_carries_field_and_rule():
    exc = UsageError("duration", "must be positive, got -5")
    assert exc.problems == [("duration", "must be positive, got -5")]
    assert str(exc) == "duration: must be positive, got -5"


def test_a_usage_error_from_a_scene_keeps_every_problem_and_renames_fields():
    scene = SceneError(["layers[0].width: must be at most 1, got 3", "seed: must be an integer"])
    exc = UsageError.from_scene(scene, rename={"layers[0].width": "width"})
    assert exc.problems == [("width", "must be at most 1, got 3"), ("seed", "must be an integer")]
    assert str(exc) == "width: must be at most 1, got 3; seed: must be an integer"


def test_the_cli_names_the_option_from_the_field():
    exc = UsageError([("preset", "must be one of ebu-r128, got 'loud'"), ("workers", "must be at least 1, got 0")])
    assert usage_line(exc) == "--preset: must be one of ebu-r128, got 'loud'; --workers: must be at least 1, got 0"


@pytest.mark.parametrize("given, expected", [(frozenset(), "duration: must be positive"),
                                             (frozenset({"duration"}), "--duration: must be positive")])
def test_a_scene_field_is_named_as_its_option_only_when_the_option_was_given(given, expected):
    assert usage_line(UsageError("duration", "must be positive"), given) == expected


def test_other_errors_name_options_and_overwrite_as_the_cli_spells_them():
    line = for_cli("output: out holds an earlier render; pass overwrite=True to replace it")
    assert line == "--output: out holds an earlier render; pass --overwrite to replace it"

"""Errors carry what the command line needs (the field of each problem) without it reading their messages
(how the command line names them: tests/cli/test_fields.py)."""

from __future__ import annotations

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

"""Gaps and sudden level changes of a level track, judged against what a render's manifest intends."""

from __future__ import annotations

import numpy as np

from ambientgen.check.levels import gaps, intended, level_jumps, unplanned

HOP = 0.025


def track(seconds: float, level_db: float = -30.0, *, seed: int = 0) -> np.ndarray:
    return (level_db + np.random.default_rng(seed).normal(0, 1.0, round(seconds / HOP))).astype(np.float32)


def test_a_step_is_a_jump_and_ordinary_wobble_is_not():
    db = track(120)
    assert level_jumps(db, HOP) == []
    db[round(60 / HOP) : round(63 / HOP)] -= 15
    jumps = level_jumps(db, HOP)
    assert [round(j["time_s"]) for j in jumps] == [60, 63] and jumps[0]["step_db"] < -12


def test_a_planned_change_explains_its_jump():
    db = track(120)
    db[round(60 / HOP) :] -= 15
    jumps = level_jumps(db, HOP)
    assert len(jumps) == 1
    assert unplanned(jumps, [(59.0, 62.0)]) == [] and unplanned(jumps, [(10.0, 12.0)]) == jumps


def test_the_manifests_plan_makes_silence_where_every_layer_is_off_intended():
    off = [[0.0, 0.0], [10.0, 0.0], [12.0, None], [20.0, None], [22.0, 0.0], [30.0, 0.0]]
    manifest = {"duration_s": 30.0, "layers": [{"name": "a", "seams_s": [5.0]}, {"name": "b", "seams_s": []}],
                "timeline": {"moments": [{"at_s": 10.0, "over_s": 2.0}], "lanes": {"a": {"level": off},
                                                                                  "b": {"level": off}}}}
    plan = intended(manifest)
    assert (12.0, 20.0) in plan.quiet and (10.0, 12.0) in plan.changes and plan.seams_s == [5.0]
    db = track(30)
    db[round(12 / HOP) : round(20 / HOP)] = -120.0
    planned = plan.planned
    assert gaps(db, HOP) and planned is not None  # silence is a gap unless the plan says so (the report's job)
    level = planned(np.arange(0, 30, HOP))  # relative to its mean over the track
    assert level[round(15 / HOP)] < -50 < level[round(5 / HOP)]

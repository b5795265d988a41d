"""The planner reads change over time: what changes, to what, in which order, and leaves the change words out of
the layers."""

from __future__ import annotations

import pytest

from ambientgen.planner.change import read_changes
from ambientgen.planner.compose import plan


def lanes(description: str, duration: float = 600.0):
    sc = plan(description).scene(duration=duration)
    return sc, sc.lanes()


def test_a_storm_rolls_in_rages_and_passes_and_the_rain_stops():
    sc, lanes_ = lanes("a thunderstorm rolls in, rages, then passes and the rain stops")
    names = [la.name for la in sc.layers]
    assert {"rain", "thunder", "drips"} <= set(names)  # the storm's layers, and what is left when the rain stops
    thunder, rain, drips = lanes_["thunder"]["level"], lanes_["rain"]["level"], lanes_["drips"]["level"]
    assert thunder[0][1] is None and max(v for _, v in thunder if v is not None) == 3.0 and thunder[-1][1] is None
    assert rain[0][1] == -18.0 and rain[-1][1] is None  # distant at first, gone at the end
    assert drips[0][1] is None and drips[-1][1] == 0.0
    assert lanes_["thunder"]["density"][-1][1] == 2.0
    # the order the words say: in, rages, passes, stops
    moments = sc.moments()
    assert [m["note"] for m in moments][1:4] == ["a thunderstorm rolls in", "rages", "passes"]
    assert not sc.loopable
    assert all("rolls" not in la.prompt and "stops" not in la.prompt for la in sc.layers)


def test_dusk_into_night_birdsong_fades_out_as_frogs_and_crickets_start():
    sc, lanes_ = lanes("a lake at dusk turning into night: birdsong fades out as the frogs and crickets start")
    assert lanes_["songbirds"]["level"][-1][1] is None
    assert lanes_["frogs"]["level"][0][1] is None and lanes_["frogs"]["level"][-1][1] == 0.0
    assert lanes_["crickets"]["level"][0][1] is None and lanes_["crickets"]["level"][-1][1] == 0.0
    moments = sc.moments()
    together = [m for m in moments if "songbirds" in m["sets"]]
    assert len(together) == 1 and "frogs" in together[0]["sets"] and "crickets" in together[0]["sets"]  # "as"
    assert all(w not in la.prompt for la in sc.layers for w in ("fades", "turning", "start"))


def test_rain_easing_off_toward_morning_and_the_dawn_chorus_comes_in():
    sc, lanes_ = lanes("rain easing off toward morning")
    assert lanes_["rain"]["level"][-1][1] == -10.0
    chorus = lanes_["dawn-chorus"]["level"]
    assert chorus[0][1] is None and chorus[-1][1] == 0.0 and chorus[1][0] >= 0.5 * 600


def test_quieter_as_you_fall_asleep_winds_every_layer_down_late():
    sc, lanes_ = lanes("rain on a tent with distant thunder, quieter as you fall asleep")
    assert [la.name for la in sc.layers] == ["rain", "thunder"]  # "fall" is never a waterfall
    assert lanes_["rain"]["level"][-1][1] == -10.0 and lanes_["thunder"]["density"][-1][1] < 1
    assert lanes_["rain"]["level"][1][0] >= 0.3 * 600


def test_sentences_without_change_have_no_timeline():
    assert plan("rain on a tin roof with distant thunder and crickets").timeline == []
    assert read_changes("a busy cafe at the start of the day").steps == []  # "the start" is a noun here


def test_the_planned_timeline_is_in_shares_so_any_duration_keeps_its_shape():
    p = plan("the wind picks up and the waves build")
    short, long_ = p.scene(duration=60).lanes(), p.scene(duration="1h").lanes()
    assert [t / 60 for t, _ in short["wind"]["level"]] == pytest.approx([t / 3600 for t, _ in long_["wind"]["level"]])


def test_the_scene_never_opens_in_silence():
    sc, lanes_ = lanes("crickets start")
    assert lanes_["crickets"]["level"][0][1] == -20.0
    assert any("starts quiet" in w for w in plan("crickets start").warnings)


def test_a_planned_timeline_is_written_to_the_scene_file_and_read_back(tmp_path):
    from ambientgen.scene.files import load_scene

    p = plan("a thunderstorm rolls in, rages, then passes")
    path = tmp_path / "storm.yaml"
    path.write_text(p.scene_text(p.scene()))
    again = load_scene(path)
    assert again.timeline == p.scene().timeline and "timeline" in path.read_text()

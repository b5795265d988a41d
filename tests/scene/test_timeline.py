"""The timeline in a scene file: moments, their validation (every problem at once), lanes, loopability."""

from __future__ import annotations

import pytest
import yaml

from ambientgen.errors import SceneError
from ambientgen.scene.schema import scene_from_dict

BASE = {"name": "t", "duration": "10m", "model": {"backend": "procedural"},
        "layers": [{"name": "rain", "prompt": "rain"}, {"name": "wind", "prompt": "wind", "width": 0.0},
                   {"name": "thunder", "prompt": "thunder", "role": "events"}]}


def scene(timeline, **more):
    return scene_from_dict({**BASE, **more, "timeline": timeline})


def test_moments_at_times_or_shares_with_default_transitions():
    sc = scene([{"at": 0, "set": {"thunder": {"level": "off"}}},
                {"at": "2m", "set": {"thunder": {"level": -3}}},
                {"at": "50%", "over": "10%", "set": {"rain": {"level": -12, "brightness": 0.5}}}])
    lanes = sc.lanes()
    assert lanes["thunder"]["level"] == [[0.0, None], [120.0, None], [150.0, -3.0], [600.0, -3.0]]  # 30 s default
    assert lanes["rain"]["level"] == [[0.0, 0.0], [300.0, 0.0], [360.0, -12.0], [600.0, -12.0]]
    assert lanes["rain"]["brightness"][-1] == [600.0, 0.5]
    assert "wind" not in lanes  # only what the timeline changes


def test_a_bare_yaml_off_is_off():
    data = yaml.safe_load("timeline:\n  - at: 0\n    set: {thunder: {level: off}}\n")  # YAML 1.1 reads off as False
    assert scene(data["timeline"]).lanes()["thunder"]["level"][0] == [0.0, None]


def test_a_timeline_that_ends_where_it_began_still_loops():
    back = scene([{"at": "10%", "set": {"rain": {"level": -10}}}, {"at": "80%", "set": {"rain": {"level": 0}}}])
    assert back.loopable and back.timeline_changes() == []
    away = scene([{"at": "10%", "set": {"rain": {"level": -10}}}])
    assert not away.loopable and away.timeline_changes() == ["rain level 0 -> -10"]
    # what an absent layer would sound like does not keep a scene from looping
    off = scene([{"at": 0, "set": {"thunder": {"level": "off"}}},
                 {"at": "20%", "set": {"thunder": {"level": 0, "density": 2}}},
                 {"at": "60%", "set": {"thunder": {"level": "off"}}}])
    assert off.loopable


def test_every_problem_is_said_at_once_one_line_each():
    with pytest.raises(SceneError) as err:
        scene([{"at": "11m", "set": {"rain": {"level": 0}}},
               {"at": "1m", "set": {"rian": {"level": 0}}},
               {"at": "2m", "over": "1m", "set": {"rain": {"level": -6}}},
               {"at": "2m30s", "set": {"rain": {"level": 0}}},
               {"at": "4m", "set": {"rain": {"density": 2}}},
               {"at": "5m", "set": {"wind": {"width": 0.8}}},
               {"at": "9m50s", "over": "1m", "set": {"rain": {"level": 0}}}])
    problems = err.value.problems
    assert any(p.startswith("timeline[0].at: must be within the duration (600 s)") for p in problems)
    assert "timeline[1].set.rian: no layer of that name (did you mean 'rain'?)" in problems
    assert any(p.startswith("timeline[3]: its transition for 'rain'") and "overlaps timeline[2]" in p
               for p in problems)
    assert "timeline[4].set.rain.density: only an events layer has a density, 'rain' is a bed" in problems
    assert any(p.startswith("timeline[5].set.wind.width") for p in problems)
    assert any(p.startswith("timeline[6].over: the transition must end by the end") for p in problems)
    assert len(problems) == 6 and all("\n" not in p for p in problems)


@pytest.mark.parametrize("change, where", [({"level": "loud"}, "level"), ({"level": 20}, "level"),
                                           ({"brightness": 2}, "brightness"), ({"levl": 0}, "levl"), ({}, "rain")])
def test_bad_values_name_their_field(change, where):
    with pytest.raises(SceneError) as err:
        scene([{"at": "1m", "set": {"rain": change}}])
    assert any(p.startswith("timeline[0].set.rain") and where in p for p in err.value.problems), err.value.problems


def test_a_share_past_100_percent_and_an_unreadable_time_are_refused():
    with pytest.raises(SceneError) as err:
        scene([{"at": "120%", "set": {"rain": {"level": 0}}}, {"at": "soon", "set": {"rain": {"level": 0}}}])
    text = str(err.value)
    assert "timeline[0].at" in text and "0% to 100%" in text and "timeline[1].at" in text


def test_shares_follow_a_new_duration():
    sc = scene([{"at": "50%", "over": "10%", "set": {"rain": {"level": -6}}}])
    longer = scene_from_dict({**sc.to_dict(), "duration": "1h"})
    assert longer.lanes()["rain"]["level"][1:3] == [[1800.0, 0.0], [2160.0, -6.0]]


def test_keeping_layers_keeps_their_moments_only():
    sc = scene([{"at": "1m", "set": {"thunder": {"level": "off"}}}, {"at": "2m", "set": {"rain": {"level": -3},
                                                                                        "thunder": {"level": 0}}}])
    kept = sc.keep_layers(["rain", "wind"])
    assert [list(m.set) for m in kept.timeline] == [["rain"]]
    assert [la.name for la in kept.layers] == ["rain", "wind"]


def test_a_scene_round_trips_with_its_timeline():
    sc = scene([{"at": "25%", "over": "1m", "note": "the storm", "set": {"rain": {"level": -3, "width": 0.9}}}])
    again = scene_from_dict(sc.to_dict())
    assert again == sc and again.moments()[0]["note"] == "the storm"

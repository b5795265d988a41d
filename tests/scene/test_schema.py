from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambientgen.errors import SceneError
from ambientgen.scene.schema import parse_duration, scene_from_dict

MINIMAL = {"name": "s", "layers": [{"name": "rain", "prompt": "rain"}]}


def with_(**changes):
    data = {**MINIMAL, "layers": [dict(layer) for layer in MINIMAL["layers"]]}
    data.update(changes)
    return data


@pytest.mark.parametrize(
    "text, seconds",
    [(90, 90.0), (1.5, 1.5), ("90", 90.0), ("90s", 90.0), ("10m", 600.0), ("1h", 3600.0), ("1h30m", 5400.0),
     ("1:30", 90.0), ("1:30:00", 5400.0), ("2m30s", 150.0), ("500ms", 0.5), (" 10M ", 600.0)],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text, message",
    [(0, "greater than 0"), (-5, "greater than 0"), ("25h", "at most 24h"), ("ten minutes", "cannot read"),
     ("", "cannot read"), (True, "must be seconds"), ([1], "must be seconds")],
)
def test_parse_duration_rejects(text, message):
    with pytest.raises(ValueError, match=message):
        parse_duration(text)


def test_defaults():
    scene = scene_from_dict(MINIMAL)
    assert scene.duration == 300 and scene.sample_rate == 48000 and scene.loop
    ldm = scene.model.settings_for("audioldm2")
    assert ldm.checkpoint == "cvssp/audioldm2" and ldm.scheduler == "dpmsolver++" and ldm.steps == 25
    assert scene.model.backend == "auto" and scene.model.model_extra == {}  # backend keys only where written
    assert scene.target_lufs == -23 and scene.true_peak_dbtp == -1


# one bad scene per row: (changes to a valid scene, the exact problem line expected)
BAD_SCENES = [
    (with_(name="my scene"), "name: must be 1-64 letters, digits, '_' or '-' (no spaces)"),
    (with_(duration="ten minutes"), "duration: cannot read 'ten minutes' as a duration"),
    (with_(duration=0), "duration: must be greater than 0 seconds, got 0"),
    (with_(duration="30h"), "duration: must be at most 24h (86400 s), got '30h'"),
    (with_(seed=-1), "seed: must be greater than or equal to 0, got -1"),
    (with_(sample_rate=44000), "sample_rate: must be one of 16000, 22050, 32000, 44100, 48000, 88200, 96000, got 44000"),
    (with_(target_lufs=3), "target_lufs: must be less than or equal to -5, got 3"),
    (with_(true_peak_dbtp=2), "true_peak_dbtp: must be less than or equal to 0, got 2"),
    (with_(targt_lufs=-23), "targt_lufs: unknown key (did you mean 'target_lufs'?)"),
    (with_(layers=[]), "layers: must list at least 1 item(s), got none"),
    (with_(layers=[{"name": "rain"}]), "layers[0]: give prompt (a sound to generate) or source (a recording to play), got neither"),
    (with_(layers=[{"name": "rain", "prompt": "   "}]), "layers[0].prompt: must not be blank"),
    (with_(layers=[{"name": "rain", "prompt": "x", "gian_db": 3}]), "layers[0].gian_db: unknown key (did you mean 'gain_db'?)"),
    (with_(layers=[{"name": "rain", "prompt": "x", "pan": 2}]), "layers[0].pan: must be less than or equal to 1, got 2"),
    (with_(layers=[{"name": "rain", "prompt": "x", "gain_db": "loud"}]), "layers[0].gain_db: must be a valid number"),
    (with_(layers=[{"name": "a", "prompt": "x"}, {"name": "a", "prompt": "y"}]), "layer names must be unique, repeated: a"),
    (with_(model={"steps": 0}), "model.steps: must be greater than or equal to 1, got 0"),
    (with_(model={"scheduler": "euler"}), "model.scheduler: must be 'dpmsolver++', 'ddim' or 'unipc', got 'euler'"),
    (with_(model={"backend": "stable-audio"}), "model.backend: must be one of auto, audioldm2, procedural, stable-audio-3, recording, got 'stable-audio'"),
    (with_(model={"backend": "procedural", "steps": 0}), "model.steps: must be greater than or equal to 1, got 0"),
    (with_(model={"chunk_s": 10, "overlap_s": 6}), "overlap_s must be at most half of chunk_s (5), got 6"),
    (with_(model={"guidence": 3}), "model.guidence: unknown key (did you mean 'guidance'?)"),
    (with_(duration=2, model={"overlap_s": 1.5}), "a looping scene must last at least twice model.overlap_s"),
    (with_(loop="sometimes"), "loop: must be a valid boolean"),
    (with_(layers=[{"name": "rain", "prompt": "x", "width": 2}]), "layers[0].width: must be less than or equal to 1, got 2"),
    (with_(model={"continuity": "smooth"}), "model.continuity: must be 'auto', 'latent' or 'crossfade', got 'smooth'"),
    (with_(layers=[{"name": "rain", "prompt": "x", "continuity": "blend"}]),
     "layers[0].continuity: must be 'auto', 'latent' or 'crossfade', got 'blend'"),
    (with_(model={"variety": 1}), "model.variety: must be greater than or equal to 2, got 1"),
    (with_(layers=[{"name": "rain", "prompt": "x", "variety": 1000}]),
     "layers[0].variety: must be less than or equal to 400, got 1000"),
    (with_(layers=[{"name": "rain", "prompt": "x", "role": "sparse"}]),
     "layers[0].role: must be 'bed' or 'events', got 'sparse'"),
    (with_(layers=[{"name": "rain", "prompt": "x", "events": {"per_minute": 2}}]),
     "layers[0]: events settings need role: events"),
    (with_(layers=[{"name": "t", "prompt": "x", "role": "events", "events": {"per_minute": 2, "wait": [10, 20]}}]),
     "layers[0].events: give per_minute or wait, not both"),
    (with_(layers=[{"name": "t", "prompt": "x", "role": "events", "events": {"wait": ["2m", "1m"]}}]),
     "layers[0].events: wait must be [min, max] with min <= max, got [120, 60]"),
    (with_(layers=[{"name": "t", "prompt": "x", "role": "events", "events": {"wait": ["soon", "1m"]}}]),
     "layers[0].events.wait: cannot read 'soon' as a duration"),
    (with_(layers=[{"name": "t", "prompt": "x", "role": "events", "events": {"wait": [10]}}]),
     "layers[0].events.wait: must list at least 2 item(s)"),
    (with_(layers=[{"name": "t", "prompt": "x", "role": "events", "events": {"per_minute": 0}}]),
     "layers[0].events.per_minute: must be greater than 0, got 0"),
    (with_(layers=[{"name": "t", "prompt": "x", "role": "events", "events": {"variatons": 3}}]),
     "layers[0].events.variatons: unknown key (did you mean 'variations'?)"),
    (with_(layers=[{"name": "w", "prompt": "x", "animate": {"depth_db": 40}}]),
     "layers[0].animate.depth_db: must be less than or equal to 24, got 40"),
    (with_(layers=[{"name": "w", "prompt": "x", "animate": {"period": "5s"}}]),
     "layers[0].animate.period: must be at least 10 s, got '5s'"),
    (with_(fade_out="2h"), "fade_in + fade_out must fit in the duration (300 s), got 0 + 7200 s"),
    (with_(fade_in=-3), "fade_in: must be greater than 0 seconds, got -3"),
]


@pytest.mark.parametrize("data, expected", BAD_SCENES, ids=[e[:40] for _, e in BAD_SCENES])
def test_bad_scene_messages(data, expected):
    with pytest.raises(SceneError) as info:
        scene_from_dict(data)
    assert any(expected in p for p in info.value.problems), info.value.problems


def test_every_problem_reported_at_once():
    data = with_(seed=-1, duration="x", layers=[{"name": "a b", "prompt": "x", "pan": 5}])
    with pytest.raises(SceneError, match="4 problems") as info:
        scene_from_dict(data, source="bad.yaml")
    assert str(info.value).startswith("bad.yaml: 4 problems: ")


values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12,
)
keys = st.sampled_from(["name", "duration", "seed", "sample_rate", "loop", "target_lufs", "true_peak_dbtp",
                        "model", "layers", "junk"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(keys, values, max_size=8))
@pytest.mark.slow
def test_fuzz_loader_only_raises_scene_errors(data):
    try:
        scene_from_dict(data)
    except SceneError as exc:
        assert str(exc)


def test_backend_settings_live_with_their_backend():
    # a scene written for the neural backend still renders offline: procedural ignores AudioLDM2's keys
    scene = scene_from_dict({**MINIMAL, "model": {"backend": "procedural", "steps": 10, "guidance": 2.5}})
    assert scene.model.settings_for("procedural").model_dump() == {}
    assert scene.model.settings_for("audioldm2").steps == 10
    with pytest.raises(SceneError, match=r"model\.steps: must be less than or equal to 1000, got 5000"):
        scene_from_dict({**MINIMAL, "model": {"steps": 5000}})

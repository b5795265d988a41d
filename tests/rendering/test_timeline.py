"""Scenes that evolve: rendered as the timeline says (levels, absent stretches not rendered, events thinned), stems
that sum to the mix, a manifest that records it, loop tags only for a timeline that closes, a REAPER session whose
envelopes play the mix, and check judging against the plan."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import ambientgen
from ambientgen.cli import commands as cli
from ambientgen.output.reaper import parse_reaper_session
from ambientgen.scene.schema import scene_from_dict

DURATION = 60.0


def evolving(**more):
    data = {"name": "evolving", "duration": DURATION, "seed": 3, "sample_rate": 16000,
            "model": {"backend": "procedural", "chunk_s": 8.0, "overlap_s": 1.0},
            "layers": [{"name": "rain", "prompt": "rain", "gain_db": -3},
                       {"name": "crickets", "prompt": "crickets at night", "gain_db": -6},
                       {"name": "thunder", "prompt": "distant thunder", "role": "events",
                        "events": {"wait": ["6s", "12s"], "variations": 6}}],
            "timeline": [{"at": 0, "set": {"crickets": {"level": "off"}}},
                         {"at": "40%", "over": "10%", "set": {"rain": {"level": -12, "brightness": 0.4},
                                                              "crickets": {"level": 0},
                                                              "thunder": {"level": "off"}}}]}
    data.update(more)
    return scene_from_dict(data)


def _lufs(x: np.ndarray, sr: int) -> float:
    import pyloudnorm

    return pyloudnorm.Meter(sr).integrated_loudness(x)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("evolving")
    return ambientgen.render(evolving(), out, cache=False)


def test_stems_follow_the_timeline_and_sum_to_the_mix(rendered):
    sr = 16000
    stems = {n: rendered.audio(n).T for n in ("rain", "crickets", "thunder")}
    rain, crickets = stems["rain"], stems["crickets"]
    # rain falls by 12 dB, crickets come in (absent before 24 s: exactly silent), thunder stops
    assert _lufs(rain[2 * sr : 22 * sr], sr) - _lufs(rain[32 * sr : 58 * sr], sr) > 9
    assert not crickets[: 24 * sr].any() and np.abs(crickets[32 * sr :]).max() > 0.01
    assert not stems["thunder"][31 * sr :].any()
    manifest = rendered.manifest
    gain = 10 ** (manifest["master_gain_db"] / 20)
    total = sum(stems.values())
    mix = rendered.audio().T
    assert manifest["limiter_reduction_db"] == 0.0  # unlimited: the stems sum to the mix exactly (24-bit)
    assert np.abs(total - mix).max() < 1e-4
    assert gain > 0


def test_an_absent_stretch_costs_no_model_time(rendered):
    layers = {e["name"]: e for e in rendered.manifest["layers"]}
    # crickets sound from 24 s on (36 s of 60): chunks for that, on their own clock
    assert layers["crickets"]["own_clock_s"] == pytest.approx(36.0)
    assert layers["crickets"]["model_calls"] < layers["rain"]["model_calls"]
    assert all(24 <= s <= DURATION for s in layers["crickets"]["seams_s"] if s > 0)


def test_the_manifest_records_the_timeline_and_a_timeline_that_does_not_close_is_no_loop(rendered):
    m = rendered.manifest
    assert m["timeline"]["closes"] is False and m["loop"] is False
    assert "the timeline ends elsewhere than it starts" in m["loop_note"] and "rain level 0 -> -12" in m["loop_note"]
    assert [x["at_s"] for x in m["timeline"]["moments"]] == [0.0, 24.0]
    assert m["timeline"]["lanes"]["crickets"]["level"][0] == [0.0, None]
    mix = next(f for f in m["files"] if f["kind"] == "mix")
    assert mix["loop"]["loopable"] is False
    assert b"smpl" not in (rendered.output / mix["path"]).read_bytes()[-4096:]
    assert rendered.passed, rendered.report.failures  # the intended changes are no defects


def test_the_reaper_session_plays_the_mix_under_volume_envelopes(rendered):
    session = parse_reaper_session((rendered.output / "evolving.RPP").read_text())
    tracks = {t["name"]: t for t in session["tracks"]}
    assert tracks["rain"]["file"] == "session/rain.flac" and tracks["rain"]["envelope"]
    sr = 16000
    for name in ("rain", "crickets"):
        flat, _ = sf.read(rendered.output / tracks[name]["file"])
        points = np.array(tracks[name]["envelope"])
        env = np.interp(np.arange(len(flat)) / sr, points[:, 0], points[:, 1])
        stem = rendered.audio(name).T
        assert np.abs(flat * env[:, None] - stem).max() < 0.01 * np.abs(stem).max(), name
    kinds = [f["kind"] for f in rendered.manifest["files"]]
    assert kinds.count("session-stem") == 3


def test_a_timeline_that_closes_still_loops_seamlessly(tmp_path):
    sc = evolving(timeline=[{"at": "20%", "over": "10%", "set": {"rain": {"level": -10}}},
                            {"at": "60%", "over": "10%", "set": {"rain": {"level": 0}}}],
                  layers=[{"name": "rain", "prompt": "rain"}])
    result = ambientgen.render(sc, tmp_path, cache=False, session=False)
    assert result.manifest["loop"] is True and result.manifest["timeline"]["closes"] is True
    assert result.report.loop is not None and result.passed, result.report.failures


def test_event_density_follows_the_timeline(tmp_path):
    sc = evolving(layers=[{"name": "drips", "prompt": "water dripping from a gutter", "role": "events",
                           "events": {"per_minute": 20, "variations": 2}}],
                  timeline=[{"at": "50%", "over": 0, "set": {"drips": {"density": 0.2}}}])
    result = ambientgen.render(sc, tmp_path, cache=False, stems=False, report=False)
    starts = [e["start_s"] for e in result.manifest["layers"][0]["events"]]
    first, second = sum(t < 30 for t in starts), sum(t >= 30 for t in starts)
    assert first >= 6 and second <= first / 2.5, starts


def test_check_still_finds_a_dropout_inside_an_evolving_scene(rendered, tmp_path):
    from ambientgen.check.report import check_file

    x, sr = sf.read(rendered.mix_path)
    x[int(40 * sr) : int(43 * sr)] *= 10 ** (-15 / 20)  # a dropout where the plan holds steady
    broken = tmp_path / "broken.wav"
    sf.write(broken, x, sr, subtype="PCM_24")
    report = check_file(broken, preset="quality", manifest=rendered.output / "manifest.json")
    assert any("sudden level change" in f for f in report.failures), report.failures
    plain = check_file(rendered.mix_path, preset="quality", manifest=rendered.output / "manifest.json")
    assert plain.level_jumps == [] and plain.gaps_s == []


def test_a_bad_timeline_is_refused_before_anything_is_written(tmp_path):
    scene = tmp_path / "bad.yaml"
    scene.write_text("name: bad\nduration: 1m\nmodel: {backend: procedural}\nlayers:\n  - {name: rain, prompt: rain}\n"
                     "timeline:\n  - {at: 2m, set: {rain: {level: 0}}}\n  - {at: 10s, set: {rian: {level: off}}}\n")
    out = tmp_path / "out"
    result = CliRunner().invoke(cli.app, ["render", str(scene), "-o", str(out)])
    assert result.exit_code == 1
    assert "timeline[0].at: must be within the duration" in result.output
    assert "timeline[1].set.rian: no layer of that name (did you mean 'rain'?)" in result.output
    assert "Traceback" not in result.output and not out.exists()

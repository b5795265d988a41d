"""Recordings as layers (``ambientgen.rendering.recordings.layers``, ``ambientgen.rendering.recordings.sources``, ``ambientgen loop``): files found and
read in pieces, excerpts arranged so the source does not recur soon, events cut at onsets, provenance, errors."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import ambientgen
from ambientgen.audio.arrange import Placement
from ambientgen.cli import commands as cli
from ambientgen.errors import SceneError
from ambientgen.rendering.recordings.excerpts import arrange_excerpts, source_recurrence
from ambientgen.rendering.recordings.layers import find_layer_sources, open_layer_sources, steady_points
from ambientgen.rendering.recordings.loop import loop_scene
from ambientgen.rendering.recordings.sources import (
    bed_problem,
    expand_source,
    find_events,
    is_uneven,
    open_source,
    read_stretch,
)
from ambientgen.scene.files import load_scene
from ambientgen.scene.schema import scene_from_dict
from tests.conftest import DATA, noise

runner = CliRunner()
SR = 48000


def _scene(layers, **extra):
    return scene_from_dict({"name": "rec", "duration": 30, "layers": layers, **extra})


def _write(path, audio, sr=SR):
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(path, np.asarray(audio).T if np.ndim(audio) == 2 else audio, sr)
    return path


# --- finding and reading files ---------------------------------------------------------------------------------

def test_a_source_names_files_folders_and_globs_in_order_without_repeats(tmp_path):
    for name in ("b.wav", "a.flac", "notes.txt"):
        (tmp_path / "recs").mkdir(exist_ok=True)
        if name.endswith(".txt"):
            (tmp_path / "recs" / name).write_text("x")
        else:
            _write(tmp_path / "recs" / name, noise(1, SR).reshape(-1))
    folder = expand_source([str(tmp_path / "recs")], where="w")
    assert [p.name for p in folder] == ["a.flac", "b.wav"]  # sorted, audio only
    assert [p.name for p in expand_source([str(tmp_path / "recs" / "*.wav"), str(tmp_path / "recs")],
                                          where="w")] == ["b.wav", "a.flac"]  # each file once, in order
    with pytest.raises(SceneError, match=r"^w: no such file: .*gone.wav$"):
        expand_source([str(tmp_path / "gone.wav")], where="w")


def test_relative_sources_are_read_from_the_scene_files_folder(tmp_path):
    _write(tmp_path / "recs" / "rain.wav", noise(4, SR).reshape(-1))
    (tmp_path / "scenes").mkdir()
    (tmp_path / "scenes" / "s.yaml").write_text("name: s\nlayers:\n  - {name: rain, source: ../recs/rain.wav}\n")
    scene = load_scene(tmp_path / "scenes" / "s.yaml")
    assert find_layer_sources(scene)["rain"][0].resolve() == (tmp_path / "recs" / "rain.wav").resolve()


def test_opening_a_file_gives_its_provenance_in_one_pass(tmp_path):
    path = _write(tmp_path / "st.flac", noise(3, 44100, channels=2) * 0.3, 44100)
    src = open_source(path, where="w")
    facts = src.provenance()
    assert facts["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (facts["sample_rate"], facts["channels"], facts["duration_s"]) == (44100, 2, 3.0)
    assert len(src.level_db) == pytest.approx(3 / 0.05, abs=1)
    assert read_stretch(src, 44100, 2 * 44100).shape == (2, 44100)  # stereo stays stereo, only what is asked


def test_flat_tops_are_clipping_but_hot_float_samples_are_not(tmp_path):
    t = np.arange(2 * SR) / SR
    clipped = _write(tmp_path / "c.wav", np.clip(1.5 * np.sin(2 * np.pi * 50 * t), -1, 1))
    hot = tmp_path / "h.wav"
    sf.write(hot, 1.5 * np.sin(2 * np.pi * 50 * t), SR, subtype="FLOAT")  # over full scale, but not flattened
    warning = open_source(clipped, where="w").clip_warning("bed")
    assert warning.startswith("layer 'bed': c.wav is clipped (") and "runs of full-scale samples" in warning
    assert open_source(hot, where="w").clip_warning("bed") is None


def test_more_than_two_channels_fold_to_stereo(tmp_path):
    quad = np.stack([np.full(SR, v) for v in (0.1, 0.2, 0.3, 0.4)])
    src = open_source(_write(tmp_path / "q.wav", quad, SR), where="w")
    left, right = read_stretch(src, 0, 100)
    assert left[0] == pytest.approx(0.2, abs=1e-3) and right[0] == pytest.approx(0.3, abs=1e-3)


# --- what a recording is -----------------------------------------------------------------------------------------

def test_thunder_over_silence_is_events_not_a_bed_and_steady_recordings_are_beds():
    storm = open_source(DATA / "storm_redeclipse.ogg", where="w")
    assert "is separate sounds with silence between (42% of it is silence, its floor -81 dBFS), with no bed to " \
           "continue: use it as role: events" in bed_problem(storm, min_s=3)
    for name in ("rain_redeclipse", "river_stk", "waterfall_stk", "cicadas_redeclipse", "birds_stk", "cafe_stk"):
        src = open_source(DATA / f"{name}.ogg", where="w")
        assert bed_problem(src, min_s=3) is None and not is_uneven(src), name


def test_thunder_over_a_floor_is_an_uneven_bed_not_refused(tmp_path):
    """An ordinary thunder ambience (rolls over rain, lulls between): a bed, resynthesised from its floor."""
    storm, sr = sf.read(DATA / "storm_redeclipse.ogg", dtype="float32")
    floor = 0.002 * np.random.default_rng(0).standard_normal(len(storm)).astype(np.float32)  # -54 dBFS of hiss
    src = open_source(_write(tmp_path / "thunder.wav", 0.8 * storm + floor, sr), where="w")
    assert bed_problem(src, min_s=3) is None and is_uneven(src)


def test_events_are_cut_at_their_onsets_and_end_when_they_have_decayed(tmp_path):
    rng = np.random.default_rng(0)
    audio = 0.003 * rng.standard_normal(30 * SR)
    onsets = [4.0, 13.0, 22.5]
    for at in onsets:
        n = 2 * SR
        audio[int(at * SR) : int(at * SR) + n] += 0.5 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.25 * SR))
    src = open_source(_write(tmp_path / "e.wav", audio), where="w")
    cuts = find_events(src, limit=6)
    assert len(cuts) == 3
    for (a, b), at in zip(cuts, onsets):
        assert a / SR == pytest.approx(at - 0.1, abs=0.1)  # 100 ms before the onset
        assert 0.5 < (b - a) / SR < 3.0  # ends when decayed, long before the next one
    assert len(find_events(src, limit=2)) == 2  # the strongest, in time order


def test_the_storm_recording_gives_its_thunderclaps():
    storm = open_source(DATA / "storm_redeclipse.ogg", where="w")
    starts = [a / storm.sample_rate for a, _ in find_events(storm, limit=6)]
    assert any(abs(s - 26.5) < 0.5 for s in starts) and len(starts) >= 2


def test_steady_points_avoid_onsets():
    rng = np.random.default_rng(1)
    frame = 1024
    power = np.full(600, 1e-3) * rng.uniform(0.8, 1.2, 600)
    power[300:310] = 1.0  # a loud onset at frame 300
    points = steady_points(power, 48000, frame=frame, sample_rate=SR) // frame
    fade_frames = 48000 // frame
    assert not any(p <= 302 <= p + fade_frames + 2 for p in points)  # no fade covers it
    assert len(points) > 0.5 * 600 / 4  # steady material keeps most positions


# --- arranging excerpts ---------------------------------------------------------------------------------------

def _check_arrangement(arr, tiles, overlap, total):
    assert sum(p.length for p in arr.placements) == total
    assert all(p.offset >= 0 and p.offset + p.length + overlap <= tiles[p.tile] for p in arr.placements)
    assert [p.start for p in arr.placements] == list(np.cumsum([0] + [p.length for p in arr.placements[:-1]]))


@pytest.mark.parametrize("loop", [True, False])
def test_ample_material_keeps_every_source_stretch_apart_by_the_rule(loop):
    sr = 100  # samples per second: the arrangement only counts samples
    tiles, overlap, total = [200 * sr, 90 * sr], 1 * sr, 3600 * sr
    points = [np.arange(0, n, 37) for n in tiles]
    arr = arrange_excerpts(tiles=tiles, cut_points=points, overlap=overlap, total=total, loop=loop,
                           rng=np.random.default_rng(3), lengths=(6 * sr, 16 * sr), min_gap=90 * sr, bin=sr // 4)
    _check_arrangement(arr, tiles, overlap, total)
    recur = source_recurrence(arr.placements, overlap=overlap, total=total, loop=loop, bin=sr // 4)
    assert arr.spacing_met and recur.min_interval >= 90 * sr - sr // 4
    assert all(p.offset in set(points[p.tile]) for p in arr.placements)  # starts at the points given
    again = arrange_excerpts(tiles=tiles, cut_points=points, overlap=overlap, total=total, loop=loop,
                             rng=np.random.default_rng(3), lengths=(6 * sr, 16 * sr), min_gap=90 * sr, bin=sr // 4)
    assert again.placements == arr.placements  # deterministic for a seed


def _longest_replay(placements, window, step):
    """Brute force: the source position every ``step`` samples (each excerpt's own part, fades aside), and the
    longest run over which the audio equals the audio ``lag`` earlier, for every lag under ``window``."""
    times, where = [], []
    for p in placements:
        for tau in range(p.start, p.start + p.length, step):
            times.append(tau)
            where.append((p.tile, p.offset + tau - p.start))
    longest = 0
    for lag_steps in range(1, window // step):
        run = 0
        for k in range(lag_steps, len(where)):
            a, b = where[k], where[k - lag_steps]
            same = a[0] == b[0] and abs(a[1] - b[1]) < step and times[k] - times[k - lag_steps] < window
            run = run + step if same else 0
            longest = max(longest, run)
    return longest


def test_scarce_material_reports_what_it_achieved_and_replays_no_long_stretch_soon():
    sr = 20  # samples per second: the arrangement only counts samples
    tiles, overlap, total = [11 * sr], sr, 300 * sr
    arr = arrange_excerpts(tiles=tiles, cut_points=[np.arange(0, 11 * sr, 2)], overlap=overlap, total=total,
                           loop=True, rng=np.random.default_rng(0), lengths=(25, 50), min_gap=4 * sr, bin=5,
                           join_window=65 * sr, join_limit=4 * sr)
    _check_arrangement(arr, tiles, overlap, total)
    recur = source_recurrence(arr.placements, overlap=overlap, total=total, loop=True, bin=5)
    assert 0 < recur.min_interval < 11 * sr  # every second of 11 s comes back sooner than 11 s: said, not hidden
    assert arr.spacing_met == (recur.min_interval >= 4 * sr - 5)
    assert _longest_replay(arr.placements, 65 * sr, 2) < 4 * sr  # no stretch of 4 s heard again within 65 s
    unguarded = arrange_excerpts(tiles=tiles, cut_points=[np.arange(0, 11 * sr, 2)], overlap=overlap, total=total,
                                 loop=True, rng=np.random.default_rng(0), lengths=(25, 50), min_gap=4 * sr, bin=5)
    assert _longest_replay(unguarded.placements, 65 * sr, 2) >= 4 * sr  # the rule is what prevents it


def test_source_recurrence_counts_overlapping_excerpts_not_tile_indices():
    sr = 10
    # two excerpts of one tile from overlapping stretches (source 10..60, then 12..62): every source sample they
    # share plays twice, 48 apart (source s at s - 10, then at 50 + s - 12), though no excerpt is the other
    placements = [Placement(0, 0, 10, 50), Placement(0, 50, 12, 50)]
    recur = source_recurrence(placements, overlap=0, total=100, loop=False, bin=sr)
    assert recur.min_interval == 48 and recur.at_tile == 0
    assert source_recurrence([Placement(0, 0, 0, 50), Placement(1, 50, 0, 50)], overlap=0, total=100, loop=True,
                             bin=sr).min_interval is None


# --- rendering -----------------------------------------------------------------------------------------------------

def test_a_recording_layer_renders_without_any_model_and_records_its_provenance(tmp_path):
    scene = _scene([{"name": "river", "source": str(DATA / "river_stk.ogg")}], duration=40)
    messages = []
    result = ambientgen.render(scene, tmp_path / "o", cache=False, report=False, session=False,
                               on_message=lambda level, text: messages.append((level, text)))
    m = result.manifest
    assert result.choice.backend == "recording" and not any("backend:" in t for _, t in messages)
    layer = m["layers"][0]
    assert (layer["rendered_by"], layer["prompt"], layer["model_calls"]) == ("recording", None, 0)
    src = layer["sources"][0]
    assert src["sha256"] == hashlib.sha256((DATA / "river_stk.ogg").read_bytes()).hexdigest()
    assert (src["sample_rate"], src["channels"]) == (48000, 1) and src["duration_s"] == pytest.approx(15.55, abs=0.01)
    assert m["frames"] == 40 * 48000
    # 15.6 s is too little to arrange as excerpts without replay: the bed is resynthesised, with no warning
    texture = layer["texture"]
    assert texture["why"] == "15.6 s of recording, under the 122 s excerpts need"
    assert texture["material_s"] == pytest.approx(15.55, abs=0.01) and texture["grains"] >= 2 * 40 / 2.5
    assert "pool" not in layer and not any("too little" in t for _, t in messages)


def test_a_stereo_recording_keeps_its_two_channels(tmp_path):
    rng = np.random.default_rng(5)
    left = rng.standard_normal(20 * SR) * 0.1
    path = _write(tmp_path / "st.wav", np.stack([left, np.zeros_like(left)]))
    scene = _scene([{"name": "st", "source": str(path), "width": 0.5}], duration=20)
    result = ambientgen.render(scene, tmp_path / "o", cache=False, report=False, session=False)
    mix = result.audio()
    assert np.sqrt(np.mean(mix[1] ** 2)) < 0.01 * np.sqrt(np.mean(mix[0] ** 2))  # the silent right stays silent
    assert result.manifest["layers"][0]["source_channels"] == 2


def test_a_long_recording_is_read_in_stretches_not_whole(tmp_path, monkeypatch):
    import ambientgen.rendering.recordings.sources as recordings

    path = _write(tmp_path / "long.wav", noise(120, 16000).reshape(-1) * 0.2, 16000)
    monkeypatch.setattr(recordings, "MAX_MATERIAL_S", 30.0)
    monkeypatch.setattr(recordings, "REGION_S", 10.0)
    reads = []
    real = sf.read

    def spy(file, *args, **kwargs):
        reads.append((kwargs.get("start"), kwargs.get("stop")))
        return real(file, *args, **kwargs)

    monkeypatch.setattr(sf, "read", spy)
    scene = _scene([{"name": "long", "source": str(path)}], duration=60)
    result = ambientgen.render(scene, tmp_path / "o", cache=False, report=False, session=False, stems=False)
    assert len(reads) == 3 and all(b - a == 10 * 16000 for a, b in reads)  # three 10 s stretches ...
    assert sorted(a for a, _ in reads)[-1] > 60 * 16000  # ... spread over the whole file
    assert result.manifest["layers"][0]["texture"]["material_s"] == pytest.approx(30.0)


def test_events_from_a_folder_of_one_shots_play_each_file(tmp_path):
    rng = np.random.default_rng(2)
    for k in range(3):
        shot = np.zeros(SR)
        shot[1000 : 1000 + SR // 2] = rng.standard_normal(SR // 2) * np.exp(-np.arange(SR // 2) / 4000) * 0.5
        _write(tmp_path / "shots" / f"shot{k}.wav", shot)
    scene = _scene([{"name": "bed", "source": str(DATA / "rain_redeclipse.ogg")},
                    {"name": "knocks", "source": str(tmp_path / "shots"), "role": "events",
                     "events": {"per_minute": 10}}], duration=60)
    result = ambientgen.render(scene, tmp_path / "o", cache=False, report=False, session=False)
    layer = result.manifest["layers"][1]
    assert [o["cut"] for o in layer["variation_sources"]] == ["whole file"] * 3
    assert len(layer["sources"]) == 3 and layer["events"] and layer["waits_met"]
    assert max(layer["variation_s"]) < 0.7  # trimmed to the event, not the file's silence


def test_events_cut_from_one_long_recording(tmp_path):
    scene = _scene([{"name": "thunder", "source": str(DATA / "storm_redeclipse.ogg"), "role": "events",
                     "events": {"per_minute": 2}}], duration=60)
    result = ambientgen.render(scene, tmp_path / "o", cache=False, report=False, session=False)
    layer = result.manifest["layers"][0]
    assert len(layer["variation_sources"]) >= 2 and all(o["cut"] == "onset" for o in layer["variation_sources"])


def test_validate_says_what_plays_each_recording_layer_and_a_prompt_cannot_go_to_the_recording_backend(tmp_path):
    scene = _scene([{"name": "rain", "source": str(DATA / "rain_redeclipse.ogg")}])
    found = ambientgen.validate_scene(scene)
    assert found.renders == {"rain": "recording: 1 file, 9.4 s (rain_redeclipse.ogg)"}
    bad = _scene([{"name": "wind", "prompt": "wind"}], model={"backend": "recording"})
    with pytest.raises(ambientgen.AmbientgenError, match="backend recording has no generator for layer.s. 'wind'; the "
                                                         "recording backend plays recordings: give such a layer "
                                                         "source: FILE"):
        ambientgen.render(bad, tmp_path / "o", cache=False)


def test_every_problem_of_every_recording_layer_is_said_at_once(tmp_path):
    scene = _scene([{"name": "a", "source": str(tmp_path / "x.wav")}, {"name": "b", "source": str(tmp_path / "y.wav")}])
    with pytest.raises(SceneError) as info:
        open_layer_sources(scene)
    assert info.value.problems == [f"layers[0].source: no such file: {tmp_path / 'x.wav'}",
                                   f"layers[1].source: no such file: {tmp_path / 'y.wav'}"]


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    scene = _scene([{"name": "rain", "source": str(DATA / "rain_redeclipse.ogg")}], duration=20)
    shas = [ambientgen.render(scene, tmp_path / f"o{k}", cache=False, report=False, session=False,
                              stems=False).manifest["files"][0]["sha256"] for k in range(2)]
    other = ambientgen.render(scene.model_copy(update={"seed": 1}), tmp_path / "o2", cache=False, report=False,
                              session=False, stems=False).manifest["files"][0]["sha256"]
    assert shas[0] == shas[1] != other


# --- ambientgen loop -----------------------------------------------------------------------------------------------

def test_loop_scene_is_one_looping_layer_named_after_the_file():
    scene = loop_scene(DATA / "river_stk.ogg", duration="2m", seed=4)
    assert (scene.name, scene.duration, scene.seed, scene.loop) == ("river_stk", 120.0, 4, True)
    assert scene.layers[0].source == [str((DATA / "river_stk.ogg").absolute())]


@pytest.mark.slow
def test_the_loop_command_turns_a_recording_into_a_checked_loop(tmp_path):
    shutil.copy(DATA / "waterfall_stk.ogg", tmp_path / "fall.ogg")
    out = tmp_path / "o"
    result = runner.invoke(cli.app, ["loop", str(tmp_path / "fall.ogg"), "--duration", "2m", "-o", str(out), "-q"])
    assert result.exit_code == 0, result.output
    assert "check: PASS" in result.stdout and "14.9 s of recording resynthesised" in result.stdout
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["loop"] and manifest["frames"] == 120 * 48000
    assert sf.info(str(out / "fall.wav")).frames == 120 * 48000
    report = json.loads((out / "fall.check.json").read_text())
    assert report["passed"] and report["repetition"] is None and abs(report["integrated_lufs"] + 23) < 0.3


@pytest.mark.slow
def test_a_scene_mixes_a_recording_a_generated_layer_and_an_event_folder(tmp_path):
    rng = np.random.default_rng(7)
    for k in range(4):
        shot = np.zeros(SR)
        shot[500 : 500 + SR // 3] = rng.standard_normal(SR // 3) * np.exp(-np.arange(SR // 3) / 3000) * 0.4
        _write(tmp_path / "drops" / f"d{k}.wav", shot)
    (tmp_path / "s.yaml").write_text(f"""name: mixed
duration: 2m
model: {{backend: procedural}}
layers:
  - {{name: river, source: {DATA / 'river_stk.ogg'}}}
  - {{name: wind, prompt: gentle wind in trees, gain_db: -10}}
  - {{name: drops, source: drops, role: events, events: {{per_minute: 6}}, gain_db: -6}}
""")
    result = ambientgen.render(tmp_path / "s.yaml", tmp_path / "o", cache=False)
    by = {la["name"]: la["rendered_by"] for la in result.manifest["layers"]}
    assert by == {"river": "recording", "wind": "wind trees=True", "drops": "recording"}
    assert result.manifest["loop"] and result.passed, result.report.failures


@pytest.mark.slow
def test_a_recording_longer_than_the_rule_is_played_in_long_excerpts_and_checks(tmp_path):
    from scipy.signal import lfilter

    rng = np.random.default_rng(11)
    n = 200 * 16000
    pink = lfilter([0.049922035, -0.095993537, 0.050612699, -0.004408786], [1, -2.494956002, 2.017265875,
                                                                              -0.522189400], rng.standard_normal(n))
    swell = 10 ** (4 * np.sin(2 * np.pi * np.arange(n) / (16000 * 11.0)) / 20)  # a level that moves: +-4 dB
    path = _write(tmp_path / "surf.wav", 0.1 * pink * swell / np.abs(pink).max(), 16000)
    result = ambientgen.loop(path, tmp_path / "o", duration="5m", stems=False, session=False)
    layer = result.manifest["layers"][0]
    pool = layer["pool"]
    sr = result.manifest["sample_rate"]
    placements = [Placement(0, round(a["start_s"] * sr), round(a["offset_s"] * sr), round(a["length_s"] * sr))
                  for a in layer["arrangement"]]
    lengths = [p.length / sr for p in placements]
    recur = source_recurrence(placements, overlap=round(pool["crossfade_s"] * sr), total=300 * sr, loop=True,
                              bin=sr // 4)
    assert recur.min_interval / sr == pytest.approx(pool["min_source_recurrence_s"], abs=0.05)  # what it says
    assert pool["min_source_recurrence_s"] >= 60 and pool["recurrence_met"] == (pool["min_source_recurrence_s"] >= 89.75)
    assert np.median(lengths) >= 6  # long excerpts: the material is ample
    assert result.passed and result.report.repetition is None, result.report.failures

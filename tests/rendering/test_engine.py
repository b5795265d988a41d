from __future__ import annotations

import numpy as np
import pytest

from ambientgen.audio.streams import Mix
from ambientgen.output.master import assemble
from ambientgen.rendering.chunk_plan import chunk_count, make_plan
from ambientgen.rendering.engine import render_layer, render_layers
from tests.conftest import render_manifest, small_scene


@pytest.mark.parametrize(
    "duration, loop, expected",
    [(12, True, 3), (12, False, 3), (4.12, False, 1), (4.0, True, 1), (60, True, 15), (8.24, False, 2)],
)
def test_chunk_count_covers_duration(duration, loop, expected):
    n = chunk_count(duration_s=duration, chunk_s=5.12, overlap_s=1.0, loop=loop)
    assert n == expected
    covered = n * (5.12 - 1.0) + 1.0
    assert covered >= duration + (1.0 if loop else 0.0) - 1e-9


def test_plan_seeds_depend_on_scene_seed_layer_and_index():
    plan = make_plan(small_scene(), max_chunk_s=10.24)
    rain, birds = plan.layers
    assert len(rain.seeds) == 3 and len(set(rain.seeds + birds.seeds)) == 6
    assert make_plan(small_scene(), max_chunk_s=10.24) == plan
    other = make_plan(small_scene(seed=6), max_chunk_s=10.24)
    assert set(other.layers[0].seeds).isdisjoint(rain.seeds)
    assert rain.negative_prompt == "Low quality."  # the scene default applies when a layer sets none


def test_plan_caps_chunks_at_backend_maximum():
    plan = make_plan(small_scene(model={"chunk_s": 30.0, "overlap_s": 2.0}), max_chunk_s=10.24)
    assert plan.layers[0].chunk_s == 10.24


def test_render_layer_latent_path(tiny_backend):
    plan = make_plan(small_scene(), max_chunk_s=tiny_backend.max_duration_s)
    res = render_layer(plan.layers[0], tiny_backend, duration_s=12, loop=True)
    assert res.method == "latent"
    assert res.audio.shape == (1, 12 * 16000) and res.model_calls == 3
    # three circular windows of 128 latent frames over 300: overlaps centred at 14, 114 and 214 frames (25 per s)
    assert res.seams_s == [0.0, 0.56, 4.56, 8.56]
    assert res.seam_report[0]["method"] == "loop" and {r["method"] for r in res.seam_report[1:]} == {"latent"}


def test_render_layer_crossfade_path(tiny_backend):
    plan = make_plan(small_scene(model={"continuity": "crossfade"}), max_chunk_s=tiny_backend.max_duration_s)
    res = render_layer(plan.layers[0], tiny_backend, duration_s=12, loop=True)
    assert res.method == "crossfade" and res.audio.shape == (1, 12 * 16000) and res.model_calls == 3
    # seam-aware: each fade sits somewhere inside its 1 s overlap, starting at k * 4.12 s
    assert res.seams_s[0] == 0.0 and len(res.seams_s) == 3
    for k, t in enumerate(res.seams_s[1:], start=1):
        assert k * 4.12 <= t <= k * 4.12 + 1.0


@pytest.mark.slow
def test_mix_lengths_levels_and_stems_sum(tiny_backend):
    scene = small_scene()
    plan = make_plan(scene, max_chunk_s=tiny_backend.max_duration_s)
    layers = render_layers(scene, plan, tiny_backend)
    mix = Mix([layer.stream for layer in layers], 576000, True)
    blocks, stems = [], {"rain": [], "birds": []}
    report = assemble(mix, sample_rate=48000, target_lufs=-20, ceiling_dbtp=-1, sinks=[blocks.append],
                      stem_sinks=[stems["rain"].append, stems["birds"].append], layer_names=["rain", "birds"],
                      block=100_000)
    out = np.concatenate(blocks, axis=1)
    stems = {k: np.concatenate(v, axis=1) for k, v in stems.items()}
    assert out.shape == (2, 576000) and all(s.shape == (2, 576000) for s in stems.values())
    assert report.integrated_lufs == pytest.approx(-20, abs=0.1)
    if not report.limited:  # without limiting the stems sum exactly to the mix
        np.testing.assert_allclose(sum(stems.values()), out, atol=1e-5)


@pytest.mark.slow
def test_render_scene_writes_everything(tiny_backend, tmp_path):
    events = []
    manifest = render_manifest(small_scene(), tiny_backend, tmp_path / "out", on_progress=events.append)
    names = sorted(f["path"] for f in manifest["files"])
    assert names == ["stems/birds.wav", "stems/rain.wav", "test-scene.RPP", "test-scene.wav"]
    assert (tmp_path / "out" / "manifest.json").is_file()
    # latent path: progress counts denoising steps of the layer's one latent
    assert [(e.done, e.total, e.unit) for e in events if e.layer == "rain"] == [(1, 2, "steps"), (2, 2, "steps")]
    for key in ("target_lufs", "true_peak_dbtp", "integrated_lufs"):
        assert isinstance(manifest[key], float)
    for layer in manifest["layers"]:
        assert {"name", "prompt", "seeds", "seams_s", "model_calls"} <= set(layer)
        assert layer["model_calls"] == 3
    assert manifest["stats"]["text_encodes"] == 2


def test_public_render_is_the_function_after_the_engine_is_imported():
    import ambientgen
    import ambientgen.rendering.engine  # noqa: F401

    assert callable(ambientgen.render) and ambientgen.render.__module__ == "ambientgen.rendering.pipeline"


def _procedural_scene(**overrides):
    from ambientgen.scene.schema import scene_from_dict

    data = {
        "name": "pool-scene", "duration": 120, "seed": 9, "loop": True,
        "model": {"backend": "procedural", "variety": 6},
        "layers": [
            {"name": "rain", "prompt": "steady rain on leaves", "gain_db": -3, "animate": {"depth_db": 4, "period": 40}},
            {"name": "thunder", "prompt": "distant thunder", "role": "events",
             "events": {"wait": ["20s", "40s"], "variations": 3}},
        ],
    }
    data.update(overrides)
    return scene_from_dict(data)


def test_plan_uses_a_pool_when_the_duration_needs_more_chunks_than_the_variety():
    plan = make_plan(_procedural_scene(), max_chunk_s=60)
    rain, thunder = plan.layers
    assert rain.kind == "pool" and len(rain.seeds) == 6
    assert thunder.kind == "events" and len(thunder.seeds) == 3
    short = make_plan(_procedural_scene(duration=40), max_chunk_s=60)
    assert short.layers[0].kind == "stream" and len(short.layers[0].seeds) == 5  # 5 chunks <= variety: whole


@pytest.mark.slow
def test_pool_and_event_layers_render_bounded_calls_and_repeat_exactly(tmp_path):
    from ambientgen.backends.procedural import ProceduralBackend

    scene = _procedural_scene()
    manifest = render_manifest(scene, ProceduralBackend(), tmp_path / "a", stems=True)
    rain, thunder = manifest["layers"]
    # naive: 120 s in 12 s chunks joined by the procedural backend's 3 s fades
    assert rain["kind"] == "pool" and rain["model_calls"] == 6 and rain["naive_model_calls"] == 14
    # 6 tiles (~40 s of material) cannot keep a tile 90 s from itself: the manifest says what was kept instead
    assert rain["pool"]["pairs_unique"] and not rain["pool"]["spacing_met"]
    assert 0 <= rain["pool"]["min_recurrence_s"] < 90 and rain["pool"]["min_spacing"] >= 1
    assert sum(p["length_s"] for p in rain["arrangement"]) == pytest.approx(120, abs=1e-3)
    assert len(rain["seams_s"]) == len(rain["arrangement"]) + 1 and rain["seams_s"][0] == 0.0  # + the loop point
    assert thunder["kind"] == "events" and thunder["model_calls"] == 3 and thunder["waits_met"]
    starts = sorted(e["start_s"] for e in thunder["events"])
    waits = np.diff(starts + [starts[0] + 120])
    assert waits.min() >= 20 - 1e-3 and waits.max() <= 40 + 1e-3
    assert manifest["stats"]["model_calls_per_layer"] == {"rain": 6, "thunder": 3}
    assert manifest["integrated_lufs"] == pytest.approx(-23, abs=0.05) and manifest["loop"] is True
    import soundfile as sf

    mix, sr = sf.read(tmp_path / "a" / "pool-scene.wav", dtype="float32")
    assert mix.shape == (120 * 48000, 2)
    stems = sum(sf.read(tmp_path / "a" / "stems" / f"{n}.wav", dtype="float32")[0] for n in ("rain", "thunder"))
    if manifest["limiter_reduction_db"] == 0:
        np.testing.assert_allclose(stems, mix, atol=2e-4)  # 24-bit stems sum to the 24-bit mix
    again = render_manifest(scene, ProceduralBackend(), tmp_path / "b", stems=False)
    assert (tmp_path / "b" / "pool-scene.wav").read_bytes() == (tmp_path / "a" / "pool-scene.wav").read_bytes()
    assert again["layers"][0]["arrangement"] == rain["arrangement"]


@pytest.mark.slow
def test_fades_make_a_sleep_timer_that_does_not_loop(tmp_path):
    from ambientgen.backends.procedural import ProceduralBackend
    from ambientgen.output.formats import read_riff_chunks

    scene = _procedural_scene(duration=60, fade_in="5s", fade_out="20s")
    manifest = render_manifest(scene, ProceduralBackend(), tmp_path, stems=False)
    assert manifest["loop"] is False and "fade" in manifest["loop_note"]
    assert manifest["files"][0]["loop"]["loopable"] is False
    assert b"smpl" not in read_riff_chunks(tmp_path / "pool-scene.wav")
    import soundfile as sf

    mix, sr = sf.read(tmp_path / "pool-scene.wav", dtype="float32")
    assert np.abs(mix[:480]).max() < 1e-3 and np.abs(mix[-480:]).max() < 1e-3
    assert np.abs(mix[-20 * sr : -19 * sr]).max() > 10 * np.abs(mix[-sr // 2 :]).max()


@pytest.mark.slow
def test_latent_pool_tiles_chain_two_windows(tiny_backend, tmp_path):
    scene = small_scene(duration=30, model={"variety": 4})
    manifest = render_manifest(scene, tiny_backend, tmp_path, stems=False)
    for layer in manifest["layers"]:
        assert layer["kind"] == "pool" and layer["continuity"] == "latent" and layer["model_calls"] == 4
        assert layer["pool"]["tiles"] == 2 and layer["pool"]["tile_s"] == pytest.approx(2 * 5.12 - 1.0)
    assert manifest["frames"] == 30 * 48000


def test_layers_finished_in_the_background_equal_direct_ones():
    """The chunks joined, placed and reported on in the background: the same audio and the same seam report as a
    direct call, there once wait() returns."""
    from ambientgen.audio.streams import render_block
    from ambientgen.backends import load_backend
    from ambientgen.rendering.engine import LayerFinisher, render_stream_layer

    scene = small_scene(duration=40, model={"backend": "procedural"})
    backend = load_backend(scene.model)
    plan = make_plan(scene, max_chunk_s=backend.max_duration_s)
    layer = plan.layers[0]
    direct = render_stream_layer(scene, layer, backend)
    finisher = LayerFinisher()
    later = render_stream_layer(scene, layer, backend, finisher=finisher)
    assert later.seam_report == []  # filled in by wait()
    assert later.seams_s == direct.seams_s and later.model_calls == direct.model_calls
    finisher.wait()
    assert direct.seam_report and later.seam_report == direct.seam_report
    total = 40 * 48000
    np.testing.assert_array_equal(render_block(later.stream, 0, total, total=total, loop=True),
                                  render_block(direct.stream, 0, total, total=total, loop=True))


@pytest.mark.parametrize("last", [False, True])
def test_the_last_layer_is_placed_beside_its_seam_report(monkeypatch, last):
    """Once no layer is left to render (wait() was called), a layer's placement runs in a thread beside its seam
    report; before that, one after the other in the finisher's thread. The same audio and report either way."""
    import threading

    from ambientgen.audio.streams import render_block
    from ambientgen.backends import load_backend
    from ambientgen.rendering import engine
    from ambientgen.rendering.engine import LayerFinisher, render_stream_layer

    scene = small_scene(duration=40, model={"backend": "procedural"})
    backend = load_backend(scene.model)
    layer = make_plan(scene, max_chunk_s=backend.max_duration_s).layers[0]
    direct = render_stream_layer(scene, layer, backend)
    placed_in = []
    real = engine._placed_stream

    def placed(*args):
        placed_in.append(threading.current_thread().name)
        return real(*args)

    monkeypatch.setattr(engine, "_placed_stream", placed)
    finisher = LayerFinisher()
    gate = threading.Event()
    finisher.submit(type("Out", (), {"seam_report": None})(), lambda: gate.wait(5) and None, loop=False)
    later = render_stream_layer(scene, layer, backend, finisher=finisher)
    if not last:  # the layer's work done before wait(): more layers could have followed
        gate.set()
        finisher._pending[-1][1].result()
    threading.Timer(0.2, gate.set).start()
    with pytest.raises(AttributeError):  # the gate's result has no audio: wait() raises it, after the layer's work
        finisher.wait()
    assert placed_in and placed_in[0].startswith("layer-place" if last else "layer-finish")
    assert later.seam_report == [] and finisher._pending[-1][1].result() == direct.seam_report
    total = 40 * 48000
    np.testing.assert_array_equal(render_block(later.stream, 0, total, total=total, loop=True),
                                  render_block(direct.stream, 0, total, total=total, loop=True))


def test_a_failure_in_the_background_is_raised_by_wait():
    from ambientgen.rendering.engine import LayerFinisher

    finisher = LayerFinisher()
    finisher.submit(object(), lambda: 1 / 0, loop=False)
    with pytest.raises(ZeroDivisionError):
        finisher.wait()

def test_room_waits_until_only_the_last_layers_work_is_left():
    """A layer's chunks are rendered only once no earlier layer's work is still waiting: a cached render, whose
    chunks come faster than they are joined, holds two layers' chunks at most."""
    import threading

    from ambientgen.rendering.engine import LayerFinisher

    gate, order = threading.Event(), []

    class Out:
        seam_report = None

    def first():
        gate.wait(5)
        order.append("first")
        raise _Stop

    finisher = LayerFinisher()
    finisher.submit(Out(), first, loop=False)
    finisher.room()  # only one piece of work: nothing to wait for
    def second():
        order.append("second")
        raise _Stop

    finisher.submit(Out(), second, loop=False)
    threading.Timer(0.2, gate.set).start()
    with pytest.raises(_Stop):
        finisher.room()  # waits for the first (and says what it raised)
    assert order[0] == "first"
    finisher.cancel()


class _Stop(Exception):
    pass

from __future__ import annotations

import numpy as np
import pytest

from ambientgen.assemble import Mix, assemble
from ambientgen.engine import chunk_count, make_plan, render_layer, render_layers, render_scene

from .conftest import small_scene


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


def test_render_scene_writes_everything(tiny_backend, tmp_path):
    events = []
    manifest = render_scene(small_scene(), tiny_backend, tmp_path / "out", on_progress=events.append)
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
    import ambientgen.engine  # noqa: F401

    assert callable(ambientgen.render) and ambientgen.render.__module__ == "ambientgen"

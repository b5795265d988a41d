from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from typer.testing import CliRunner

from ambientgen.backends.base import ChunkRequest
from ambientgen.backends.procedural import ProceduralBackend
from ambientgen.cli import commands as cli
from ambientgen.rendering.cache import CachedBackend, RenderCache, request_key
from ambientgen.scene.files import dump_scene
from ambientgen.scene.schema import scene_from_dict
from tests.conftest import ROOT, TEST_STEPS, render_manifest

runner = CliRunner()


def scene(**overrides):
    data = {"name": "cached", "duration": 40, "seed": 3, "loop": True, "model": {"backend": "procedural"},
            "layers": [{"name": "rain", "prompt": "light rain on a window"},
                       {"name": "birds", "prompt": "songbirds at dawn", "gain_db": -6, "pan": 0.3}]}
    data.update(overrides)
    return scene_from_dict(data)


def test_entries_round_trip_and_corruption_is_caught(tmp_path):
    warnings = []
    cache = RenderCache(tmp_path, warn=warnings.append)
    audio = np.random.default_rng(0).standard_normal(1000).astype(np.float32)
    cache.put("ab" * 32, audio)
    assert np.array_equal(cache.get("ab" * 32), audio) and cache.stats.hits == 1
    assert cache.get("cd" * 32) is None and cache.stats.misses == 1
    path = cache.path("ab" * 32)
    data = bytearray(path.read_bytes())
    data[-7] ^= 0xFF  # one flipped byte in the samples
    path.write_bytes(bytes(data))
    assert cache.get("ab" * 32) is None
    assert cache.stats.corrupt == 1 and not path.exists() and "is corrupt" in warnings[0]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"not an entry at all")
    assert cache.get("ab" * 32) is None and cache.stats.corrupt == 2
    assert not list(tmp_path.rglob("*.tmp"))  # writes go through a temporary name


@pytest.mark.parametrize("array", [np.arange(12, dtype=np.float32).reshape(2, 6), np.array([0.5, 1.25]),
                                   np.zeros((1, 0), dtype=np.float32)])
def test_an_entry_is_its_checksum_line_and_the_npy_file_np_save_writes(tmp_path, array):
    """The format entries had when they were written with np.save: a cache filled by an earlier version still reads."""
    import hashlib
    import io

    cache = RenderCache(tmp_path)
    cache.put("ef" * 32, array)
    npy = io.BytesIO()
    np.save(npy, array, allow_pickle=False)
    payload = npy.getvalue()
    assert cache.path("ef" * 32).read_bytes() == hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    assert cache.stats.stored_bytes == cache.path("ef" * 32).stat().st_size


@pytest.mark.slow
def test_an_unwritable_cache_warns_once_and_the_render_goes_on(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    warnings = []
    cache = RenderCache(blocker / "cache", warn=warnings.append)  # a folder inside a file cannot exist
    for k in range(3):
        cache.put(f"{k:064x}", np.zeros(10, dtype=np.float32))
    assert len(warnings) == 1 and "continuing without it" in warnings[0]
    manifest = render_manifest(scene(), ProceduralBackend(), tmp_path / "out", cache=cache, stems=False)
    assert manifest["stats"]["rendered_now"] == manifest["stats"]["model_calls"]


def test_keys_cover_what_changes_the_audio():
    identity = {"name": "procedural", "ambientgen": "0.1.0"}
    base = dict(prompt="rain", negative_prompt="Low quality.", seed=1, duration_s=10.24)
    key = request_key(identity, "chunk", **base)
    assert key == request_key(dict(identity), "chunk", **dict(base))
    for change in ({"prompt": "wind"}, {"negative_prompt": ""}, {"seed": 2}, {"duration_s": 5.12}):
        assert request_key(identity, "chunk", **{**base, **change}) != key
    assert request_key({**identity, "ambientgen": "0.2.0"}, "chunk", **base) != key
    assert request_key(identity, "stream", **base) != key


@pytest.mark.slow
def test_second_render_and_mix_only_changes_render_nothing(tmp_path):
    cache = RenderCache(tmp_path / "cache")
    first = render_manifest(scene(), ProceduralBackend(), tmp_path / "a", cache=cache)
    assert first["stats"]["rendered_now"] == first["stats"]["model_calls"] > 0
    assert first["cache"]["misses"] == first["stats"]["model_calls"] and first["cache"]["hits"] == 0
    again = render_manifest(scene(), ProceduralBackend(), tmp_path / "b", cache=RenderCache(tmp_path / "cache"))
    assert again["stats"]["rendered_now"] == 0 and again["cache"]["hits"] == first["stats"]["model_calls"]
    assert (tmp_path / "a" / "cached.wav").read_bytes() == (tmp_path / "b" / "cached.wav").read_bytes()
    layers = [{"name": "rain", "prompt": "light rain on a window", "gain_db": -9, "pan": -0.5, "width": 0.9},
              {"name": "birds", "prompt": "songbirds at dawn", "gain_db": 0, "pan": 0.3, "animate": {"period": 20}}]
    mix_only = scene(layers=layers, target_lufs=-18, true_peak_dbtp=-2, fade_out="5s")
    changed = render_manifest(mix_only, ProceduralBackend(), tmp_path / "c", fmt="flac,ogg",
                           cache=RenderCache(tmp_path / "cache"))
    assert changed["stats"]["rendered_now"] == 0 and changed["integrated_lufs"] == pytest.approx(-18, abs=0.05)
    reseeded = render_manifest(scene(seed=4), ProceduralBackend(), tmp_path / "d", cache=RenderCache(tmp_path / "cache"))
    assert reseeded["stats"]["rendered_now"] == reseeded["stats"]["model_calls"]


@pytest.mark.slow
def test_a_pool_layer_renders_nothing_again_when_only_the_duration_changes(tmp_path):
    pooled = dict(model={"backend": "procedural", "variety": 4})
    first = render_manifest(scene(duration=60, **pooled), ProceduralBackend(), tmp_path / "a",
                         cache=RenderCache(tmp_path / "cache"), stems=False)
    assert {layer["kind"] for layer in first["layers"]} == {"pool"}
    longer = render_manifest(scene(duration=300, **pooled), ProceduralBackend(), tmp_path / "b",
                          cache=RenderCache(tmp_path / "cache"), stems=False)
    assert longer["stats"]["rendered_now"] == 0 and longer["frames"] == 300 * 48000


@pytest.mark.slow
def test_latent_streams_are_cached(tiny_checkpoint, tmp_path):
    from ambientgen.backends.audioldm2 import AudioLDM2Backend
    from tests.conftest import small_scene

    def backend():
        return AudioLDM2Backend.load(str(tiny_checkpoint), device="cpu", steps=TEST_STEPS)

    sc = small_scene()
    first = render_manifest(sc, backend(), tmp_path / "a", cache=RenderCache(tmp_path / "cache"), stems=False)
    assert first["layers"][0]["continuity"] == "latent" and first["stats"]["rendered_now"] > 0
    second_backend = backend()
    again = render_manifest(sc, second_backend, tmp_path / "b", cache=RenderCache(tmp_path / "cache"), stems=False)
    assert again["stats"]["rendered_now"] == 0 and second_backend.stats.unet_evals == 0
    assert (tmp_path / "a" / "test-scene.wav").read_bytes() == (tmp_path / "b" / "test-scene.wav").read_bytes()
    other = backend()
    other.steps = TEST_STEPS + 1  # a setting that changes the audio is part of the key
    assert CachedBackend(other, RenderCache(tmp_path / "cache")).identity != \
        CachedBackend(backend(), RenderCache(tmp_path / "cache")).identity


def test_cached_backend_stores_each_batch_as_it_finishes(tmp_path):
    class Flaky(ProceduralBackend):
        batch_size = 2

        def __init__(self):
            super().__init__()
            self.calls = 0

        def render(self, requests, *, on_progress=None):
            self.calls += 1
            if self.calls == 3:
                raise KeyboardInterrupt
            return super().render(requests, on_progress=on_progress)

    cache = RenderCache(tmp_path)
    requests = [ChunkRequest("rain", k, "rain", "", k, 2.0) for k in range(6)]
    with pytest.raises(KeyboardInterrupt):
        CachedBackend(Flaky(), cache).render(requests)
    assert cache.stats.stored_entries == 4  # two batches of two were kept
    fresh = ProceduralBackend()
    audio = CachedBackend(fresh, RenderCache(tmp_path)).render(requests)
    assert fresh.stats.model_calls == 2 and len(audio) == 6
    assert all(np.array_equal(a, b) for a, b in zip(audio, ProceduralBackend().render(requests)))


def _write_scene(tmp_path, duration=60):
    from tests.conftest import small_scene

    # many steps, one chunk per batch: long enough (with the cheap tiny model) to be interrupted half-way;
    # Stable Audio 3 in 8 s windows so that it too has several chunks per layer
    sc = small_scene(duration=duration, model={"continuity": "crossfade", "steps": 40, "batch_size": 1,
                                               "window_s": 8.0})
    path = tmp_path / "scene.yaml"
    path.write_text(dump_scene(sc))
    return path


def _render_cmd(scene_path, out, tiny_checkpoint, *extra, backend="audioldm2"):
    return [sys.executable, "-m", "ambientgen.cli", "render", str(scene_path), "-o", str(out), "--checkpoint",
            str(tiny_checkpoint), "--backend", backend, "-q", "--no-report", *extra]


def _wait_for_entries(cache_dir, proc, timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        if len(list(cache_dir.rglob("*.npy"))) >= 2:
            return True
        time.sleep(0.01)
    return False


@pytest.mark.parametrize("how,backend", [("kill", "audioldm2"), ("ctrl-c", "audioldm2"), ("kill", "stable-audio-3")])
@pytest.mark.slow
def test_an_interrupted_render_resumes_to_identical_files(how, backend, request, tmp_path):
    """A real render process is killed (SIGKILL) or interrupted (SIGINT) mid-way; the same command finishes it,
    byte-identical to a render never interrupted."""
    tiny_checkpoint = request.getfixturevalue("tiny_checkpoint" if backend == "audioldm2" else "tiny_sa3_checkpoint")
    cmd = functools.partial(_render_cmd, backend=backend)
    scene_path = _write_scene(tmp_path, duration=30)
    cache_dir = tmp_path / "cache"
    env = {**os.environ, "AMBIENTGEN_CACHE": str(cache_dir)}
    # Ctrl-C's default action restored in the child: a shell starts background jobs with SIGINT ignored, and
    # Python then keeps ignoring it (the render would finish instead of stopping)
    proc = subprocess.Popen(cmd(scene_path, tmp_path / "out", tiny_checkpoint), cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert _wait_for_entries(cache_dir, proc), proc.stderr.read().decode()[-2000:]
    proc.send_signal(signal.SIGKILL if how == "kill" else signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert not (tmp_path / "out" / "test-scene.wav").exists()  # it really was stopped before the end
    assert not [p for p in (tmp_path / "out").rglob("*") if p.is_file()] if (tmp_path / "out").exists() else True
    if how == "ctrl-c":
        assert proc.returncode == 130
        line = stderr.decode().strip().splitlines()[-1]
        assert "interrupted; no output was written;" in line and "run the same command again to resume" in line
    kept = len(list(cache_dir.rglob("*.npy")))
    resumed = subprocess.run(cmd(scene_path, tmp_path / "out", tiny_checkpoint), cwd=ROOT, env=env,
                             capture_output=True)
    assert resumed.returncode == 0, resumed.stderr.decode()[-2000:]
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert manifest["cache"]["hits"] >= kept and manifest["stats"]["rendered_now"] < manifest["stats"]["model_calls"]
    clean = subprocess.run(cmd(scene_path, tmp_path / "clean", tiny_checkpoint, "--no-cache"), cwd=ROOT,
                           env=env, capture_output=True)
    assert clean.returncode == 0, clean.stderr.decode()[-2000:]
    for name in ("test-scene.wav", "stems/rain.wav", "stems/birds.wav"):
        assert (tmp_path / "out" / name).read_bytes() == (tmp_path / "clean" / name).read_bytes()


@pytest.mark.slow
def test_cli_reports_cache_statistics(tmp_path, monkeypatch):
    scene_path = tmp_path / "s.yaml"
    scene_path.write_text(dump_scene(scene(duration=20)))
    args = ["render", str(scene_path), "-q", "--no-report", "--cache-dir", str(tmp_path / "c")]
    first = runner.invoke(cli.app, [*args, "-o", str(tmp_path / "a")])
    assert first.exit_code == 0, first.output
    second = runner.invoke(cli.app, [*args, "-o", str(tmp_path / "b")])
    assert second.exit_code == 0 and "cache: 6 hits, 0 misses, 0 model calls run now" in second.output
    third = runner.invoke(cli.app, [*args, "-o", str(tmp_path / "c2"), "--no-cache"])
    assert third.exit_code == 0 and "cache:" not in third.output
    assert "cache" not in json.loads((tmp_path / "c2" / "manifest.json").read_text())


def test_the_cache_is_capped_and_the_least_recently_used_entries_go(tmp_path):
    cache = RenderCache(tmp_path, max_bytes=3 * 4300)  # room for three 1000-sample entries (~4.2 kB each)
    keys = [f"{k:02x}" * 32 for k in range(5)]
    for k, key in enumerate(keys):
        cache.put(key, np.full(1000, k, dtype=np.float32))
        os.utime(cache.path(key), (1000 + k, 1000 + k))  # written one after another
    os.utime(cache.path(keys[0]), (2000, 2000))
    assert cache.get(keys[1]) is not None  # read now: used most recently of all
    gone = cache.evict()
    assert gone.entries == 2 and cache.usage().entries == 3
    assert [cache.path(k).exists() for k in keys] == [True, True, False, False, True]  # 2 and 3 were oldest
    assert cache.usage().bytes <= cache.max_bytes
    assert cache.clear().entries == 3 and cache.usage().entries == 0


def test_cache_info_and_clear_commands(tmp_path, monkeypatch):
    cache = RenderCache(tmp_path / "c")
    cache.put("ab" * 32, np.zeros(1000, dtype=np.float32))
    monkeypatch.setenv("AMBIENTGEN_CACHE_MAX", "5GB")
    result = runner.invoke(cli.app, ["cache", "info", "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0 and "1 entry, 4.2 kB of 5.0 GB" in result.output
    result = runner.invoke(cli.app, ["cache", "clear", "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 0 and "removed 1 entry (4.2 kB)" in result.output
    monkeypatch.setenv("AMBIENTGEN_CACHE_MAX", "lots")
    result = runner.invoke(cli.app, ["cache", "info", "--cache-dir", str(tmp_path / "c")])
    assert result.exit_code == 2 and "AMBIENTGEN_CACHE_MAX: not a size: 'lots'" in result.stderr

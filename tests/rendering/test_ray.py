from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from ambientgen.cli import commands as cli
from ambientgen.scene.files import dump_scene
from tests.conftest import small_scene

ray = pytest.importorskip("ray")
runner = CliRunner()


@pytest.fixture
def local_ray():
    """A local Ray with 2 CPUs for the test, shut down after it."""
    import logging

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield ray
    ray.shutdown()


def _scene_file(tmp_path, **model):
    sc = small_scene(duration=20, model={"steps": 2, **model})
    path = tmp_path / "scene.yaml"
    path.write_text(dump_scene(sc))
    return path


def _render(path, out, checkpoint, *extra, backend="audioldm2"):
    return runner.invoke(cli.app, ["render", str(path), "-o", str(out), "--checkpoint", str(checkpoint), "--backend",
                                   backend, "-q", "--no-report", *extra])


@pytest.mark.slow
def test_ray_renders_stable_audio_3_byte_identical_to_local(local_ray, tiny_sa3_checkpoint, tmp_path):
    path = _scene_file(tmp_path, window_s=8.0)
    on_ray = _render(path, tmp_path / "ray", tiny_sa3_checkpoint, "--executor", "ray", "--workers", "2",
                     "--cache-dir", str(tmp_path / "cache"), backend="stable-audio-3")
    assert on_ray.exit_code == 0, on_ray.output
    local = _render(path, tmp_path / "local", tiny_sa3_checkpoint, "--no-cache", backend="stable-audio-3")
    assert local.exit_code == 0, local.output
    for name in ("test-scene.wav", "stems/rain.wav", "stems/birds.wav"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    assert manifest["backend"]["backend"] == "stable-audio-3" and manifest["cluster"]["model_calls"] > 0
    assert manifest["stats"]["rendered_now"] == 0  # every window came from the cluster


@pytest.mark.slow
def test_ray_render_is_byte_identical_to_local(local_ray, tiny_checkpoint, tmp_path):
    path = _scene_file(tmp_path)
    on_ray = _render(path, tmp_path / "ray", tiny_checkpoint, "--executor", "ray", "--workers", "2",
                     "--cache-dir", str(tmp_path / "cache"))
    assert on_ray.exit_code == 0, on_ray.output
    local = _render(path, tmp_path / "local", tiny_checkpoint, "--no-cache")
    assert local.exit_code == 0, local.output
    for name in ("test-scene.wav", "stems/rain.wav", "stems/birds.wav"):
        assert (tmp_path / "ray" / name).read_bytes() == (tmp_path / "local" / name).read_bytes(), name
    manifest = json.loads((tmp_path / "ray" / "manifest.json").read_text())
    cluster = manifest["cluster"]
    local_calls = json.loads((tmp_path / "local" / "manifest.json").read_text())["stats"]["rendered_now"]
    assert cluster["executor"] == "ray" and cluster["workers"] == 2 and cluster["model_calls"] == local_calls == 10
    assert manifest["stats"]["rendered_now"] == 0 and manifest["cache"]["hits"] >= 2  # all from the cluster
    assert "ray: 2 pieces, 10 model calls on 2 workers" in on_ray.output  # one latent per layer, in parallel


@pytest.mark.slow
def test_a_killed_worker_is_replaced_and_the_render_completes_identically(local_ray, tiny_checkpoint, tmp_path):
    from ambientgen.backends import choose_backend
    from ambientgen.backends.audioldm2 import AudioLDM2Backend
    from ambientgen.rendering.cache import RenderCache
    from ambientgen.rendering.ray import ClusterBackend, RayExecutor
    from tests.conftest import render_manifest

    sc = small_scene(duration=30, model={"steps": 2, "continuity": "crossfade", "batch_size": 1,
                                         "checkpoint": str(tiny_checkpoint), "backend": "audioldm2"})
    cache = RenderCache(tmp_path / "cache")
    ex = RayExecutor(model=sc.model, device="cpu", choice=choose_backend(sc.model), cache_dir=str(cache.root),
                     workers=2)
    try:
        info = ex.info([layer.prompt for layer in sc.layers])
        pieces = ex.plan_pieces(sc, info, cache)
        assert len(pieces) == 16 and all(p.kind == "chunks" and len(p.work) == 1 for p in pieces)
        report = ex.render_pieces(pieces, on_done=lambda done: ex.kill_one() if done == 1 else None)
    finally:
        ex.shutdown()
    assert report.retries >= 1 and report.model_calls >= 16 and report.pieces == 16
    assert ex.plan_pieces(sc, info, cache) == []  # everything reached the cache
    on_ray = render_manifest(sc, ClusterBackend(info), tmp_path / "ray", cache=cache, stems=False)
    local = render_manifest(sc, AudioLDM2Backend.load(str(tiny_checkpoint), device="cpu", steps=2, batch_size=1),
                         tmp_path / "local", stems=False)
    assert on_ray["stats"]["rendered_now"] == 0 and local["stats"]["rendered_now"] == 16
    assert (tmp_path / "ray" / "test-scene.wav").read_bytes() == (tmp_path / "local" / "test-scene.wav").read_bytes()


@pytest.mark.slow
def test_a_backend_error_on_a_worker_stops_with_its_message(local_ray, tiny_checkpoint, tmp_path):
    from ambientgen.backends import choose_backend
    from ambientgen.backends.base import ChunkRequest
    from ambientgen.errors import AmbientgenError
    from ambientgen.rendering.ray import Piece, RayExecutor

    sc = small_scene(model={"checkpoint": str(tiny_checkpoint), "backend": "audioldm2"})
    ex = RayExecutor(model=sc.model, device="cpu", choice=choose_backend(sc.model), cache_dir=str(tmp_path / "c"),
                     workers=1)
    try:
        with pytest.raises(AmbientgenError, match="layer 'rain': chunk of 100 s exceeds the backend's 10.24 s"):
            ex.render_pieces([Piece("chunks", "rain", [ChunkRequest("rain", 0, "rain", "", 1, 100.0)])])
    finally:
        ex.shutdown()


@pytest.mark.parametrize("extra, message", [
    (["--executor", "spark"], "--executor: must be one of local, ray, got 'spark'"),
    (["--executor", "ray", "--no-cache"], "--no-cache: the ray executor passes results through the render cache"),
    (["--executor", "ray", "--workers", "0"], "--workers: must be at least 1, got 0"),
    (["--executor", "ray", "--worker-threads", "0"], "--worker-threads: must be at least 1, got 0"),
])
def test_executor_usage_errors(extra, message, tmp_path):
    path = _scene_file(tmp_path)
    result = runner.invoke(cli.app, ["render", str(path), "-o", str(tmp_path / "o"), "-q", *extra])
    assert result.exit_code == 2 and message in result.stderr and not (tmp_path / "o").exists()


def test_an_unreachable_cluster_is_one_line(tmp_path):
    path = _scene_file(tmp_path)
    result = runner.invoke(cli.app, ["render", str(path), "-o", str(tmp_path / "o"), "-q", "--backend", "procedural",
                                     "--executor", "ray", "--ray-address", "127.0.0.1:1"])
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert result.stderr.startswith("error: --ray-address: cannot connect to Ray at 127.0.0.1:1")
    assert len(result.stderr.strip().splitlines()) == 1

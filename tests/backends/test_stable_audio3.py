"""The Stable Audio 3 backend on a tiny random-weight checkpoint with the real audio geometry."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

from ambientgen.backends.base import ChunkRequest, chunk_seed
from ambientgen.backends.stable_audio3 import StableAudio3Backend
from ambientgen.errors import BackendError
from tests.conftest import TEST_STEPS


def requests(layer="rain", prompt="rain on a tin roof", n=3, duration_s=4.0):
    return [ChunkRequest(layer, k, prompt, "", chunk_seed(1, layer, 0, k), duration_s) for k in range(n)]


def test_tiny_checkpoint_has_the_real_geometry_and_loads_through_from_pretrained(tiny_sa3):
    from diffusers import StableAudio3Pipeline

    pipe = tiny_sa3.pipe
    assert isinstance(pipe, StableAudio3Pipeline)
    assert (tiny_sa3.sample_rate, tiny_sa3.channels, tiny_sa3.hop, tiny_sa3.latent_dim) == (44100, 2, 4096, 256)
    assert pipe.vae.config.audio_channels == 2 and pipe.transformer.config.io_channels == 256
    assert type(pipe.text_encoder).__name__ == "T5GemmaEncoderModel"
    assert tiny_sa3.sampler == "pingpong" and tiny_sa3.frames(60.0) == 646  # 10.77 latent frames per second


def test_zero_initialised_layers_are_rerandomised_so_seeds_matter(tiny_sa3):
    from diffusers import StableAudio3DiTModel

    from ambientgen.testing import rerandomise_zero_parameters

    fresh = StableAudio3DiTModel(io_channels=256, embed_dim=32, depth=1, num_heads=2, cond_token_dim=32,
                                 global_cond_dim=32, timestep_features_dim=16, num_memory_tokens=4)
    changed = rerandomise_zero_parameters(fresh, seed=0)
    assert {"preprocess_conv.weight", "postprocess_conv.weight"} <= set(changed)
    assert all(float(p.detach().abs().max()) > 0 for n, p in tiny_sa3.pipe.transformer.named_parameters()
               if n.endswith("conv.weight"))
    a, b = tiny_sa3.render(requests(n=2))
    assert a.shape == b.shape == (2, round(4.0 * 44100))
    assert abs(np.corrcoef(a[0], b[0])[0, 1]) < 0.5  # different seeds: unrelated audio
    assert abs(np.corrcoef(a[0], a[1])[0, 1]) < 0.5  # native stereo: the channels differ
    assert 0.01 < float(np.sqrt(np.mean(a**2))) < 0.5


def test_one_window_equals_the_diffusers_pipeline(tiny_sa3):
    """Our render loop is the pipeline's sampler: same generator, same schedule, same audio."""
    req = requests(n=1, duration_s=3.0)[0]
    ours = tiny_sa3.render([req])[0]
    ref = tiny_sa3.pipe(req.prompt, duration=3.0, num_inference_steps=TEST_STEPS,
                        generator=torch.Generator("cpu").manual_seed(req.seed)).audios[0].numpy()
    np.testing.assert_allclose(ours, ref[:, : ours.shape[1]], atol=2e-5)


def test_chunks_do_not_depend_on_batching(tiny_sa3, tiny_sa3_checkpoint):
    out = tiny_sa3.render(requests(n=3))
    single = StableAudio3Backend.load(str(tiny_sa3_checkpoint), device="cpu", steps=TEST_STEPS, batch_size=1)
    np.testing.assert_allclose(single.render(requests(n=3)[1:2])[0], out[1], atol=1e-5)
    again = tiny_sa3.render(requests(n=3))
    assert all(np.array_equal(x, y) for x, y in zip(out, again))


def test_text_conditioning_once_per_prompt(tiny_sa3):
    calls = []
    tiny_sa3.pipe.text_encoder.register_forward_hook(lambda *_: calls.append(1))
    tiny_sa3.render(requests("rain", "rain on a tin roof", n=3))
    tiny_sa3.render(requests("rain", "rain on a tin roof", n=2, duration_s=5.0))  # same prompt, other length
    tiny_sa3.render_stream(layer="rain", prompt="rain on a tin roof", negative_prompt="", seeds=[1, 2],
                           duration_s=10, window_s=6, overlap_s=1, loop=True)
    tiny_sa3.render(requests("birds", "birds in a forest", n=2))
    assert len(calls) == 2 and tiny_sa3.stats.text_encodes == 2


def _spy_transformer(backend, monkeypatch):
    seen = []
    real = backend.pipe.transformer.forward

    def spy(hidden_states, *args, **kwargs):
        seen.append((hidden_states.clone(), kwargs.get("local_add_cond")))
        return real(hidden_states, *args, **kwargs)

    monkeypatch.setattr(backend.pipe.transformer, "forward", spy)
    return seen


def test_multidiffusion_windows_share_their_overlap_at_every_step(tiny_sa3, monkeypatch):
    from ambientgen.backends.latent import plan_windows

    seen = _spy_transformer(tiny_sa3, monkeypatch)
    audio, seams = tiny_sa3.render_stream(layer="x", prompt="rain", negative_prompt="", seeds=[1, 2, 3],
                                          duration_s=20, window_s=8, overlap_s=2, loop=True)
    assert audio.shape == (2, round(tiny_sa3.frames(20) / tiny_sa3.frame_rate * 44100)) and seams
    w = plan_windows(tiny_sa3.frames(20), size=tiny_sa3.frames(8), overlap=round(2 * tiny_sa3.frame_rate),
                     multiple=1, loop=True)
    views = torch.cat([v for v, _ in seen[: len(seen)]]).reshape(TEST_STEPS, len(w.starts), 256, w.size)
    for step in views:
        for k in range(len(w.starts)):
            a, b = w.indices(k), w.indices((k + 1) % len(w.starts))
            shared = np.intersect1d(a, b)
            assert len(shared) >= 20
            ia = [int(np.where(a == f)[0][0]) for f in shared]
            ib = [int(np.where(b == f)[0][0]) for f in shared]
            torch.testing.assert_close(step[k][:, ia], step[(k + 1) % len(w.starts)][:, ib], atol=0, rtol=0)


def test_inpainted_windows_keep_their_conditioning_at_every_step(tiny_sa3, monkeypatch):
    """Each window is conditioned on the frames already made: the previous tail (and, closing a loop, the first
    window's head), the same conditioning at every step; the layer's frames outside the shared spans are exactly
    what each window made."""
    from ambientgen.backends.latent import plan_windows

    tiny_sa3.continuity = "inpaint"
    seen = _spy_transformer(tiny_sa3, monkeypatch)
    made = []
    real_blend = tiny_sa3._blend
    monkeypatch.setattr(tiny_sa3, "_blend", lambda old, new, known: made.append((new.clone(), known.clone()))
                        or real_blend(old, new, known))
    audio, _ = tiny_sa3.render_stream(layer="x", prompt="rain", negative_prompt="", seeds=[1, 2, 3], duration_s=20,
                                      window_s=8, overlap_s=2, loop=True)
    w = plan_windows(tiny_sa3.frames(20), size=tiny_sa3.frames(8), overlap=round(2 * tiny_sa3.frame_rate),
                     multiple=1, loop=True)
    count = len(w.starts)
    assert len(seen) == TEST_STEPS * count and audio.shape[0] == 2
    timeline = torch.zeros(256, w.length)
    known = np.zeros(w.length, dtype=bool)
    for k in range(count):
        conds = [c for _, c in seen[k * TEST_STEPS : (k + 1) * TEST_STEPS]]
        idx = w.indices(k)
        mask = known[idx]
        for c in conds:  # the same conditioning at every step: mask, then the known frames (zeros elsewhere)
            torch.testing.assert_close(c, conds[0], atol=0, rtol=0)
            assert c.shape == (1, 257, w.size)
            np.testing.assert_array_equal(c[0, 0].numpy() > 0.5, mask)
            torch.testing.assert_close(c[0, 1:, torch.as_tensor(mask)], timeline[:, idx[mask]], atol=1e-6, rtol=0)
        assert (k == 0) == (not mask.any())
        if k == count - 1:  # the loop's bridge: known at both ends
            assert mask[0] and mask[-1] and not mask[len(mask) // 2]
        new, _ = made[k]
        w_ = tiny_sa3._blend_weights(torch.as_tensor(mask))[None, :]
        timeline[:, idx] = timeline[:, idx] * w_ + new[0] * (1 - w_)
        known[idx] = True


def test_decoding_in_windows_equals_decoding_whole(tiny_sa3):
    z = torch.randn(1, 256, 40, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        whole = tiny_sa3.pipe.vae.decode(z).sample[0].clamp(-1, 1).numpy()
    windowed = tiny_sa3.decode(z, loop=False, core=8)
    np.testing.assert_allclose(windowed, whole, atol=1e-5)


def test_rejects_windows_longer_than_the_model(tiny_sa3):
    with pytest.raises(BackendError, match="exceeds the backend's 120.0 s"):
        tiny_sa3.render(requests(n=1, duration_s=121.0))


def test_a_folder_of_another_model(tiny_checkpoint):
    with pytest.raises(BackendError, match=r"holds a AudioLDM2Pipeline checkpoint, not Stable Audio 3"):
        StableAudio3Backend.load(str(tiny_checkpoint), device="cpu")


def test_stabilitys_original_layout_says_how_to_convert(tmp_path):
    folder = tmp_path / "stable-audio-3-small-sfx"
    folder.mkdir()
    (folder / "model_config.json").write_text(json.dumps({"model_type": "diffusion_cond"}))
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(BackendError, match="original layout.*convert_stable_audio_3_to_diffusers.py --checkpoint_path .*stable-audio-3-small-sfx"):
        StableAudio3Backend.load(str(folder), device="cpu")


def test_missing_component(tiny_sa3_checkpoint, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_sa3_checkpoint, broken)
    shutil.rmtree(broken / "transformer")
    with pytest.raises(BackendError, match=r"missing component folder\(s\): transformer"):
        StableAudio3Backend.load(str(broken), device="cpu")


def test_hub_id_not_downloaded_offline(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    with pytest.raises(BackendError, match="cannot load 'stabilityai/stable-audio-3-small-sfx'.*HF_HUB_OFFLINE"):
        StableAudio3Backend.load("stabilityai/stable-audio-3-small-sfx", device="cpu")


def test_gated_repository_says_what_to_do(monkeypatch):
    from huggingface_hub.errors import GatedRepoError

    from ambientgen.backends import stable_audio3

    class Refused(GatedRepoError):
        def __init__(self, message):
            Exception.__init__(self, message)

    class Gated:
        @staticmethod
        def from_pretrained(*args, **kwargs):
            raise Refused("Cannot access gated repo for url https://huggingface.co/stabilityai/x/model_index.json")

    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setattr(stable_audio3, "_pipeline_class", lambda: Gated)
    with pytest.raises(BackendError, match="is gated on the Hugging Face hub: accept its licence at "
                                           "https://huggingface.co/stabilityai/x, then log in"):
        stable_audio3.load_pipeline("stabilityai/x", dtype=torch.float32)


def _cli(*args):
    from typer.testing import CliRunner

    from ambientgen.cli import commands as cli

    return CliRunner().invoke(cli.app, list(args))


@pytest.mark.slow
def test_forest_renders_in_stereo_loops_and_passes_check(tiny_sa3_checkpoint, tmp_path):
    """The acceptance command: 48 kHz stereo mix and stems whose channels differ, a loop, check passing; the same
    seed gives the same bytes, another seed other audio."""
    import soundfile as sf

    from tests.conftest import SCENES

    def render(out, *extra):
        return _cli("render", str(SCENES / "forest.yaml"), "--backend", "stable-audio-3", "--checkpoint",
                    str(tiny_sa3_checkpoint), "--duration", "60", "-o", str(tmp_path / out), "-q", *extra)

    first = render("a")
    assert first.exit_code == 0, first.output
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert manifest["backend"]["backend"] == "stable-audio-3" and manifest["backend"]["channels"] == 2
    report = json.loads((tmp_path / "a" / "forest.check.json").read_text())
    assert report["passed"], report
    mix, sr = sf.read(tmp_path / "a" / "forest.wav")
    assert sr == 48000 and mix.shape == (60 * 48000, 2)
    for stem in ("wind", "stream", "birds"):
        audio, _ = sf.read(tmp_path / "a" / "stems" / f"{stem}.wav")
        assert abs(np.corrcoef(audio[:, 0], audio[:, 1])[0, 1]) < 0.9, stem  # native stereo, not copied mono
    assert all(layer["continuity"] == "latent" and layer["source_channels"] == 2 for layer in manifest["layers"])
    assert render("b").exit_code == 0
    assert (tmp_path / "a" / "forest.wav").read_bytes() == (tmp_path / "b" / "forest.wav").read_bytes()
    assert render("c", "--seed", "8").exit_code == 0
    other, _ = sf.read(tmp_path / "c" / "forest.wav")
    assert abs(np.corrcoef(mix[:, 0], other[:, 0])[0, 1]) < 0.5


def test_auto_renders_a_named_stable_audio_3_checkpoint_with_it(tiny_sa3_checkpoint):
    from ambientgen.backends import checkpoint_backend, choose_backend
    from ambientgen.scene.schema import ModelSettings

    assert checkpoint_backend(str(tiny_sa3_checkpoint)) == "stable-audio-3"
    choice = choose_backend(ModelSettings(checkpoint=str(tiny_sa3_checkpoint)), device="cpu")
    assert choice.backend == "stable-audio-3" and not choice.automatic


def test_auto_prefers_stable_audio_3_when_its_weights_are_cached(tiny_sa3_checkpoint, tmp_path, monkeypatch):
    from ambientgen.backends import choose_backend
    from ambientgen.scene.schema import ModelSettings
    from ambientgen.testing import install_in_hub_cache

    install_in_hub_cache(tiny_sa3_checkpoint, "stabilityai/stable-audio-3-small-sfx", tmp_path)
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr("huggingface_hub.file_download.HF_HUB_CACHE", str(tmp_path), raising=False)
    choice = choose_backend(ModelSettings(), device="cpu")
    assert choice.backend == "stable-audio-3" and choice.automatic and "Hugging Face cache" in choice.reason


@pytest.mark.parametrize("args,message", [
    (["--steps", "0"], "--steps: "),
    (["--checkpoint", "stabilityai/no-such-model"], "cannot load 'stabilityai/no-such-model'"),
])
def test_bad_inputs_are_one_line_and_write_nothing(tiny_sa3_checkpoint, tmp_path, args, message):
    from tests.conftest import SCENES

    extra = [] if "--checkpoint" in args else ["--checkpoint", str(tiny_sa3_checkpoint)]
    result = _cli("render", str(SCENES / "forest.yaml"), "--backend", "stable-audio-3", *extra, *args,
                  "--duration", "20", "-o", str(tmp_path / "out"))
    assert result.exit_code in (1, 2)
    lines = [line for line in result.stderr.strip().splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.wav"))

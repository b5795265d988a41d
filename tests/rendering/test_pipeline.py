"""The one render pipeline: the library and the CLI give the same files; plug-in backends; the stereo contract."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf
from pydantic import Field
from threadpoolctl import threadpool_info, threadpool_limits
from typer.testing import CliRunner

import ambientgen
from ambientgen.backends import BackendSettings, BackendSpec, register, unregister
from ambientgen.backends.base import Backend
from ambientgen.cli import commands as cli
from ambientgen.errors import AmbientgenError, BackendError, SceneError

runner = CliRunner()


class StereoSettings(BackendSettings):
    tilt: float = Field(0.5, ge=0.0, le=1.0)  # how much the right channel is low-passed
    dc: float = Field(0.0, ge=-0.5, le=0.5)  # an offset added to every sample (a faulty source)


class StereoNoise(Backend):
    """A test-only stereo backend: left and right are different seeded noises (right one smoothed by ``tilt``)."""

    def __init__(self, settings: StereoSettings):
        super().__init__()
        self.tilt, self.dc = settings.tilt, settings.dc

    def render(self, requests, *, on_progress=None):
        out = []
        for req in requests:
            rng = np.random.default_rng(req.seed)
            n = round(req.duration_s * self.sample_rate)
            left, right = 0.1 * rng.standard_normal((2, n))
            right = (1 - self.tilt) * right + self.tilt * np.convolve(right, np.ones(8) / 8, mode="same")
            if "thunder" in req.prompt:  # an event: a decaying burst in the middle
                env = np.zeros(n)
                k = n // 3
                env[k:] = np.exp(-np.arange(n - k) / (0.3 * self.sample_rate))
                left, right = left * env, right * env
            out.append((np.stack([left, right]) + self.dc).astype(np.float32))
            self.stats.count(req.layer, 1)
            if on_progress:
                on_progress(1)
        return out


STEREO = BackendSpec(name="test-stereo", summary="test-only stereo noise", sample_rate=24000, channels=2,
                     max_window_s=8.0, settings=StereoSettings, factory=lambda s, device: StereoNoise(s),
                     offline=True)
StereoNoise.spec = STEREO


@pytest.fixture
def stereo_backend():
    register(STEREO)
    yield STEREO
    unregister(STEREO.name)


def stereo_scene(**model):
    return ambientgen.scene_from_dict({
        "name": "stereo", "duration": 90, "seed": 3, "loop": True,
        "model": {"backend": "test-stereo", "overlap_s": 1.5, **model},
        "layers": [
            {"name": "bed", "prompt": "noise", "width": 0.5},  # 90 s in 8 s chunks: 14 chunks, rendered whole
            {"name": "pooled", "prompt": "noise", "variety": 4, "pan": -0.3},  # a pool of 4 arranged over 90 s
            {"name": "thunder", "prompt": "thunder", "role": "events", "events": {"wait": ["10s", "20s"],
                                                                                   "variations": 3}},
        ],
    })


@pytest.mark.slow
def test_a_backend_registered_from_a_test_renders_every_layer_kind_in_stereo(stereo_backend, tmp_path):
    result = ambientgen.render(stereo_scene(tilt=0.8), tmp_path, report=False, cache=False)
    kinds = {layer["name"]: layer["kind"] for layer in result.manifest["layers"]}
    assert kinds == {"bed": "stream", "pooled": "pool", "thunder": "events"}
    assert all(layer["source_channels"] == 2 for layer in result.manifest["layers"])
    assert result.manifest["backend"]["channels"] == 2 and result.manifest["backend_choice"]["backend"] == "test-stereo"
    for name in kinds:
        stem = result.audio(name)
        assert stem.shape == (2, 90 * 48000)
        left, right = stem
        active = np.abs(left) + np.abs(right) > 1e-4
        assert active.mean() > (0.05 if name == "thunder" else 0.99)
        # the two channels stay distinct (different noises), not a mono source panned
        corr = np.corrcoef(left[active], right[active])[0, 1]
        assert abs(corr) < 0.5, (name, corr)
        assert not np.allclose(left, right * (np.abs(left).max() / max(np.abs(right).max(), 1e-9)), atol=1e-3)
    mix = result.audio()
    assert mix.shape == (2, 90 * 48000)
    # looped: the wrap steps no further than ordinary neighbouring samples do
    steps = np.abs(np.diff(mix[0]))
    assert abs(mix[0, -1] - mix[0, 0]) <= np.percentile(steps, 99.9)


def test_a_source_dc_offset_never_reaches_the_master(stereo_backend, tmp_path):
    """A backend that renders a +0.2 offset (twice the noise's RMS): every layer kind comes out centred, and the
    loudness is measured on the sound, not on the offset."""
    result = ambientgen.render(stereo_scene(dc=0.2), tmp_path, duration=40, cache=False)
    assert max(abs(v) for v in result.report.dc_offset) < 1e-3, result.report.dc_offset
    assert not any("DC offset" in f for f in result.report.failures)
    assert result.report.integrated_lufs == pytest.approx(result.manifest["target_lufs"], abs=0.3)
    for layer in ("bed", "pooled", "thunder"):
        assert np.abs(result.audio(layer).mean(axis=1)).max() < 1e-3


def test_the_render_keeps_blas_to_one_thread_while_it_runs_its_own(stereo_backend, tmp_path, monkeypatch):
    """The generators and the export run a thread per core; BLAS's own threads on top of them only spin (measured:
    2.3 s of a cold 5-minute render's 26 s of CPU). Inside the render BLAS has one thread, after it what it had."""
    seen = []
    original = StereoNoise.render

    def render(self, requests, **kwargs):
        seen.append({pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"})
        return original(self, requests, **kwargs)

    monkeypatch.setattr(StereoNoise, "render", render)
    with threadpool_limits(limits=2, user_api="blas"):
        ambientgen.render(stereo_scene(), tmp_path, duration=20, report=False, cache=False)
        after = {pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"}
    assert seen and all(threads == {1} for threads in seen), seen
    assert after == {2}


def test_a_limited_master_reports_the_true_peak_of_the_written_file(tmp_path):
    """Loud enough that the limiter must work: the manifest's true peak is the file's, not an upper bound."""
    result = ambientgen.render("rain on a tin roof", tmp_path, backend="procedural", duration=20, lufs=-9,
                               cache=False, stems=False)
    assert result.manifest["limiter_reduction_db"] > 1.0 and result.manifest["true_peak_exact"] is True
    assert result.manifest["measured_true_peak_dbtp"] == pytest.approx(result.report.true_peak_dbtp, abs=0.1)
    assert result.report.true_peak_dbtp <= result.manifest["true_peak_dbtp"] + 0.05


@pytest.mark.slow
def test_width_scales_a_stereo_source_side_signal(stereo_backend, tmp_path):
    scene = stereo_scene()
    folded = scene.model_copy(update={"layers": [scene.layers[0].model_copy(update={"width": 0.0})]})
    result = ambientgen.render(folded, tmp_path, report=False, cache=False, stems=False)
    left, right = result.audio()
    np.testing.assert_allclose(left, right, atol=2e-4)  # width 0 folds a stereo source to mono (24-bit file)


def test_scene_model_section_is_validated_by_the_chosen_backend(stereo_backend):
    assert stereo_scene(tilt=0.2).model.settings_for("test-stereo").tilt == 0.2
    with pytest.raises(SceneError, match=r"model\.tilt: must be less than or equal to 1"):
        stereo_scene(tilt=3)
    with pytest.raises(SceneError, match=r"model\.tlit: unknown key \(did you mean 'tilt'\?\)"):
        stereo_scene(tlit=0.3)


def test_unregistered_backends_are_unknown(stereo_backend):
    unregister("test-stereo")
    with pytest.raises(SceneError, match="model.backend: must be one of auto, audioldm2, procedural, stable-audio-3, recording, got 'test-stereo'"):
        stereo_scene()
    register(STEREO)


def test_a_backend_that_breaks_the_channel_contract_is_named(stereo_backend, tmp_path):
    class Flat(StereoNoise):
        def render(self, requests, *, on_progress=None):
            return [a.reshape(-1) for a in super().render(requests)]

    with pytest.raises(BackendError, match=r"backend test-stereo: returned audio of shape \(\d+,\); the contract is "
                                           r"\(2, samples\)"):
        ambientgen.render(stereo_scene(), tmp_path, backend=Flat(StereoSettings()), report=False, cache=False)
    assert not any(tmp_path.iterdir())  # nothing written


def _digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.slow
def test_library_and_cli_give_the_same_render(tmp_path, monkeypatch):
    monkeypatch.setenv("AMBIENTGEN_CACHE", str(tmp_path / "cache"))
    description = "rain on a tin roof with distant thunder"
    lib = ambientgen.render(description, tmp_path / "lib", duration="20s")
    result = runner.invoke(cli.app, ["render", description, "-o", str(tmp_path / "cli"), "--duration", "20s", "-q"])
    assert result.exit_code == 0, result.output
    name = lib.scene.name
    assert _digest(tmp_path / "lib" / f"{name}.wav") == _digest(tmp_path / "cli" / f"{name}.wav")
    for out in ("lib", "cli"):  # both write the check report
        assert json.loads((tmp_path / out / f"{name}.check.json").read_text())["preset"]
        assert (tmp_path / out / f"{name}.check.png").stat().st_size > 1000
    # both used the cache: the library rendered, the CLI found every piece there
    assert lib.manifest["cache"]["misses"] > 0
    assert json.loads((tmp_path / "cli" / "manifest.json").read_text())["cache"]["misses"] == 0
    assert lib.report is not None and lib.passed == lib.report.passed
    assert sorted(p.relative_to(tmp_path / "lib").as_posix() for p in lib.files) == sorted(
        p.relative_to(tmp_path / "lib").as_posix() for p in (tmp_path / "lib").rglob("*") if p.is_file())
    # both refuse an occupied output without overwrite, and neither touched it
    before = _digest(tmp_path / "lib" / f"{name}.wav")
    with pytest.raises(AmbientgenError, match=r"output: .* already exists .*: pass overwrite=True"):
        ambientgen.render(description, tmp_path / "lib", duration="20s")
    again = runner.invoke(cli.app, ["render", description, "-o", str(tmp_path / "lib"), "--duration", "20s", "-q"])
    assert again.exit_code == 1 and "pass --overwrite to replace it" in again.stderr
    assert _digest(tmp_path / "lib" / f"{name}.wav") == before
    replaced = ambientgen.render(description, tmp_path / "lib", duration="20s", overwrite=True)
    assert _digest(replaced.mix_path) == before  # same seed, same bytes


def test_library_errors_name_fields_and_the_cli_names_flags(tmp_path):
    with pytest.raises(ambientgen.UsageError, match="^formats: must be a comma-separated list"):
        ambientgen.render("scenes/forest.yaml", tmp_path, formats="aiff")
    with pytest.raises(ambientgen.UsageError, match="^duration: must be greater than 0 seconds"):
        ambientgen.render("scenes/forest.yaml", tmp_path, duration=-3)
    result = runner.invoke(cli.app, ["render", "scenes/forest.yaml", "-o", str(tmp_path), "--format", "aiff"])
    assert result.exit_code == 2 and result.stderr.startswith("error: --format: must be a comma-separated list")
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_render_result_reads_back_audio_and_names_missing_stems(tmp_path):
    result = ambientgen.render("scenes/forest.yaml", tmp_path, duration=12, backend="procedural", report=False)
    wav, sr = sf.read(result.mix_path, dtype="float32", always_2d=True)
    np.testing.assert_array_equal(result.audio(), wav.T)
    assert result.audio("wind").shape == (2, 12 * sr)
    with pytest.raises(AmbientgenError, match="layer: no stem for 'rain' in this render \\(stems: wind, stream, birds"):
        result.audio("rain")


@pytest.mark.slow
def test_the_example_script_runs(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import ROOT

    env = {**os.environ, "AMBIENTGEN_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, str(ROOT / "examples" / "render_with_tiny_model.py"), str(tmp_path / "ex")],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "campfire.wav: 30.0 s at -23.0 LUFS" in done.stdout and (tmp_path / "ex" / "campfire.check.json").is_file()


def test_a_description_render_says_it_is_planning(tmp_path):
    said = []
    result = ambientgen.render("forest", tmp_path, duration=12, report=False, stems=False,
                               on_message=lambda level, text: said.append((level, text)))
    renders = {e["layer"]: e["renders_with"] for e in result.manifest["plan"]["layers"]}
    names = ", ".join(f"{layer.name} ({layer.role}, {renders[layer.name]})" for layer in result.scene.layers)
    assert ("info", f"planning from the description 'forest' (not a file): {names}") in said
    # planned for what renders: each layer names its generator, and that generator rendered it
    assert renders == {e["name"]: f"procedural: {e['rendered_by']}" for e in result.manifest["layers"]}
    assert renders["songbirds"] == "procedural: birds" and renders["wind"].startswith("procedural: wind")


@pytest.mark.slow
def test_overwrite_replaces_the_previous_render_and_nothing_else(tmp_path):
    """Another scene rendered into the same folder with overwrite: the old scene's mix, stems, session and
    report go (as its manifest listed them); a file of the user's stays."""
    first = ambientgen.render("rain on a tin roof with distant thunder and crickets", tmp_path, backend="procedural",
                              duration=12, cache=False)
    (tmp_path / "notes.txt").write_text("mine")
    second = ambientgen.render("a crackling campfire", tmp_path, backend="procedural", duration=12, cache=False,
                               overwrite=True, formats="flac")
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    expected = sorted({str(p.relative_to(tmp_path)) for p in second.files} | {"notes.txt"})
    assert left == expected, (left, expected)
    assert len(first.files) > 6 and not any(p.exists() for p in first.files if p not in second.files)
    assert json.loads((tmp_path / "manifest.json").read_text())["name"] == second.manifest["name"]


@pytest.mark.parametrize("formats, bit_depth, lufs", [("wav", "24", None), ("wav,flac", "16", None),
                                                      ("flac,wav", "24", None), ("wav", "24", -9.0)])
def test_the_renders_check_report_is_the_check_of_the_written_file(tmp_path, formats, bit_depth, lufs):
    """From the blocks as they are written (a WAV first; limited, loud) or by reading the file back (FLAC first):
    either way the report `ambientgen check` gives of the file, to the byte."""
    from ambientgen.check.report import check_file, scene_preset

    result = ambientgen.render("a gentle stream and rain", tmp_path / "out", duration=30, seed=3, backend="procedural",
                               formats=formats, bit_depth=bit_depth, lufs=lufs, cache=False)
    m = result.manifest
    mix = next(f for f in m["files"] if f["kind"] == "mix")
    assert mix["format"] == formats.split(",")[0]
    want = check_file(tmp_path / "out" / mix["path"], manifest=m,
                      preset=scene_preset(m["target_lufs"], m["true_peak_dbtp"], loop=bool(m["loop"])))
    written = (tmp_path / "out" / f"{m['name']}.check.json").read_text()
    assert written == json.dumps(want.to_json(), indent=2) + "\n"
    assert result.report.seams  # the manifest's seams, ranked

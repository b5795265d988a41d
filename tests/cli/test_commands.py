from __future__ import annotations

import inspect
import json
import subprocess
import sys

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf
from typer.testing import CliRunner

from ambientgen.cli import commands as cli
from tests.conftest import SCENES, TEST_STEPS

runner = CliRunner()


def run(*args):
    return runner.invoke(cli.app, [str(a) for a in args])


def render_args(scene, out, checkpoint, *extra):
    return ["render", scene, "-o", out, "--checkpoint", checkpoint, "--steps", TEST_STEPS, "-q", *extra]


@pytest.mark.slow
def test_help_is_fast_and_imports_no_torch():
    code = "import sys; from ambientgen.cli import commands; assert 'torch' not in sys.modules and 'diffusers' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
    result = run("--help")
    assert result.exit_code == 0 and "render" in result.output


def test_help_reads_as_paragraphs_not_source_lines():
    """A docstring wrapped in the source is one paragraph in --help; the command list shows its first line."""
    result = runner.invoke(cli.app, ["plan", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0
    assert "what auto chooses): the procedural backend gets only layers" in result.output
    listing = runner.invoke(cli.app, ["--help"], env={"COLUMNS": "200"}).output
    assert "Open a local web mixer: listen to the stems, adjust each layer as you hear it, save, re-export." in listing
    assert "Mix-only edits" not in listing


def test_validate_ok_and_bad(tmp_path):
    result = run("validate", SCENES / "forest.yaml")
    assert result.exit_code == 0 and "ok" in result.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\nduration: -3\nlayers:\n  - name: a\n    prompt: b\n    gian_db: 1\n")
    result = run("validate", bad)
    assert result.exit_code == 1
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in result.output
    assert line == (f"error: {bad}: 2 problems: duration: must be greater than 0 seconds, got -3; "
                    "layers[0].gian_db: unknown key (did you mean 'gain_db'?)")


@pytest.mark.slow
def test_forest_60s_acceptance(tiny_checkpoint, tmp_path):
    """The issue's acceptance render: 60.000 s, 48 kHz stereo, stems of equal length, loudness on target."""
    out = tmp_path / "out"
    result = run(*render_args(SCENES / "forest.yaml", out, tiny_checkpoint, "--duration", "60"))
    assert result.exit_code == 0, result.output
    mix, sr = sf.read(out / "forest.wav", dtype="float64")
    assert sr == 48000 and mix.shape == (60 * 48000, 2)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["duration_s"] == 60.0
    for layer in manifest["layers"]:
        stem, stem_sr = sf.read(out / layer["stem"])
        assert stem_sr == 48000 and stem.shape == mix.shape
    measured = pyloudnorm.Meter(sr).integrated_loudness(mix)
    assert measured == pytest.approx(manifest["target_lufs"], abs=0.5)
    ceiling = 10 ** (manifest["true_peak_dbtp"] / 20)
    assert np.abs(mix).max() <= ceiling


@pytest.mark.slow
def test_same_seed_same_bytes_other_seed_other_audio(tiny_checkpoint, tmp_path):
    scene = SCENES / "campfire.yaml"
    for name, seed in (("a", 1), ("b", 1), ("c", 2)):
        result = run(*render_args(scene, tmp_path / name, tiny_checkpoint, "--duration", "15", "--seed", seed))
        assert result.exit_code == 0, result.output
    a, b, c = ((tmp_path / n / "campfire.wav").read_bytes() for n in "abc")
    assert a == b
    assert a != c
    xa, _ = sf.read(tmp_path / "a" / "campfire.wav")
    xc, _ = sf.read(tmp_path / "c" / "campfire.wav")
    assert np.corrcoef(xa[:, 0], xc[:, 0])[0, 1] < 0.5


@pytest.mark.slow
def test_lufs_format_and_no_stems(tiny_checkpoint, tmp_path):
    out = tmp_path / "o"
    result = run(*render_args(SCENES / "summer-night.yaml", out, tiny_checkpoint, "--duration", "8", "--lufs", "-16",
                              "--format", "flac", "--no-stems"))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "summer-night.check.json",
                                                     "summer-night.check.png", "summer-night.flac"]  # no stems: no session
    mix, sr = sf.read(out / "summer-night.flac")
    assert pyloudnorm.Meter(sr).integrated_loudness(mix) == pytest.approx(-16, abs=0.5)


def test_missing_hub_checkpoint_offline(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    out = tmp_path / "out"
    result = run("render", SCENES / "forest.yaml", "-o", out, "--checkpoint", "cvssp/audioldm2", "--backend",
                 "audioldm2", "-q")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: --checkpoint: cannot load 'cvssp/audioldm2'")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output
    assert not out.exists()


# bad options: (arguments after `render SCENE`, exit code, the message expected on stderr)
BAD_OPTIONS = [
    (["--format", "wav,aiff"], 2, "error: --format: must be a comma-separated list of wav, flac, ogg, opus, mp3, m4a, "
                                 "got 'aiff'"),
    (["--format", ","], 2, "error: --format: give at least one format"),
    (["--bit-depth", "8"], 2, "error: --bit-depth: must be one of 16, 24, 32f, got '8'"),
    (["--format", "flac", "--bit-depth", "32f"], 2, "error: --bit-depth: FLAC stores 16 or 24-bit integers, not 32f"),
    (["--device", "tpu"], 2, "error: --device: must be one of auto, cpu, cuda, mps, got 'tpu'"),
    (["--backend", "stable-audio"], 2, "error: --backend: must be one of auto, audioldm2, procedural, stable-audio-3, recording, got 'stable-audio'"),
    (["--duration", "0"], 2, "error: --duration: must be greater than 0 seconds, got '0'"),
    (["--duration", "forever"], 2, "error: --duration: cannot read 'forever' as a duration"),
    (["--duration", "48h"], 2, "error: --duration: must be at most 24h (86400 s), got '48h'"),
    (["--lufs", "3"], 2, "error: --lufs: must be less than or equal to -5, got 3.0"),
    (["--steps", "0"], 2, "error: --steps: must be greater than or equal to 1, got 0"),
    (["--seed", "-4"], 2, "error: --seed: must be greater than or equal to 0, got -4"),
    (["--checkpoint", "./no/such/dir", "--backend", "audioldm2"], 1,
     "error: --checkpoint: './no/such/dir' is not a directory"),
]


@pytest.mark.parametrize("extra, code, message", BAD_OPTIONS, ids=[m[7:40] for _, _, m in BAD_OPTIONS])
def test_bad_options(tmp_path, extra, code, message):
    out = tmp_path / "out"
    result = run("render", SCENES / "forest.yaml", "-o", out, "-q", *extra)
    assert result.exit_code == code, result.output
    assert result.stderr.startswith(message), result.stderr
    assert "Traceback" not in result.output
    assert not out.exists()


def test_bad_scene_paths(tmp_path):
    result = run("render", tmp_path / "missing.yaml", "-o", tmp_path / "o")
    assert result.exit_code == 1 and result.stderr == (f"error: {tmp_path / 'missing.yaml'}: no such scene file; "
                                                       "`ambientgen scenes` lists the bundled scenes\n")
    result = run("render", tmp_path, "-o", tmp_path / "o")
    assert result.exit_code == 1 and "is a directory, not a scene file" in result.stderr
    afile = tmp_path / "file"
    afile.write_text("x")
    result = run("render", SCENES / "forest.yaml", "-o", afile)
    assert result.exit_code == 2 and "--output: " in result.stderr and "is not a directory" in result.stderr


def test_unknown_option_is_usage_error():
    result = run("render", SCENES / "forest.yaml", "--lenght", "3")
    assert result.exit_code == 2


def test_cli_defaults_equal_library_defaults():
    from ambientgen.rendering.pipeline import render

    params = inspect.signature(cli.render).parameters
    lib = inspect.signature(render).parameters
    assert params["fmt"].default == lib["formats"].default  # None: wav, or the preset's
    assert params["output"].default == cli.Path(lib["output"].default)
    for flag, field in (("no_stems", "stems"), ("no_session", "session"), ("no_report", "report")):
        assert (not params[flag].default) == (lib[field].default is not False)  # None: the default (or the preset's)
    for same in ("device", "bit_depth", "executor", "overwrite"):
        assert params[same].default == lib[same].default
    from ambientgen.backends.audioldm2 import AudioLDM2Backend

    assert params["device"].default == inspect.signature(AudioLDM2Backend.load).parameters["device"].default


def test_scenes_lists_the_bundled_scenes():
    result = run("scenes")
    assert result.exit_code == 0
    for name in ("campfire", "forest", "ocean-at-night", "rain-on-tin-roof", "summer-night", "thunderstorm"):
        assert name in result.output
    assert "(events)" in result.output


def test_version():
    import ambientgen

    result = run("--version")
    assert result.exit_code == 0 and result.output.strip() == f"ambientgen {ambientgen.__version__}"


class _Clicky:
    """A test-only backend whose chunks fall silent for half a second: renders whose own check fails."""

    @staticmethod
    def spec():
        import numpy as np

        from ambientgen.backends import BackendSpec
        from ambientgen.backends.base import Backend, NoSettings

        class Clicky(Backend):
            def render(self, requests, *, on_progress=None):
                out = []
                for req in requests:
                    n = round(req.duration_s * self.sample_rate)
                    x = 0.02 * np.random.default_rng(req.seed).standard_normal((1, n))
                    x[0, n // 2 : n // 2 + self.sample_rate // 2] = 0.0  # a silent gap
                    out.append(x.astype(np.float32))
                    self.stats.count(req.layer, 1)
                return out

        spec = BackendSpec(name="test-clicky", summary="test-only clicks", sample_rate=16000, channels=1,
                           max_window_s=10.0, settings=NoSettings, factory=lambda s, d: Clicky(), offline=True)
        Clicky.spec = spec
        return spec


def test_a_render_whose_own_check_fails_exits_3_and_says_what_to_try(tmp_path):
    from ambientgen.backends import register, unregister

    spec = register(_Clicky.spec())
    try:
        scene = tmp_path / "s.yaml"
        scene.write_text("name: clicky\nduration: 30\nmodel: {backend: test-clicky}\n"
                         "layers:\n  - name: hiss\n    prompt: hiss\n")
        result = runner.invoke(cli.app, ["render", str(scene), "-o", str(tmp_path / "out"), "-q", "--no-cache"])
    finally:
        unregister(spec.name)
    assert result.exit_code == cli.EXIT_CHECK_FAILED == 3, result.output
    assert (tmp_path / "out" / "clicky.wav").is_file()  # written all the same
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("check: FAIL") and "silent gap" in last and "try another --seed" in last  # the click


def test_check_hints_follow_the_first_known_failure():
    from ambientgen.cli.console import check_hint

    assert "longer recording" in check_hint(["a 6.3 s stretch at 1.0 s recurs at 7.3 s"], "loop")
    assert "--variety" in check_hint(["a 6.3 s stretch at 1.0 s recurs at 7.3 s"], "render")
    assert check_hint(["4 click(s), first at 4.994 s"], "render") == "try another --seed"
    assert check_hint(["something new"], "render", "forest") == "see forest.check.json and forest.check.png for where"

"""Backends and checkpoints on this machine; auto's choice tells the truth; loading by hub id from the HF cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from ambientgen.backends import choose_backend
from ambientgen.cli import commands as cli
from ambientgen.scene.schema import scene_from_dict
from tests.conftest import ROOT, SCENES

runner = CliRunner()


def model(**fields):
    return scene_from_dict({"name": "s", "model": fields, "layers": [{"name": "a", "prompt": "rain"}]}).model


def test_models_lists_backends_with_what_they_need():
    result = runner.invoke(cli.app, ["models"])
    assert result.exit_code == 0, result.output
    for text in ("audioldm2", "procedural", "16000 Hz", "48000 Hz", "4.5 GB", "CC-BY-NC-SA-4.0", "nothing (offline)"):
        assert text in result.output


def test_download_offline_is_one_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = runner.invoke(cli.app, ["models", "download", "cvssp/audioldm2"])
    assert result.exit_code == 1
    assert result.stderr == "error: models download: cannot download cvssp/audioldm2: HF_HUB_OFFLINE is set\n"


def test_auto_on_a_cpu_never_starts_the_big_download(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub

    def no_network(*args, **kwargs):
        raise AssertionError("auto asked the hub on a CPU-only machine")

    monkeypatch.setattr(huggingface_hub, "file_exists", no_network)
    choice = choose_backend(model(), device="cpu")
    assert (choice.backend, choice.automatic) == ("procedural", True)
    assert choice.reason == "cvssp/audioldm2 is not downloaded and this machine has no GPU"
    assert "ambientgen models download cvssp/audioldm2" in choice.hint and "(4.5 GB)" in choice.hint
    assert "about 5 min of compute per minute of audio per layer" in choice.hint


def test_auto_with_a_gpu_says_how_much_it_downloads(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    import huggingface_hub

    monkeypatch.setattr(huggingface_hub, "file_exists", lambda repo, name: True)
    choice = choose_backend(model(), device="cuda")
    assert (choice.backend, choice.automatic) == ("audioldm2", True)
    assert choice.hint == "downloading cvssp/audioldm2 (4.5 GB) into the Hugging Face cache first"


@pytest.mark.parametrize("checkpoint, message", [
    ("/nonexistent/tiny", "error: --checkpoint: '/nonexistent/tiny' is not a directory"),
    ("someone/missing-model", "error: --checkpoint: cannot load 'someone/missing-model' from the local Hugging Face "
                              "cache (HF_HUB_OFFLINE is set)"),
])
def test_a_named_checkpoint_is_that_model_or_an_error(tmp_path, checkpoint, message):
    result = runner.invoke(cli.app, ["render", str(SCENES / "forest.yaml"), "-o", str(tmp_path / "o"), "--duration",
                                     "12", "--checkpoint", checkpoint, "-q"])
    assert result.exit_code == 1 and result.stderr.startswith(message), result.stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_auto_loads_the_default_checkpoint_from_the_hub_cache(tiny_checkpoint, tmp_path):
    """The tiny model laid out as a downloaded cvssp/audioldm2: auto finds it, from_pretrained loads it by hub id
    offline, and ambientgen models lists it."""
    from ambientgen.testing import install_in_hub_cache

    hub = tmp_path / "hub"
    install_in_hub_cache(tiny_checkpoint, "cvssp/audioldm2", hub)
    env = {**os.environ, "HF_HUB_CACHE": str(hub), "HF_HUB_OFFLINE": "1", "AMBIENTGEN_CACHE": str(tmp_path / "c")}
    cmd = [sys.executable, "-m", "ambientgen.cli"]
    listed = subprocess.run([*cmd, "models"], env=env, capture_output=True, text=True, cwd=ROOT)
    assert listed.returncode == 0 and "cvssp/audioldm2" in listed.stdout and "AudioLDM2Pipeline" in listed.stdout
    rendered = subprocess.run([*cmd, "render", str(SCENES / "forest.yaml"), "--duration", "12", "--steps", "2",
                               "-o", str(tmp_path / "o"), "-q", "--no-report"], env=env, capture_output=True,
                              text=True, cwd=ROOT)
    assert rendered.returncode == 0, rendered.stderr
    assert "backend: audioldm2 (cvssp/audioldm2 is in the Hugging Face cache)" in rendered.stderr
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["backend"]["backend"] == "audioldm2" and manifest["backend"]["checkpoint"] == "cvssp/audioldm2"


def test_errors_name_the_option_only_when_the_option_was_given(tmp_path):
    scene = tmp_path / "s.yaml"
    scene.write_text("name: s\nduration: 12\nmodel: {checkpoint: ./no/such/model}\n"
                     "layers:\n  - {name: rain, prompt: rain}\n")
    from_file = runner.invoke(cli.app, ["render", str(scene), "-o", str(tmp_path / "o"), "-q"])
    assert from_file.exit_code == 1 and from_file.stderr.startswith("error: model.checkpoint: './no/such/model' is not")
    from_flag = runner.invoke(cli.app, ["render", str(scene), "-o", str(tmp_path / "o"), "-q", "--checkpoint", "./x"])
    assert from_flag.exit_code == 1 and from_flag.stderr.startswith("error: --checkpoint: './x' is not a directory")

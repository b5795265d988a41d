"""Shared fixtures: tiny random-weight AudioLDM2 and Stable Audio 3 checkpoints built offline, once per session."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

# Tests never touch the network: the Hugging Face libraries must only look at local files.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")

ROOT = Path(__file__).resolve().parents[1]
SCENES = ROOT / "scenes"
DATA = Path(__file__).resolve().parent / "data"
TEST_STEPS = 2  # denoising steps in tests: the pipeline is exercised, not the audio quality


@pytest.fixture(autouse=True)
def _own_render_cache(tmp_path_factory, monkeypatch):
    """Each test gets an empty render cache of its own (never the user's ~/.cache/ambientgen)."""
    monkeypatch.setenv("AMBIENTGEN_CACHE", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory) -> Path:
    from ambientgen.testing import save_tiny_audioldm2

    return save_tiny_audioldm2(tmp_path_factory.mktemp("models") / "tiny")


@pytest.fixture(scope="session")
def tiny_checkpoint_lmhead(tmp_path_factory) -> Path:
    from ambientgen.testing import save_tiny_audioldm2

    return save_tiny_audioldm2(tmp_path_factory.mktemp("models") / "tiny-lmhead", language_model="GPT2LMHeadModel")


@pytest.fixture(scope="session")
def tiny_sa3_checkpoint(tmp_path_factory) -> Path:
    from ambientgen.testing import save_tiny_stable_audio3

    return save_tiny_stable_audio3(tmp_path_factory.mktemp("models") / "tiny-sa3")


@pytest.fixture
def tiny_sa3(tiny_sa3_checkpoint):
    """A freshly loaded tiny Stable Audio 3 backend (its own conditioning cache and counters)."""
    from ambientgen.backends.stable_audio3 import StableAudio3Backend

    return StableAudio3Backend.load(str(tiny_sa3_checkpoint), device="cpu", steps=TEST_STEPS, batch_size=2)


@pytest.fixture
def tiny_backend(tiny_checkpoint):
    """A freshly loaded backend (its own conditioning cache and counters)."""
    from ambientgen.backends.audioldm2 import AudioLDM2Backend

    return AudioLDM2Backend.load(str(tiny_checkpoint), device="cpu", steps=TEST_STEPS, batch_size=4)


def noise(seconds: float, sample_rate: int = 16000, *, seed: int = 0, channels: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (0.1 * rng.standard_normal((channels, round(seconds * sample_rate)))).astype(np.float32)


def small_scene(**overrides):
    """A short two-layer scene for fast renders."""
    from ambientgen.scene.schema import scene_from_dict

    data = {
        "name": "test-scene",
        "duration": 12,
        "seed": 5,
        "loop": True,
        "model": {"steps": TEST_STEPS, "chunk_s": 5.12, "overlap_s": 1.0},
        "layers": [
            {"name": "rain", "prompt": "field recording of rain", "gain_db": -3, "pan": -0.3},
            {"name": "birds", "prompt": "field recording of birds", "gain_db": -6, "pan": 0.4},
        ],
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(data.get(key), dict):
            data[key] = {**data[key], **value}
        else:
            data[key] = value
    return scene_from_dict(data)


def render_manifest(scene, backend, out_dir, *, fmt="wav", cache=False, report=False, **options):
    """Render through the public pipeline with a loaded backend; returns the manifest.

    Tests that are not about the report or the cache leave both off (faster); every render may replace the last.
    """
    from ambientgen import render

    return render(scene, out_dir, backend=backend, formats=fmt, cache=False if cache is None else cache,
                  report=report, overwrite=True, **options).manifest


def master(audio, sample_rate, *, target_lufs, ceiling_dbtp):
    """``(channels, n)`` audio mastered by the real (streaming) mastering path: gain to the target, true-peak
    limiting under the ceiling. Returns (mastered audio, :class:`~ambientgen.output.master.MasterReport`)."""
    from ambientgen.audio.streams import ArrayStream, Mix
    from ambientgen.output.master import assemble

    audio = np.asarray(audio, dtype=np.float32)
    # mono as (x, silence): BS.1770 sums channel powers, so that pair measures (and limits) as x alone
    stereo = audio if audio.shape[0] == 2 else np.concatenate([audio, np.zeros_like(audio)])
    blocks = []
    report = assemble(Mix([ArrayStream("x", stereo)], stereo.shape[1], False), sample_rate=sample_rate,
                      target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp, sinks=[blocks.append])
    out = np.concatenate(blocks, axis=1)
    return (out if audio.shape[0] == 2 else out[:1]), report

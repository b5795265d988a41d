from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import soundfile as sf

import ambientgen.output.export as export
from ambientgen.errors import AmbientgenError, ExportError
from tests.conftest import render_manifest, small_scene


@pytest.mark.slow
def test_files_read_back(tiny_backend, tmp_path):
    manifest = render_manifest(small_scene(), tiny_backend, tmp_path, fmt="flac")
    mix = sf.info(str(tmp_path / "test-scene.flac"))
    assert (mix.format, mix.subtype, mix.samplerate, mix.channels, mix.frames) == ("FLAC", "PCM_24", 48000, 2, 576000)
    for name in ("rain", "birds"):
        stem = sf.info(str(tmp_path / "stems" / f"{name}.wav"))
        assert (stem.format, stem.subtype, stem.frames, stem.channels) == ("WAV", "PCM_24", 576000, 2)
    for entry in manifest["files"]:
        digest = hashlib.sha256((tmp_path / entry["path"]).read_bytes()).hexdigest()
        assert entry["sha256"] == digest
    assert json.loads((tmp_path / "manifest.json").read_text()) == manifest
    assert not list(tmp_path.rglob("*.partial"))


@pytest.mark.slow
def test_failure_leaves_nothing_half_written(tiny_backend, tmp_path, monkeypatch):
    earlier = tmp_path / "test-scene.wav"
    earlier.write_bytes(b"an earlier render")
    written = []
    real = export._SoundFileSink.__call__

    def flaky(self, block):  # the disk fills up after the first few blocks of the first stem
        written.append(block.shape[1])
        if len(written) > 3:
            raise OSError(28, "No space left on device")
        real(self, block)

    monkeypatch.setattr(export._SoundFileSink, "__call__", flaky)
    with pytest.raises(ExportError, match="No space left on device"):
        render_manifest(small_scene(), tiny_backend, tmp_path)
    assert earlier.read_bytes() == b"an earlier render"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["test-scene.wav"]


def test_unknown_format(tiny_backend, tmp_path):
    with pytest.raises(AmbientgenError, match="formats: must be a comma-separated list of .*, got 'aiff'"):
        render_manifest(small_scene(), tiny_backend, tmp_path, fmt="aiff")


def test_sinks_write_frames_first_on_disk(tmp_path):
    audio = np.stack([np.full(100, 0.25), np.full(100, -0.5)]).astype(np.float32)
    sink = export._SoundFileSink(tmp_path / "x.wav", 48000, container="WAV", subtype="FLOAT")
    sink(audio)
    sink.close()
    data, sr = sf.read(tmp_path / "x.wav", dtype="float32")
    assert data.shape == (100, 2) and data[0, 0] == 0.25 and data[0, 1] == -0.5


@pytest.mark.parametrize("container, subtype", [("WAV", "PCM_24"), ("WAV", "PCM_16"), ("FLAC", "PCM_24")])
def test_sinks_write_the_bytes_libsndfile_writes_from_the_floats(tmp_path, container, subtype):
    """16- and 24-bit WAVs are handed 32-bit integers made with numpy: the files are the ones the floats make."""
    rng = np.random.default_rng(4)
    blocks = [rng.uniform(-1.1, 1.1, (2, n)).astype(np.float32) for n in (1000, 4096, 7)]
    sink = export._SoundFileSink(tmp_path / "sink", 48000, container=container, subtype=subtype)
    for b in blocks:
        sink(b)
    sink.close()
    sf.write(tmp_path / "direct", np.concatenate(blocks, axis=1).T, 48000, format=container, subtype=subtype)
    assert (tmp_path / "sink").read_bytes() == (tmp_path / "direct").read_bytes()
    assert sink._words == (container == "WAV")


def test_every_sink_is_closed_side_by_side_and_the_first_error_raised_after():
    closed = []

    class Sink:
        def __init__(self, name, fails=False):
            self.name, self.fails = name, fails

        def close(self):
            closed.append(self.name)
            if self.fails:
                raise ExportError(f"{self.name}: disk full")

    with pytest.raises(ExportError, match="b: disk full"):
        export.close_all([Sink("a"), Sink("b", fails=True), Sink("c"), Sink("d", fails=True)])
    assert sorted(closed) == ["a", "b", "c", "d"]
    export.close_all([])

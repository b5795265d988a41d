from __future__ import annotations

import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf

from ambientgen.backends.procedural import ProceduralBackend
from ambientgen.errors import UsageError
from ambientgen.output.formats import cue_chunks, parse_formats, read_riff_chunks, smpl_chunk
from ambientgen.output.reaper import parse_reaper_session
from tests.conftest import render_manifest, small_scene


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """One procedural render in every format the machine can write."""
    out = tmp_path_factory.mktemp("formats")
    scene = small_scene(duration=14, target_lufs=-30, layers=[
        {"name": "rain", "prompt": "rain on leaves", "gain_db": -3, "pan": -0.3, "width": 0.7},
        {"name": "crickets", "prompt": "crickets at night", "gain_db": -9, "pan": 0.5, "width": 0.2}])
    manifest = render_manifest(scene, ProceduralBackend(), out, fmt="wav,flac,ogg,opus,mp3")
    return out, manifest


@pytest.mark.slow
def test_every_format_reads_back(rendered):
    out, manifest = rendered
    frames = 14 * 48000
    expected = {"wav": ("WAV", "PCM_24"), "flac": ("FLAC", "PCM_24"), "ogg": ("OGG", "VORBIS"),
                "opus": ("OGG", "OPUS"), "mp3": ("MP3", "MPEG_LAYER_III")}
    for ext, (container, subtype) in expected.items():
        info = sf.info(str(out / f"test-scene.{ext}"))
        assert (info.format, info.subtype, info.samplerate, info.channels) == (container, subtype, 48000, 2)
        if ext in ("wav", "flac", "ogg", "opus"):
            assert info.frames == frames, ext  # sample-exact: these loop gaplessly
    entries = {f["path"]: f for f in manifest["files"]}
    assert entries["test-scene.mp3"]["loop"]["loopable"] is False
    assert "encoder delay" in entries["test-scene.mp3"]["loop"]["why"]
    tags = {"wav": "WAV smpl chunk", "flac": "LOOPSTART/LOOPLENGTH comments", "ogg": "LOOPSTART/LOOPLENGTH comments",
            "opus": "LOOPSTART/LOOPLENGTH comments"}
    for ext, metadata in tags.items():
        assert entries[f"test-scene.{ext}"]["loop"] == {"loopable": True, "start": 0, "length": frames,
                                                       "metadata": metadata}


@pytest.mark.skipif(shutil.which("sox") is None, reason="sox is not installed")
def test_sox_reads_the_wav(rendered):
    out, _ = rendered
    text = subprocess.run(["sox", "--i", str(out / "test-scene.wav")], capture_output=True, text=True).stdout
    assert "48000" in text and "672000 samples" in text


def test_wav_smpl_chunk_loops_over_exactly_the_file(rendered):
    out, _ = rendered
    for path in (out / "test-scene.wav", out / "stems" / "rain.wav"):
        chunks = read_riff_chunks(path)
        fields = struct.unpack("<9I", chunks[b"smpl"][:36])
        assert fields[2] == round(1e9 / 48000) and fields[7] == 1  # sample period (ns), one loop
        cue_id, kind, start, end, fraction, count = struct.unpack("<6I", chunks[b"smpl"][36:60])
        frames = sf.info(str(path)).frames
        assert (kind, start, end, count) == (0, 0, frames - 1, 0)  # forward, whole file, forever
    cues = read_riff_chunks(out / "test-scene.wav")[b"cue "]
    (count,) = struct.unpack("<I", cues[:4])
    positions = [struct.unpack("<II4sIII", cues[4 + 24 * i : 28 + 24 * i])[1] for i in range(count)]
    assert count >= 2 and positions == sorted(positions)  # seams of both layers
    # soundfile still reads the audio of a file with the extra chunks
    data, _ = sf.read(out / "test-scene.wav")
    assert data.shape == (14 * 48000, 2)


def test_vorbis_loop_tags_read_back_with_mutagen(rendered):
    from mutagen.flac import FLAC
    from mutagen.oggopus import OggOpus
    from mutagen.oggvorbis import OggVorbis

    out, _ = rendered
    for cls, ext in ((OggVorbis, "ogg"), (OggOpus, "opus"), (FLAC, "flac")):
        tags = cls(str(out / f"test-scene.{ext}"))
        assert tags["LOOPSTART"] == ["0"] and tags["LOOPLENGTH"] == [str(14 * 48000)], ext


def test_stems_sum_to_the_premaster_mix(rendered):
    out, manifest = rendered
    assert manifest["limiter_reduction_db"] == 0  # -30 LUFS: the limiter stays out, mix == premaster
    mix, _ = sf.read(out / "test-scene.wav", dtype="float64")
    total = sum(sf.read(out / "stems" / f"{name}.wav", dtype="float64")[0] for name in ("rain", "crickets"))
    error_db = 20 * np.log10(np.sqrt(np.mean((total - mix) ** 2)) / np.sqrt(np.mean(mix**2)))
    assert error_db < -60


def test_reaper_session_parses_back(rendered):
    out, manifest = rendered
    session = parse_reaper_session((out / "test-scene.RPP").read_text())
    assert session["sample_rate"] == 48000
    assert [t["name"] for t in session["tracks"]] == ["rain", "crickets"]
    for track in session["tracks"]:
        assert (out / track["file"]).is_file() and track["file"] == f"stems/{track['name']}.wav"
        assert track["gain"] == 1.0 and track["pan"] == 0.0  # printed stems: unity faders play the mix
        assert track["length_s"] == pytest.approx(14.0) and track["loop"]
    layers = {layer["name"]: layer for layer in manifest["layers"]}
    assert layers["rain"]["gain_db"] == -3 and layers["rain"]["pan"] == -0.3 and layers["crickets"]["pan"] == 0.5
    # the printed stems carry the pan: the left/right balance follows the scene
    rain, _ = sf.read(out / "stems" / "rain.wav")
    crickets, _ = sf.read(out / "stems" / "crickets.wav")
    assert np.mean(rain[:, 0] ** 2) > np.mean(rain[:, 1] ** 2)
    assert np.mean(crickets[:, 1] ** 2) > np.mean(crickets[:, 0] ** 2)


def test_riff_chunk_sizes():
    assert len(smpl_chunk(sample_rate=48000, loop_start=0, loop_end=99)) == 8 + 36 + 24
    assert cue_chunks([]) == b""
    blob = cue_chunks([(10, "a"), (20, "seam")])
    assert blob[:4] == b"cue " and struct.unpack("<I", blob[4:8])[0] == 4 + 24 * 2


@pytest.mark.parametrize(
    "text, rate, depth, message",
    [("opus", 44100, "24", "opus needs a sample rate of 8000, 12000, 16000, 24000, 48000 Hz, got 44100"),
     ("wav,wav", 48000, "16", ["wav"]), ("WAV, Flac", 48000, "24", ["wav", "flac"]),
     (["ogg", "wav"], 44100, "24", ["ogg", "wav"])],
)
def test_parse_formats(text, rate, depth, message):
    if isinstance(message, str):
        with pytest.raises(UsageError, match=message):
            parse_formats(text, sample_rate=rate, bit_depth=depth)
    else:  # duplicates dropped, case and spaces ignored, order kept
        assert [f.name for f in parse_formats(text, sample_rate=rate, bit_depth=depth)] == message


@pytest.mark.skipif(shutil.which("ffmpeg") is not None, reason="ffmpeg is installed: m4a is available")
def test_m4a_without_ffmpeg_is_refused_clearly():
    with pytest.raises(UsageError, match="m4a needs ffmpeg, which is not on PATH"):
        parse_formats("m4a", sample_rate=48000)


@pytest.mark.parametrize("depth, subtype", [("16", "PCM_16"), ("24", "PCM_24"), ("32f", "FLOAT")])
@pytest.mark.slow
def test_wav_bit_depths(tmp_path, depth, subtype):
    render_manifest(small_scene(duration=4, model={"chunk_s": 3.0, "overlap_s": 1.0}), ProceduralBackend(), tmp_path,
                 bit_depth=depth, stems=False)
    assert sf.info(str(tmp_path / "test-scene.wav")).subtype == subtype

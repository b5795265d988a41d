"""WAV samples decoded from the file's bytes with numpy: the values libsndfile reads, to the bit, for the formats the
engine writes; every other file is left to libsndfile."""

from __future__ import annotations

import struct

import numpy as np
import pytest
import soundfile as sf

from ambientgen.audio.wavdata import WavData, riff_chunks


def _extremes(subtype: str, frames: int, channels: int) -> np.ndarray:
    """Noise over the whole range, full scale both ways, beyond it, the smallest steps and silence."""
    rng = np.random.default_rng(5)
    x = rng.uniform(-1.2, 1.2, (frames, channels))
    edge = np.array([1.0, -1.0, 0.99999994, -0.99999994, 2.0**-24, -(2.0**-15), 0.0, 1e-9])
    x[: len(edge)] = edge[:, None]
    return x if subtype != "FLOAT" else np.clip(x, -1, 1)


def _read_all(reader: WavData, block: int) -> np.ndarray:
    parts = []
    while (b := reader.read(block)) is not None:
        assert b.dtype == np.float32 and b.flags.c_contiguous and b.shape[0] == reader.channels
        parts.append(b)
    return np.concatenate(parts, axis=1)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_decoded_samples_are_libsndfiles_to_the_bit(tmp_path, subtype, channels):
    path = tmp_path / "x.wav"
    sf.write(path, _extremes(subtype, 9_001, channels), 48000, subtype=subtype)
    with sf.SoundFile(path) as f, WavData.of(path, f) as reader:
        got = _read_all(reader, 2_000)
    np.testing.assert_array_equal(got, sf.read(path, dtype="float32", always_2d=True)[0].T)
    assert got.shape == (channels, 9_001)


def test_extensible_headers_and_chunks_before_the_data_are_read(tmp_path):
    """WAVE_FORMAT_EXTENSIBLE (the real tag in the sub-format) and a chunk of another kind before ``data`` (an odd
    length, padded), as other programs write them."""
    path = tmp_path / "x.wav"
    sf.write(path, _extremes("PCM_24", 5_000, 2), 44100, subtype="PCM_24", format="WAVEX")
    chunks, (offset, length) = riff_chunks(open(path, "rb"))
    raw = path.read_bytes()
    pad = b"LIST" + struct.pack("<I", 5) + b"abcde" + b"\0"
    body = raw[12 : offset - 8] + pad + raw[offset - 8 : offset + length]
    moved = tmp_path / "moved.wav"
    moved.write_bytes(b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WAVE" + body)
    assert struct.unpack("<H", chunks[b"fmt "][:2])[0] == 0xFFFE
    with sf.SoundFile(moved) as f, WavData.of(moved, f) as reader:
        got = _read_all(reader, 777)
    np.testing.assert_array_equal(got, sf.read(path, dtype="float32", always_2d=True)[0].T)


@pytest.mark.parametrize("fmt, subtype", [("WAV", "PCM_32"), ("WAV", "DOUBLE"), ("WAV", "PCM_U8"), ("FLAC", "PCM_24"),
                                          ("RF64", "PCM_24"), ("AIFF", "PCM_24")])
def test_other_files_are_left_to_libsndfile(tmp_path, fmt, subtype):
    path = tmp_path / "x.bin"
    sf.write(path, np.zeros((100, 2)), 8000, format=fmt, subtype=subtype)
    assert WavData.of(path, sf.info(str(path))) is None


def test_a_header_that_disagrees_with_libsndfile_is_left_to_it(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, np.zeros((100, 2)), 8000, subtype="PCM_16")
    info = sf.info(str(path))
    info_claims = type("Info", (), {"format": "WAV", "subtype": "PCM_24", "endian": "FILE", "channels": 2,
                                    "frames": 100})()
    assert WavData.of(path, info_claims) is None  # 16-bit bytes are not read as 24-bit samples
    assert WavData.of(path, info) is not None
    longer = type("Info", (), {**{k: getattr(info, k) for k in ("format", "subtype", "endian", "channels")},
                               "frames": 101})()
    assert WavData.of(path, longer) is None  # more frames than the data chunk holds


def test_a_file_cut_short_while_read_says_so(tmp_path):
    path = tmp_path / "x.wav"
    sf.write(path, np.zeros((1_000, 2)), 8000, subtype="PCM_16")
    with WavData.of(path, sf.info(str(path))) as reader:
        assert reader.read(400).shape == (2, 400)
        with open(path, "r+b") as f:
            f.truncate(44 + 600 * 4)
        with pytest.raises(OSError, match="ended 1600 bytes early"):
            reader.read(600)


def test_riff_chunks_refuses_what_is_not_riff(tmp_path):
    path = tmp_path / "x.flac"
    sf.write(path, np.zeros((100, 1)), 8000, format="FLAC")
    with open(path, "rb") as f, pytest.raises(ValueError, match="not a RIFF/WAVE"):
        riff_chunks(f)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24"])
@pytest.mark.parametrize("frames_first", [False, True])
def test_pcm_words_write_the_bytes_libsndfile_writes_from_floats(tmp_path, subtype, frames_first):
    """Ordinary samples, tiny ones, exact half steps of the format (rounded to even), full scale and beyond."""
    from ambientgen.audio.wavdata import pcm_words

    rng = np.random.default_rng(11)
    bits = int(subtype[-2:])
    steps = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), 20_000) * 2.0 ** (32 - bits)
    x = np.concatenate([rng.uniform(-1, 1, 100_000), 1e-4 * rng.standard_normal(20_000), rng.uniform(-1.3, 1.3, 20_000),
                        (steps + 2.0 ** (31 - bits)) / 2**31, (steps + 2.0 ** (31 - bits) - 1) / 2**31,
                        [1.0, -1.0, 0.99999994, -0.99999994, 2.0**-24, -(2.0**-25), 0.0]]).astype(np.float32)
    block = np.stack([x, x[::-1]])
    sf.write(tmp_path / "floats.wav", block.T, 48000, subtype=subtype)
    words = pcm_words(block, frames_first=frames_first)
    assert words.dtype == np.int32 and words.flags.c_contiguous
    sf.write(tmp_path / "words.wav", words if frames_first else words.T, 48000, subtype=subtype)
    assert (tmp_path / "words.wav").read_bytes() == (tmp_path / "floats.wav").read_bytes()

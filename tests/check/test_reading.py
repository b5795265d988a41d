"""How check reads a file: blocks read ahead, exactly the file's samples; stretches kept as they stream past equal
the same stretches read alone."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from ambientgen.check.reading import Windows, blocks_ahead, channel_mean, read_spans


@pytest.mark.parametrize("subtype, dtype", [("PCM_16", np.float32), ("PCM_24", np.float32), ("FLOAT", np.float32),
                                            ("PCM_32", np.float64), ("DOUBLE", np.float64)])
def test_blocks_read_ahead_are_the_files_samples_exactly(tmp_path, subtype, dtype):
    rng = np.random.default_rng(1)
    path = tmp_path / "x.wav"
    sf.write(path, 0.3 * rng.standard_normal((10_001, 3)), 8000, subtype=subtype)
    blocks = list(blocks_ahead(path, 4_000))
    assert [b.shape for b in blocks] == [(3, 4_000), (3, 4_000), (3, 2_001)]
    assert all(b.dtype == dtype and b.flags.c_contiguous for b in blocks)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), sf.read(path, dtype="float64")[0].T)


@pytest.mark.parametrize("block", [7_000, 1_000, 300])  # stretches within a block, across two, across several
def test_stretches_read_alone_equal_those_taken_from_the_streaming_pass(tmp_path, block):
    """The second pass reads only the stretches around detected splices: the same samples as the streaming pass's
    windows, so the same measures (spans off either end of the file are measured by neither)."""
    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal((50_000, 2))).astype(np.float32)
    path = tmp_path / "x.wav"
    sf.write(path, audio, 16000, subtype="FLOAT")
    spans = [(k, int(a), int(a) + 900) for k, a in enumerate(rng.integers(-500, 50_000, 40))]
    windows = Windows(spans, lambda x, key: (len(x), float(x.sum())))
    for start in range(0, 50_000, block):
        windows.add(audio[start : start + block].astype(np.float64).mean(axis=1), start)
    alone = read_spans(path, spans, lambda x, key: (len(x), float(x.sum())))
    assert alone == windows.found and 0 < len(alone) < len(spans)


@pytest.mark.parametrize("channels", [1, 2, 3, 6])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_channel_mean_has_the_bits_of_numpys_mean(channels, dtype):
    block = np.random.default_rng(channels).standard_normal((channels, 10_001)).astype(dtype)
    mono = channel_mean(block)
    assert mono.dtype == np.float64 and np.array_equal(mono, block.mean(axis=0, dtype=np.float64))
    assert not np.shares_memory(mono, block)


@pytest.mark.parametrize("subtype", ["PCM_16", "PCM_24", "FLOAT"])
def test_blocks_as_read_are_what_libsndfile_reads_back_to_the_bit(tmp_path, subtype):
    """A render checks its mix from the blocks it writes: each block turned into what the WAV reads back as. Over
    ordinary samples, tiny ones, exact half steps of the format (rounded to even), full scale and beyond."""
    from ambientgen.check.reading import as_read

    rng = np.random.default_rng(7)
    bits = {"PCM_16": 16, "PCM_24": 24, "FLOAT": 24}[subtype]
    steps = rng.integers(-(2 ** (bits - 1)), 2 ** (bits - 1), 20_000) * 2.0 ** (32 - bits)
    x = np.concatenate([rng.uniform(-1, 1, 200_000), 1e-4 * rng.standard_normal(50_000), rng.uniform(-1.3, 1.3, 20_000),
                        (steps + 2.0 ** (31 - bits)) / 2**31, (steps + 2.0 ** (31 - bits) - 1) / 2**31,
                        [1.0, -1.0, 0.99999994, -0.99999994, 2.0**-24, -(2.0**-25), 0.0]]).astype(np.float32)
    block = np.stack([x, x[::-1]])
    sf.write(tmp_path / "x.wav", block.T, 48000, subtype=subtype, format="WAV")
    back = sf.read(tmp_path / "x.wav", dtype="float32", always_2d=True)[0].T
    got = as_read(block, subtype)
    assert got.dtype == np.float32 and got.shape == block.shape
    np.testing.assert_array_equal(got, back)
    assert np.array_equal(block[0, :10], x[:10])  # the block itself is left alone


def test_rechunk_gives_the_blocks_reading_would():
    from ambientgen.check.reading import Rechunk

    x = np.arange(2 * 10_007, dtype=np.float32).reshape(2, -1)
    got = []
    re = Rechunk(3_000, got.append)
    for a, b in [(0, 100), (100, 2_999), (2_999, 9_000), (9_000, 9_001), (9_001, 10_007)]:
        re.add(x[:, a:b])
    re.close()
    assert [g.shape for g in got] == [(2, 3_000)] * 3 + [(2, 1_007)]
    assert all(g.flags.c_contiguous for g in got)
    np.testing.assert_array_equal(np.concatenate(got, axis=1), x)
    re.close()
    assert len(got) == 4  # nothing more

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

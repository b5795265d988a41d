from __future__ import annotations

import numpy as np
import pytest

from ambientgen.stitch import close_loop, equal_power_fades, stitch_chunks

from .conftest import noise


def test_equal_power_fades_sum_to_unit_power():
    fade_in, fade_out = equal_power_fades(1000)
    np.testing.assert_allclose(fade_in**2 + fade_out**2, 1.0, atol=1e-6)
    assert fade_in[0] < 0.01 and fade_in[-1] > 0.999 and np.all(np.diff(fade_in) > 0)


@pytest.mark.parametrize("n_chunks, length, overlap", [(1, 100, 10), (3, 1000, 100), (5, 640, 0), (4, 800, 399)])
def test_stitch_length(n_chunks, length, overlap):
    chunks = [noise(length / 16000, seed=k)[0] for k in range(n_chunks)]
    out = stitch_chunks(chunks, overlap=overlap)
    assert out.shape == (n_chunks * (length - overlap) + overlap,)
    # outside the overlaps each chunk is copied untouched
    np.testing.assert_array_equal(out[overlap : length - overlap], chunks[0][overlap : length - overlap])


def test_stitch_keeps_level_through_seams():
    sr = 16000
    chunks = [noise(2.0, sr, seed=k)[0] for k in range(6)]
    out = stitch_chunks(chunks, overlap=sr // 2)
    # RMS in 100 ms windows: seams (uncorrelated material, equal-power fade) stay at the chunks' level
    rms = np.sqrt((out[: len(out) // 1600 * 1600].reshape(-1, 1600) ** 2).mean(axis=1))
    assert rms.min() > 0.08 and rms.max() < 0.12


def test_stitch_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one chunk"):
        stitch_chunks([], overlap=1)
    with pytest.raises(ValueError, match="equal shape"):
        stitch_chunks([np.zeros(10), np.zeros(11)], overlap=1)
    with pytest.raises(ValueError, match="overlap must be in"):
        stitch_chunks([np.zeros(10)], overlap=10)


def test_close_loop_is_continuous_at_the_wrap():
    sr = 16000
    t = np.arange(3 * sr) / sr
    tone = np.sin(2 * np.pi * 3.7 * t).astype(np.float32)  # a slow sine: any cut shows as a jump
    length, overlap = 2 * sr + 123, sr // 4
    loop = close_loop(tone, length=length, overlap=overlap)
    assert loop.shape == (length,)
    wrap_jump = abs(float(loop[0] - loop[-1]))
    typical = float(np.abs(np.diff(tone)).max())
    assert wrap_jump <= 1.5 * typical
    # a plain cut at the same place would jump far more
    assert abs(float(tone[0] - tone[length - 1])) > 20 * typical


def test_close_loop_needs_enough_material():
    with pytest.raises(ValueError, match="needs 110 samples"):
        close_loop(np.zeros(100), length=100, overlap=10)

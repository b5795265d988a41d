from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
import soundfile as sf

from ambientgen.audio.loudness import LoudnessMeter, k_weighting_sos, measure
from tests.conftest import DATA

SR = 48_000

RECORDINGS = ["rain_redeclipse", "river_stk", "waterfall_stk", "birds_stk", "cafe_stk", "cicadas_redeclipse"]


def load(name):
    x, sr = sf.read(DATA / f"{name}.ogg")
    return np.atleast_2d(x.T), sr


def test_k_weighting_is_the_standards_filter_at_48k():
    # ITU-R BS.1770-4, tables 1 and 2
    expected = [[1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585],
                [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]]
    np.testing.assert_allclose(k_weighting_sos(48000), expected, atol=1e-9)


@pytest.mark.parametrize("name", RECORDINGS)
@pytest.mark.parametrize("block", [997, 1 << 16, 10**7])
def test_streaming_equals_pyloudnorm_with_its_filters(name, block):
    """Identical for every block size; within 0.01 LU of pyloudnorm, which also counts a last, partial gating
    block (zero-padded) when a file is not a whole number of 100 ms steps; BS.1770 and libebur128 do not."""
    x, sr = load(name)
    ours = measure(x, sr, block=block, filters="pyloudnorm").integrated_lufs
    assert ours == measure(x, sr, block=4096, filters="pyloudnorm").integrated_lufs
    assert ours == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(x.T), abs=0.01)


@pytest.mark.parametrize("name", RECORDINGS)
def test_standard_filters_within_a_tenth_of_pyloudnorm(name):
    x, sr = load(name)
    assert measure(x, sr).integrated_lufs == pytest.approx(pyloudnorm.Meter(sr).integrated_loudness(x.T), abs=0.11)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("channels", [1, 2])
@pytest.mark.slow
def test_synthetic_signals_any_block_size(seed, channels):
    rng = np.random.default_rng(seed)
    sr = 44100
    x = rng.standard_normal((channels, sr * 7)) * 0.05
    x[:, sr * 2 : sr * 3] *= 10 ** (rng.uniform(-30, 6) / 20)  # a louder or quieter stretch exercises the gates
    ref = pyloudnorm.Meter(sr).integrated_loudness(x.T)
    results = {b: measure(x, sr, block=b, filters="pyloudnorm").integrated_lufs for b in (7, 999, 44100)}
    for value in results.values():
        assert value == pytest.approx(ref, abs=1e-6)


@pytest.mark.slow
def test_sample_by_sample_equals_one_block():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 8000 * 3)) * 0.1
    one = measure(x, 8000, block=1)
    whole = measure(x, 8000, block=10**7)
    assert one.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-9)
    np.testing.assert_allclose(one.short_term_lufs(), whole.short_term_lufs(), atol=1e-9)


def test_reference_tone_and_silence():
    sr = 48000
    t = np.arange(sr * 20) / sr
    tone = 10 ** (-23 / 20) * np.sin(2 * np.pi * 997 * t)
    # EBU Tech 3341 test 1: 1 kHz at -23 dBFS in both channels reads -23.0 LUFS (+-0.1)
    assert measure(np.stack([tone, tone]), sr).integrated_lufs == pytest.approx(-23.0, abs=0.1)
    assert measure(np.zeros((2, sr * 2)), sr).integrated_lufs == -np.inf
    meter = LoudnessMeter(sr, 2)
    assert meter.integrated_lufs == -np.inf  # nothing fed yet


def test_loudness_range():
    sr = 48000
    rng = np.random.default_rng(0)
    steady = rng.standard_normal((1, sr * 30)) * 0.05
    assert measure(steady, sr).loudness_range_lu < 1.0
    varied = steady.copy()
    varied[:, : sr * 15] *= 10 ** (-10 / 20)  # two halves 10 dB apart: LRA about 10 LU
    assert measure(varied, sr).loudness_range_lu == pytest.approx(10, abs=1.0)


def test_unknown_filters():
    with pytest.raises(ValueError, match="filters must be one of bs1770, pyloudnorm, got 'x'"):
        LoudnessMeter(48000, 2, "x")


@pytest.mark.parametrize("channels", [2, 3, 5])
def test_channels_filtered_in_pairs_have_the_bits_of_each_channel_alone(channels):
    """A pair of channels is K-weighted as one complex signal: each channel's 100 ms mean squares are the same
    bits as a one-channel meter's, float32 or float64, through silence (the denormal guard) and odd blocks."""
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((channels, SR * 3)) * rng.uniform(0.01, 0.3, (channels, 1))
    x[:, SR : SR + SR // 2] = 0.0
    for dtype in (np.float32, np.float64):
        together = LoudnessMeter(SR, channels)
        alone = [LoudnessMeter(SR, 1) for _ in range(channels)]
        for s in range(0, x.shape[1], 7_919):
            block = x[:, s : s + 7_919].astype(dtype)
            together.add(block)
            for c, m in enumerate(alone):
                m.add(block[c])
        assert np.array_equal(together._step_array(), np.concatenate([m._step_array() for m in alone], axis=1))

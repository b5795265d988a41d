from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from ambientgen.audio.placement import (
    SIDE_BLOCK,
    Placed,
    db_to_gain,
    decorrelate,
    decorrelation_filter,
    pan_gains,
    place,
    placed,
    resample,
)
from tests.conftest import noise


@pytest.mark.parametrize("sr_out", [44100, 48000])
@pytest.mark.parametrize("loop", [False, True])
def test_resample_exact_length_and_no_aliasing(sr_out, loop):
    sr_in, seconds = 16000, 3.0
    x = noise(seconds, sr_in, seed=1)
    length = round(seconds * sr_out)
    y = resample(x, sr_in, sr_out, length=length, loop=loop)
    assert y.shape == (1, length) and y.dtype == np.float32
    f, p = welch(y[0], fs=sr_out, nperseg=4096)
    in_band = p[(f > 1000) & (f < 7000)].mean()
    above = p[f > 8500].mean()  # nothing above the source's 8 kHz Nyquist (no imaging)
    assert 10 * np.log10(above / in_band) < -60


def test_resample_loop_is_continuous():
    sr_in, sr_out = 16000, 48000
    t = np.arange(2 * sr_in) / sr_in
    x = np.sin(2 * np.pi * 5 * t)[None, :].astype(np.float32)  # exactly 10 periods: a perfect loop
    y = resample(x, sr_in, sr_out, length=2 * sr_out, loop=True)
    assert abs(float(y[0, 0] - y[0, -1])) < 2 * float(np.abs(np.diff(y[0])).max())
    assert abs(float(y[0, 0])) < 1e-3  # the sine starts at 0 and the resampler saw the wrap


def test_resample_rejects_mono_vector():
    with pytest.raises(ValueError, match="expects \\(channels, samples\\)"):
        resample(np.zeros(10, dtype=np.float32), 16000, 48000, length=30, loop=False)


@pytest.mark.parametrize("pan", [-1.0, -0.5, 0.0, 0.3, 1.0])
def test_pan_law_is_constant_power(pan):
    left, right = pan_gains(pan)
    assert left**2 + right**2 == pytest.approx(1.0)


def test_pan_extremes():
    assert pan_gains(-1.0) == pytest.approx((1.0, 0.0), abs=1e-12)
    assert pan_gains(1.0) == pytest.approx((0.0, 1.0), abs=1e-12)


def test_place_applies_gain_and_pan():
    x = noise(0.5)
    y = place(x, gain_db=-6.0, pan=0.0)
    assert y.shape == (2, x.shape[1])
    np.testing.assert_allclose(y[0], x[0] * db_to_gain(-6) * np.sqrt(0.5), rtol=1e-5)
    np.testing.assert_array_equal(y[0], y[1])


def test_width_decorrelates_but_folds_down_to_the_mono_source():
    sr = 48000
    x = noise(8, sr, seed=2)
    y = place(x, gain_db=0, pan=0, width=0.8, seed=5, loop=True)
    left, right = y
    assert abs(np.corrcoef(left, right)[0, 1]) < 0.3  # real width, not a copy
    fold = (left + right) / 2
    f, p_fold = welch(fold, fs=sr, nperseg=4096)
    _, p_src = welch(x[0], fs=sr, nperseg=4096)
    band = (f > 50) & (f < 20000)
    ratio_db = 10 * np.log10(p_fold[band] / p_src[band])
    # the fold-down is the source scaled: a flat spectrum ratio, no comb-filter notches
    assert np.ptp(ratio_db) < 0.01
    # channel power matches width 0 at the same pan (width does not change the level)
    narrow = place(x, gain_db=0, pan=0)
    assert np.mean(left**2) == pytest.approx(np.mean(narrow[0] ** 2), rel=0.05)


def test_width_is_circular_for_loops():
    sr = 48000
    t = np.arange(2 * sr) / sr
    x = np.sin(2 * np.pi * 50 * t)[None, :].astype(np.float32)  # 100 whole periods: a perfect loop
    y = place(x, gain_db=0, pan=0, width=1.0, seed=1, loop=True)
    step = np.abs(np.diff(y[0])).max()
    assert abs(float(y[0, 0] - y[0, -1])) <= 1.5 * step


@pytest.mark.parametrize("loop", [False, True])
@pytest.mark.parametrize("n", [700, 1024, SIDE_BLOCK + 5, 3 * SIDE_BLOCK + 999])
def test_placed_on_demand_has_the_bits_of_the_whole_in_any_blocks(n, loop):
    x = noise(n / 16000 + 0.01, seed=n)[:, :n]
    lazy = Placed(x, gain_db=-3.0, pan=0.3, width=0.7, seed=11, loop=loop)
    whole = place(x, gain_db=-3.0, pan=0.3, width=0.7, seed=11, loop=loop)
    assert lazy.shape == whole.shape == (2, n)
    for size in (333, 4096, SIDE_BLOCK, n):
        parts = np.concatenate([lazy[:, a : a + size] for a in range(0, n, size)], axis=1)
        np.testing.assert_array_equal(parts, whole)
    np.testing.assert_array_equal(lazy[:, n - 10 : n + 50], whole[:, n - 10 :])  # past the end: what is there
    assert lazy[:, 5:5].shape == (2, 0)
    np.testing.assert_array_equal(np.asarray(lazy), whole)


def test_placed_holds_the_mono_source_only():
    x = noise(30.0, seed=3)
    lazy = Placed(x, gain_db=0.0, pan=0.0, width=0.5, seed=1, loop=True)
    lazy[:, 0 : x.shape[1]]  # read it all: only the last blocks of the side are kept
    kept = sum(b.nbytes for b in lazy._blocks.values())
    assert kept <= 2 * SIDE_BLOCK * 4
    assert lazy.mono.nbytes == place(x, gain_db=0.0, pan=0.0, width=0.5, seed=1, loop=True).nbytes / 2


def test_placed_places_stereo_at_once_and_mono_on_demand():
    assert isinstance(placed(noise(0.2), gain_db=0, pan=0, width=0.5), Placed)
    stereo = np.concatenate([noise(0.2, seed=1), noise(0.2, seed=2)])
    np.testing.assert_array_equal(placed(stereo, gain_db=-2, pan=0.1, width=0.5),
                                  place(stereo, gain_db=-2, pan=0.1, width=0.5))


def test_placed_refuses_what_is_not_a_span_of_samples():
    lazy = Placed(noise(0.1), gain_db=0, pan=0)
    for key in [(0, slice(0, 10)), (slice(None), 5), (slice(None), slice(0, 10, 2))]:
        with pytest.raises(TypeError, match="read as"):
            lazy[key]


@pytest.mark.parametrize("loop", [False, True])
def test_decorrelate_in_blocks_is_the_filter_applied_to_the_whole(loop):
    """The blockwise FFT filtering is the same convolution (circular for a loop) as one direct one, to float
    rounding."""
    from scipy.signal import convolve

    x = noise(3.0, seed=8)[0]
    h = decorrelation_filter(4)
    if loop:
        direct = convolve(np.concatenate([x[-len(h) :], x]).astype(np.float64), h)[len(h) : len(h) + len(x)]
    else:
        direct = convolve(x.astype(np.float64), h)[: len(x)]
    got = decorrelate(x, seed=4, loop=loop)
    assert np.abs(got - direct).max() < 1e-5 * np.abs(direct).max()


def test_remove_dc_streams_in_blocks_and_keeps_a_loop_seamless():
    from ambientgen.audio.placement import DC_BLOCK, remove_dc

    sr = 8000
    n = 3 * DC_BLOCK + 123
    t = np.arange(n) / sr
    f_tone, f_drift = round(220 * n / sr) * sr / n, 2 * sr / n  # whole cycles over the loop: the input loops
    tone = 0.2 * np.sin(2 * np.pi * f_tone * t)
    x = (0.3 + tone + 0.05 * np.sin(2 * np.pi * f_drift * t))[None, :].astype(np.float32)
    y = remove_dc(x, sr, loop=True)
    assert y.dtype == np.float32 and y.shape == x.shape
    assert abs(float(y.mean())) < 1e-3  # the offset and the 0.5 Hz drift are gone ...
    assert np.max(np.abs(y[0, sr:] - tone[sr:])) < 0.01  # ... the 220 Hz tone stays (a few degrees of phase at most)
    # the loop point: the step from the last sample to the first is an ordinary step of the tone
    wrap = abs(float(y[0, 0] - y[0, -1]))
    assert wrap < 1.5 * np.max(np.abs(np.diff(y[0, :2000])))
    # without loop: no start-up transient from the first sample's offset
    z = remove_dc(x, sr, loop=False)
    assert np.max(np.abs(z[0, :200] - tone[:200])) < 0.05


def test_a_held_side_is_computed_once_and_read_again_with_the_same_bits(monkeypatch):
    """Mastering's second pass reads a held side instead of filtering again; let go, two blocks stay."""
    import ambientgen.audio.placement as placement

    x = noise(3.0, seed=4)[0]
    fresh = Placed(x, gain_db=-3.0, pan=0.2, width=0.6, seed=5, loop=True)[:, :]
    lazy = Placed(x, gain_db=-3.0, pan=0.2, width=0.6, seed=5, loop=True)
    assert lazy.side_bytes == 4 * x.size and Placed(x, gain_db=0, pan=0).side_bytes == 0
    lazy.hold_side(True)
    first = np.concatenate([lazy[:, a : a + 40_000] for a in range(0, x.size, 40_000)], axis=1)
    calls = []
    real = placement.scipy.fft.irfft
    monkeypatch.setattr(placement.scipy.fft, "irfft", lambda *a, **k: calls.append(1) or real(*a, **k))
    again = np.concatenate([lazy[:, a : a + 30_000] for a in range(0, x.size, 30_000)], axis=1)
    monkeypatch.undo()
    assert calls == [] and np.array_equal(first, fresh) and np.array_equal(again, fresh)
    assert len(lazy._blocks) == -(-x.size // placement.SIDE_BLOCK)
    lazy.hold_side(False)
    assert len(lazy._blocks) == 2 and np.array_equal(lazy[:, 1000:90_000], fresh[:, 1000:90_000])

"""The generators' building blocks against the plain code they replace: noise drawn in the same order and filtered
in the frequency domain is the time-domain filtered noise (but for the filter's start-up), closed-form responses
are scipy's, slow curves drawn at a control rate are the sample-by-sample ones."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft
from scipy.ndimage import gaussian_filter1d
from scipy.signal import sosfreqz

from ambientgen.backends.procedural import dsp

SR = 48000
START_UP = SR // 2  # the time-domain filter's start from rest (20 Hz high-pass: the longest), unlike the circular


def plain_colored_noise(rng, n, exponent):
    """colored_noise as it was written first: double precision, normalised by the realised deviation."""
    spectrum = rng.standard_normal(n // 2 + 1) + 1j * rng.standard_normal(n // 2 + 1)
    f = np.fft.rfftfreq(n)
    f[0] = f[1]
    x = scipy.fft.irfft(spectrum / f ** (exponent / 2), n)
    return (x / (np.std(x) + 1e-12)).astype(np.float32)


@pytest.mark.parametrize("n", [SR * 3, SR * 3 + 1])
@pytest.mark.parametrize("exponent, low, high, order", [(1.0, 150, 600, 2), (2.0, 60, 300, 2), (0.2, 600, 7000, 2),
                                                        (0.0, 3600, 4400, 2), (1.0, 150, 2500, 1),
                                                        (1.0, None, 2500, 1), (0.5, 2000, 30000, 2),
                                                        (1.0, 20, None, 2), (1.5, None, None, 2)])
def test_band_noise_is_the_filtered_coloured_noise_of_the_same_draws(n, exponent, low, high, order):
    want = dsp.filt(plain_colored_noise(np.random.default_rng(5), n, exponent), SR, low=low, high=high, order=order)
    rng = np.random.default_rng(5)
    got = dsp.band_noise(rng, n, SR, exponent, low=low, high=high, order=order)
    assert got.dtype == np.float32 and got.shape == (n,)
    rms = np.std(want)
    assert np.max(np.abs(got[START_UP:] - want[START_UP:])) < 1e-5 * rms
    assert rng.standard_normal() == np.random.default_rng(5).standard_normal(2 * (n // 2 + 1) + 1)[-1]  # as many draws
    if not (low or high):
        assert np.max(np.abs(got - want)) < 1e-5 and abs(np.std(got) - 1) < 1e-5  # unit RMS, no start-up


def test_colored_noise_is_unit_rms_and_shaped_noise_follows_its_points():
    assert abs(np.std(dsp.colored_noise(np.random.default_rng(1), 96001, 1.0)) - 1) < 1e-5
    x = dsp.shaped_noise(np.random.default_rng(2), SR * 4, SR, [(50, -20), (1000, 0), (20000, -40)])
    assert x.dtype == np.float32 and abs(np.std(x) - 1) < 1e-4
    power = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(len(x), 1 / SR)
    near = lambda hz: power[(f > hz / 1.1) & (f < hz * 1.1)].mean()  # noqa: E731
    assert 10 * np.log10(near(1000) / near(20000 / 2)) == pytest.approx(40 * np.log10(10000 / 1000) /
                                                                         np.log10(20000 / 1000), abs=1.5)


@pytest.mark.parametrize("order, low, high", [(2, 150, 600), (1, 150, 2500), (2, None, 2500), (2, 20, None)])
def test_the_closed_form_response_is_scipys(order, low, high):
    sos = dsp._butter(order, low, high, SR).copy()
    w = np.linspace(0, np.pi, 1001)
    _, want = sosfreqz(sos, worN=w)
    assert np.max(np.abs(dsp.section_response(sos, w) - want)) < 1e-10


@pytest.mark.parametrize("n", [1000, 1001])
def test_the_variance_from_the_spectrum_is_the_signals(n):
    spectrum = np.random.default_rng(0).standard_normal(2 * (n // 2 + 1)).astype(np.float32).view(np.complex64)
    weight = np.linspace(0.5, 2, n // 2 + 1).astype(np.float32)
    for w in (None, weight):
        x = scipy.fft.irfft(spectrum * (1 if w is None else w), n).astype(np.float64)
        assert dsp._variance(spectrum, n, w) == pytest.approx(np.var(x), rel=1e-5)


@pytest.mark.parametrize("n", [SR * 12, SR * 12 + 7, 1000, 63, 2])
def test_smooth_random_drawn_at_a_control_rate_is_the_sample_by_sample_curve(n):
    def plain(rng):
        points = max(4, int(n / SR * 0.2 * 4) + 4)
        raw = gaussian_filter1d(rng.standard_normal(points), sigma=2.0, mode="wrap")
        raw = (raw - raw.min()) / (np.ptp(raw) + 1e-12)
        return np.interp(np.linspace(0, points - 1, n), np.arange(points), raw)

    got = dsp.smooth_random(np.random.default_rng(3), n, SR, rate_hz=0.2)
    assert got.shape == (n,) and got.dtype == np.float32
    assert np.max(np.abs(got - plain(np.random.default_rng(3)))) < 0.01  # the knots' corners rounded over 64 samples
    assert got.min() >= -1e-6 and got.max() <= 1 + 1e-6


def test_lower_rate_divides_the_rate_and_keeps_the_band():
    assert dsp.lower_rate(48000, 6000) == 3 and dsp.lower_rate(44100, 6000) == 2 and dsp.lower_rate(48000, 12000) == 1


@pytest.mark.parametrize("n", [SR * 3, SR * 3 + 1])
@pytest.mark.parametrize("exponent, low, high, order", [(1.0, 150, 600, 2), (0.2, 600, 7000, 2), (1.0, None, 2500, 1),
                                                        (1.5, None, None, 2)])
def test_a_band_spectrum_is_band_noise_and_spectra_add_as_their_noises(n, exponent, low, high, order):
    want = dsp.band_noise(np.random.default_rng(4), n, SR, exponent, low=low, high=high, order=order)
    rng = np.random.default_rng(4)
    spectrum = dsp.band_spectrum(rng, n, SR, exponent, low=low, high=high, order=order)
    got = dsp.noise_from(spectrum, n)
    assert got.dtype == np.float32 and np.max(np.abs(got - want)) < 1e-5 * max(np.std(want), 1e-3)
    assert rng.standard_normal() == np.random.default_rng(4).standard_normal(2 * (n // 2 + 1) + 1)[-1]  # as many draws
    # level="band": the band itself at unit RMS, whatever its share of the coloured noise
    band = dsp.noise_from(dsp.band_spectrum(np.random.default_rng(4), n, SR, exponent, low=low, high=high,
                                            order=order, level="band"), n)
    assert np.std(band) == pytest.approx(1.0, abs=1e-4)
    np.testing.assert_allclose(band, want / np.std(want), atol=1e-4)
    # two spectra summed (weighted) make the sum of their noises, in one inverse FFT
    rng = np.random.default_rng(9)
    a, b = dsp.band_noise(rng, n, SR, 1.0, low=60, high=300), dsp.band_noise(rng, n, SR, exponent, low=low, high=high)
    rng = np.random.default_rng(9)
    both = dsp.band_spectrum(rng, n, SR, 1.0, low=60, high=300)
    both += np.float32(0.15) * dsp.band_spectrum(rng, n, SR, exponent, low=low, high=high)
    assert np.max(np.abs(dsp.noise_from(both, n) - (a + 0.15 * b))) < 1e-5


def test_a_band_spectrum_refuses_an_unknown_level():
    with pytest.raises(ValueError, match="level must be 'colour' or 'band', got 'loud'"):
        dsp.band_spectrum(np.random.default_rng(0), 1000, SR, 1.0, level="loud")


def test_finish_with_a_distance_filters_in_one_pass_as_in_two():
    x = dsp.colored_noise(np.random.default_rng(6), SR * 2, 1.0)
    one = dsp.finish(x, SR, high=2500.0)
    two = dsp.finish(dsp.filt(x, SR, high=2500.0, order=1), SR)
    assert one.dtype == np.float32 and np.sqrt(np.mean(one.astype(np.float64) ** 2)) == pytest.approx(0.1, rel=1e-5)
    assert np.max(np.abs(one - two)) < 1e-5  # the same filters; only the float32 rounding between them is gone


def test_a_curve_drawn_at_a_faster_control_rate_keeps_its_filters_skirt():
    """The wind's roll (0.2-4 Hz) drawn at 1 kHz has the audio-rate curve's spectrum, the ripples its filter's skirt
    lets through above 4 Hz included; at the default control rate (64 Hz) they fade out towards 32 Hz."""
    n = SR * 60
    fast = dsp.band_curve(np.random.default_rng(1), n, SR, low=0.2, high=4, control_hz=1000)
    slow = dsp.band_curve(np.random.default_rng(1), n, SR, low=0.2, high=4)
    full = dsp.unit(dsp.filt(np.random.default_rng(1).standard_normal(n).astype(np.float32), SR, low=0.2, high=4))
    assert fast.shape == slow.shape == (n,) and abs(np.std(fast) - 1) < 1e-3
    f = np.fft.rfftfreq(n, 1 / SR)

    def db(x, lo, hi):
        return 10 * np.log10((np.abs(np.fft.rfft(x)) ** 2)[(f > lo) & (f < hi)].mean())

    for lo, hi in [(1, 3), (8, 16), (20, 30), (34, 60), (60, 120)]:
        assert db(fast, lo, hi) == pytest.approx(db(full, lo, hi), abs=1.5), (lo, hi)
    assert db(slow, 20, 30) < db(full, 20, 30) - 5

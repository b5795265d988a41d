from __future__ import annotations

import numpy as np
import pytest

from ambientgen.audio.loudness import measure
from ambientgen.audio.true_peak import limiter_gain, true_peak_dbtp
from tests.conftest import master, noise


def integrated_lufs(audio, sr):
    return measure(audio, sr).integrated_lufs

SR = 48000


def sine(freq, seconds, amplitude=1.0, phase=0.0, sr=SR):
    t = np.arange(round(seconds * sr)) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t + phase))[None, :].astype(np.float32)


def test_reference_tone():
    # BS.1770: a 997 Hz full-scale sine in one channel reads -3.01 LUFS
    assert integrated_lufs(sine(997, 10), SR) == pytest.approx(-3.01, abs=0.05)
    # -20 dBFS sine in both channels of a stereo file: -20 - 3.01 + 3.01
    stereo = np.concatenate([sine(997, 10, 0.1)] * 2)
    assert integrated_lufs(stereo, SR) == pytest.approx(-20.0, abs=0.05)


def test_silence_is_minus_infinity():
    assert integrated_lufs(np.zeros((2, SR * 2), dtype=np.float32), SR) == -np.inf


def test_true_peak_finds_inter_sample_peaks():
    # fs/4 sine at 45 degrees: samples land at +-0.707, the waveform peaks at 1.0
    x = sine(SR / 4, 1, 1.0, np.pi / 4)
    assert 20 * np.log10(np.abs(x).max()) == pytest.approx(-3.01, abs=0.01)
    assert true_peak_dbtp(x) == pytest.approx(0.0, abs=0.2)


def test_limiter_holds_ceiling_and_leaves_quiet_audio_alone():
    quiet = sine(440, 1, 0.1)
    assert limiter_gain(quiet, SR, ceiling_dbtp=-1).min() == 1.0
    loud = noise(2, SR, seed=3)
    loud[:, SR // 2 : SR // 2 + 100] *= 30
    gain = limiter_gain(loud, SR, ceiling_dbtp=-1)
    out = loud * gain
    assert -20 * np.log10(gain.min()) > 5
    assert true_peak_dbtp(out) <= -1 + 0.1
    # far from the burst the signal is untouched
    np.testing.assert_array_equal(out[:, SR:], loud[:, SR:])


@pytest.mark.parametrize("target, ceiling", [(-23, -1), (-14, -1), (-27, -2), (-16, -1)])
@pytest.mark.slow
def test_mastering_hits_target_under_ceiling(target, ceiling):
    x = noise(20, SR, seed=4, channels=2)
    x[:, SR * 5 : SR * 5 + 480] *= 15  # a transient that forces the limiter at loud targets
    out, report = master(x, SR, target_lufs=target, ceiling_dbtp=ceiling)
    assert integrated_lufs(out, SR) == pytest.approx(target, abs=0.1)
    assert true_peak_dbtp(out) <= ceiling + 1e-6
    assert report.integrated_lufs == pytest.approx(target, abs=0.1)
    assert report.limited  # the transient forces the limiter at every target here


def test_mastering_refuses_silence():
    with pytest.raises(ValueError, match="the mix is silent"):
        master(np.zeros((2, SR), dtype=np.float32), SR, target_lufs=-23, ceiling_dbtp=-1)


def test_blockwise_true_peak_equals_one_shot():
    from scipy.signal import resample_poly

    from ambientgen.audio.true_peak import oversampled_abs_peaks
    x = noise(3, SR, seed=9, channels=2)
    one_shot = np.abs(resample_poly(x.astype(np.float64), 4, 1, axis=-1)).reshape(2, -1, 4).max(axis=2).max(axis=0)
    for block in (1000, 4096, 1 << 18):
        np.testing.assert_allclose(oversampled_abs_peaks(x, block=block), one_shot, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("kind", ["noise", "square", "quarter-rate sine", "quiet then loud", "steady and long",
                                  "whole stretches"])
def test_true_peak_above_equals_oversampling_everything(kind):
    """Skipping stretches that cannot reach the running value never changes the result (same value, to the bit)."""
    from ambientgen.audio.true_peak import oversampled_abs_peaks, true_peak_above

    rng = np.random.default_rng(4)
    x = {"noise": rng.standard_normal((2, 120_000)) * 0.1,
         "square": np.sign(rng.standard_normal((1, 40_000))) * 0.5,
         "quarter-rate sine": np.sin(np.arange(80_000) * np.pi / 2 + 0.7)[None] * 0.9,
         "quiet then loud": np.concatenate([rng.standard_normal(60_000) * 0.01, rng.standard_normal(60_000) * 0.3])[None],
         # a steady texture: nearly every stretch could raise the peak, several batches of stretches oversampled
         "steady and long": np.clip(rng.standard_normal((2, 700_000)), -3, 3) * 0.1,
         "whole stretches": rng.standard_normal((2, 512 * 60)) * 0.2,  # no shorter last stretch
         }[kind]
    whole = float(oversampled_abs_peaks(x).max())
    assert true_peak_above(x) == whole
    running = 0.0
    for start in range(0, x.shape[1], 7_000):  # streamed in blocks, the running value as the floor
        running = true_peak_above(x[:, start : start + 7_000], running)
    assert running == whole
    assert true_peak_above(x, 2 * whole) == 2 * whole  # nothing reaches a higher floor
    peaks = oversampled_abs_peaks(x)
    n = x.shape[1]
    for a, b in ((64, n - 64), (5, n // 3), (n // 2, n // 2 + 1), (n - 300, n), (0, 129)):  # part of it counts
        assert true_peak_above(x, within=(a, b)) == float(peaks[a:b].max())
        assert true_peak_above(x, within=(a, b), sub=32) == float(peaks[a:b].max())


def test_the_matrix_oversampler_is_resample_polys_filter():
    """The polyphase taps are read from resample_poly's own filter: the same values to rounding, at the ends too."""
    from scipy.signal import resample_poly

    from ambientgen.audio.true_peak import REACH, _phases

    x = np.random.default_rng(5).standard_normal(5_000)
    rows = np.concatenate([np.zeros(REACH), x, np.zeros(REACH)])[None, :]
    np.testing.assert_allclose(_phases(rows).reshape(-1), resample_poly(x, 4, 1), rtol=0, atol=1e-12)


def test_the_written_out_taps_are_the_ones_resample_poly_gives():
    """TAPS are written out (deriving them imports scipy.signal); derived again here, they are the same numbers."""
    from ambientgen.audio.true_peak import TAPS, _polyphase_taps

    assert np.array_equal(TAPS, _polyphase_taps())


def test_the_true_peak_meter_equals_oversampling_the_whole_signal_whatever_the_blocks():
    """Fed in blocks of any sizes (shorter than the filter's reach too), the streamed true peak is the whole
    signal's, to the bit: samples at a block boundary are oversampled with their real neighbours."""
    from ambientgen.audio.true_peak import TruePeakMeter, oversampled_abs_peaks

    rng = np.random.default_rng(5)
    for trial in range(60):
        n, channels = int(rng.integers(1, 3000)), int(rng.integers(1, 3))
        x = (rng.standard_normal((channels, n)) * rng.uniform(0.01, 0.5)).astype(np.float32)
        k = int(rng.integers(0, n))
        x[0, k : k + 4] = 0.9 * np.sign(np.sin(np.arange(len(x[0, k : k + 4])) * np.pi / 2 + np.pi / 4))
        meter, at = TruePeakMeter(), 0
        for size in rng.choice([1, 2, 9, 10, 11, 20, 21, 39, 40, 41, 100, 1000], size=400):
            block = x[:, at : at + int(size)]
            meter.add(block, np.abs(block).max(axis=0) if trial % 2 else None)
            at += int(size)
            if at >= n:
                break
        assert meter.value == float(oversampled_abs_peaks(x).max()), (trial, n)
    assert TruePeakMeter().value == 0.0


def test_peaks_over_a_threshold_are_the_full_peaks_wherever_they_pass_it():
    from ambientgen.audio.true_peak import oversampled_abs_peaks, oversampled_abs_peaks_over

    rng = np.random.default_rng(6)
    for trial in range(40):
        n, channels = int(rng.integers(1, 20_000)), int(rng.integers(1, 3))
        x = (rng.standard_normal((channels, n)) * rng.uniform(0.01, 0.3)).astype(np.float32)
        for k in rng.integers(0, n, int(rng.integers(0, 5))):
            x[:, k : k + 30] += rng.uniform(0.3, 0.9)  # loud bursts, some at the ends
        full, threshold = oversampled_abs_peaks(x), float(rng.uniform(0.1, 1.2))
        over = oversampled_abs_peaks_over(x, threshold)
        passing = full > threshold
        assert np.array_equal(over[passing], full[passing])  # the same values, to the bit
        assert np.all((over == full) | (over == 0)) and np.all(full[over == 0] <= threshold)


def test_the_limiter_gain_is_the_same_with_peaks_computed_only_where_they_may_pass_the_ceiling(monkeypatch):
    import ambientgen.audio.true_peak as tp

    rng = np.random.default_rng(7)
    x = (rng.standard_normal((2, SR * 3)) * 0.05).astype(np.float32)
    for k in rng.integers(0, SR * 3 - 100, 8):
        x[:, k : k + 60] += 0.95  # peaks the limiter must catch
    pruned = limiter_gain(x, SR, ceiling_dbtp=-1.0)
    monkeypatch.setattr(tp, "oversampled_abs_peaks_over", lambda audio, threshold: tp.oversampled_abs_peaks(audio))
    full = limiter_gain(x, SR, ceiling_dbtp=-1.0)
    assert pruned.min() < 0.9 and np.array_equal(pruned, full)

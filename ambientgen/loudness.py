"""Loudness (ITU-R BS.1770-4, streamed by :mod:`ambientgen.meter`), true peak, and a true-peak limiter.

Audio is ``(channels, samples)``. The meter uses the standard's exact K-weighting
(as libebur128 and ffmpeg do); it agrees with pyloudnorm within 0.1 LU (tested)
and reads the audio block by block, so measuring costs no copy of the mix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

OVERSAMPLE = 4  # BS.1770-4 Annex 2: true peak on 4x oversampled audio
SILENCE_LUFS = -70.0  # BS.1770 absolute gate


def integrated_lufs(audio: np.ndarray, sample_rate: int) -> float:
    """Integrated loudness in LUFS (gated, K-weighted), ``-inf`` for silence."""
    from .meter import measure

    return measure(audio, sample_rate).integrated_lufs


def sample_peak_dbfs(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def _oversampled_abs_peaks(audio: np.ndarray, *, block: int = 1 << 18, context: int = 64) -> np.ndarray:
    """Per original sample, the largest |value| of the 4x oversampled signal around it (all channels).

    Computed block by block (each block padded with ``context`` neighbouring
    samples so the polyphase filter sees across block edges): memory stays at a
    few blocks whatever the length, and the result equals a one-shot computation.
    """
    n = audio.shape[-1]
    peaks = np.empty(n, dtype=np.float32)
    for start in range(0, n, block):
        lo, hi = max(0, start - context), min(n, start + block + context)
        up = resample_poly(audio[:, lo:hi].astype(np.float64), OVERSAMPLE, 1, axis=-1)
        up = up[:, (start - lo) * OVERSAMPLE : (min(n, start + block) - lo) * OVERSAMPLE]
        peaks[start : start + block] = np.abs(up).reshape(audio.shape[0], -1, OVERSAMPLE).max(axis=2).max(axis=0)
    return peaks


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak in dBTP: the sample peak of the 4x oversampled signal."""
    if audio.size == 0:
        return -math.inf
    peak = float(_oversampled_abs_peaks(audio).max())
    return 20 * math.log10(peak) if peak > 0 else -math.inf


def limiter_gain(audio: np.ndarray, sample_rate: int, *, ceiling_dbtp: float, lookahead_s: float = 0.005,
                 release_s: float = 0.08) -> np.ndarray:
    """The look-ahead true-peak limiter's gain per sample (1 where nothing needs limiting).

    The gain each sample needs (ceiling / oversampled peak) is spread backwards
    over the look-ahead and forwards over the release by a running minimum,
    then smoothed by a moving average no longer than the look-ahead, so the
    smoothed gain never exceeds what any nearby peak needs; gain changes are
    ramps, never steps. Each output sample depends only on samples within
    ``2 x look-ahead + release`` of it, so blocks with that much context equal
    one whole-track run (:mod:`ambientgen.assemble` relies on it).
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    peaks = _oversampled_abs_peaks(audio)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones(audio.shape[-1], dtype=np.float32)
    la = max(1, round(lookahead_s * sample_rate))
    rel = max(la, round(release_s * sample_rate))
    # running min over [n - la, n + rel]: the gain dips la samples before a peak and recovers rel after it
    size = la + rel + 1
    gain = minimum_filter1d(need, size=size, origin=(rel - la) // 2, mode="nearest")
    return np.minimum(uniform_filter1d(gain, size=la, mode="nearest"), gain).astype(np.float32)


def limit(audio: np.ndarray, sample_rate: int, *, ceiling_dbtp: float, lookahead_s: float = 0.005,
          release_s: float = 0.08) -> tuple[np.ndarray, float]:
    """Look-ahead true-peak limiter (:func:`limiter_gain`). Returns (limited audio, max gain reduction in dB)."""
    gain = limiter_gain(audio, sample_rate, ceiling_dbtp=ceiling_dbtp, lookahead_s=lookahead_s, release_s=release_s)
    if gain.min() >= 1.0:
        return audio, 0.0
    out = (audio * gain[None, :]).astype(np.float32)
    return out, float(-20 * math.log10(gain.min()))


@dataclass(frozen=True)
class LoudnessReport:
    input_lufs: float
    gain_db: float
    integrated_lufs: float
    sample_peak_dbfs: float
    true_peak_dbtp: float
    limiter_reduction_db: float


def normalize(audio: np.ndarray, sample_rate: int, *, target_lufs: float, ceiling_dbtp: float,
              tolerance_lu: float = 0.05, max_passes: int = 6) -> tuple[np.ndarray, LoudnessReport]:
    """Bring ``audio`` to ``target_lufs`` with its true peak at or under ``ceiling_dbtp``.

    Gain, then the limiter where peaks exceed the ceiling; limiting lowers the
    loudness slightly, so gain and limiting repeat (from the original audio)
    until the loudness is within ``tolerance_lu``.
    """
    measured = integrated_lufs(audio, sample_rate)
    if not math.isfinite(measured) or measured < SILENCE_LUFS:
        raise ValueError(f"the mix is silent (integrated loudness {measured:.1f} LUFS): nothing to normalize")
    gain_db = target_lufs - measured
    input_tp = true_peak_dbtp(audio)
    if input_tp + gain_db <= ceiling_dbtp:  # no limiting needed: gain alone is exact (true peak scales with it)
        out = (audio * 10 ** (gain_db / 20)).astype(np.float32)
        return out, LoudnessReport(measured, gain_db, integrated_lufs(out, sample_rate), sample_peak_dbfs(out),
                                   input_tp + gain_db, 0.0)
    reduction = 0.0
    for _ in range(max_passes):
        out = (audio * 10 ** (gain_db / 20)).astype(np.float32)
        out, reduction = limit(out, sample_rate, ceiling_dbtp=ceiling_dbtp)
        got = integrated_lufs(out, sample_rate)
        if abs(got - target_lufs) <= tolerance_lu:
            break
        gain_db += target_lufs - got
    # inter-sample overshoot from the gain ramps is tiny; trim it so the ceiling holds exactly
    tp = true_peak_dbtp(out)
    if tp > ceiling_dbtp:
        out = (out * 10 ** ((ceiling_dbtp - tp - 0.001) / 20)).astype(np.float32)
    return out, LoudnessReport(
        input_lufs=measured,
        gain_db=gain_db,
        integrated_lufs=integrated_lufs(out, sample_rate),
        sample_peak_dbfs=sample_peak_dbfs(out),
        true_peak_dbtp=true_peak_dbtp(out),
        limiter_reduction_db=reduction,
    )

"""True peak (BS.1770-4 Annex 2, 4x oversampled) and the look-ahead true-peak limiter.

Audio is ``(channels, samples)``. Loudness is measured by :mod:`ambientgen.audio.loudness`;
mastering (gain, limiting, block by block) is :mod:`ambientgen.output.master`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import resample_poly

CLIP_LEVEL = 0.999  # a sample at or over this is at full scale (clipped), in a render, a check or a recording
OVERSAMPLE = 4  # BS.1770-4 Annex 2: true peak on 4x oversampled audio


def oversampled_abs_peaks(audio: np.ndarray, *, block: int = 1 << 18, context: int = 64) -> np.ndarray:
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
    peak = float(oversampled_abs_peaks(audio).max())
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
    one whole-track run (:mod:`ambientgen.output.master` relies on it).
    """
    ceiling = 10 ** (ceiling_dbtp / 20)
    peaks = oversampled_abs_peaks(audio)
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones(audio.shape[-1], dtype=np.float32)
    la = max(1, round(lookahead_s * sample_rate))
    rel = max(la, round(release_s * sample_rate))
    # running min over [n - la, n + rel]: the gain dips la samples before a peak and recovers rel after it
    size = la + rel + 1
    gain = minimum_filter1d(need, size=size, origin=(rel - la) // 2, mode="nearest")
    return np.minimum(uniform_filter1d(gain, size=la, mode="nearest"), gain).astype(np.float32)

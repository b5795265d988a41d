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
CONTEXT = 64  # input samples read either side of a stretch: past the filter's reach (10, its half length / 4)
BATCH = 128  # stretches oversampled in one filtering by true_peak_above


def _oversampled(audio: np.ndarray, start: int, stop: int, context: int) -> np.ndarray:
    """The 4x oversampled signal of ``audio[:, start:stop]``, computed with ``context`` neighbouring samples either
    side (so the polyphase filter sees across the stretch's edges): ``(channels, 4 * (stop - start))``."""
    n = audio.shape[-1]
    lo, hi = max(0, start - context), min(n, stop + context)
    up = resample_poly(audio[:, lo:hi].astype(np.float64), OVERSAMPLE, 1, axis=-1)
    return up[:, (start - lo) * OVERSAMPLE : (stop - lo) * OVERSAMPLE]


def oversampled_abs_peaks(audio: np.ndarray, *, block: int = 1 << 18, context: int = CONTEXT) -> np.ndarray:
    """Per original sample, the largest |value| of the 4x oversampled signal around it (all channels).

    Computed block by block (each block padded with ``context`` neighbouring
    samples so the polyphase filter sees across block edges): memory stays at a
    few blocks whatever the length, and the result equals a one-shot computation.
    """
    n = audio.shape[-1]
    peaks = np.empty(n, dtype=np.float32)
    for start in range(0, n, block):
        up = np.abs(_oversampled(audio, start, min(n, start + block), context))
        phases = [up[:, p::OVERSAMPLE] for p in range(OVERSAMPLE)]  # the largest of the 4 values per sample
        best = np.maximum(np.maximum(phases[0], phases[1]), np.maximum(phases[2], phases[3]))
        peaks[start : start + block] = best.max(axis=0)
    return peaks


def _interpolator_gain() -> float:
    """The most any output sample of :func:`oversampled_abs_peaks`' interpolator can exceed the largest input
    sample near it: the largest sum of |taps| over its polyphase components (the filter ``resample_poly`` builds for
    4x: 81 Kaiser-windowed taps), with a margin for rounding."""
    from scipy.signal import firwin

    taps = firwin(2 * 10 * OVERSAMPLE + 1, 1.0 / OVERSAMPLE, window=("kaiser", 5.0)) * OVERSAMPLE
    return float(max(np.abs(taps[p::OVERSAMPLE]).sum() for p in range(OVERSAMPLE))) * 1.001


INTERPOLATOR_GAIN = _interpolator_gain()


def true_peak_above(audio: np.ndarray, floor: float = 0.0, *, sub: int = 2048) -> float:
    """The largest |value| of the 4x oversampled ``audio`` (all channels, rounded to float32 as
    :func:`oversampled_abs_peaks` gives it), or ``floor`` if none exceeds it.

    Equal to ``max(floor, oversampled_abs_peaks(audio).max())``, found by oversampling only the ``sub``-sample
    stretches that could exceed the best value so far: a stretch whose sample peak (with its neighbours within
    the filter's reach) times :data:`INTERPOLATOR_GAIN` cannot reach it is skipped, loudest stretches first. On
    steady material that is a small fraction of the audio; a streaming meter passes its running value as
    ``floor``.
    """
    n = audio.shape[-1]
    if n == 0:
        return floor
    count = -(-n // sub)
    level = np.abs(audio).max(axis=0)
    peaks = np.zeros(count * sub, dtype=level.dtype)
    peaks[:n] = level
    peaks = peaks.reshape(count, sub).max(axis=1).astype(np.float64)
    near = peaks.copy()  # a stretch's oversampled values also feel the edge samples of its neighbours
    near[1:] = np.maximum(near[1:], peaks[:-1])
    near[:-1] = np.maximum(near[:-1], peaks[1:])
    best = floor
    order = np.argsort(-near, kind="stable")
    for first in range(0, count, BATCH):
        ks = [int(k) for k in order[first : first + BATCH] if near[k] * INTERPOLATOR_GAIN > best]
        if not ks:  # the stretches are in falling order: none after these can reach it either
            break
        best = max(best, _batch_peak(audio, ks, sub))
    return best


def _batch_peak(audio: np.ndarray, ks: list[int], sub: int) -> float:
    """The largest |value| (as float32) of the 4x oversampled ``sub``-sample stretches ``ks`` of ``audio``, each
    computed as :func:`_oversampled` does (its own :data:`CONTEXT` either side, zeros beyond), in one polyphase
    filtering: the stretches are laid end to end with :data:`CONTEXT` zeros between, more than the filter's reach,
    so every value is the same sum of the same products as a call per stretch gives (the same bits), without a
    filter design and a call per stretch."""
    n, channels = audio.shape[-1], audio.shape[0]
    pieces, keep, pos = [], [], 0
    gap = np.zeros((channels, CONTEXT), dtype=audio.dtype)
    for k in sorted(ks):
        start, stop = k * sub, min(n, (k + 1) * sub)
        lo, hi = max(0, start - CONTEXT), min(n, stop + CONTEXT)
        pieces += [audio[:, lo:hi], gap]
        keep.append((pos + start - lo, pos + stop - lo))
        pos += hi - lo + CONTEXT
    up = resample_poly(np.concatenate(pieces, axis=1).astype(np.float64), OVERSAMPLE, 1, axis=-1)
    bounds = np.array(keep, dtype=np.int64).reshape(-1) * OVERSAMPLE  # [a0, b0, a1, b1, ...]: the kept spans
    high = np.maximum.reduceat(up.max(axis=0), bounds)[::2]  # reduceat's even entries: over [a_i, b_i)
    low = np.minimum.reduceat(up.min(axis=0), bounds)[::2]
    return float(np.float32(max(float(high.max()), -float(low.min()))))


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True peak in dBTP: the sample peak of the 4x oversampled signal."""
    if audio.size == 0:
        return -math.inf
    peak = true_peak_above(audio)
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

"""True peak (BS.1770-4 Annex 2, 4x oversampled) and the look-ahead true-peak limiter.

Audio is ``(channels, samples)``. Loudness is measured by :mod:`ambientgen.audio.loudness`;
mastering (gain, limiting, block by block) is :mod:`ambientgen.output.master`.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

CLIP_LEVEL = 0.999  # a sample at or over this is at full scale (clipped), in a render, a check or a recording
OVERSAMPLE = 4  # BS.1770-4 Annex 2: true peak on 4x oversampled audio
REACH = 10  # input samples either side that one oversampled value depends on (the filter's 81 taps / 4 / 2)
ROWS_AT_ONCE = 2048  # samples whose 21-sample windows are copied and multiplied at once (344 kB: in cache)
TRUE_PEAK_BATCH = 16  # stretches oversampled together at first by true_peak_above (one call's overhead for many)


def _polyphase_taps() -> np.ndarray:
    """``(2 * REACH + 1, OVERSAMPLE)``: column ``p`` holds the weights of ``x[m - REACH .. m + REACH]`` in output
    sample ``OVERSAMPLE * m + p`` of ``resample_poly(x, 4, 1)`` (its 81-tap Kaiser-windowed filter), read from
    its answer to an impulse: what :data:`TAPS` holds (a test derives them again)."""
    from scipy.signal import resample_poly

    c = 4 * REACH
    impulse = np.zeros(2 * c + 1)
    impulse[c] = 1.0
    response = resample_poly(impulse, OVERSAMPLE, 1)
    if np.abs(response[: OVERSAMPLE * (c - REACH)]).max() or np.abs(response[OVERSAMPLE * (c + REACH + 1) :]).max():
        raise AssertionError("resample_poly's 4x filter reaches further than REACH samples")
    return np.array([[response[OVERSAMPLE * (c - d) + p] for p in range(OVERSAMPLE)]
                     for d in range(-REACH, REACH + 1)])


# what _polyphase_taps() gives, written out: deriving them imports scipy.signal, which costs 0.9-1.4 s of a check's
# start (it imports scipy.stats, interpolate, optimize ...); tests/audio/test_true_peak.py derives them again, exactly
TAPS = np.array([
    (-1.4319646207876959e-18, 0.0, 0.0, 0.0),
    (3.709041094023897e-18, -0.0019016679348927714, -0.0021031678617178763, -0.001130597579184462),
    (-6.989122304361602e-18, 0.004252319066855107, 0.005018530923471822, 0.002926514108961888),
    (1.1214237028997423e-17, -0.008026125461265495, -0.009790833971198894, -0.005932051843783716),
    (-1.6183952382363033e-17, 0.013753959070631754, 0.017115155028976117, 0.010605090076805452),
    (2.1564830647503023e-17, -0.02221988556769976, -0.027983277010958117, -0.017579165251157446),
    (-2.6922559134588193e-17, 0.034795254750361125, 0.044051484099836266, 0.02786691635952088),
    (3.1772982945983186e-17, -0.05442549106878252, -0.06868853498568138, -0.04342308644211485),
    (-3.564465655764782e-17, 0.08928334853204617, 0.11058973007292547, 0.06897233879817498),
    (3.8143133424221195e-17, -0.17397774297154053, -0.20188442282305535, -0.12013435015454692),
    (1.000636565089112, 0.8996325710102085, 0.6334760868798734, 0.2965428196043752),
    (3.8143133424221195e-17, 0.2965428196043752, 0.6334760868798734, 0.8996325710102085),
    (-3.564465655764782e-17, -0.12013435015454692, -0.20188442282305535, -0.17397774297154053),
    (3.1772982945983186e-17, 0.06897233879817498, 0.11058973007292547, 0.08928334853204617),
    (-2.6922559134588193e-17, -0.04342308644211485, -0.06868853498568138, -0.05442549106878252),
    (2.1564830647503023e-17, 0.02786691635952088, 0.044051484099836266, 0.034795254750361125),
    (-1.6183952382363033e-17, -0.017579165251157446, -0.027983277010958117, -0.02221988556769976),
    (1.1214237028997423e-17, 0.010605090076805452, 0.017115155028976117, 0.013753959070631754),
    (-6.989122304361602e-18, -0.005932051843783716, -0.009790833971198894, -0.008026125461265495),
    (3.709041094023897e-18, 0.002926514108961888, 0.005018530923471822, 0.004252319066855107),
    (-1.4319646207876959e-18, -0.001130597579184462, -0.0021031678617178763, -0.0019016679348927714),
])


def _phases(rows: np.ndarray) -> np.ndarray:
    """The 4x oversampled values of the middle samples of each row of ``rows`` (``(k, n + 2 * REACH)``: each row
    carries REACH samples of context either side, zeros beyond a signal's ends): ``(k, n, OVERSAMPLE)``.

    The same sums of the same products as ``resample_poly`` (to rounding: within 1e-15 of full scale), as one
    matrix product per few thousand samples (BLAS), 2.5-3x faster than its polyphase loop."""
    k, width = rows.shape
    n = width - 2 * REACH
    windows = np.lib.stride_tricks.sliding_window_view(rows, 2 * REACH + 1, axis=1)  # (k, n, 21), no copy
    out = np.empty((k, n, OVERSAMPLE))
    if n <= ROWS_AT_ONCE:  # short rows: several at once
        per = ROWS_AT_ONCE // max(1, n)
        for r in range(0, k, per):
            np.matmul(np.ascontiguousarray(windows[r : r + per]), TAPS, out=out[r : r + per])
        return out
    buf = np.empty((ROWS_AT_ONCE, 2 * REACH + 1))
    for r in range(k):
        for s in range(0, n, ROWS_AT_ONCE):
            w = windows[r, s : s + ROWS_AT_ONCE]
            b = buf[: len(w)]
            b[...] = w
            np.matmul(b, TAPS, out=out[r, s : s + len(w)])
    return out


def _with_context(audio: np.ndarray, start: int, stop: int) -> np.ndarray:
    """``audio[:, start - REACH : stop + REACH]`` as float64, zeros beyond its ends."""
    n = audio.shape[-1]
    lo, hi = max(0, start - REACH), min(n, stop + REACH)
    out = np.zeros((audio.shape[0], stop - start + 2 * REACH))
    out[:, lo - (start - REACH) : hi - (start - REACH)] = audio[:, lo:hi]
    return out


def oversampled_abs_peaks(audio: np.ndarray, *, block: int = 1 << 18) -> np.ndarray:
    """Per original sample, the largest |value| of the 4x oversampled signal around it (all channels): float32.

    Computed block by block (each block with the neighbouring samples the
    filter reaches, zeros beyond the signal's ends): memory stays at a few
    blocks whatever the length, and the result equals a one-shot computation.
    """
    n = audio.shape[-1]
    peaks = np.empty(n, dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        peaks[start:stop] = np.abs(_phases(_with_context(audio, start, stop))).max(axis=2).max(axis=0)
    return peaks


# The most any output sample of the interpolator can exceed the largest input sample near it: the largest sum of
# |taps| over its polyphase components (2.24), and with a margin for rounding (what true_peak_above prunes by).
TAPS_L1 = float(np.abs(TAPS).sum(axis=0).max())
INTERPOLATOR_GAIN = TAPS_L1 * 1.001


def true_peak_above(audio: np.ndarray, floor: float = 0.0, *, sub: int = 128, level: np.ndarray | None = None,
                    within: tuple[int, int] | None = None) -> float:
    """The largest |value| of the 4x oversampled ``audio`` (all channels, rounded to float32 as
    :func:`oversampled_abs_peaks` gives it), or ``floor`` if none exceeds it.

    Equal to ``max(floor, oversampled_abs_peaks(audio).max())``, found by oversampling only the ``sub``-sample
    stretches that could exceed the best value so far: a stretch whose sample peak, with the :data:`REACH` samples
    either side its oversampled values depend on, times :data:`INTERPOLATOR_GAIN` cannot reach it is skipped,
    loudest stretches first. On steady material that is a small fraction of the audio (a limited forest mix: 2 %
    of its 128-sample stretches, against 8 % of 512-sample stretches bounded by their whole neighbours); a
    streaming meter passes its running value as ``floor``. ``level``: ``np.abs(audio).max(axis=0)`` when the
    caller has it already. ``within=(a, b)``: only the oversampled values of samples ``a .. b - 1`` count, the
    samples around them are their context (``oversampled_abs_peaks(audio)[a:b].max()``).
    """
    a, b = within if within is not None else (0, audio.shape[-1])
    if b <= a:
        return floor
    level = np.abs(audio).max(axis=0) if level is None else level
    near = _near(level, a, b, sub)
    best = floor
    bounds = near * INTERPOLATOR_GAIN
    order = np.flatnonzero(bounds > best)  # the stretches that could reach the floor, loudest first
    order = order[np.argsort(-near[order], kind="stable")]
    bounds = bounds[order]
    done = 0
    while done < len(order) and bounds[done] > best:  # in falling order: no stretch after one that cannot reach it can
        batch = order[done : done + done // 2 + TRUE_PEAK_BATCH]  # more at a time as the search goes on
        batch = batch[bounds[done : done + len(batch)] > best]
        done += len(batch)
        first = a + batch * sub  # the first sample of each stretch
        values = _stretch_values(audio, first, sub)
        if first.max() + sub > b:  # the last stretch ends early: nothing past it counts
            values *= (first[:, None] + np.arange(sub) < b)[None, :, :, None]
        best = max(best, float(values.max().astype(np.float32)))
    return best


def _near(level: np.ndarray, a: int, b: int, sub: int) -> np.ndarray:
    """Per ``sub``-sample stretch from sample ``a`` on (the last one may pass ``b``): the largest ``level`` in it and
    the :data:`REACH` samples either side (zeros beyond the signal), what bounds its oversampled values (float64)."""
    count = -(-(b - a) // sub)
    lo, hi = a - REACH, a + count * sub + REACH
    padded = np.zeros(hi - lo, dtype=level.dtype)
    padded[max(0, lo) - lo : min(len(level), hi) - lo] = level[max(0, lo) : min(len(level), hi)]
    stretches = padded[REACH : REACH + count * sub].reshape(count, sub)
    near = stretches.max(axis=1).astype(np.float64)
    before = np.concatenate([padded[:REACH], stretches[:-1, sub - REACH :].reshape(-1)]).reshape(count, REACH)
    after = np.concatenate([stretches[1:, :REACH].reshape(-1), padded[REACH + count * sub :]]).reshape(count, REACH)
    np.maximum(near, before.max(axis=1), out=near)
    np.maximum(near, after.max(axis=1), out=near)
    return near


def oversampled_abs_peaks_over(audio: np.ndarray, threshold: float, *, sub: int = 128,
                               batch: int = 256) -> np.ndarray:
    """:func:`oversampled_abs_peaks` where it may exceed ``threshold``, the same values to the bit; 0 wherever it
    cannot (a ``sub``-sample stretch whose samples within the filter's reach, times :data:`INTERPOLATOR_GAIN`, stay
    at or under it is never oversampled). The limiter needs the peaks only where they pass its ceiling."""
    n = audio.shape[-1]
    out = np.zeros(n, dtype=np.float32)
    if n == 0:
        return out
    near = _near(np.abs(audio).max(axis=0), 0, n, sub)
    over = np.flatnonzero(near * INTERPOLATOR_GAIN > threshold)
    for k in range(0, len(over), batch):
        first = over[k : k + batch] * sub
        # (stretches, sub): per sample, the largest over its phases and the channels
        values = _stretch_values(audio, first, sub).max(axis=3).max(axis=0)
        at = first[:, None] + np.arange(sub)
        inside = at < n
        out[at[inside]] = values[inside]
    return out


def _stretch_values(audio: np.ndarray, first: np.ndarray, sub: int) -> np.ndarray:
    """``(channels, len(first), sub, OVERSAMPLE)``: the |4x-oversampled values| of the ``sub`` samples from each of
    ``first`` in every channel, each stretch taken with :data:`REACH` samples of context either side, zeros beyond
    the signal's ends (what :func:`_with_context` gives for each), all gathered and oversampled at once."""
    n = audio.shape[-1]
    at = first[:, None] + np.arange(-REACH, sub + REACH)
    inside = (at >= 0) & (at < n)
    rows = audio[:, np.clip(at, 0, n - 1)].astype(np.float64)
    rows *= inside
    return np.abs(_phases(rows.reshape(-1, rows.shape[-1]))).reshape(len(rows), len(first), sub, OVERSAMPLE)


class TruePeakMeter:
    """The true peak of a signal fed block by block (``(channels, n)``, any sizes): equal to
    ``oversampled_abs_peaks(whole).max()``, whatever the blocks. Each block's samples are oversampled with their
    real neighbours across block boundaries (the last :data:`REACH` samples wait for the next block's first, and
    :attr:`value` takes the signal's end as its end), and only where they could raise the value so far
    (:func:`true_peak_above`)."""

    def __init__(self) -> None:
        self.peak = 0.0
        self._tail: np.ndarray | None = None  # the last 2 * REACH samples fed (fewer at first)

    def add(self, block: np.ndarray, level: np.ndarray | None = None) -> None:
        """The next block; ``level``: ``np.abs(block).max(axis=0)`` when the caller has it already."""
        n = block.shape[-1]
        if n == 0:
            return
        tail = self._tail
        if tail is None or tail.shape[-1] == 0:  # the signal's start: zeros before it, as a whole-signal run has
            held, tail = 0, block[:, :0]
        else:
            held = min(REACH, tail.shape[-1])  # samples of the tail still waiting for their right-hand neighbours
        if n >= 4 * REACH:
            # the tail's waiting samples and the block's first REACH, with the context each side, then the rest of
            # the block, which is its own context (no copy of the block)
            joint = np.concatenate([tail, block[:, : 2 * REACH]], axis=1)
            t = tail.shape[-1]
            self.peak = true_peak_above(joint, self.peak, within=(t - held, t + REACH))
            self.peak = true_peak_above(block, self.peak, level=level, within=(REACH, n - REACH))
        else:  # a short block: with the tail, as one
            joint = np.concatenate([tail, block], axis=1)
            t = tail.shape[-1]
            self.peak = true_peak_above(joint, self.peak, within=(t - held, max(t - held, t + n - REACH)))
        if n >= 2 * REACH:
            self._tail = np.array(block[:, n - 2 * REACH :])
        else:
            self._tail = np.concatenate([tail, block], axis=1)[:, -2 * REACH :].copy()

    @property
    def value(self) -> float:
        """The true peak of everything fed, its last samples judged with nothing after them."""
        tail = self._tail
        if tail is None or tail.shape[-1] == 0:
            return self.peak
        t = tail.shape[-1]
        return true_peak_above(tail, self.peak, within=(max(0, t - REACH), t))


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
    # only where the peaks may pass the ceiling (as the float32 division below sees it) do they matter: elsewhere the
    # gain needed is 1 whatever they are, and they are not computed (most of a mix, however loud its events)
    peaks = oversampled_abs_peaks_over(audio, min(ceiling, float(np.float32(ceiling))))
    need = np.minimum(1.0, ceiling / np.maximum(peaks, 1e-12))
    if need.min() >= 1.0:
        return np.ones(audio.shape[-1], dtype=np.float32)
    la = max(1, round(lookahead_s * sample_rate))
    rel = max(la, round(release_s * sample_rate))
    # running min over [n - la, n + rel]: the gain dips la samples before a peak and recovers rel after it
    size = la + rel + 1
    gain = minimum_filter1d(need, size=size, origin=(rel - la) // 2, mode="nearest")
    return np.minimum(uniform_filter1d(gain, size=la, mode="nearest"), gain).astype(np.float32)

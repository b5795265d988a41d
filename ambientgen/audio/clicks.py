"""Clicks anywhere in a signal, found block by block as it streams past (``ambientgen check``).

A click is what the signal's own past cannot predict: per frame, a 16th-order
linear predictor is fitted on the frame and the one before (autocorrelation
by direct sums, Levinson-Durbin vectorized over the frames of a block) and its
residual's peak is compared with the frame's robust residual RMS. The
residual of every frame is screened in single precision; the frames the screen
passes are judged again in double precision, so the answer is double
precision's.
"""

from __future__ import annotations

import numpy as np

CLICK_FRAME = 1024  # samples per click-detector frame (the predictor is fitted on it and the frame before)
CLICK_ORDER = 16
CLICK_RATIO = 40.0  # residual peak over the frame's robust residual RMS (clean fixtures and renders: at most 30)
CLICK_FLOOR = 1e-4  # and at least -80 dBFS
MAX_CLICKS = 100
SCREEN_MARGIN = 1.1  # the single-precision screen passes a frame within 10 % of the ratio (rounding: under 0.1 %)


def _levinson(r: np.ndarray) -> np.ndarray:
    """Linear-prediction coefficients ``a`` (``x[t] ~ sum_j a[j] x[t-1-j]``) of every row of autocorrelations
    ``r`` (``(frames, order + 1)``), by the Levinson-Durbin recursion vectorized over frames."""
    frames, p = r.shape[0], r.shape[1] - 1
    a = np.zeros((frames, p))
    err = r[:, 0].copy()
    for i in range(p):
        acc = r[:, i + 1] - (np.einsum("fj,fj->f", a[:, :i], r[:, i:0:-1]) if i else 0.0)
        k = acc / np.maximum(err, 1e-30)
        if i:
            a[:, :i] = a[:, :i] - k[:, None] * a[:, i - 1 :: -1]
        a[:, i] = k
        err = err * np.maximum(1 - k**2, 1e-9)
    return a


class ClickFinder:
    """Clicks anywhere: per :data:`CLICK_FRAME` frame, a 16th-order predictor fitted on the frame and the one
    before; a sample the past cannot predict by :data:`CLICK_RATIO` times the frame's robust residual RMS
    (and above -80 dBFS) is a click. Natural onsets (a bird, a crackle, a thunderclap) stay far under the
    ratio in the fixtures and the bundled scenes' renders (at most 30); a 3-sample step in quiet material
    rises past 60."""

    def __init__(self):
        self.buf = np.zeros(0)
        self.start = -CLICK_FRAME  # global index of buf[0] (a silent frame before the file)
        self.times: list[int] = []
        self.count = 0

    def add(self, mono: np.ndarray) -> None:
        n, order = CLICK_FRAME, CLICK_ORDER
        buf = np.concatenate([self.buf if len(self.buf) else np.zeros(n), mono])
        frames = len(buf) // n - 1  # each needs the frame before it
        if frames <= 0:
            self.buf = buf
            return
        x = buf[: (frames + 1) * n].reshape(frames + 1, n)  # rows: the previous frame, then the frames judged
        a = _levinson(_autocorrelation(x))
        # every frame screened in single precision (twice as fast), with a margin far past its rounding; the few
        # it cannot clear (clicks, and frames near the ratio) are judged again in double precision
        level = np.abs(_residual(x.astype(np.float32), a.astype(np.float32)))
        if self.start == -n:  # the file's first samples have no past: the zeros before them are not the signal's
            level[0, :order] = 0.0
        peak = level.max(axis=1) * SCREEN_MARGIN
        for f in np.flatnonzero(_over_robust(level, peak) & (peak > CLICK_FLOOR)):
            exact = np.abs(_residual(x[f : f + 2], a[f : f + 1]))
            if f == 0 and self.start == -n:
                exact[0, :order] = 0.0
            top = exact.max(axis=1)
            if not (_over_robust(exact, top)[0] and top[0] > CLICK_FLOOR):
                continue
            at = self.start + (f + 1) * n + int(np.argmax(exact[0]))
            self.count += 1
            if len(self.times) < MAX_CLICKS and at >= 0:
                self.times.append(at)
        self.buf = buf[frames * n :]  # the last frame done (the next one's context) and the rest
        self.start += frames * n


def _autocorrelation(x: np.ndarray) -> np.ndarray:
    """Autocorrelation at lags 0..order of each pair of consecutive rows of ``x`` taken as one 2-frame stretch
    (``(rows - 1, order + 1)``), with the lag-0 term raised by 0.1 % (white-noise correction) and a floor.

    The sum over a pair is the first row's own lagged products, the second row's, and the ``k`` products that
    cross between them at lag ``k``: each row's products are summed once, not once per pair (half the work of
    direct sums over each 2-frame stretch, and a third of an FFT's)."""
    n = x.shape[1]
    own = np.empty((len(x), CLICK_ORDER + 1))
    cross = np.zeros((len(x) - 1, CLICK_ORDER + 1))
    for k in range(CLICK_ORDER + 1):
        own[:, k] = np.einsum("ft,ft->f", x[:, : n - k], x[:, k:])
        if k:
            cross[:, k] = np.einsum("ft,ft->f", x[:-1, n - k :], x[1:, :k])
    r = own[:-1] + own[1:] + cross
    r[:, 0] = r[:, 0] * 1.001 + 1e-12
    return r


RESIDUAL_ROWS = 128  # frames predicted at a time: 512 kB working arrays, and a quarter of the calls 32 made (each
# call takes the GIL the check's other threads wait for: an hour's check 0.7-1.0 s sooner, in two A/Bs)


def _residual(x: np.ndarray, a: np.ndarray) -> np.ndarray:
    """Prediction residual of rows ``1..`` of ``x`` by the predictor ``a`` of each (the row before supplies the
    first samples' past): ``x[t] - sum_j a[j] x[t-1-j]``, ``(rows - 1, n)``."""
    n = x.shape[1]
    flat = x.reshape(-1)
    out = x[1:].copy()
    tmp = np.empty((RESIDUAL_ROWS, n), dtype=x.dtype)
    for s in range(0, len(out), RESIDUAL_ROWS):
        e = min(len(out), s + RESIDUAL_ROWS)
        rows = np.lib.stride_tricks.as_strided(flat[(s + 1) * n - CLICK_ORDER :], shape=(e - s, n + CLICK_ORDER),
                                               strides=(n * flat.strides[0], flat.strides[0]), writeable=False)
        t, cur = tmp[: e - s], out[s:e]
        for j in range(CLICK_ORDER):
            np.multiply(a[s:e, j : j + 1], rows[:, CLICK_ORDER - 1 - j : CLICK_ORDER - 1 - j + n], out=t)
            cur -= t
    return out


def _over_robust(level: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Per row: ``peak > CLICK_RATIO * (1.4826 * median(level) + 1e-12)``, the robust RMS of the residual.

    The test is monotone in the median, so counting the row's values that pass it decides every row whose
    count is not exactly half (the median of an even count is the mean of the two middle values, which lies
    between them); only those few rows are sorted."""
    passing = np.count_nonzero(CLICK_RATIO * (1.4826 * level + 1e-12) < peak[:, None], axis=1)
    half = level.shape[1] // 2
    out = passing > half if level.shape[1] % 2 == 0 else passing >= half + 1
    if level.shape[1] % 2 == 0:
        for f in np.flatnonzero(passing == half):
            out[f] = peak[f] > CLICK_RATIO * (1.4826 * np.median(level[f]) + 1e-12)
    return out

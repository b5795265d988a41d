"""Repetition in a band track, found as the track streams past, in memory that does not grow with its length.

Log-band energies minus their 1 s moving average are the texture's fine detail:
random in a natural recording, identical where a stretch repeats (however steady
the texture: the detail of rain is its own noise). For every lag up to
``within_s``, the correlation of the details of frame ``j - lag`` and frame
``j``, averaged over 0.5 s, is high exactly where a copy sits; between unrelated
stretches it stays near 0 (±0.05 for 32 bands over 0.5 s), so 0.5 is far from
both. The longest run of such frames, over every lag, is the repetition.

Only the last ``within_s`` of details and a few rows of correlations are held:
an hour costs what a minute does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import uniform_filter1d

# The rule, in one place: ``check`` fails a track where a stretch of REPEAT_MIN_S or more recurs within
# REPEAT_WITHIN_S; what AmbientGen arranges (pool tiles, excerpts of recordings) keeps MIN_RECURRENCE_S apart.
REPEAT_MIN_S = 5.0
REPEAT_WITHIN_S = 60.0
REPEAT_FRAME_HOPS = 4  # repetition is found on 4-hop frames: copies a fraction of a hop apart still share them
MIN_RECURRENCE_S = 90.0  # a tile or a source stretch never plays again sooner (well past REPEAT_WITHIN_S), where it can


class RepetitionFinder:
    """Feed ``(frames, bands)`` blocks with :meth:`add`; :meth:`result` gives the longest recurring stretch.

    Frame ``j`` is a hit at lag ``L`` when the detail correlation of frames ``i`` and ``i - L``, averaged over the
    0.5 s window of ``i`` around ``j`` (the frames that exist and reach back ``L``), is above ``threshold``. The
    answer is the longest run of consecutive hits at one lag.

    Only runs of at least ``min_s`` count, and such a run holds a frame on a grid of :attr:`grid` frames. So the
    window averages are taken at every lag only on the grid's frames; frame by frame, only at the lags a grid frame
    at either end of the stretch (or a run carried into it) says a run may cross. That is the same answer as
    judging every frame at every lag (a test compares the two), at a tenth of the work: in a natural recording no
    lag is ever a candidate.

    Parameters
    ----------
    hop_s : float
        Seconds between frames.
    min_s : float
        The shortest stretch (and the shortest lag) that counts.
    within_s : float
        The longest lag: a copy must start within this long of the stretch it repeats.
    threshold : float
        Smoothed detail correlation above which two frames are copies.
    """

    def __init__(self, hop_s: float, *, min_s: float, within_s: float, threshold: float = 0.5):
        self.hop_s, self.min_s, self.threshold = hop_s, min_s, threshold
        self.min_lag = max(1, int(min_s / hop_s))
        self.max_lag = max(self.min_lag, int(within_s / hop_s))
        self.avg = max(3, int(1.0 / hop_s))  # the moving average the detail is taken against
        self.smooth = max(1, int(0.5 / hop_s))
        self.before = self.smooth // 2  # the window of frame j: [j - before, j + after]
        self.after = self.smooth - 1 - self.before
        self.lags = np.arange(self.min_lag, self.max_lag + 1)
        shortest = max(1, int(np.ceil(min_s / hop_s)))  # the fewest frames whose length reaches min_s
        while shortest > 1 and (shortest - 1) * hop_s >= min_s:
            shortest -= 1
        while shortest * hop_s < min_s:
            shortest += 1
        self.grid = shortest  # any run of this many frames holds a multiple of it
        self._raw = None  # features not yet final as detail, with the context the average needs
        self._raw_start = 0  # frame index of _raw[0]
        self._n = 0  # frames added
        self._d = 0  # frames turned into detail
        self._hist = np.zeros((0, 0), dtype=np.float32)  # details from frame _hist_start on
        self._hist_start = 0
        self._seg = 0  # the next stretch [seg * grid, (seg + 1) * grid) to judge
        self._grid_hits = None  # hits at every lag at frame seg * grid (computed with the stretch before)
        self._run = np.zeros(len(self.lags), dtype=np.int64)  # current run of hits per lag (frames)
        self._best_len = np.zeros(len(self.lags), dtype=np.int64)
        self._best_end = np.zeros(len(self.lags), dtype=np.int64)  # frame j after the run's last hit

    # ---- feeding ------------------------------------------------------------------------------------
    def add(self, features: np.ndarray) -> None:
        features = np.asarray(features, dtype=np.float32)
        if not len(features):
            return
        self._raw = features if self._raw is None else np.concatenate([self._raw, features])
        self._n += len(features)
        self._detail(final=False)

    def _detail(self, *, final: bool) -> None:
        half_after = self.avg - 1 - self.avg // 2
        ready = self._n if final else max(self._d, self._n - half_after)  # frames whose average is complete
        if ready > self._d:
            # the moving average of frames [d, ready) reads frames avg // 2 before and half_after after: all in
            # _raw, and at the true ends uniform_filter1d reflects, as over the whole track
            mean = uniform_filter1d(self._raw, size=self.avg, axis=0)
            lo, hi = self._d - self._raw_start, ready - self._raw_start
            detail = self._raw[lo:hi] - mean[lo:hi]
            detail -= detail.mean(axis=1, keepdims=True)
            detail /= np.linalg.norm(detail, axis=1, keepdims=True) + 1e-9
            self._d = ready
            keep_from = max(0, self._d - self.avg)  # the context the next average needs
            self._raw = self._raw[keep_from - self._raw_start :]
            self._raw_start = keep_from
            detail = detail.astype(np.float32)
            self._hist = np.concatenate([self._hist, detail]) if len(self._hist) else detail
        self._judge(final=final)

    # ---- judging ------------------------------------------------------------------------------------
    def _hits(self, r0: int, r1: int, lags: np.ndarray) -> np.ndarray:
        """Hits of frames ``[r0, r1)`` at ``lags`` (values): ``(r1 - r0, len(lags))`` booleans."""
        w0, w1 = max(0, r0 - self.before), min(self._d, r1 + self.after)  # the frames their windows read
        width = w1 - w0
        h0 = w0 - self.max_lag  # history rows [h0, w1): every frame a window frame reaches back to
        hist = self._hist[max(h0, self._hist_start) - self._hist_start : w1 - self._hist_start]
        if h0 < self._hist_start:  # before the first frame: zeros (their correlations are not counted)
            hist = np.concatenate([np.zeros((self._hist_start - h0, hist.shape[1]), np.float32), hist])
        gram = np.ascontiguousarray(hist @ hist[self.max_lag :].T)  # gram[a, t] = frame h0 + a . frame w0 + t
        # correlation of frame w0 + t with frame w0 + t - L is gram[t + max_lag - L, t]: a strided view
        diag = np.lib.stride_tricks.as_strided(gram, shape=(self.max_lag + 1, width),
                                               strides=(gram.strides[0], gram.strides[0] + gram.strides[1]),
                                               writeable=False)
        corr = diag[self.max_lag - lags].astype(np.float64)  # (lags, window frames)
        sums = np.concatenate([np.zeros((len(lags), 1)), np.cumsum(corr, axis=1)], axis=1)
        j = np.arange(r0, r1)
        lo = np.maximum(j - self.before, w0)[None, :]
        lo_valid = np.maximum(lo, lags[:, None])  # frames before L have no frame L back: not counted
        hi = np.minimum(j + self.after + 1, w1)[None, :]
        total = sums[np.arange(len(lags))[:, None], hi - w0] - sums[np.arange(len(lags))[:, None], lo - w0]
        count = np.maximum(0, hi - lo_valid)
        return ((j[None, :] >= lags[:, None]) & (total > self.threshold * count)).T

    def _judge(self, *, final: bool) -> None:
        """Judge the stretches of :attr:`grid` frames whose windows (and the next grid frame's) are complete."""
        g, lags = self.grid, self.lags
        while True:
            a, b = self._seg * g, (self._seg + 1) * g
            if a >= self._d:
                break
            if not final and b + self.after >= self._d:  # the next grid frame's window is not complete yet
                break
            b = min(b, self._d)
            if self._grid_hits is None:
                self._grid_hits = self._hits(a, a + 1, lags)[0]
            nxt = (self._hits(b, b + 1, lags)[0] if b < self._d
                   else np.zeros(len(lags), dtype=bool))
            open_ = np.flatnonzero(self._grid_hits | nxt | (self._run > 0))
            if len(open_):
                self._follow(open_, self._hits(a, b, lags[open_]), a)
            closed = np.ones(len(lags), dtype=bool)
            closed[open_] = False
            self._run[closed] = 0  # no run of a grid's length crosses this stretch at these lags
            self._grid_hits = nxt
            self._seg += 1
        keep_from = max(0, self._seg * g - self.before - self.max_lag)  # what the next stretch reads back to
        if keep_from > self._hist_start:
            self._hist = self._hist[keep_from - self._hist_start :]
            self._hist_start = keep_from

    def _follow(self, columns: np.ndarray, hits: np.ndarray, first: int) -> None:
        """Follow runs of ``hits`` (rows: frames from ``first``; columns: the lags ``columns``)."""
        carried = self._run[columns]
        rows = np.arange(len(hits))[:, None]
        last_miss = np.maximum.accumulate(np.where(hits, -1, rows), axis=0)
        run = np.where(last_miss >= 0, rows - last_miss, rows + 1 + carried[None, :])
        k = np.argmax(run, axis=0)  # the first longest run of each lag in this stretch
        peak = run[k, np.arange(run.shape[1])]
        longer = peak > self._best_len[columns]
        self._best_len[columns] = np.where(longer, peak, self._best_len[columns])
        self._best_end[columns] = np.where(longer, first + k + 1, self._best_end[columns])
        self._run[columns] = run[-1]

    # ---- the answer ---------------------------------------------------------------------------------
    def result(self) -> dict[str, Any] | None:
        """The longest stretch recurring within ``within_s`` (None if none reaches ``min_s``).

        ``first_s``: where it starts, ``again_s``: where its copy starts, ``lag_s`` between them.
        """
        if self._raw is not None:
            self._detail(final=True)
        if not self._best_len.any():
            return None
        k = int(np.argmax(self._best_len))  # the longest; the shortest lag among equals
        length = int(self._best_len[k]) * self.hop_s
        if length < self.min_s:
            return None
        again = int(self._best_end[k] - self._best_len[k])
        lag = int(self.lags[k])
        return {"length_s": round(length, 2), "first_s": round((again - lag) * self.hop_s, 2),
                "again_s": round(again * self.hop_s, 2), "lag_s": round(lag * self.hop_s, 2)}


def find_repetition(features: np.ndarray, hop_s: float, *, min_s: float, within_s: float,
                    threshold: float = 0.5) -> dict[str, Any] | None:
    """:class:`RepetitionFinder` over a whole ``(frames, bands)`` track at once."""
    finder = RepetitionFinder(hop_s, min_s=min_s, within_s=within_s, threshold=threshold)
    finder.add(features)
    return finder.result()

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

BLOCK_ROWS = 256  # frames correlated at once against every lag

# The rule, in one place: ``check`` fails a track where a stretch of REPEAT_MIN_S or more recurs within
# REPEAT_WITHIN_S; what AmbientGen arranges (pool tiles, excerpts of recordings) keeps MIN_RECURRENCE_S apart.
REPEAT_MIN_S = 5.0
REPEAT_WITHIN_S = 60.0
REPEAT_FRAME_HOPS = 4  # repetition is found on 4-hop frames: copies a fraction of a hop apart still share them
MIN_RECURRENCE_S = 90.0  # a tile or a source stretch never plays again sooner (well past REPEAT_WITHIN_S), where it can


class RepetitionFinder:
    """Feed ``(frames, bands)`` blocks with :meth:`add`; :meth:`result` gives the longest recurring stretch.

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
        self.before = self.smooth // 2  # uniform_filter1d's window: [i - size // 2, i + size - 1 - size // 2]
        self.after = self.smooth - 1 - self.before
        self.lags = np.arange(self.min_lag, self.max_lag + 1)
        self._raw = None  # features not yet final as detail, with the context the average needs
        self._raw_start = 0  # frame index of _raw[0]
        self._n = 0  # frames added
        self._d = 0  # frames turned into detail
        self._c = 0  # frames correlated against every lag
        self._hist = None  # the last max_lag details (and the new ones being correlated)
        self._hist_start = 0
        self._rows = None  # correlations (rows: frame j, columns: lags) not yet smoothed, with their context
        self._counts = None
        self._rows_start = 0
        self._done = 0  # frames whose smoothed correlation has been judged
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
        if ready <= self._d:
            return
        # the moving average of frames [d, ready) reads frames avg // 2 before and half_after after: all in _raw,
        # and at the true ends uniform_filter1d reflects, as over the whole track
        mean = uniform_filter1d(self._raw, size=self.avg, axis=0)
        lo, hi = self._d - self._raw_start, ready - self._raw_start
        detail = self._raw[lo:hi] - mean[lo:hi]
        detail -= detail.mean(axis=1, keepdims=True)
        detail /= np.linalg.norm(detail, axis=1, keepdims=True) + 1e-9
        self._d = ready
        keep_from = max(0, self._d - self.avg)  # the context the next average needs
        self._raw = self._raw[keep_from - self._raw_start :]
        self._raw_start = keep_from
        self._correlate(detail.astype(np.float32), final=final)

    def _correlate(self, detail: np.ndarray, *, final: bool) -> None:
        start = self._d - len(detail)
        for a in range(0, len(detail), BLOCK_ROWS):
            block = detail[a : a + BLOCK_ROWS]
            j0 = start + a
            self._hist = block if self._hist is None else np.concatenate([self._hist, block])
            # hist rows [j0 - max_lag, j0 + len(block)), zeros before the first frame
            pad = max(0, self.max_lag - (j0 - self._hist_start))
            hist = np.concatenate([np.zeros((pad, block.shape[1]), np.float32), self._hist]) if pad else \
                self._hist[j0 - self._hist_start - self.max_lag :]
            gram = hist @ block.T  # gram[t, r] = hist[t] . block[r]; frame j0 + r - L is row max_lag + r - L
            r = np.arange(len(block))[:, None]
            corr = gram[self._diagonal(len(block)), r]
            if j0 >= self.max_lag:  # every lag reaches back to a frame
                self._push(corr, np.ones_like(corr))
            else:
                valid = (j0 + r) - self.lags[None, :] >= 0
                self._push(np.where(valid, corr, 0.0).astype(np.float32), valid.astype(np.float32))
            self._c = j0 + len(block)
            drop = max(0, len(self._hist) - self.max_lag)
            self._hist = self._hist[drop:]
            self._hist_start += drop
            self._judge(final=False)
        if final:
            self._judge(final=True)

    def _diagonal(self, rows: int) -> np.ndarray:
        """Row indices into the gram matrix: ``max_lag + r - lag`` for each row r and lag (cached per size)."""
        cached = getattr(self, "_diag", None)
        if cached is None or len(cached) != rows:
            cached = self._diag = self.max_lag + np.arange(rows)[:, None] - self.lags[None, :]
        return cached

    def _push(self, corr: np.ndarray, counts: np.ndarray) -> None:
        if self._rows is None:
            self._rows, self._counts = corr, counts
        else:
            self._rows = np.concatenate([self._rows, corr])
            self._counts = np.concatenate([self._counts, counts])

    def _judge(self, *, final: bool) -> None:
        """Smooth the rows whose window is complete (a mean over the valid frames of the window) and follow runs."""
        last = self._c if final else self._c - self.after  # rows [done, last) can be judged
        if last <= self._done:
            return
        rs = self._rows_start
        # the mean over the window's frames that have this lag: sums and counts by the same moving window
        # (frames past the buffer count as absent; the buffer keeps every frame a judged window reads)
        total = uniform_filter1d(self._rows, size=self.smooth, axis=0, mode="constant", cval=0.0)
        j = np.arange(self._done, last)
        sel = slice(self._done - rs, last - rs)
        if not final and self._done - self.before >= self.max_lag:  # every frame of every window has every lag
            hits = total[sel] > self.threshold
        else:
            count = uniform_filter1d(self._counts, size=self.smooth, axis=0, mode="constant", cval=0.0)
            own = self._counts[sel] > 0  # the frame itself has this lag
            hits = own & (total[sel] > self.threshold * count[sel])
        # run length at each row: rows since the last miss (or the run carried in, before the first miss)
        rows = np.arange(len(j))[:, None]
        last_miss = np.maximum.accumulate(np.where(hits, -1, rows), axis=0)
        run = np.where(last_miss >= 0, rows - last_miss, rows + 1 + self._run[None, :])
        k = np.argmax(run, axis=0)  # the first longest run of each lag in this block
        peak = run[k, np.arange(run.shape[1])]
        longer = peak > self._best_len
        self._best_len = np.where(longer, peak, self._best_len)
        self._best_end = np.where(longer, j[k] + 1, self._best_end)
        self._run = run[-1]
        self._done = last
        keep_from = max(rs, self._done - self.before)
        self._rows = self._rows[keep_from - rs :]
        self._counts = self._counts[keep_from - rs :]
        self._rows_start = keep_from

    # ---- the answer ---------------------------------------------------------------------------------
    def result(self) -> dict[str, Any] | None:
        """The longest stretch recurring within ``within_s`` (None if none reaches ``min_s``).

        ``first_s``: where it starts, ``again_s``: where its copy starts, ``lag_s`` between them.
        """
        if self._raw is not None and self._d < self._n:
            self._detail(final=True)
        elif self._rows is not None and self._done < self._c:
            self._judge(final=True)
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

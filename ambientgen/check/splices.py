"""Where a file looks spliced: a steady texture before, a different steady texture after.

``check`` finds splices in a file that has no manifest this way (the contrast
computed as the file streams past, picked by :func:`pick_seams`); the seam
measure of :mod:`ambientgen.audio.seams` then ranks them like listed seams.
"""

from __future__ import annotations

import numpy as np

from ..audio.seams import contrast

DETECT_SIDE_S = 1.0  # seam detection compares the 1 s before each moment with the 1 s after it
DETECT_CONTRAST = 1.5  # within-side standard deviations a band must move, on average (clean recordings: <= 1.2)
DETECT_MAX = 20  # splices reported at most
DETECT_GAP_S = 2.0  # apart at least


def detect_seams(features: np.ndarray, hop_s: float, *, max_seams: int = DETECT_MAX, min_gap_s: float = DETECT_GAP_S,
                 threshold: float = DETECT_CONTRAST) -> list[float]:
    """Times (s) where the file looks spliced: a steady texture before, a different steady texture after.

    For every frame, each of the 32 log bands is compared between the second
    before and the second after: the difference of the means in units of the
    pooled within-side standard deviation (a t-like contrast), averaged over
    bands. A splice between two different recordings (or the same one at
    another level) moves every band at once between two steady sides; a natural
    onset (a thunderclap, a bird) moves some bands and leaves a decaying, unsteady
    side, so its contrast stays lower. Local maxima over ``threshold``, at least
    ``min_gap_s`` apart, strongest first. (``check`` computes the same contrast as
    the file streams past, :class:`~ambientgen.audio.seams.CurveStream`, and picks with :func:`pick_seams`.)
    """
    w = max(2, int(round(DETECT_SIDE_S / hop_s)))
    n = len(features)
    if n < 2 * w + 1:
        return []
    score = contrast(features, w)[w : n - w + 1]  # the seam measure's 1 s component (ambientgen.audio.seams)
    keep = score >= threshold
    candidates = np.column_stack([np.arange(w, n - w + 1)[keep], score[keep]])
    return pick_seams(candidates, hop_s, max_seams=max_seams, min_gap_s=min_gap_s)


def pick_seams(candidates: np.ndarray, hop_s: float, *, max_seams: int = DETECT_MAX,
               min_gap_s: float = DETECT_GAP_S) -> list[float]:
    """From ``(boundary, contrast)`` rows: the strongest first, each at least ``min_gap_s`` from those taken, at most
    ``max_seams``; times in seconds, in order."""
    if not len(candidates):
        return []
    order = np.argsort(-candidates[:, 1], kind="stable")
    found: list[int] = []
    gap = int(round(min_gap_s / hop_s))
    for k in order:
        if len(found) >= max_seams:
            break
        b = int(candidates[k, 0])
        if all(abs(b - f) >= gap for f in found):
            found.append(b)
    return sorted(round(float(b) * hop_s, 3) for b in found)

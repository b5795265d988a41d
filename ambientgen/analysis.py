"""How unusual is the change at a moment of a track? Seam and loop-point measures.

A seam is judged against the track itself: the same score is computed at many
ordinary moments, and the seam's percentile rank among them says how unusual it
is (0.5: like any other moment; near 1: stands out). The score adds

- *spectral novelty*: the distance between the log-spectra (24 bands, level
  removed) of the 80 ms before and the 80 ms after the moment (a change of texture),
- *a level change*: the broadband level difference in dB across the moment, and
- *a click detector*: a linear-prediction residual (order 16, fitted on the
  80 ms before): a discontinuity is what the past cannot predict, so its
  residual peak within 1 ms of the moment stands out from the residual's RMS
  (counted in dB above an ordinary noise peak), while coloured noise does not.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import solve_toeplitz
from scipy.signal import lfilter

from .bands import band_db, log_bin_edges

SIDE_S = 0.08
CLICK_S = 0.001
NOISE_PEAK_DB = 10.0  # a Gaussian peak over a few dozen samples sits about 3 sigma (~10 dB) above the RMS


def _mono(audio: np.ndarray) -> np.ndarray:
    audio = np.asarray(audio, dtype=np.float64)
    return audio if audio.ndim == 1 else audio.mean(axis=0)


def _log_spectrum(segment: np.ndarray) -> np.ndarray:
    # 24 log-spaced bands: robust to the fine structure of noise
    return band_db(segment, log_bin_edges(len(segment) // 2 + 1, 24))


LPC_ORDER = 16


@dataclass(frozen=True)
class Prepared:
    """A mono signal ready for scoring many positions."""

    x: np.ndarray
    sample_rate: int


def prepare(audio: np.ndarray, sample_rate: int) -> Prepared:
    return Prepared(_mono(audio), sample_rate)


def _click_db(before: np.ndarray, around: np.ndarray, centre: int, half: int) -> float:
    """Residual peak near ``centre`` of ``around`` over the residual RMS, from an LPC fitted on ``before``."""
    r = np.correlate(before, before, "full")[len(before) - 1 : len(before) + LPC_ORDER] + 1e-9
    r[0] *= 1.0001  # a touch of regularization for near-tonal signals
    try:
        coeffs = solve_toeplitz(r[:-1], r[1:])
    except np.linalg.LinAlgError:
        return 0.0
    residual = lfilter(np.concatenate([[1.0], -coeffs]), [1.0], around)[LPC_ORDER:]
    centre -= LPC_ORDER
    base = residual[: max(LPC_ORDER, centre - half)]
    peak = np.max(np.abs(residual[centre - half : centre + half + 1]))
    return float(20 * np.log10((peak + 1e-12) / (np.sqrt(np.mean(base**2)) + 1e-12)))


def discontinuity(p: Prepared, position: int) -> float:
    """Score of the change at ``position`` (needs SIDE_S of audio on both sides)."""
    side = round(SIDE_S * p.sample_rate)
    click = max(2, round(CLICK_S * p.sample_rate))
    before, after = p.x[position - side : position], p.x[position : position + side]
    sb, sa = _log_spectrum(before), _log_spectrum(after)
    novelty = float(np.sqrt(np.mean(((sb - sb.mean()) - (sa - sa.mean())) ** 2)))
    level = abs(10 * np.log10((np.mean(after**2) + 1e-20) / (np.mean(before**2) + 1e-20)))
    click_db = _click_db(before, p.x[position - side : position + click + 1], side, click) - NOISE_PEAK_DB
    return novelty + level + max(0.0, click_db)


def ordinary_positions(n: int, sample_rate: int, *, count: int = 300, avoid: list[int] = (), seed: int = 0) -> list[int]:
    """Random positions away from the edges and at least 0.2 s away from ``avoid``."""
    margin = round(SIDE_S * sample_rate) + 1
    keep_away = round(0.2 * sample_rate)
    rng = np.random.default_rng(seed)
    candidates = rng.integers(margin, n - margin, size=count * 3)
    avoid_arr = np.asarray(list(avoid), dtype=np.int64)
    if len(avoid_arr):
        dist = np.min(np.abs(candidates[:, None] - avoid_arr[None, :]), axis=1)
        candidates = candidates[dist > keep_away]
    return candidates[:count].tolist()


def percentile_rank(value: float, population: list[float]) -> float:
    """Fraction of the population scoring below ``value`` (ties count half)."""
    pop = np.asarray(population)
    return float((np.sum(pop < value) + 0.5 * np.sum(pop == value)) / len(pop))


@dataclass(frozen=True)
class SeamReport:
    position: int
    score: float
    rank: float  # percentile among ordinary moments


def seam_report(audio: np.ndarray, sample_rate: int, positions: list[int], *, loop: bool = False,
                count: int = 300) -> tuple[list[SeamReport], SeamReport | None]:
    """Score each seam (and the loop point, end -> start, when ``loop``) against ordinary moments."""
    p = prepare(audio, sample_rate)
    n = len(p.x)
    ordinary = [discontinuity(p, i) for i in ordinary_positions(n, sample_rate, count=count, avoid=positions)]
    margin = round(SIDE_S * sample_rate) + 1
    seams = []
    for pos in positions:
        if margin <= pos <= n - margin:
            score = discontinuity(p, pos)
            seams.append(SeamReport(pos, score, percentile_rank(score, ordinary)))
    loop_point = None
    if loop:
        side = 2 * margin
        wrapped = np.concatenate([_mono(audio)[-side:], _mono(audio)[:side]])
        score = discontinuity(prepare(wrapped, sample_rate), side)
        loop_point = SeamReport(0, score, percentile_rank(score, ordinary))
    return seams, loop_point

"""Joining chunks: equal-power crossfades and loop closure.

Audio is ``(..., samples)``; chunks are independent renders, so their overlaps
are uncorrelated and an equal-power fade (sin/cos, gains squared summing to 1)
keeps the level constant through each seam.
"""

from __future__ import annotations

import numpy as np

from .bands import band_db, log_bin_edges


def equal_power_fades(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out) of ``n`` samples with ``fade_in**2 + fade_out**2 == 1``."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    return np.sin(t * np.pi / 2).astype(np.float32), np.cos(t * np.pi / 2).astype(np.float32)


def stitch_chunks(chunks: list[np.ndarray], *, overlap: int) -> np.ndarray:
    """Concatenate chunks that overlap by ``overlap`` samples, crossfading each overlap.

    Every chunk must be the same length, longer than ``overlap``. The result is
    ``len(chunks) * (length - overlap) + overlap`` samples long.
    """
    if not chunks:
        raise ValueError("stitch_chunks needs at least one chunk")
    length = chunks[0].shape[-1]
    if any(c.shape != chunks[0].shape for c in chunks):
        raise ValueError("stitch_chunks needs chunks of equal shape")
    if not 0 <= overlap < length:
        raise ValueError(f"overlap must be in [0, {length}), got {overlap}")
    hop = length - overlap
    out = np.zeros(chunks[0].shape[:-1] + (len(chunks) * hop + overlap,), dtype=np.float32)
    fade_in, fade_out = equal_power_fades(overlap) if overlap else (None, None)
    for k, chunk in enumerate(chunks):
        piece = chunk.astype(np.float32, copy=True)
        if overlap and k > 0:
            piece[..., :overlap] *= fade_in
        if overlap and k < len(chunks) - 1:
            piece[..., -overlap:] *= fade_out
        out[..., k * hop : k * hop + length] += piece
    return out


def close_loop(audio: np.ndarray, *, length: int, overlap: int) -> np.ndarray:
    """Cut ``length`` samples that loop seamlessly: the material after ``length`` fades into the start.

    ``audio`` needs at least ``length + overlap`` samples. Sample ``length - 1``
    is followed in the source by sample ``length``, which is what the loop's
    first sample mostly is, so playing the result end to start is continuous.
    """
    if audio.shape[-1] < length + overlap:
        raise ValueError(f"close_loop needs {length + overlap} samples, got {audio.shape[-1]}")
    out = audio[..., :length].astype(np.float32, copy=True)
    if overlap:
        fade_in, fade_out = equal_power_fades(overlap)
        out[..., :overlap] = out[..., :overlap] * fade_in + audio[..., length : length + overlap] * fade_out
    return out


def _band_levels(segment: np.ndarray) -> np.ndarray:
    return band_db(segment, log_bin_edges(len(segment) // 2 + 1, 16))


def best_fade(a: np.ndarray, b: np.ndarray, *, fade: int, candidates: int = 24) -> int:
    """Start (within the overlap) of the ``fade``-sample stretch where ``a`` and ``b`` sound most alike.

    ``a`` and ``b`` are the two chunks over their shared overlap. Alike means a
    similar spectrum (16 log bands) and level; stretches where either side is
    near-silent (20 dB under its own overlap level) are avoided, since fading
    through near-silence dips the level.
    """
    span = len(a) - fade
    if span <= 0:
        return 0
    level_a = np.sqrt(np.mean(a.astype(np.float64) ** 2)) + 1e-12
    level_b = np.sqrt(np.mean(b.astype(np.float64) ** 2)) + 1e-12
    best, best_cost = 0, np.inf
    for start in np.linspace(0, span, candidates).astype(int):
        sa, sb = a[start : start + fade], b[start : start + fade]
        ra = np.sqrt(np.mean(sa.astype(np.float64) ** 2)) + 1e-12
        rb = np.sqrt(np.mean(sb.astype(np.float64) ** 2)) + 1e-12
        cost = float(np.sqrt(np.mean((_band_levels(sa) - _band_levels(sb)) ** 2)))
        cost += abs(20 * np.log10(ra / rb))
        if ra < level_a * 0.1 or rb < level_b * 0.1:
            cost += 100.0
        if cost < best_cost:
            best, best_cost = int(start), cost
    return best


def splice_chunks(chunks: list[np.ndarray], *, overlap: int, sample_rate: int,
                  min_fade_s: float = 0.05) -> tuple[np.ndarray, list[int]]:
    """Like :func:`stitch_chunks`, but each seam fades where the two chunks match best.

    Returns the stream (same length as :func:`stitch_chunks`) and the sample
    position of each seam (the middle of its fade).
    """
    if len(chunks) < 2 or overlap == 0:
        return stitch_chunks(chunks, overlap=overlap), []
    length = chunks[0].shape[-1]
    hop = length - overlap
    fade = max(min(overlap, round(min_fade_s * sample_rate)), overlap // 2)
    fade_in, fade_out = equal_power_fades(fade)
    out = np.zeros(chunks[0].shape[:-1] + (len(chunks) * hop + overlap,), dtype=np.float32)
    out[..., :length] = chunks[0]
    seams = []
    for k in range(1, len(chunks)):
        start = k * hop  # the overlap on the output timeline: [start, start + overlap)
        a = out[..., start : start + overlap]
        b = chunks[k][..., :overlap]
        at = best_fade(a.reshape(-1, overlap).mean(axis=0), b.reshape(-1, overlap).mean(axis=0), fade=fade)
        s = start + at
        out[..., s : s + fade] = out[..., s : s + fade] * fade_out + chunks[k][..., at : at + fade] * fade_in
        out[..., s + fade : start + length] = chunks[k][..., at + fade :]
        seams.append(s + fade // 2)
    return out, seams

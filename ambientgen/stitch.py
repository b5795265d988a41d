"""Joining chunks: equal-power crossfades and loop closure.

Audio is ``(..., samples)``; chunks are independent renders, so their overlaps
are uncorrelated and an equal-power fade (sin/cos, gains squared summing to 1)
keeps the level constant through each seam.
"""

from __future__ import annotations

import numpy as np


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

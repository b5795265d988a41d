"""One long latent per layer: MultiDiffusion along time, and decoding with context.

A layer's latent ``[1, C, L, F]`` (L frames along time, F along frequency) is
denoised as overlapping windows of the model's native length. At every step
each window's noise prediction is computed (windows batched together), the
predictions are averaged where windows overlap (weighted by ramps, so a
window's edge counts least), and one scheduler step moves the whole latent.
Adjacent windows therefore share their overlap exactly: there is no seam to
hide. With ``loop`` the windows wrap around the end (time is circular;
frequency never wraps), so the end of the layer flows into its start.

Because DDIM / DPM-Solver steps are linear in the latent and the noise
prediction with coefficients that depend only on the timestep, averaging the
predictions and stepping once equals stepping each window and averaging, with
one solver history for the whole latent.

Decoding (VAE, then the vocoder) also runs in windows with context on both
sides (wrapped for loops) that is cropped away, so neither network sees an
edge inside the layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Windows:
    """Window layout over a latent of ``length`` frames."""

    length: int
    size: int
    starts: tuple[int, ...]
    loop: bool

    def indices(self, k: int) -> np.ndarray:
        idx = self.starts[k] + np.arange(self.size)
        return idx % self.length if self.loop else idx

    @property
    def seams(self) -> list[float]:
        """Frame positions in the middle of each overlap between consecutive windows."""
        out = []
        for a, b in zip(self.starts, self.starts[1:] + ((self.starts[0] + self.length,) if self.loop else ())):
            end_a = a + self.size
            if b < end_a:
                out.append(((b + end_a) / 2) % self.length)
        return sorted(out)


def plan_windows(length: int, *, size: int, overlap: int, multiple: int, loop: bool) -> Windows:
    """Windows of ``size`` frames (a multiple of ``multiple``) overlapping by at least ``overlap``.

    A latent shorter than a window is covered by smaller windows (a loop needs
    at least two, so the wrap is inside a window); a non-looping one shorter
    than a window is padded to one window by the caller.
    """
    if loop and length < size + overlap:
        size = max(multiple, (2 * length // 3) // multiple * multiple)
        overlap = min(overlap, size // 2)
    if not loop and length <= size:
        return Windows(length, size, (0,), loop)
    hop = size - min(overlap, size // 2)
    if loop:
        count = -(-length // hop)
        starts = tuple(round(k * length / count) for k in range(count))  # even spacing around the circle
    else:
        count = max(1, -(-(length - size) // hop) + 1)
        starts = tuple(round(k * (length - size) / (count - 1)) if count > 1 else 0 for k in range(count))
    return Windows(length, size, starts, loop)


def ramp_weights(size: int, ramp: int) -> np.ndarray:
    """Window weights: linear ramps of ``ramp`` frames at both ends, never zero."""
    w = np.ones(size, dtype=np.float32)
    if ramp > 0:
        r = (np.arange(ramp, dtype=np.float32) + 1) / (ramp + 1)
        w[:ramp] = r
        w[-ramp:] = r[::-1]
    return w


def context_indices(start: int, core: int, context: int, length: int, loop: bool) -> np.ndarray:
    """Frames ``[start - context, start + core + context)``, wrapped (loop) or clamped to the ends."""
    idx = np.arange(start - context, start + core + context)
    return idx % length if loop else np.clip(idx, 0, length - 1)


def decode_in_windows(decode, latents, *, core: int, context: int, loop: bool, scale: int):
    """Apply ``decode`` (frames -> ``scale`` x frames along axis 2) window by window, with cropped context.

    ``latents`` is a torch tensor ``[1, C, L, F]`` (or ``[1, L, F]``); the result
    has ``scale * L`` frames and equals what ``decode`` would give on the whole
    tensor wherever the context covers the decoder's receptive field.
    """
    import torch

    length = latents.shape[2] if latents.dim() == 4 else latents.shape[1]
    axis = 2 if latents.dim() == 4 else 1
    pieces = []
    for start in range(0, length, core):
        n = min(core, length - start)
        idx = torch.as_tensor(context_indices(start, n, context, length, loop), device=latents.device)
        out = decode(latents.index_select(axis, idx))
        out_axis = out.dim() - 1 if out.dim() == 2 else 2
        pieces.append(out.narrow(out_axis, context * scale, n * scale))
    return torch.cat(pieces, dim=pieces[0].dim() - 1 if pieces[0].dim() == 2 else 2)

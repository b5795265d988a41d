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


def averaged_prediction(latents, index, weights, *, axis: int, batch_size: int, predict):
    """Every window's model prediction (windows batched), averaged where windows overlap (MultiDiffusion).

    ``latents`` is a torch tensor with time along ``axis`` (AudioLDM2 ``[1, C, L, F]``
    on axis 2, Stable Audio 3 ``[1, C, L]`` on axis 2); ``index[k]`` holds window
    k's frame indices (wrapped for loops); ``weights`` is a ramp (see
    :func:`ramp_weights`) so a window's edge counts least. ``predict(views)``
    gets a batch of windows ``[n, ...]`` and returns a prediction of the same
    shape. The result is float32, shaped like ``latents``.
    """
    import torch

    shape = [1] * latents.dim()
    shape[axis] = -1
    w = weights.view(shape)
    out = torch.zeros_like(latents, dtype=torch.float32)
    wsum = torch.zeros(latents.shape[axis], device=latents.device)
    for b in range(0, len(index), batch_size):
        idx = index[b : b + batch_size]
        views = torch.cat([latents.index_select(axis, i) for i in idx])
        pred = predict(views)
        for j, i in enumerate(idx):
            out.index_add_(axis, i, pred[j : j + 1].float() * w)
            wsum.index_add_(0, i, weights)
    return out / wsum.view(shape)


def decode_in_windows(decode, latents, *, core: int, context: int, loop: bool, scale: int, axis: int | None = None,
                      out_axis: int | None = None, pad_edges: bool = True):
    """Apply ``decode`` (frames -> ``scale`` x frames) window by window, with cropped context.

    Time runs along ``axis`` of ``latents`` (a torch tensor) and along ``out_axis``
    of what ``decode`` returns; by default AudioLDM2's layout (``[1, C, L, F]`` or
    ``[1, L, F]`` in, time on axis 2 or 1; ``[1, samples]`` or ``[1, C, ...]`` out).
    The result has ``scale * L`` frames along ``out_axis`` and equals what
    ``decode`` would give on the whole tensor wherever the context covers the
    decoder's receptive field. Without ``loop`` the ends are padded by repeating
    the end frames (``pad_edges``, right for convolutional decoders) or not
    padded at all (a window there simply has less context, as the whole tensor has).
    """
    import torch

    if axis is None:
        axis = 2 if latents.dim() == 4 else 1
    length = latents.shape[axis]
    pieces = []
    for start in range(0, length, core):
        n = min(core, length - start)
        if loop or pad_edges:
            lead, idx = context, context_indices(start, n, context, length, loop)
        else:
            lo, hi = max(0, start - context), min(length, start + n + context)
            lead, idx = start - lo, np.arange(lo, hi)
        out = decode(latents.index_select(axis, torch.as_tensor(idx, device=latents.device)))
        oa = out_axis if out_axis is not None else (out.dim() - 1 if out.dim() == 2 else 2)
        pieces.append(out.narrow(oa, lead * scale, n * scale))
    oa = out_axis if out_axis is not None else (pieces[0].dim() - 1 if pieces[0].dim() == 2 else 2)
    return torch.cat(pieces, dim=oa)


def block_generators(total: int, seeds) -> list:
    """``(lo, hi, generator)`` for each block of a latent's time axis of ``total`` frames: block k draws its noise
    from chunk seed k (a CPU ``torch.Generator``), so the noise does not depend on how windows are batched."""
    import torch

    block = -(-total // len(seeds))
    spans = [(k * block, min(total, (k + 1) * block)) for k in range(len(seeds))]
    return [(lo, hi, torch.Generator("cpu").manual_seed(seed)) for (lo, hi), seed in zip(spans, seeds) if lo < hi]


def timeline_noise(blocks, shape: tuple[int, ...]):
    """Gaussian noise of ``shape`` (time on axis 2, as ``[1, C, L, ...]``) drawn block by block from
    :func:`block_generators`; each call continues the generators (a sampler that adds noise every step)."""
    import torch

    noise = torch.empty(shape)
    for lo, hi, gen in blocks:
        noise[:, :, lo:hi] = torch.randn((*shape[:2], hi - lo, *shape[3:]), generator=gen)
    return noise

from __future__ import annotations

import numpy as np
import pytest
import torch

from ambientgen.backends.latent import context_indices, decode_in_windows, plan_windows, ramp_weights


@pytest.mark.parametrize("length", [300, 750, 1500, 4001])
def test_circular_windows_cover_every_frame_evenly(length):
    w = plan_windows(length, size=256, overlap=38, multiple=8, loop=True)
    cover = np.zeros(length, dtype=int)
    for k in range(len(w.starts)):
        cover[w.indices(k)] += 1
    assert cover.min() >= 1 and w.size == 256
    gaps = np.diff(list(w.starts) + [w.starts[0] + length])
    assert gaps.max() - gaps.min() <= 1 and gaps.max() <= 256 - 38  # every overlap at least the asked-for one
    assert len(w.seams) == len(w.starts)  # one seam per window boundary, the wrap included


def test_linear_windows_reach_both_ends():
    w = plan_windows(1000, size=256, overlap=38, multiple=8, loop=False)
    assert w.starts[0] == 0 and w.starts[-1] + 256 == 1000
    assert all(0 < b - a <= 256 - 38 for a, b in zip(w.starts, w.starts[1:]))


def test_short_loops_get_two_windows_or_more():
    w = plan_windows(100, size=256, overlap=38, multiple=8, loop=True)
    assert len(w.starts) >= 2 and w.size % 8 == 0 and w.size <= 100


def test_ramp_weights():
    w = ramp_weights(10, 3)
    assert w.min() > 0 and w[3:7].tolist() == [1, 1, 1, 1] and np.all(np.diff(w[:4]) > 0)


def test_context_indices_wrap_or_clamp():
    assert context_indices(0, 4, 2, 10, True).tolist() == [8, 9, 0, 1, 2, 3, 4, 5]
    assert context_indices(0, 4, 2, 10, False).tolist() == [0, 0, 0, 1, 2, 3, 4, 5]


def _toy_decoder(scale):
    """Upsample by ``scale`` and smooth over a few frames: a local operator like the VAE and vocoder."""
    kernel = torch.tensor([0.25, 0.5, 0.25]).view(1, 1, 3)

    def decode(z):  # [1, L, F] -> [1, scale*L] (one channel summed over F)
        x = z.sum(-1).repeat_interleave(scale, dim=-1)[:, None, :]
        return torch.nn.functional.conv1d(x, kernel, padding=1)[:, 0]

    return decode


@pytest.mark.parametrize("loop", [False, True])
def test_decoding_in_windows_equals_decoding_whole(loop):
    z = torch.randn(1, 100, 4, generator=torch.Generator().manual_seed(0))
    decode = _toy_decoder(4)
    windowed = decode_in_windows(decode, z, core=16, context=3, loop=loop, scale=4)
    if loop:  # the whole signal decoded circularly: pad with its own other end, then crop
        whole = decode(torch.cat([z[:, -3:], z, z[:, :3]], dim=1))[:, 12:-12]
    else:
        whole = decode(z)
    assert windowed.shape == whole.shape == (1, 400)
    if not loop:  # the true ends are clamped rather than zero-padded: compare inside
        windowed, whole = windowed[:, 4:-4], whole[:, 4:-4]
    torch.testing.assert_close(windowed, whole)


def test_timeline_noise_draws_block_k_from_seed_k_and_continues_each_generator():
    from ambientgen.backends.latent import block_generators, timeline_noise

    seeds = [7, 8, 9]
    blocks = block_generators(10, seeds)  # blocks of 4, 4 and 2 frames
    assert [(lo, hi) for lo, hi, _ in blocks] == [(0, 4), (4, 8), (8, 10)]
    first = timeline_noise(blocks, (1, 2, 10, 3))
    expected = torch.randn((1, 2, 4, 3), generator=torch.Generator("cpu").manual_seed(8))
    assert torch.equal(first[:, :, 4:8], expected)
    second = timeline_noise(blocks, (1, 2, 10, 3))  # the next draw of the same generators: new noise
    assert not torch.equal(first, second)
    again = timeline_noise(block_generators(10, seeds), (1, 2, 10, 3))
    assert torch.equal(first, again)  # deterministic for the seeds, whatever batching follows

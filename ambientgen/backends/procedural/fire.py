"""Fire: a low roar with crackles and pops."""

from __future__ import annotations

import numpy as np

from .dsp import colored_noise, decaying, excite, filt, finish, poisson_onsets, smooth_random


def fire(rng: np.random.Generator, n: int, sr: int, *, size: str = "campfire") -> np.ndarray:
    """A low, breathing roar; bursts of sharp crackles; now and then a louder pop of sap."""
    roar = filt(colored_noise(rng, n, 1.8), sr, low=40, high=400) * (0.4 + smooth_random(rng, n, sr, rate_hz=0.7))
    # the seething of burning wood: bright noise under fast, rectified random flicker
    body = filt(colored_noise(rng, n, 1.0), sr, low=400, high=4000, order=1)
    flutter = filt(rng.standard_normal(n).astype(np.float32), sr, low=1, high=12)
    body *= np.clip(1.0 + 0.5 * flutter / (np.std(flutter) + 1e-9), 0.15, None)
    flicker = filt(rng.standard_normal(n).astype(np.float32), sr, low=4, high=40)
    hiss = filt(colored_noise(rng, n, 0.5), sr, low=2000, high=8000)
    hiss = hiss * np.clip(flicker / (np.std(flicker) + 1e-9), 0, None) * 0.25 + body
    # crackles come in clusters: their rate follows a wandering curve
    activity = smooth_random(rng, n, sr, rate_hz=1.0) ** 3
    onsets = poisson_onsets(rng, n, sr, 40.0 if size == "campfire" else 20.0)
    onsets = onsets[rng.random(len(onsets)) < 0.05 + 0.95 * activity[onsets]]
    crackles = np.zeros(n, dtype=np.float32)
    for group in np.array_split(onsets, 4):  # four crackle colours
        length = rng.uniform(0.004, 0.02)
        envelope = decaying(sr, length, length / 5)
        burst = filt(rng.standard_normal(len(envelope)).astype(np.float32), sr,
                     low=rng.uniform(200, 800), high=rng.uniform(3000, 8000))
        click = burst * envelope
        crackles += excite(n, group, np.minimum(rng.lognormal(0.0, 0.6, len(group)), 4.0), click)
    pops_at = poisson_onsets(rng, n, sr, 0.5)
    pop = filt(rng.standard_normal(int(0.03 * sr)).astype(np.float32), sr, low=200, high=3000)
    pops = excite(n, pops_at, rng.uniform(0.5, 1.5, len(pops_at)), pop * decaying(sr, 0.03, 0.006))
    return finish(roar * 0.4 + hiss + crackles * 0.3 + pops * 0.3, sr)

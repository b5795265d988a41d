"""Fire: a low roar with crackles and pops."""

from __future__ import annotations

import numpy as np

from .dsp import colored_noise, decaying, excite, filt, finish, poisson_onsets, smooth_random


def fire(rng: np.random.Generator, n: int, sr: int, *, size: str = "campfire") -> np.ndarray:
    roar = filt(colored_noise(rng, n, 1.8), sr, low=40, high=500) * (0.5 + smooth_random(rng, n, sr, rate_hz=0.5))
    hiss = filt(colored_noise(rng, n, 0.5), sr, low=2000, high=9000) * 0.08
    # crackles come in clusters: their rate follows a wandering curve
    activity = smooth_random(rng, n, sr, rate_hz=0.8) ** 2
    onsets = poisson_onsets(rng, n, sr, 60.0 if size == "campfire" else 25.0)
    onsets = onsets[rng.random(len(onsets)) < 0.2 + 0.8 * activity[onsets]]
    click = filt(rng.standard_normal(int(0.004 * sr)).astype(np.float32), sr, low=1500) * decaying(sr, 0.004, 0.0008)
    crackles = excite(n, onsets, np.minimum(rng.lognormal(-0.5, 0.7, len(onsets)), 2.5), click)
    pops_at = poisson_onsets(rng, n, sr, 0.7)
    pop = filt(rng.standard_normal(int(0.03 * sr)).astype(np.float32), sr, low=300, high=4000)
    pops = excite(n, pops_at, rng.uniform(0.5, 1.5, len(pops_at)), pop * decaying(sr, 0.03, 0.006))
    return finish(roar * 0.6 + hiss + crackles * 0.25 + pops * 0.3, sr)

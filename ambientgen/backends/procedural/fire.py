"""Fire: a breathing bed of flames with dense small crackles (no loud pops: those read as fireworks)."""

from __future__ import annotations

import numpy as np

from .dsp import band_noise, decaying, excite, filt, finish, flutter, poisson_onsets, smooth_random, unit

# crackles per second and flame brightness (Hz) by kind of fire
FIRE_KIND = {"campfire": (60.0, 1500.0, 0.5), "fireplace": (50.0, 1200.0, 0.5), "embers": (40.0, 1000.0, 0.35)}


def fire(rng: np.random.Generator, n: int, sr: int, *, size: str = "campfire") -> np.ndarray:
    """Flames: pink noise (150 Hz up) breathing at 0.3-3 Hz, a faint hiss, and 0.5-3 ms crackles whose rate wanders
    gently (bursts of crackles read as fireworks)."""
    rate, bright, crackle_level = FIRE_KIND[size]
    flame = band_noise(rng, n, sr, 1.0, low=150, high=bright) * flutter(rng, n, sr, low=0.3, high=3,
                                                                        depth=0.6, floor=0.1)
    hiss = band_noise(rng, n, sr, 0.5, low=2000, high=9000) * 0.15
    activity = smooth_random(rng, n, sr, rate_hz=0.5)
    onsets = poisson_onsets(rng, n, sr, rate)
    onsets = onsets[rng.random(len(onsets)) < 0.5 + 0.5 * activity[onsets]]  # steady, not in bursts
    crackles = np.zeros(n, dtype=np.float32)
    m = int(0.01 * sr)
    for group in np.array_split(onsets, 8):  # eight crackle colours
        click = filt(rng.standard_normal(m).astype(np.float32), sr, low=rng.uniform(1000, 3000),
                     high=rng.uniform(6000, 12000)) * decaying(sr, 0.01, rng.uniform(0.0005, 0.003))[:m]
        crackles += excite(n, group, rng.lognormal(0.0, 0.5, len(group)), click)
    return finish(flame + hiss + unit(crackles) * crackle_level, sr)

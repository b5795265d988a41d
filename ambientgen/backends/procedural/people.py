"""What people do that is heard: typing.

A keystroke is the key's press and bottoming out, then a softer release, in
the rhythm people type (words of a few keys, a space, pauses). Footsteps were
tried (heel thumps, gravel crunch, heels on a hard floor, with and without a
hall's reverberation) and YAMNet heard drums, doors and gunshots, never
footsteps; real footstep samples (Red Eclipse's, at a walking pace) score
0.02 for "Walk, footsteps" too: there is no footsteps generator yet.
"""

from __future__ import annotations

import numpy as np

from .dsp import add_at, colored_noise, filt, finish, unit



def _key(rng: np.random.Generator, sr: int, space: bool) -> np.ndarray:
    """One keystroke (0.15 s): the key's press and, 12 ms later, its bottoming out (noise bursts dying in 7 ms,
    high-passed at 2 kHz), then 60-100 ms later the release at a third of the level; a space bar adds a low knock.
    (Resonant clicks read as a camera or a stomach to YAMNet; plain bright bursts read as typing.)"""
    m = round(0.15 * sr)
    out = np.zeros(m, dtype=np.float32)
    k = round(0.04 * sr)
    for at, level in ((0, 1.0), (round(0.012 * sr), 0.8), (round(rng.uniform(0.06, 0.1) * sr), 0.35)):
        burst = rng.standard_normal(k).astype(np.float32) * np.exp(-np.arange(k) / (0.007 * sr)).astype(np.float32)
        click = filt(burst, sr, low=2000, high=min(12000, 0.45 * sr))
        if space:
            click = click + 0.7 * filt(burst, sr, low=150, high=900)
        out[at : at + k] += (click * level)[: m - at]
    return out


def typing(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Typing on a keyboard: words of 2-8 keys at 4-6 keys a second, a space bar between, now and then a pause
    of 0.5-3 s (reading, thinking), over a quiet room."""
    out = np.zeros(n, dtype=np.float32)
    keys = [_key(rng, sr, False) for _ in range(12)]
    space = [_key(rng, sr, True) for _ in range(2)]
    at = rng.uniform(0, 0.5)
    while at < n / sr:
        rate = rng.uniform(4, 6)
        for _ in range(rng.integers(2, 9)):
            add_at(out, keys[rng.integers(len(keys))], int(at * sr), rng.uniform(0.5, 1.0))
            at += rng.exponential(1 / rate) * 0.6 + 0.4 / rate
        add_at(out, space[rng.integers(2)], int(at * sr), rng.uniform(0.6, 1.0))
        at += rng.uniform(0.1, 0.3)
        if rng.uniform() < 0.1:
            at += rng.uniform(0.5, 3.0)
    room = filt(colored_noise(rng, n, 1.0), sr, low=80, high=4000)
    return finish(unit(out) + 0.02 * unit(room), sr)


__all__ = ["typing"]

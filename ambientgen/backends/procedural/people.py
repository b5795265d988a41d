"""What people do that is heard: typing, footsteps.

A keystroke is the key's press and bottoming out, then a softer release, in
the rhythm people type (words of a few keys, a space, pauses). A footfall is a
heel's low thump, the sole's scuff as the foot rolls onto its toe, a little grit
under it and the knock of the boards, at a brisk walking pace on a wooden floor.
"""

from __future__ import annotations

import numpy as np
import soxr

from .dsp import add_at, band_noise, filt, finish, resonator, reverberate, unit


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
    room = band_noise(rng, n, sr, 1.0, low=80, high=4000)
    return finish(unit(out) + 0.02 * unit(room), sr)


__all__ = ["typing"]


FOOTSTEP_RATE = 16000  # footsteps are built at 16 kHz and resampled: nothing in them is above 8 kHz


def _shoe(rng: np.random.Generator) -> dict[str, float]:
    """One walker's shoe on one floor (each value within 10 % of the point the search found)."""
    def near(x: float) -> float:
        return x * rng.uniform(0.9, 1.1)

    return dict(heel_hz=near(44), heel_s=near(0.05), heel=near(1.26), toe_at=near(0.06), scuff_hz=near(363),
                scuff_w=near(3.14), scuff_s=near(0.07), scuff=near(0.48), grit_s=near(0.11),
                grit_n=int(rng.integers(15, 21)), grit=near(0.57), body_hz=near(864), body_bw=near(228),
                body=near(0.69), click=near(0.03))


def _footfall(rng: np.random.Generator, sr: int, shoe: dict[str, float]) -> np.ndarray:
    """One step (0.5 s): the heel's thump (a 40-48 Hz sine dying in 50 ms), the sole's scuff 60 ms later (noise
    from about 360 Hz to 1.1 kHz dying in 70 ms), 15-20 grains of grit (0.8-6 kHz clicks over 0.1 s), the boards'
    knock (a resonance near 860 Hz) and a faint bright click."""
    m = round(0.5 * sr)
    t = np.arange(m) / sr
    heel = np.sin(2 * np.pi * shoe["heel_hz"] * t) * np.exp(-t / shoe["heel_s"]) * shoe["heel"]
    toe_at = shoe["toe_at"] * rng.uniform(0.9, 1.1)
    scuff = filt(rng.standard_normal(m), sr, low=shoe["scuff_hz"], high=shoe["scuff_hz"] * shoe["scuff_w"])
    scuff *= np.exp(-np.maximum(0, t - toe_at) / shoe["scuff_s"]) * (t >= toe_at) * shoe["scuff"]
    grains = np.zeros(m)
    at = rng.integers(0, round(shoe["grit_s"] * sr), shoe["grit_n"])
    grains[at] = rng.standard_normal(len(at))
    grit = filt(grains, sr, low=800, high=6000) * shoe["grit"]
    knock = resonator(rng.standard_normal(m) * np.exp(-t / 0.01), sr, shoe["body_hz"], shoe["body_bw"])
    click = filt(rng.standard_normal(m), sr, low=1500, high=7000) * np.exp(-t / 0.004) * shoe["click"]
    return heel + scuff + grit + knock * shoe["body"] + click


def footsteps(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Someone walking briskly (2.45-2.95 steps a second) on a wooden floor in a small room, over quiet air.

    Earlier tries (heel thumps, gravel and snow crunch, heels on a hard floor, with and without a hall's
    reverberation) were heard by YAMNet as drums, doors and gunshots. These values were found by a random search
    over a footfall's parts scored by YAMNet's "Walk, footsteps" on two seeds, then fixed within 10 % of the best
    point and checked on 32 seeds the search never saw (Walk, footsteps first or among the top five in all 32;
    tested on 4 more). What mattered: a thump well under 100 Hz, a low scuff after it, a brisk regular pace, a dry
    room; built at 48 kHz the knock's and the grit's content above 8 kHz drew it toward hooves (Clip-clop), so it
    is built at 16 kHz."""
    m = -(-n * FOOTSTEP_RATE // sr)
    fs = FOOTSTEP_RATE
    out = np.zeros(m)
    shoe = _shoe(rng)
    pace = rng.uniform(2.45, 2.95)
    at = rng.uniform(0, 0.5)
    while at < m / fs:
        add_at(out, _footfall(rng, fs, shoe), int(at * fs), rng.uniform(0.7, 1.0))
        at += rng.uniform(0.9, 1.1) / pace
    out = reverberate(rng, out, fs, tail_s=(0.28, 0.36), wet=(0.02, 0.06))  # a small room
    air = band_noise(rng, m, fs, 1.0, low=60, high=4000)
    x = unit(out.astype(np.float32)) + rng.uniform(0.09, 0.12) * unit(air)
    y = soxr.resample(x.astype(np.float64), fs, sr)[:n] if sr != fs else x[:n]
    return finish(np.pad(y, (0, n - len(y))).astype(np.float32), sr)

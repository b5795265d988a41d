"""Air and machines: wind, noise colours, fan / air-conditioner hum, distant traffic, thunder."""

from __future__ import annotations

import numpy as np

from .dsp import colored_noise, decaying, filt, finish, poisson_onsets, smooth_random

NOISE_EXPONENT = {"white": 0.0, "pink": 1.0, "brown": 2.0}


def wind(rng: np.random.Generator, n: int, sr: int, *, strength: str = "gentle") -> np.ndarray:
    """Gusts: noise bands whose level and brightness follow slow random curves."""
    gust_rate = 0.15 if strength == "gentle" else 0.35
    out = np.zeros(n, dtype=np.float32)
    for low, high, weight in ((60, 400, 1.0), (300, 1500, 0.6), (1200, 5000, 0.25)):
        band = filt(colored_noise(rng, n, 1.5), sr, low=low, high=high)
        gust = smooth_random(rng, n, sr, rate_hz=gust_rate)
        out += band * weight * (0.15 + gust**2)
    return finish(out, sr)


def noise(rng: np.random.Generator, n: int, sr: int, *, color: str = "pink") -> np.ndarray:
    return finish(colored_noise(rng, n, NOISE_EXPONENT[color]), sr)


def hum(rng: np.random.Generator, n: int, sr: int, *, mains_hz: float = 60.0) -> np.ndarray:
    """A fan or air conditioner: airflow noise, mains hum harmonics and a blade-pass tone."""
    t = np.arange(n) / sr
    air = filt(colored_noise(rng, n, 1.2), sr, low=80, high=3000)
    tones = sum(np.sin(2 * np.pi * mains_hz * k * t + rng.uniform(0, 2 * np.pi)) / k**1.5 for k in (1, 2, 3, 4))
    blade = rng.uniform(90, 160)
    wobble = 1 + 0.002 * np.sin(2 * np.pi * rng.uniform(0.05, 0.2) * t)
    blade_tone = np.sin(2 * np.pi * blade * np.cumsum(wobble) / sr) * 0.3
    return finish(air + 0.15 * tones.astype(np.float32) + blade_tone.astype(np.float32), sr)


def traffic(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Distant traffic: a low rumble bed with cars swelling past."""
    bed = filt(colored_noise(rng, n, 2.0), sr, low=30, high=400)
    passes = np.zeros(n, dtype=np.float32)
    for onset in poisson_onsets(rng, n, sr, 0.25):
        length = int(rng.uniform(4, 9) * sr)
        shape = np.hanning(length).astype(np.float32) ** 2
        car = filt(colored_noise(rng, length, 1.2), sr, low=80, high=rng.uniform(1200, 3000)) * shape
        end = min(n, onset + length)
        passes[onset:end] += car[: end - onset] * rng.uniform(0.3, 1.0)
    return finish(bed + passes * 0.8, sr)


def thunder(rng: np.random.Generator, n: int, sr: int, *, distance: str = "distant") -> np.ndarray:
    """Rumbles: brown noise bursts with long decays, darker the further away; quiet rain-like air between."""
    cutoff = 250.0 if distance == "distant" else 900.0
    out = filt(colored_noise(rng, n, 1.0), sr, low=60, high=600) * 0.01
    count = max(1, rng.poisson(n / sr / 15))
    for onset in rng.integers(0, max(1, n - sr), size=count):
        seconds = rng.uniform(4, 9)
        length = int(seconds * sr)
        body = colored_noise(rng, length, 2.0)
        env = decaying(sr, seconds, seconds / 3.5, attack_s=rng.uniform(0.05, 0.4))[:length]
        # a few rolling sub-bursts inside the main rumble
        for _ in range(rng.integers(1, 4)):
            start = int(rng.uniform(0.2, 0.6) * length)
            env[start:] += decaying(sr, seconds, seconds / 5, attack_s=0.1)[: length - start] * rng.uniform(0.3, 0.8)
        rumble = filt(body * env, sr, low=25, high=cutoff)
        end = min(n, onset + length)
        out[onset:end] += rumble[: end - onset] * rng.uniform(0.5, 1.0)
    return finish(out, sr)

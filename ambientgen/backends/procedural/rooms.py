"""Indoors: café murmur (many distant voices and clinks), a ticking clock, pages turning, room tone."""

from __future__ import annotations

import numpy as np

from .dsp import colored_noise, decaying, filt, finish, flutter, poisson_onsets, resonator, shaped_noise, unit

# vowel formants (F1, F2, F3 in Hz) of an average adult voice
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (300, 870, 2240),
          (660, 1720, 2410), (490, 1350, 1690))


def _voice(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """One talker: a glottal pulse train (its own pitch, with intonation) through changing vowel formants,
    in syllables of 0.1-0.3 s and phrases with pauses."""
    out = np.zeros(n, dtype=np.float32)
    f0 = rng.uniform(90, 240)
    t = rng.uniform(0, 2.0)
    while t < n / sr:
        phrase_end = t + rng.uniform(1.0, 4.0)
        while t < phrase_end and t < n / sr:
            d = rng.uniform(0.1, 0.3)
            m = int(d * sr)
            s = int(t * sr)
            tt = np.arange(m) / sr
            pitch = f0 * (1 + 0.08 * np.sin(np.pi * tt / d) * rng.uniform(-1, 1))
            phase = np.cumsum(pitch) / sr
            pulses = (np.diff(np.floor(phase), prepend=0) > 0).astype(np.float32)
            pulses += 0.05 * rng.standard_normal(m).astype(np.float32)  # breath
            vowel = VOWELS[rng.integers(len(VOWELS))]
            syllable = sum(resonator(pulses, sr, f * rng.uniform(0.9, 1.1), bw) * g
                           for f, bw, g in zip(vowel, (90, 120, 200), (1.0, 0.6, 0.3)))
            syllable *= np.sin(np.pi * tt / d) ** 0.7
            e = min(n, s + m)
            out[s:e] += syllable[: e - s]
            t += d + rng.uniform(0.0, 0.08)
        t += rng.uniform(0.3, 2.0)  # a pause, or another talker's turn
    return out


def cafe(rng: np.random.Generator, n: int, sr: int, *, voices: int = 8) -> np.ndarray:
    """Café murmur: a handful of unintelligible talkers at different distances, room air, clinks of cups."""
    talk = sum(_voice(rng, n, sr) * rng.uniform(0.3, 1.0) for _ in range(voices))
    talk = filt(talk, sr, low=120, high=4000)
    air = filt(colored_noise(rng, n, 1.0), sr, low=100, high=3000)
    clinks = np.zeros(n, dtype=np.float32)
    m = int(0.3 * sr)
    t = np.arange(m) / sr
    for at in poisson_onsets(rng, n, sr, 0.4):
        f = rng.uniform(2500, 6000)
        ring = sum(np.sin(2 * np.pi * f * k * t) / k for k in (1.0, 2.7, 5.1)) * np.exp(-t / rng.uniform(0.03, 0.1))
        e = min(n, at + m)
        clinks[at:e] += ring[: e - at].astype(np.float32) * rng.uniform(0.2, 1.0)
    return finish(unit(talk) + 0.4 * unit(air) + 0.3 * unit(clinks), sr)


def clock(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A mechanical clock: a tick and a slightly lower tock once a second each, clicks ringing in a wooden case."""
    period = 1.0 / rng.uniform(0.98, 1.02) / 2
    m = int(0.05 * sr)
    tick = rng.standard_normal(m).astype(np.float32) * decaying(sr, 0.05, 0.002)[:m]
    modes = rng.uniform(1500, 5000, size=3)
    out = np.zeros(n, dtype=np.float32)
    for k, at in enumerate(np.arange(rng.uniform(0, period), n / sr, period)):
        s = int(at * sr)
        sound = sum(resonator(tick, sr, f * (1.0 if k % 2 else 0.85), 150) for f in modes)
        e = min(n, s + m)
        out[s:e] += sound[: e - s] * rng.uniform(0.9, 1.0)
    room = filt(colored_noise(rng, n, 1.0), sr, low=80, high=2000) * 0.02 * np.std(out) / 0.1
    return finish(out + room, sr)


def pages(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Pages turning, a few a minute: a 0.3-0.6 s swish of bright, crinkling noise, then the flap as it lands."""
    out = np.zeros(n, dtype=np.float32)
    flap_len = int(0.02 * sr)
    for at in poisson_onsets(rng, n, sr, 0.15):
        d = rng.uniform(0.3, 0.6)
        m = int(d * sr)
        t = np.arange(m) / sr
        crinkle = np.clip(unit(filt(rng.standard_normal(m).astype(np.float32), sr, low=20, high=200)), 0, None)
        swish = filt(colored_noise(rng, m, 0.3), sr, low=1500, high=12000) * np.sin(np.pi * t / d) ** 2 * (
            0.3 + crinkle)
        end = min(n, at + m)
        out[at:end] += swish[: end - at]
        if end + flap_len < n:
            flap = filt(rng.standard_normal(flap_len).astype(np.float32), sr, low=200, high=3000)
            out[end : end + flap_len] += flap * decaying(sr, 0.02, 0.005)[:flap_len] * 2
    room = filt(colored_noise(rng, n, 1.0), sr, low=80, high=3000) * 0.05 * np.std(out) / 0.1
    return finish(out + room, sr)


def room_tone(rng: np.random.Generator, n: int, sr: int, *, mains_hz: float = 50.0) -> np.ndarray:
    """A quiet room: soft, dark air (most of it below 300 Hz) and a faint hum of the building's services."""
    air = shaped_noise(rng, n, sr, [(20, -10), (100, 0), (300, -3), (1000, -12), (4000, -24), (20000, -40)])
    t = np.arange(n) / sr
    hum = sum(np.sin(2 * np.pi * mains_hz * k * t + rng.uniform(0, 2 * np.pi)) / k**2 for k in (1, 2, 3))
    return finish(air + 0.05 * hum.astype(np.float32) * flutter(rng, n, sr, low=0.05, high=0.5, depth=0.2,
                                                                  floor=0.5), sr)

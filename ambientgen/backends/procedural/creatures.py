"""Animals: crickets, cicadas, songbirds, frogs, gulls."""

from __future__ import annotations

import numpy as np

from .dsp import colored_noise, filt, finish, poisson_onsets, resonator, smooth_random, tone_burst, unit


def _pulse_train(n: int, sr: int, starts: np.ndarray, pulses: int, pulse_hz: float, pulse_s: float) -> np.ndarray:
    """Amplitude envelope of groups of ``pulses`` short smooth pulses starting at ``starts``."""
    env = np.zeros(n, dtype=np.float32)
    one = np.hanning(max(4, int(pulse_s * sr))).astype(np.float32)
    for start in starts:
        for k in range(pulses):
            s = int(start + k * sr / pulse_hz)
            if 0 <= s < n:
                e = min(n, s + len(one))
                env[s:e] += one[: e - s]
    return env


def crickets(rng: np.random.Generator, n: int, sr: int, *, count: int = 8) -> np.ndarray:
    """Each cricket: a 3.5-5.5 kHz carrier in chirps of 2-5 pulses, at its own drifting rate."""
    t = np.arange(n) / sr
    out = np.zeros(n, dtype=np.float32)
    for _ in range(count):
        carrier = np.sin(2 * np.pi * rng.uniform(3500, 5500) * t + rng.uniform(0, 6.3)).astype(np.float32)
        rate = rng.uniform(1.2, 3.0)  # chirps per second, jittered so no two crickets lock together
        drift = 1 + 0.25 * (smooth_random(rng, int(n / sr * rate) + 8, 1, rate_hz=0.1) - 0.5)
        gaps = (rng.normal(1 / rate, 0.25 / rate, size=len(drift)) * drift).clip(0.15)
        starts = (np.cumsum(gaps) - rng.uniform(0, 1 / rate)) * sr
        env = _pulse_train(n, sr, starts, int(rng.integers(2, 6)), rng.uniform(25, 45), 0.015)
        loud = rng.uniform(0.2, 1.0) * (0.6 + 0.4 * smooth_random(rng, n, sr, rate_hz=0.05))
        out += carrier * env * loud
    air = filt(colored_noise(rng, n, 1.0), sr, low=200, high=3000) * 0.02
    return finish(out + air, sr)


def cicadas(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A shrill, pulsing chorus: 2-7 kHz buzzes (120-250 Hz tymbal pulses) in rhythmic 1-4 Hz phrases."""
    t = np.arange(n) / sr
    out = np.zeros(n, dtype=np.float32)
    for _ in range(8):
        centre = rng.uniform(2000, 7000)
        band = filt(colored_noise(rng, n, 0.0), sr, low=centre * 0.9, high=centre * 1.1, order=2)
        pulses = (0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(120, 250) * t)) ** 2  # tymbal clicks
        rate = rng.uniform(1.0, 4.0) * (1 + 0.1 * (smooth_random(rng, n, sr, rate_hz=0.1) - 0.5))
        rhythm = (0.5 + 0.5 * np.sin(2 * np.pi * np.cumsum(rate) / sr + rng.uniform(0, 6.3))) ** 3
        song = smooth_random(rng, n, sr, rate_hz=0.3)  # each cicada swells and fades
        out += band * (pulses * (0.5 + rhythm)).astype(np.float32) * (0.3 + song) * rng.uniform(0.4, 1.0)
    air = filt(colored_noise(rng, n, 0.5), sr, low=150, high=2000) * 0.035  # the field around them
    return finish(out + air, sr)


def birds(rng: np.random.Generator, n: int, sr: int, *, activity: float = 1.0) -> np.ndarray:
    """Songbirds: phrases of 3-8 frequency-swept notes (2-7 kHz) from several birds, with quiet air between."""
    out = np.zeros(n, dtype=np.float32)
    for _ in range(4):  # four birds, each with its own song style
        base = rng.uniform(2000, 5000)
        notes = [tone_burst(sr, d, base * rng.uniform(0.7, 1.3), base * rng.uniform(0.6, 1.6), d / 3)
                 for d in rng.uniform(0.05, 0.18, size=5)]
        for phrase_at in poisson_onsets(rng, n, sr, 0.25 * activity):
            at = phrase_at
            for _ in range(rng.integers(3, 9)):
                note = notes[rng.integers(len(notes))] * rng.uniform(0.4, 1.0)
                end = min(n, at + len(note))
                if at >= n:
                    break
                out[at:end] += note[: end - at]
                at += len(note) + int(rng.uniform(0.03, 0.12) * sr)
    air = filt(colored_noise(rng, n, 2.0), sr, low=60, high=1500) * 0.5  # wind and distance under the song
    return finish(out + air, sr)


def frogs(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Croaks: buzzy low tones (200-600 Hz with harmonics) pulsed at 10-30 Hz, every 1-3 s per frog."""
    t = np.arange(n) / sr
    out = np.zeros(n, dtype=np.float32)
    for _ in range(5):
        f = rng.uniform(200, 600)
        tone = sum(np.sin(2 * np.pi * f * k * t) / k for k in range(1, 6)).astype(np.float32)
        starts = poisson_onsets(rng, n, sr, rng.uniform(0.3, 1.0))
        pulses = _pulse_train(n, sr, starts, int(rng.integers(4, 10)), rng.uniform(10, 30), 0.03)
        out += tone * pulses * rng.uniform(0.3, 1.0)
    return finish(filt(out, sr, high=3000) + filt(colored_noise(rng, n, 1.0), sr, low=100, high=2000) * 0.01, sr)


def gulls(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Gulls: three birds calling in series of harsh "kyow" notes (0.1-0.25 s, rich harmonics of 600-900 Hz gliding
    down, rough at 200-350 Hz, breathy) through a 2-3 kHz and a 1-1.5 kHz resonance, over sea air."""
    out = np.zeros(n, dtype=np.float32)
    for _ in range(3):
        f0 = rng.uniform(600, 900)
        for at in poisson_onsets(rng, n, sr, rng.uniform(0.15, 0.35)):
            for _ in range(rng.integers(2, 7)):
                if at >= n:
                    break
                d = rng.uniform(0.1, 0.25)
                m = int(d * sr)
                t = np.arange(m) / sr
                phase = 2 * np.pi * np.cumsum(f0 * (1.15 - 0.3 * (t / d) ** 2)) / sr
                tone = sum(np.sin(k * phase) for k in range(1, 10))
                rough = 1 + 0.8 * np.sin(2 * np.pi * rng.uniform(200, 350) * t)
                voice = (tone * rough + rng.standard_normal(m) * 0.5 * np.abs(tone) / 3).astype(np.float32)
                voice = resonator(voice, sr, rng.uniform(2000, 3000), 1500) + 0.5 * resonator(
                    voice, sr, rng.uniform(1000, 1500), 800)
                call = voice * (np.sin(np.pi * t / d) ** 0.5).astype(np.float32)
                end = min(n, at + m)
                out[at:end] += call[: end - at] * rng.uniform(0.5, 1.0)
                at += m + int(rng.uniform(0.05, 0.2) * sr)
    air = filt(colored_noise(rng, n, 1.5), sr, low=80, high=1500)
    return finish(unit(out) + 0.1 * unit(air), sr)


__all__ = ["birds", "cicadas", "crickets", "frogs", "gulls"]

"""Struck metal and china: church bells, wind chimes, a kitchen's clatter.

Each strike is a sum of decaying partials at the object's own (inharmonic)
ratios: a bell's hum, prime, minor-third tierce, quint and nominal, with split
modes that beat; a free-free tube's 1 : 2.76 : 5.40 : 8.93; a plate's or a
glass's narrow high modes rung by a short noise burst.
"""

from __future__ import annotations

import numpy as np

from .dsp import add_at, band_noise, filt, finish, poisson_onsets, resonator, smooth_random, unit

# a church bell's partials: (ratio to the strike note, amplitude, decay as a share of the bell's longest)
BELL_PARTIALS = ((0.5, 0.8, 1.0), (0.502, 0.5, 0.9), (1.0, 0.9, 0.7), (1.003, 0.5, 0.65), (1.19, 0.7, 0.55),
                 (1.5, 0.3, 0.45), (2.0, 1.0, 0.4), (2.006, 0.6, 0.38), (2.51, 0.4, 0.3), (2.66, 0.4, 0.28),
                 (3.01, 0.35, 0.22), (3.36, 0.2, 0.18), (4.1, 0.3, 0.15), (4.95, 0.15, 0.12), (5.43, 0.2, 0.1),
                 (6.7, 0.1, 0.08), (8.2, 0.08, 0.06))
TUBE_PARTIALS = ((1.0, 1.0, 1.0), (2.756, 0.45, 0.45), (5.404, 0.2, 0.2), (8.933, 0.08, 0.1))
PENTATONIC = (1.0, 9 / 8, 5 / 4, 3 / 2, 5 / 3, 2.0)


def _partials(rng: np.random.Generator, sr: int, f0: float, partials, longest_s: float, seconds: float,
              *, strike: float = 0.2, strike_hz: tuple[float, float] = (1500.0, 6000.0)) -> np.ndarray:
    """One strike: decaying partials at ``f0`` times their ratios (each with a slow beat of a few tenths of a
    hertz, as a real bell's split modes), a short filtered noise burst at the start."""
    m = max(2, round(seconds * sr))
    t = np.arange(m) / sr
    out = np.zeros(m)
    for ratio, amp, decay in partials:
        f = f0 * ratio * rng.uniform(0.997, 1.003)
        beat = 1 + 0.15 * np.sin(2 * np.pi * rng.uniform(0.2, 1.5) * t + rng.uniform(0, 6.3))
        out += amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 6.3)) * np.exp(-t / (decay * longest_s)) * beat
    burst = round(0.008 * sr)
    click = filt(rng.standard_normal(burst), sr, low=strike_hz[0], high=min(strike_hz[1], sr / 2 - 100))
    out[:burst] += strike * click * np.hanning(2 * burst)[burst:] / (np.std(click) + 1e-9)
    attack = np.minimum(1.0, t / 0.001)
    return (out * attack).astype(np.float32)



def _reverb(rng: np.random.Generator, x: np.ndarray, sr: int, seconds: float, wet: float) -> np.ndarray:
    """``x`` in a large space: convolved with ``seconds`` of exponentially decaying noise (a diffuse tail)."""
    from scipy.signal import fftconvolve

    m = round(seconds * sr)
    tail = rng.standard_normal(m) * np.exp(-np.arange(m) / (seconds * sr / 7))
    tail = filt(tail.astype(np.float32), sr, low=100, high=5000)
    y = fftconvolve(x, tail)[: len(x)]
    return (x + wet * y * np.std(x) / (np.std(y) + 1e-12)).astype(np.float32)


def bells(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A church bell heard across a town, tolling every 1.5-3 s: its strike note 500-700 Hz (its nominal an octave
    up), long decays with beating split modes, in a large space's reverberation, over air. (Lower bells read as a
    piano to YAMNet, and a peal of several as music: a peal asked for tolls one bell.)"""
    out = np.zeros(n, dtype=np.float32)
    f0 = rng.uniform(500, 700)
    strikes = [_partials(rng, sr, f0, BELL_PARTIALS, 6.0, 10.0, strike=0.6, strike_hz=(800.0, 6000.0))
               for _ in range(3)]
    at = int(rng.uniform(0, 2) * sr)
    while at < n:
        add_at(out, strikes[rng.integers(3)], at, rng.uniform(0.8, 1.0))
        at += int(rng.uniform(1.5, 3.0) * sr)
    out = _reverb(rng, out, sr, 2.5, 0.5)
    air = band_noise(rng, n, sr, 1.5, low=60, high=2000)
    return finish(unit(out) + 0.03 * unit(air), sr)


def wind_chimes(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Wind chimes: six tubes tuned to a pentatonic scale (1.4-3.6 kHz) struck as the wind moves them, up to ten
    strikes a second (fewer in the lulls of a slow gust curve), each ringing a few tenths of a second, over a
    soft breeze. (Lower or longer-ringing tubes read as a glockenspiel or a telephone to YAMNet.)"""
    base = rng.uniform(1400, 1800)
    tubes = [[_partials(rng, sr, base * r, TUBE_PARTIALS, rng.uniform(0.35, 0.7), 3.0, strike=0.05,
                        strike_hz=(3000.0, 9000.0)) for _ in range(2)] for r in PENTATONIC]
    gust = smooth_random(rng, n, sr, rate_hz=0.15)
    out = np.zeros(n, dtype=np.float32)
    for at in poisson_onsets(rng, n, sr, 10.0):
        if rng.uniform() < 0.3 + 0.7 * gust[at]:
            tube = tubes[rng.integers(len(tubes))][rng.integers(2)]
            add_at(out, tube, int(at), rng.uniform(0.3, 1.0))
    breeze = band_noise(rng, n, sr, 1.5, low=100, high=1500) * (0.3 + gust)
    return finish(unit(out) + 0.05 * unit(breeze), sr)


def _clink(rng: np.random.Generator, sr: int) -> np.ndarray:
    """One clink of china or cutlery (0.3 s): a noise burst dying in 20 ms through eight narrow modes of
    1.5-7 kHz (a 2 % bandwidth each), with a little of the burst itself."""
    m = round(0.3 * sr)
    burst = rng.standard_normal(m).astype(np.float32) * np.exp(-np.arange(m) / (0.02 * sr)).astype(np.float32)
    return (sum(resonator(burst, sr, f, 0.02 * f) for f in rng.uniform(1500, 7000, size=8)) + 0.3 * burst
            ).astype(np.float32)


def kitchen(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A kitchen's clatter: plates, glasses and cutlery set down, in clusters of 1-3 clinks 30-150 ms apart,
    three clusters a second in the busy stretches (a slow curve), over a room's air. (Ringing pots and longer
    modes read as bells to YAMNet; it hears these as "Chink, clink" and "Glass".)"""
    out = np.zeros(n, dtype=np.float32)
    busy = smooth_random(rng, n, sr, rate_hz=0.1)
    clinks = [_clink(rng, sr) for _ in range(16)]
    for at in poisson_onsets(rng, n, sr, 3.0):
        if rng.uniform() > 0.4 + 0.6 * busy[at]:
            continue
        t = int(at)
        for _ in range(rng.integers(1, 4)):
            add_at(out, clinks[rng.integers(len(clinks))], t, rng.uniform(0.2, 1.0))
            t += int(rng.uniform(0.03, 0.15) * sr)
    room = band_noise(rng, n, sr, 1.0, low=80, high=3000)
    return finish(unit(out) + 0.05 * unit(room), sr)


__all__ = ["bells", "kitchen", "wind_chimes"]

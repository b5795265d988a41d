"""Water: rain (light/heavy; roof, window, leaves), drips, stream, waterfall, ocean waves."""

from __future__ import annotations

import itertools

import numpy as np
import scipy.fft
from scipy.signal import fftconvolve, resample_poly

from .dsp import (
    band_noise,
    band_spectrum,
    decaying,
    excite,
    filt,
    finish,
    flutter,
    level,
    lower_rate,
    noise_from,
    poisson_onsets,
    rumbling_noise,
    shaped_noise,
    smooth_random,
    tone_burst,
    unit,
)

# drops per second and bed level by intensity
RAIN_INTENSITY = {"light": (700.0, 0.5), "medium": (1200.0, 0.6), "heavy": (3000.0, 1.0)}
# the long-term spectrum of rain (Hz, dB), close to a real rain recording's: flat 1-3.5 kHz, little below 700 Hz
RAIN_SPECTRUM = [(50, -24), (300, -22), (700, -14), (1100, -4), (1600, 0), (3000, 0), (5000, -3), (8000, -5),
                 (12000, -10), (20000, -20)]

# the bed's churn: each quarter-octave band's level wanders on its own from one 16 ms frame to the next, as the
# countless drops under the distinct ones make it do. A real rain recording with its band envelopes resynthesised
# on noise reads Water 2.7 by YAMNet, with its average spectrum on plain noise 1.2 ("White noise"); on our
# tin-roof rain this churn lifts the water family from 2.15 to 2.9, above the real recording's 2.31.
RAIN_CHURN = {"depth": 0.6, "shared": 0.0, "smear_s": 0.005, "smear_octaves": 0.175}


def _drop_kernel(rng: np.random.Generator, sr: int, surface: str) -> np.ndarray:
    """One family of drop impacts: a 1-3 ms broadband tick; on a roof, a sheet's dense short-lived modes;
    elsewhere, half the families add a Minnaert bubble (a rising 1.5-4 kHz chirp)."""
    m = int(0.02 * sr)
    tick = rng.standard_normal(m).astype(np.float32) * decaying(sr, 0.02, rng.uniform(0.0008, 0.003))[:m]
    tick = filt(tick, sr, low=rng.uniform(800, 2000), high=rng.uniform(6000, 14000))
    if surface == "roof":
        t = np.arange(int(0.08 * sr)) / sr
        modes = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi)) * np.exp(-t / rng.uniform(0.005, 0.02))
                    * rng.uniform(0.3, 1.0) for f in rng.uniform(500, 5000, size=24))
        kernel = 0.5 * modes / np.sqrt(24)
    elif rng.random() < 0.5:
        f0 = rng.uniform(1500, 4000)
        kernel = 0.5 * tone_burst(sr, 0.02, f0, f0 * 1.4, 0.006)
    else:
        return tick
    kernel = kernel.astype(np.float32)
    kernel[: len(tick)] += tick[: len(kernel)]
    return kernel


def rain(rng: np.random.Generator, n: int, sr: int, *, intensity: str = "medium", surface: str = "ground") -> np.ndarray:
    """A bed of rain-coloured noise that churns band by band, under thousands of small drop impacts a second (no
    low rumble: that is what made earlier versions read as aircraft)."""
    rate, bed_level = RAIN_INTENSITY[intensity]
    bed = unit(rumbling_noise(rng, np.ones(n), sr, RAIN_SPECTRUM, **RAIN_CHURN)) * bed_level
    density = 0.9 + 0.2 * smooth_random(rng, n, sr, rate_hz=0.05)  # rain thickens and thins slowly
    drops = np.zeros(n, dtype=np.float32)
    families = 16
    for _ in range(families):
        kernel = _drop_kernel(rng, sr, surface)
        onsets = poisson_onsets(rng, n, sr, rate / families)
        drops += excite(n, onsets, rng.lognormal(-1.0, 0.5, len(onsets)) * density[onsets], kernel)
    return finish(bed * density + unit(drops) * 0.5, sr)


def drips(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Drips in a hollow place (gutters, a cave, leaves after rain): six drop sizes falling 3-6 times a second
    each; a drop is a 3 ms splash and its bubble's short "plink" rising 20 % from 1-3 kHz, in a small space's
    0.4 s reverberation. (Longer, wider glides read as birdsong.)"""
    out = np.zeros(n, dtype=np.float32)
    m = int(0.003 * sr)
    for _ in range(6):
        freq = rng.uniform(1000, 3000)
        kernel = tone_burst(sr, 0.04, freq, freq * 1.2, 0.003)
        kernel[:m] += filt(rng.standard_normal(m).astype(np.float32), sr, low=1000) * decaying(sr, 0.003, 0.0008)[:m]
        onsets = poisson_onsets(rng, n, sr, rng.uniform(3.0, 6.0))
        out += excite(n, onsets, rng.uniform(0.4, 1.0, len(onsets)), kernel)
    tail = int(0.4 * sr)
    room = (rng.standard_normal(tail) * np.exp(-np.arange(tail) / (0.08 * sr))).astype(np.float32)
    out += 0.4 * unit(fftconvolve(out, room)[:n].astype(np.float32)) * np.std(out)
    bed = band_noise(rng, n, sr, 1.0, low=300, high=6000) * 0.05 * np.std(out) / 0.1
    return finish(out + bed, sr)


# a river's long-term spectrum (Hz, dB): most energy at 400-900 Hz, falling ~6 dB an octave above
STREAM_SPECTRUM = [(50, -20), (150, -12), (400, -4), (600, 0), (900, -2), (1600, -7), (3400, -13), (5000, -18),
                   (10000, -27), (20000, -40)]


STREAM_RUSH = 0.3  # the current's steady rush under the babble (~10 dB down)


def stream(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Babbling water over the steady rush of the current: river-coloured noise in 15 bands, each under its own
    fast random gurgle (1-100 Hz), over a waterfall's roar 10 dB down. (The babble alone read Stream / Water /
    Gurgling at 1.97 by the tagger, under both real recordings; with the rush, Pour / Trickle / Stream at 3.1.
    A louder rush, 4 dB down, read 2.3.)"""
    edges = np.geomspace(150, 6000, 16)
    factor = lower_rate(sr, edges[-1])  # the babble has nothing above 6 kHz: made at 16 kHz, brought up once
    rate = sr / factor
    m = scipy.fft.next_fast_len(n // factor + 1, real=True)  # a length the inverse FFT is fast at
    base = shaped_noise(rng, m, rate, STREAM_SPECTRUM)
    out = np.zeros(m, dtype=np.float32)
    for low, high in itertools.pairwise(edges):
        gurgle = flutter(rng, m, rate, low=1, high=100, depth=1.5)
        out += filt(base, rate, low=low, high=high) * (gurgle * np.sqrt(gurgle))  # gurgle ** 1.5, 6x faster
    babble = resample_poly(out, factor, 1)[:n].astype(np.float32) if factor > 1 else out[:n]
    return finish(level(babble) + STREAM_RUSH * level(_roar(rng, n, sr)), sr)


def waterfall(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Dense, steady broadband roar with a low rumble."""
    return finish(_roar(rng, n, sr), sr)


def _roar(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """A waterfall before its finish: broadband roar over a low rumble (one noise, in one inverse FFT), swaying."""
    roar = band_spectrum(rng, n, sr, 0.2, low=600, high=7000, order=2)
    roar += np.float32(0.15) * band_spectrum(rng, n, sr, 1.0, low=150, high=600)  # the rumble
    sway = 0.85 + 0.3 * smooth_random(rng, n, sr, rate_hz=0.2)
    return noise_from(roar, n) * sway


def waves(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Swells every 4-15 s: a rising roar, a bright wash as the wave breaks, a long hiss of retreat."""
    env = np.zeros(n, dtype=np.float32)
    crash = np.zeros(n, dtype=np.float32)
    t = -rng.uniform(0, 10)  # start mid-wave
    while t < n / sr:
        period = rng.uniform(4.0, 15.0)  # sets of short and long swells, never a fixed cycle
        rise, fall = period * rng.uniform(0.25, 0.4), period * rng.uniform(0.6, 0.9)
        height = rng.uniform(0.4, 1.0)
        start = int(t * sr)
        r, f = max(2, int(rise * sr)), max(2, int(fall * sr))
        shape = np.concatenate([np.sin(np.linspace(0, np.pi / 2, r)) ** 2, np.exp(-np.linspace(0, 5, f))]) * height
        burst = np.concatenate([np.zeros(r), np.exp(-np.linspace(0, 9, f))]) * height
        lo, hi = max(0, start), min(n, start + len(shape))
        if hi > lo:
            env[lo:hi] = np.maximum(env[lo:hi], shape[lo - start : hi - start])
            crash[lo:hi] = np.maximum(crash[lo:hi], burst[lo - start : hi - start])
        t += period
    # the body of the sea: mid-band noise with a slow, irregular surge, under the swells
    body = band_noise(rng, n, sr, 1.0, low=150, high=2500, order=1)
    body *= flutter(rng, n, sr, low=0.2, high=3, depth=0.4, floor=0.2)
    low = band_noise(rng, n, sr, 1.5, low=40, high=500)
    wash = band_noise(rng, n, sr, 0.3, low=500, high=10000)
    return finish(body * (0.3 + 0.7 * env) + low * env + wash * (crash * 0.5 + env**2 * 0.15), sr)

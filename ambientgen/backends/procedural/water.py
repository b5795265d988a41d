"""Water: rain (light/heavy; roof, window, leaves), drips, stream, waterfall, ocean waves."""

from __future__ import annotations

import numpy as np

from .dsp import colored_noise, excite, filt, finish, poisson_onsets, smooth_random, tone_burst

# drop density (drops per second) and bed level by intensity
RAIN_INTENSITY = {"light": (120.0, 0.5), "medium": (400.0, 0.8), "heavy": (1200.0, 1.0)}
# surface: (band of the drop "tick", decay of the drop resonance in s, band of the bed)
RAIN_SURFACE = {
    "roof": ((1500.0, 5000.0), 0.030, (900.0, 9000.0)),  # tin/metal rings longer
    "window": ((2500.0, 9000.0), 0.008, (1500.0, 12000.0)),
    "leaves": ((1200.0, 6000.0), 0.012, (900.0, 8000.0)),
    "ground": ((1500.0, 6000.0), 0.006, (1000.0, 8000.0)),
}


def rain(rng: np.random.Generator, n: int, sr: int, *, intensity: str = "medium", surface: str = "ground") -> np.ndarray:
    rate, bed_level = RAIN_INTENSITY[intensity]
    tick_band, decay_s, bed_band = RAIN_SURFACE[surface]
    bed = filt(colored_noise(rng, n, 0.3), sr, low=bed_band[0], high=bed_band[1], order=3) * bed_level
    density = 0.85 + 0.3 * smooth_random(rng, n, sr, rate_hz=0.05)  # rain thickens and thins slowly
    drops = np.zeros(n, dtype=np.float32)
    for _ in range(4):  # four families of drop sizes, each with its own resonance
        freq = rng.uniform(*tick_band)
        kernel = tone_burst(sr, decay_s * 6, freq, freq * rng.uniform(0.85, 1.0), decay_s)
        onsets = poisson_onsets(rng, n, sr, rate / 4)
        amps = rng.lognormal(-1.0, 0.7, len(onsets)) * density[onsets]
        drops += excite(n, onsets, amps, kernel)
    under = filt(colored_noise(rng, n, 1.0), sr, low=80, high=1000) * 0.12  # splashes and distance below 1 kHz
    return finish(bed * density + filt(drops, sr, low=600.0) * 0.5 + under, sr)


def drips(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Slow, resonant drips (gutters, leaves after rain)."""
    out = np.zeros(n, dtype=np.float32)
    for _ in range(3):
        freq = rng.uniform(900, 2500)
        kernel = tone_burst(sr, 0.25, freq * 0.7, freq * 1.3, 0.04)
        onsets = poisson_onsets(rng, n, sr, rng.uniform(0.8, 2.5))
        out += excite(n, onsets, rng.uniform(0.4, 1.0, len(onsets)), kernel)
    bed = filt(colored_noise(rng, n, 1.0), sr, low=300, high=4000) * 0.05
    return finish(out + bed, sr)


def stream(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Burbling water: dense bubble resonances (rising sine chirps, 300-1500 Hz) over a soft wash."""
    body = filt(colored_noise(rng, n, 1.0), sr, low=300, high=3000, order=1)
    flutter = filt(rng.standard_normal(n).astype(np.float32), sr, low=0.5, high=6)
    body *= np.clip(1.0 + 0.35 * flutter / (np.std(flutter) + 1e-9), 0.2, None)
    bubbles = np.zeros(n, dtype=np.float32)
    for _ in range(16):  # bubble sizes: small bubbles ring higher and shorter
        f0 = rng.uniform(400, 2000)
        dur = rng.uniform(0.004, 0.015)
        kernel = tone_burst(sr, dur * 3, f0, f0 * rng.uniform(1.3, 2.2), dur, attack_s=0.001)
        onsets = poisson_onsets(rng, n, sr, rng.uniform(15, 40))
        bubbles += excite(n, onsets, rng.lognormal(-1.0, 0.5, len(onsets)), kernel)
    return finish(body + bubbles * 0.5, sr)


def waterfall(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """Dense, steady broadband roar with a low rumble."""
    roar = filt(colored_noise(rng, n, 0.2), sr, low=600, high=7000, order=2)
    rumble = filt(colored_noise(rng, n, 1.0), sr, low=150, high=600) * 0.15
    sway = 0.85 + 0.3 * smooth_random(rng, n, sr, rate_hz=0.2)
    return finish((roar + rumble) * sway, sr)


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
    body = filt(colored_noise(rng, n, 1.0), sr, low=150, high=2500, order=1)
    surge = filt(rng.standard_normal(n).astype(np.float32), sr, low=0.2, high=3)
    body *= np.clip(1.0 + 0.4 * surge / (np.std(surge) + 1e-9), 0.2, None)
    low = filt(colored_noise(rng, n, 1.5), sr, low=40, high=500)
    wash = filt(colored_noise(rng, n, 0.3), sr, low=500, high=10000)
    return finish(body * (0.3 + 0.7 * env) + low * env + wash * (crash * 0.5 + env**2 * 0.15), sr)

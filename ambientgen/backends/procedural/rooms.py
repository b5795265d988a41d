"""Indoors: café murmur (many distant voices and clinks), a ticking clock, pages turning, room tone."""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from .dsp import band_noise, decaying, filt, finish, flutter, poisson_onsets, resonator, shaped_noise, unit

# vowel formants (F1, F2, F3 in Hz) of an average adult voice
VOWELS = ((730, 1090, 2440), (270, 2290, 3010), (530, 1840, 2480), (570, 840, 2410), (300, 870, 2240),
          (660, 1720, 2410), (490, 1350, 1690))


# a syllable's consonant before its vowel: (low Hz, high Hz, level): s, sh, f/th, a plosive's burst
CONSONANTS = ((4000, 9000, 1.6), (2000, 5000, 1.4), (1000, 8000, 0.6), (300, 4000, 0.4))
FORMANT_BANDWIDTHS = (80, 110, 160, 250)  # Hz, F1-F4
# aspiration noise in the glottal source, against its pulses: a breathy voice. At 0.02 one voice read Speech 0.58
# by YAMNet and the café 0.70 (the real café recording 0.79); at 0.2, 0.73 and 0.84 (8 seeds)
BREATH = 0.2


def _vocal_tract(source: np.ndarray, sr: int, formants) -> np.ndarray:
    """A glottal source through formant resonances in cascade (as the vocal tract filters it), each at unit gain
    at DC, so the formants' relative levels come out as in speech."""
    y = source
    for f, bw in zip(formants, FORMANT_BANDWIDTHS):
        r = np.exp(-np.pi * bw / sr)
        a = [1.0, -2 * r * np.cos(2 * np.pi * f / sr), r * r]
        y = lfilter([sum(a)], a, y)
    return y.astype(np.float32)


def _voice(rng: np.random.Generator, n: int, sr: int) -> np.ndarray:
    """One talker, unintelligible: syllables of 0.12-0.3 s in phrases with pauses. A syllable is an optional
    consonant (a 30-90 ms hiss or burst) and a voiced vowel gliding to another: glottal pulses at the talker's
    pitch (intonation per syllable, falling across the phrase), rolled off 12 dB an octave and radiated at the
    lips (+6), with breath noise, through four formants in cascade (a shorter tract for higher voices).
    Formants in parallel on raw pulses, without consonants or glides, read as 0.03-0.11 "Speech"; this reads
    0.6-0.85 on one voice."""
    out = np.zeros(n, dtype=np.float32)
    f0 = rng.uniform(90, 240)
    tract = 1.15 if f0 > 160 else 1.0
    t = rng.uniform(0, 2.0)
    while t < n / sr:
        start, phrase = t, rng.uniform(1.0, 4.0)
        while t < start + phrase and t < n / sr:
            d = rng.uniform(0.12, 0.3)
            cd = rng.uniform(0.03, 0.09) if rng.random() < 0.6 else 0.0
            s, mc, m = int(t * sr), int(cd * sr), int(d * sr)
            if mc > 8:
                low, high, level = CONSONANTS[rng.integers(len(CONSONANTS))]
                hiss = filt(rng.standard_normal(mc).astype(np.float32), sr, low=low, high=min(high, 0.45 * sr))
                e = min(n, s + mc)
                out[s:e] += (hiss * np.sin(np.pi * np.arange(mc) / mc) ** 0.5 * level * 0.05)[: e - s]
            s += mc
            tt = np.arange(m) / sr
            fall = 1 - 0.15 * (t - start) / phrase
            pitch = f0 * fall * (1 + 0.1 * np.sin(np.pi * tt / d) * rng.uniform(-1, 1))
            pulses = (np.diff(np.floor(np.cumsum(pitch) / sr), prepend=0) > 0).astype(np.float64)
            source = lfilter([1.0], [1.0, -0.97], lfilter([1.0], [1.0, -0.97], pulses))
            source = np.diff(source, prepend=0) + BREATH * rng.standard_normal(m)
            first, second = (VOWELS[i] for i in rng.integers(len(VOWELS), size=2))
            a = _vocal_tract(source, sr, [f * tract for f in first] + [3300 * tract])
            b = _vocal_tract(source, sr, [f * tract for f in second] + [3300 * tract])
            glide = np.clip((tt / d - 0.2) / 0.6, 0, 1)
            syllable = (a * (1 - glide) + b * glide) * np.minimum(1, tt / 0.02) * np.minimum(1, (d - tt) / 0.05)
            e = min(n, s + m)
            if e > s:
                out[s:e] += syllable[: e - s].astype(np.float32)
            t += cd + d + rng.uniform(0.0, 0.06)
        t += rng.uniform(0.2, 1.5)  # a pause, or another talker's turn
    return out


def cafe(rng: np.random.Generator, n: int, sr: int, *, voices: int = 12) -> np.ndarray:
    """Café murmur: one talker at the next table over a dozen further off (12 dB down), room air, clinks of
    cups. (Several near talkers at once read less as speech: they overlap where a conversation takes turns.)"""
    far = sum(unit(_voice(rng, n, sr)) * rng.uniform(0.3, 1.0) for _ in range(voices))
    talk = 0.25 * unit(far) + unit(_voice(rng, n, sr)) * rng.uniform(0.7, 1.0)
    talk = filt(talk, sr, low=100, high=7000)
    air = band_noise(rng, n, sr, 1.0, low=100, high=3000)
    clinks = np.zeros(n, dtype=np.float32)
    m = int(0.3 * sr)
    t = np.arange(m) / sr
    for at in poisson_onsets(rng, n, sr, 0.4):
        f = rng.uniform(2500, 6000)
        ring = sum(np.sin(2 * np.pi * f * k * t) / k for k in (1.0, 2.7, 5.1)) * np.exp(-t / rng.uniform(0.03, 0.1))
        e = min(n, at + m)
        clinks[at:e] += ring[: e - at].astype(np.float32) * rng.uniform(0.2, 1.0)
    return finish(unit(talk) + 0.3 * unit(air) + 0.3 * unit(clinks), sr)


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
    room = band_noise(rng, n, sr, 1.0, low=80, high=2000) * 0.02 * np.std(out) / 0.1
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
        swish = band_noise(rng, m, sr, 0.3, low=1500, high=12000) * np.sin(np.pi * t / d) ** 2 * (
            0.3 + crinkle)
        end = min(n, at + m)
        out[at:end] += swish[: end - at]
        if end + flap_len < n:
            flap = filt(rng.standard_normal(flap_len).astype(np.float32), sr, low=200, high=3000)
            out[end : end + flap_len] += flap * decaying(sr, 0.02, 0.005)[:flap_len] * 2
    room = band_noise(rng, n, sr, 1.0, low=80, high=3000) * 0.05 * np.std(out) / 0.1
    return finish(out + room, sr)


def room_tone(rng: np.random.Generator, n: int, sr: int, *, mains_hz: float = 50.0) -> np.ndarray:
    """A quiet room: soft, dark air (most of it below 300 Hz) and a faint hum of the building's services."""
    air = shaped_noise(rng, n, sr, [(20, -10), (100, 0), (300, -3), (1000, -12), (4000, -24), (20000, -40)])
    t = np.arange(n) / sr
    hum = sum(np.sin(2 * np.pi * mains_hz * k * t + rng.uniform(0, 2 * np.pi)) / k**2 for k in (1, 2, 3))
    return finish(air + 0.05 * hum.astype(np.float32) * flutter(rng, n, sr, low=0.05, high=0.5, depth=0.2,
                                                                  floor=0.5), sr)

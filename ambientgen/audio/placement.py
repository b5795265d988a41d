"""Resampling, stereo placement and summing of layers.

Audio is ``np.float32`` shaped ``(channels, samples)``; sample rates are explicit.
"""

from __future__ import annotations

import math

import numpy as np
import soxr
from scipy.signal import oaconvolve


def resample(audio: np.ndarray, sr_in: int, sr_out: int, *, length: int, loop: bool) -> np.ndarray:
    """Resample ``(channels, samples)`` with soxr (VHQ) to exactly ``length`` samples.

    A looping layer is resampled circularly (padded with its own other end), so
    the resampler's filter sees across the loop point rather than an edge.
    """
    if audio.ndim != 2:
        raise ValueError(f"resample expects (channels, samples), got shape {audio.shape}")
    n = audio.shape[-1]
    if sr_in == sr_out and n >= length:  # nothing to resample: the first ``length`` samples, without a padded copy
        return np.ascontiguousarray(audio[:, :length], dtype=np.float32)
    pad = min(n, max(64, math.ceil(sr_in * 0.05))) if loop else 0
    src = np.concatenate([audio[:, n - pad :], audio, audio[:, :pad]], axis=1) if pad else audio
    if sr_in == sr_out:
        out = src
    else:
        out = soxr.resample(src.T.astype(np.float64), sr_in, sr_out, quality="VHQ").T
    start = round(pad * sr_out / sr_in)
    out = out[:, start : start + length]
    if out.shape[1] < length:  # the last fraction of a sample at the end of a non-looping layer
        out = np.pad(out, ((0, 0), (0, length - out.shape[1])), mode="edge" if out.shape[1] else "constant")
    return np.ascontiguousarray(out, dtype=np.float32)


DC_CUTOFF_HZ = 5.0  # the DC-blocking high-pass: far under anything audible, above DC and slow drift


DC_BLOCK = 1 << 18  # samples filtered at a time (float64 temporaries of one block, not of the whole layer)


def remove_dc(audio: np.ndarray, sample_rate: int, *, loop: bool) -> np.ndarray:
    """``(channels, samples)`` with its DC offset and sub-audio drift removed: a 2nd-order Butterworth high-pass at
    :data:`DC_CUTOFF_HZ`, run once forwards, block by block, with its state carried between blocks.

    A causal filter shifts phase only at the bottom of hearing (21 degrees and 3 ms at 20 Hz, 4 degrees at 100 Hz)
    and streams: it costs one pass, with temporaries of one block, where a forward-backward (zero-phase) filter
    costs two passes over the whole layer and, for a loop, over copies of it. A looping layer starts from the
    state the filter reaches over its own last second, so the loop point stays seamless; other audio starts from
    the steady state of its first sample (no start-up transient).
    """
    from scipy.signal import butter, sosfilt, sosfilt_zi

    n = audio.shape[-1]
    if n < 16:
        return audio - audio.mean(axis=-1, keepdims=True)
    mean = audio.mean(axis=-1, keepdims=True, dtype=np.float64)
    sos = butter(2, DC_CUTOFF_HZ, btype="highpass", fs=sample_rate, output="sos")
    channels = audio.shape[0]
    if loop:
        prime = audio[:, n - min(n, sample_rate) :].astype(np.float64) - mean
        zi = np.zeros((sos.shape[0], channels, 2))
        _, zi = sosfilt(sos, prime, axis=-1, zi=zi)
    else:
        first = audio[:, :1].astype(np.float64) - mean
        zi = sosfilt_zi(sos)[:, None, :] * first[None, :, :]
    out = np.empty(audio.shape, dtype=np.float32)
    for start in range(0, n, DC_BLOCK):
        block = audio[:, start : start + DC_BLOCK].astype(np.float64) - mean
        filtered, zi = sosfilt(sos, block, axis=-1, zi=zi)
        out[:, start : start + DC_BLOCK] = filtered
    return out


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law: -1 = left, 0 = centre (-3 dB each side), 1 = right."""
    theta = (pan + 1.0) * math.pi / 4.0
    return math.cos(theta), math.sin(theta)


def db_to_gain(db: float) -> float:
    """Amplitude gain of ``db`` decibels."""
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    """Decibels of an amplitude ``gain`` (``-inf`` for 0)."""
    return 20 * math.log10(gain) if gain > 0 else -math.inf


def decorrelation_filter(seed: int, *, length: int = 1024) -> np.ndarray:
    """A flat-magnitude, random-phase FIR (an all-pass, ~21 ms at 48 kHz): same spectrum, different waveform."""
    rng = np.random.default_rng(seed)
    phase = rng.uniform(-np.pi, np.pi, length // 2 + 1)
    phase[0] = phase[-1] = 0.0
    h = np.fft.irfft(np.exp(1j * phase), length)
    return (h / np.sqrt(np.sum(h**2))).astype(np.float32)


def decorrelate(mono: np.ndarray, *, seed: int, loop: bool) -> np.ndarray:
    """``mono`` through :func:`decorrelation_filter`; circular when the layer loops (the wrap stays seamless)."""
    h = decorrelation_filter(seed)
    if loop:
        padded = np.concatenate([mono[-len(h) :], mono]) if len(mono) >= len(h) else np.tile(mono, len(h) // len(mono) + 2)
        return oaconvolve(padded, h)[len(padded) - len(mono) : len(padded)].astype(np.float32)
    return oaconvolve(mono, h)[: len(mono)].astype(np.float32)


def place(audio: np.ndarray, *, gain_db: float, pan: float, width: float = 0.0, seed: int = 0,
          loop: bool = False) -> np.ndarray:
    """A layer placed in stereo ``(2, n)``: width, then gain and constant-power pan.

    Parameters
    ----------
    audio : ndarray
        ``(1, n)`` or ``(n,)`` mono, or ``(2, n)`` stereo (left, right).
    gain_db : float
        Layer gain in dB.
    pan : float
        -1 (left) .. 1 (right); for a stereo source, a balance with the same law.
    width : float
        0 .. 1. Mono: the share of a decorrelated copy put in the side channel
        (L = M + wS, R = M - wS, scaled by 1/sqrt(1 + w^2) to keep the power), so
        the mono fold-down L + R is the layer itself, scaled: no comb filtering.
        Stereo: the recorded side signal is scaled by ``2 * width`` (0.5, the
        default, keeps the source's own image; 0 folds it to mono; 1 doubles it).
    seed : int
        Seed of the decorrelation filter (mono sources).
    loop : bool
        Filter circularly, so a looping layer stays seamless at its wrap.

    Returns
    -------
    ndarray
        ``(2, n)`` float32.
    """
    audio = np.asarray(audio, dtype=np.float32)
    left, right = pan_gains(pan)
    g = db_to_gain(gain_db)
    if audio.ndim == 2 and audio.shape[0] == 2:
        mid = 0.5 * (audio[0] + audio[1])
        side = 0.5 * (audio[0] - audio[1]) * np.float32(2.0 * width)
        return np.stack([(mid + side) * (g * left), (mid - side) * (g * right)]).astype(np.float32)
    mono = audio.reshape(-1)
    if width <= 0:
        return np.stack([mono * (g * left), mono * (g * right)]).astype(np.float32)
    side = decorrelate(mono, seed=seed, loop=loop) * width
    norm = 1.0 / math.sqrt(1.0 + width**2)
    return np.stack([(mono + side) * (g * left * norm), (mono - side) * (g * right * norm)]).astype(np.float32)

"""Resampling, stereo placement and summing of layers.

Audio is ``np.float32`` shaped ``(channels, samples)``; sample rates are explicit.
"""

from __future__ import annotations

import math

import numpy as np
import soxr


def resample(audio: np.ndarray, sr_in: int, sr_out: int, *, length: int, loop: bool) -> np.ndarray:
    """Resample ``(channels, samples)`` with soxr (VHQ) to exactly ``length`` samples.

    A looping layer is resampled circularly (padded with its own other end), so
    the resampler's filter sees across the loop point rather than an edge.
    """
    if audio.ndim != 2:
        raise ValueError(f"resample expects (channels, samples), got shape {audio.shape}")
    n = audio.shape[-1]
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


def pan_gains(pan: float) -> tuple[float, float]:
    """Constant-power pan law: -1 = left, 0 = centre (-3 dB each side), 1 = right."""
    theta = (pan + 1.0) * math.pi / 4.0
    return math.cos(theta), math.sin(theta)


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def place(mono: np.ndarray, *, gain_db: float, pan: float) -> np.ndarray:
    """A mono layer ``(1, n)`` or ``(n,)`` placed in stereo ``(2, n)`` with gain and pan."""
    mono = mono.reshape(-1)
    left, right = pan_gains(pan)
    g = db_to_gain(gain_db)
    return np.stack([mono * (g * left), mono * (g * right)]).astype(np.float32)

"""Band energies of short frames: the one spectral feature the seam search, the seam measure, check and the picture
share.

A frame is Hann-windowed, its power spectrum summed into bands whose edges are
FFT bins spaced logarithmically (by bin index, or between two frequencies).
Log-spaced bands follow how hearing resolves noise-like textures and are robust
to the fine structure of noise, which varies from frame to frame.
"""

from __future__ import annotations

import numpy as np


def log_bin_edges(n_bins: int, bands: int, *, first: int = 1) -> np.ndarray:
    """Edges (FFT bin indices) of ``bands`` log-spaced bands from bin ``first`` to the last of ``n_bins`` bins.

    Narrow low bands can coincide after rounding; duplicates are dropped, so there may be fewer bands.
    """
    return np.unique(np.geomspace(first, n_bins - 1, bands + 1).astype(int))


def hz_bin_edges(n_fft: int, sample_rate: int, bands: int, *, low_hz: float = 60.0,
                 high_hz: float = 16000.0) -> np.ndarray:
    """Edges (FFT bin indices) of ``bands`` log-spaced bands between ``low_hz`` and ``high_hz`` (at most 0.45 fs)."""
    freqs = np.geomspace(low_hz, min(high_hz, sample_rate * 0.45), bands + 1)
    return np.unique(np.clip((freqs / sample_rate * n_fft).astype(int), 1, n_fft // 2))


def band_power(frames: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Power of Hann-windowed ``frames`` (samples on the last axis) in the bands between ``edges``: ``(..., bands)``."""
    spec = np.abs(np.fft.rfft(frames * np.hanning(frames.shape[-1]), axis=-1)) ** 2
    return np.add.reduceat(spec, edges, axis=-1)[..., :-1]


def band_db(frames: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """:func:`band_power` in dB (a 1e-12 floor keeps silence finite)."""
    return 10 * np.log10(band_power(frames, edges) + 1e-12)

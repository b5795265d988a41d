"""Band energies of short frames: the one spectral feature the seam search, the seam measure, check and the picture
share.

A frame is Hann-windowed, its power spectrum summed into bands whose edges are
FFT bins spaced logarithmically (by bin index, or between two frequencies).
Log-spaced bands follow how hearing resolves noise-like textures and are robust
to the fine structure of noise, which varies from frame to frame.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy.fft
from numpy.lib.stride_tricks import sliding_window_view


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


@functools.lru_cache(maxsize=16)
def _hann(n: int, dtype: type) -> np.ndarray:
    window = np.hanning(n).astype(dtype)
    window.flags.writeable = False
    return window


def band_power(frames: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Power of Hann-windowed ``frames`` (samples on the last axis) in the bands between ``edges``: ``(..., bands)``.

    One real FFT of every frame at once (scipy's pocketfft, about 10x numpy's on a stack of 2048-sample frames),
    power as re² + im² (no square root to undo). Single-precision frames are transformed in single precision."""
    window = _hann(frames.shape[-1], np.float32 if frames.dtype == np.float32 else np.float64)
    spec = scipy.fft.rfft(frames * window, axis=-1)
    power = np.square(spec.real)
    power += np.square(spec.imag)
    return np.add.reduceat(power, edges, axis=-1)[..., :-1]


def band_db(frames: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """:func:`band_power` in dB (a 1e-12 floor keeps silence finite)."""
    return 10 * np.log10(band_power(frames, edges) + 1e-12)


TRACK_HOP_S = 0.025  # the band track: one frame every 25 ms
TRACK_BANDS = 32
OF_BLOCK = 1 << 20  # samples fed at a time by BandTrack.of
SAMPLES_AT_ONCE = 1 << 17  # frames windowed and transformed together: 64 of 2048 samples, 32 of 4096 (512 kB,
# which stay in a core's cache: 1.6x faster than 4 MB at a time for 4096-sample frames)


class BandTrack:
    """Log-band energies (dB, :data:`TRACK_BANDS` bands from 60 Hz) of overlapping frames, fed block by block.

    Frame ``k`` covers samples ``[k * hop, k * hop + n_fft)`` of the mono signal
    (``n_fft`` is the power of two at or under ``frame_hops`` hops: 2 by
    default; repetition finding uses longer frames, which two copies of a
    stretch share even when they sit a fraction of a hop apart). Feeding a signal
    in any blocks gives the same frames as feeding it whole, so a file is
    analysed in one streaming pass; the seam measure, repetition and splice
    detection of :mod:`ambientgen.check.report` and :mod:`ambientgen.audio.seams` all read this track.

    It is computed in single precision (the FFT too: 2.5x faster than double; band levels within 1e-4 dB of
    double precision's, far under any difference the track is read for).
    """

    def __init__(self, sample_rate: int, *, frame_hops: int = 2):
        self.sample_rate = sample_rate
        self.hop = max(1, round(TRACK_HOP_S * sample_rate))
        self.n_fft = 1 << max(6, int(np.log2(frame_hops * self.hop)))
        self.edges = hz_bin_edges(self.n_fft, sample_rate, TRACK_BANDS)
        self._frames: list[np.ndarray] = []
        self._tail = np.zeros(0, dtype=np.float32)

    def add(self, mono: np.ndarray) -> None:
        x = np.concatenate([self._tail, np.asarray(mono, dtype=np.float32)])
        frames = (len(x) - self.n_fft) // self.hop + 1 if len(x) >= self.n_fft else 0
        if frames > 0:
            view = sliding_window_view(x, self.n_fft)[:: self.hop][:frames]  # the frames, without copying them
            at_once = max(1, SAMPLES_AT_ONCE // self.n_fft)
            for f in range(0, frames, at_once):  # temporaries of 1 MB or so, however long the signal
                self._frames.append(band_db(view[f : f + at_once], self.edges))
            self._tail = x[frames * self.hop :]
        else:
            self._tail = x

    def drain(self) -> np.ndarray:
        """The frames added since the last drain, forgotten here (for a consumer that streams them on)."""
        out = self.features()
        self._frames = []
        return out

    def features(self) -> np.ndarray:
        """``(frames, bands)`` so far."""
        if not self._frames:
            return np.zeros((0, len(self.edges) - 1), dtype=np.float32)
        if len(self._frames) > 1:
            self._frames = [np.concatenate(self._frames)]
        return self._frames[0]

    def boundary_index(self, position: int) -> int:
        """The index ``i`` of the boundary between frames ``i - 1`` and ``i`` nearest to sample ``position``."""
        return int(round((position - self.n_fft / 2 + self.hop / 2) / self.hop))

    @classmethod
    def of(cls, mono: np.ndarray, sample_rate: int, *, frame_hops: int = 2) -> "BandTrack":
        track = cls(sample_rate, frame_hops=frame_hops)
        for start in range(0, len(mono), OF_BLOCK):  # temporaries of a block, not of the whole signal
            track.add(mono[start : start + OF_BLOCK])
        return track

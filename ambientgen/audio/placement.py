"""Resampling, stereo placement and summing of layers.

Audio is ``np.float32`` shaped ``(channels, samples)``; sample rates are explicit.
"""

from __future__ import annotations

import math
import threading

import numpy as np
import scipy.fft
import soxr


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

    from .filters import filter_in_place

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
    zi = np.ascontiguousarray(np.moveaxis(zi, 1, 0))  # (channels, sections, 2), as filter_in_place carries it
    out = np.empty(audio.shape, dtype=np.float32)
    for start in range(0, n, DC_BLOCK):
        block = np.subtract(audio[:, start : start + DC_BLOCK], mean, dtype=np.float64)  # widened as it is centred
        filter_in_place(sos, block, zi)
        out[:, start : start + DC_BLOCK] = block
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
    """``mono`` through :func:`decorrelation_filter`; circular when the layer loops (the wrap stays seamless).

    Computed in :data:`SIDE_BLOCK`-sample blocks on a fixed grid (each from the source and the filter's reach
    before it), so any stretch of it, computed alone, has the same bits as the whole (:class:`Placed` relies on it).
    """
    return Placed(mono, gain_db=0.0, pan=0.0, width=1.0, seed=seed, loop=loop).side(0, np.asarray(mono).size)


SIDE_BLOCK = 1 << 15  # samples of the decorrelated side computed at a time, on a fixed grid


class Placed:
    """A mono layer placed in stereo on demand: ``placed[:, a:b]`` is ``(2, b - a)`` float32, the same bits as
    :func:`place` gives for those samples, computed when asked.

    It holds the mono source (one value per sample, not two), so an hour's pool of bed tiles takes half the
    memory; the decorrelated side is computed per :data:`SIDE_BLOCK` on a fixed grid (the last few kept), so a
    stretch asked for in any blocks has the same bits as the whole.
    """

    ndim = 2
    dtype = np.dtype(np.float32)

    def __init__(self, mono: np.ndarray, *, gain_db: float, pan: float, width: float = 0.0, seed: int = 0,
                 loop: bool = False) -> None:
        self.mono = np.ascontiguousarray(np.asarray(mono, dtype=np.float32).reshape(-1))
        self.shape = (2, self.mono.size)
        left, right = pan_gains(pan)
        g = db_to_gain(gain_db)
        self.width, self.loop = width, loop
        if width > 0:
            norm = 1.0 / math.sqrt(1.0 + width**2)
            self.gains = (g * left * norm, g * right * norm)
            self.h: np.ndarray | None = decorrelation_filter(seed)
            # one block with the filter's reach in one transform (single precision, as the blocks are)
            self._size = scipy.fft.next_fast_len(SIDE_BLOCK + len(self.h) - 1, real=True)
            self._response = scipy.fft.rfft(self.h, self._size)
        else:
            self.gains, self.h = (g * left, g * right), None
        self._blocks: dict[int, np.ndarray] = {}
        self._hold = False
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return 2

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:, :]
        return out if dtype is None else out.astype(dtype)

    def __getitem__(self, key) -> np.ndarray:
        rows, cols = key if isinstance(key, tuple) else (key, slice(None))
        if rows != slice(None) or not isinstance(cols, slice):
            raise TypeError("a Placed layer is read as [:, start:stop]")
        a, b, step = cols.indices(self.shape[1])
        if step != 1:
            raise TypeError("a Placed layer is read as [:, start:stop]")
        b = max(a, b)
        m = self.mono[a:b]
        out = np.empty((2, b - a), dtype=np.float32)
        gl, gr = self.gains
        if self.h is None:
            np.multiply(m, gl, out=out[0])
            np.multiply(m, gr, out=out[1])
            return out
        side = self.side(a, b)
        np.add(m, side, out=out[0])
        out[0] *= gl
        np.subtract(m, side, out=out[1])
        out[1] *= gr
        return out

    def side(self, a: int, b: int) -> np.ndarray:
        """Samples ``[a, b)`` of the decorrelated copy, times ``width``."""
        if b <= a:
            return np.zeros(0, dtype=np.float32)
        first, last = a // SIDE_BLOCK, (b - 1) // SIDE_BLOCK
        parts = [self._side_block(k)[max(a, k * SIDE_BLOCK) - k * SIDE_BLOCK : min(b, (k + 1) * SIDE_BLOCK)
                                     - k * SIDE_BLOCK] for k in range(first, last + 1)]
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def _side_block(self, k: int) -> np.ndarray:
        with self._lock:
            found = self._blocks.get(k)
        if found is not None:
            return found
        n, reach = self.mono.size, len(self.h) - 1
        start, stop = k * SIDE_BLOCK, min(n, (k + 1) * SIDE_BLOCK)
        if start >= reach:
            context = self.mono[start - reach : stop]
        elif self.loop:  # the reach before the start wraps to the end
            context = self.mono[np.arange(start - reach, stop) % n]
        else:
            before = self.mono[max(0, start - reach) : start]
            context = np.concatenate([np.zeros(reach - len(before), dtype=np.float32), before, self.mono[start:stop]])
        spectrum = scipy.fft.rfft(context, self._size) * self._response
        block = scipy.fft.irfft(spectrum, self._size)[reach : reach + stop - start]
        block = block.astype(np.float32, copy=False) * self.width
        with self._lock:
            # a stream reads forwards: only the block a read ended in is asked again (unless the side is held)
            if len(self._blocks) >= 2 and not self._hold:
                self._blocks.pop(next(iter(self._blocks)))
            self._blocks[k] = block
        return block

    @property
    def side_bytes(self) -> int:
        """What holding the whole decorrelated side costs (0 without one)."""
        return 0 if self.h is None else 4 * self.mono.size

    def hold_side(self, hold: bool) -> None:
        """``True``: keep every block of the decorrelated side once computed, so that a second pass over the layer
        (mastering's write pass after its analysis pass) reads it instead of computing it again
        (:attr:`side_bytes` of memory); ``False``: back to keeping the last two."""
        with self._lock:
            self._hold = hold
            while not hold and len(self._blocks) > 2:
                self._blocks.pop(next(iter(self._blocks)))


def placed(audio: np.ndarray, *, gain_db: float, pan: float, width: float = 0.0, seed: int = 0,
           loop: bool = False) -> np.ndarray | Placed:
    """:func:`place`, computed on demand for a mono source (a :class:`Placed`: half the memory), at once for a
    stereo one (its placement is a few multiplications)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim == 2 and audio.shape[0] == 2:
        return place(audio, gain_db=gain_db, pan=pan, width=width, seed=seed, loop=loop)
    return Placed(audio, gain_db=gain_db, pan=pan, width=width, seed=seed, loop=loop)


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
    return Placed(audio, gain_db=gain_db, pan=pan, width=width, seed=seed, loop=loop)[:, :]

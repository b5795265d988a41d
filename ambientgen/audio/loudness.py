"""Streaming loudness: ITU-R BS.1770-4 integrated loudness and EBU Tech 3342 loudness range.

Audio arrives in blocks of any size; memory stays bounded whatever the length:
the K-weighting filters carry their state between blocks (scipy's ``sosfilt`` loop,
channels in complex pairs), and only the mean square of each 100 ms step is kept
(an hour is 36,000 numbers per channel).

BS.1770-4: K-weighting (a high shelf, then a high-pass; the standard's
coefficients are given for 48 kHz, so they are derived from the analogue
prototype for any rate, as libebur128 does), gating blocks of 400 ms with 75 %
overlap, loudness ``L = -0.691 + 10 log10(sum_c G_c z_c)`` (eq. 2), an absolute
gate at -70 LUFS and a relative gate 10 LU under the ungated mean (eq. 6-7).
EBU Tech 3342: short-term loudness over 3 s windows; LRA is the spread between
the 10th and 95th percentiles of windows above -70 LUFS and 20 LU under their
mean.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .filters import filter_in_place

ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
DENORMAL_GUARD = 1e-15
STEP_S = 0.1  # gating blocks are 4 steps (400 ms) long and start every step (75 % overlap)
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)  # L, R, C, Ls, Rs (BS.1770-4 table 3); LFE excluded by callers


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """The two K-weighting biquads (pre-filter shelf, RLB high-pass) for ``sample_rate``, as SOS rows."""
    # analogue-prototype parameters that reproduce the standard's 48 kHz coefficients (as libebur128 derives them)
    g, q, fc = 3.999843853973347, 0.7071752369554196, 1681.974450955533
    k = math.tan(math.pi * fc / sample_rate)
    vh = 10 ** (g / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    q2, fc2 = 0.5003270373253953, 38.13547087613982
    k2 = math.tan(math.pi * fc2 / sample_rate)
    a02 = 1 + k2 / q2 + k2 * k2
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k2 * k2 - 1) / a02, (1 - k2 / q2 + k2 * k2) / a02]
    return np.array([shelf, highpass], dtype=np.float64)


def pyloudnorm_sos(sample_rate: int) -> np.ndarray:
    """pyloudnorm's K-weighting (RBJ-cookbook shelf at 1500 Hz, +4 dB; high-pass at 38 Hz): close to the
    standard's filters (0.0-0.1 LU on real recordings) and bit-compatible with pyloudnorm."""
    from pyloudnorm.iirfilter import IIRfilter

    shelf = IIRfilter(4.0, 1 / np.sqrt(2), 1500.0, sample_rate, "high_shelf")
    highpass = IIRfilter(0.0, 0.5, 38.0, sample_rate, "high_pass")
    return np.array([np.concatenate([f.b, f.a]) for f in (shelf, highpass)], dtype=np.float64)


FILTERS = {"bs1770": k_weighting_sos, "pyloudnorm": pyloudnorm_sos}


def _loudness(mean_square: np.ndarray | float) -> np.ndarray | float:
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(mean_square)


@dataclass
class LoudnessMeter:
    """Feed ``(channels, samples)`` blocks with :meth:`add`; read :attr:`integrated_lufs` at any time."""

    sample_rate: int
    channels: int
    filters: str = "bs1770"  # "bs1770": the standard's coefficients; "pyloudnorm": pyloudnorm's approximation
    _sos: np.ndarray = field(init=False, repr=False)
    _zi: np.ndarray = field(init=False, repr=False)
    _pending: np.ndarray = field(init=False, repr=False)
    _steps: list[np.ndarray] = field(init=False, repr=False)
    samples: int = field(init=False, default=0)

    def __post_init__(self) -> None:
        if self.filters not in FILTERS:
            raise ValueError(f"filters must be one of {', '.join(FILTERS)}, got {self.filters!r}")
        self._sos = FILTERS[self.filters](self.sample_rate)
        # channels are filtered in pairs, each pair as one complex signal (left + i right): real coefficients act
        # on the two parts apart, with the same arithmetic, so each channel's output has the same bits as alone
        # (one recursion for two channels: a fifth faster); an odd last channel is filtered alone
        self._pairs = self.channels // 2
        self._csos = self._sos.astype(np.complex128)
        self._zi = np.zeros((self._pairs, self._sos.shape[0], 2), dtype=np.complex128)
        self._zi_odd = np.zeros((self.channels % 2, self._sos.shape[0], 2))
        self._pending = np.zeros((self.channels, 0))  # squares of the step begun by the last block
        self._steps = []
        self._guard = np.zeros(0)
        self._step = round(STEP_S * self.sample_rate)
        self._weights = np.array(CHANNEL_WEIGHTS[: self.channels] if self.channels <= 5 else [1.0] * self.channels)

    def add(self, block: np.ndarray) -> None:
        """Add the next ``(channels, samples)`` block."""
        block = np.asarray(block)
        block = block.reshape(1, -1) if block.ndim < 2 else block
        n = block.shape[1]
        # a +-1e-15 alternating signal (-300 dB) keeps the filter states out of subnormal numbers, which make
        # IIR filtering of silence (an event layer between events) a hundred times slower; added as the block is
        # widened to double precision (one pass, not a copy and then a sum)
        if self._guard.shape[0] < n + 1:
            self._guard = np.tile([DENORMAL_GUARD, -DENORMAL_GUARD], n // 2 + 1)
        phase = self.samples % 2
        guard = self._guard[phase : phase + n]
        squares = np.empty((self.channels, n))
        if self._pairs:
            pairs = np.empty((self._pairs, n), dtype=np.complex128)
            for p in range(self._pairs):
                np.add(block[2 * p], guard, out=pairs[p].real)
                np.add(block[2 * p + 1], guard, out=pairs[p].imag)
            filter_in_place(self._csos, pairs, self._zi)
            for p in range(self._pairs):
                np.square(pairs[p].real, out=squares[2 * p])
                np.square(pairs[p].imag, out=squares[2 * p + 1])
            del pairs
        if self.channels % 2:
            odd = np.add(block[-1:], guard, dtype=np.float64)
            filter_in_place(self._sos, odd, self._zi_odd)
            np.square(odd, out=squares[-1:])
        self.samples += n
        step = self._step
        pending = self._pending.shape[1]
        if pending:  # complete the step begun by the previous block
            need = step - pending
            if n < need:
                self._pending = np.concatenate([self._pending, squares], axis=1)
                return
            first = np.concatenate([self._pending, squares[:, :need]], axis=1)
            self._steps.append(first.reshape(self.channels, 1, step).mean(axis=2).T)
            squares = squares[:, need:]
        whole = squares.shape[1] // step
        if whole:
            self._steps.append(squares[:, : whole * step].reshape(self.channels, whole, step).mean(axis=2).T)
        self._pending = squares[:, whole * step :].copy()

    def _step_array(self) -> np.ndarray:
        return np.concatenate(self._steps) if self._steps else np.zeros((0, self.channels))

    def _windows(self, steps_per_window: int) -> np.ndarray:
        """Channel-weighted mean square of each window of ``steps_per_window`` steps, hopping one step."""
        steps = self._step_array()
        if len(steps) < steps_per_window:
            return np.zeros(0)
        cumulative = np.concatenate([np.zeros((1, self.channels)), np.cumsum(steps, axis=0)])
        per_channel = (cumulative[steps_per_window:] - cumulative[:-steps_per_window]) / steps_per_window
        return per_channel @ self._weights

    @property
    def integrated_lufs(self) -> float:
        """BS.1770-4 gated integrated loudness (``-inf`` if everything is under the absolute gate)."""
        z = self._windows(4)
        z = z[_loudness(z) > ABSOLUTE_GATE_LUFS] if len(z) else z
        if not len(z):
            return -math.inf
        relative = _loudness(z.mean()) + RELATIVE_GATE_LU
        gated = z[_loudness(z) > relative]
        return float(_loudness(gated.mean())) if len(gated) else -math.inf

    def short_term_lufs(self) -> np.ndarray:
        """Short-term loudness (3 s windows) every 100 ms."""
        return _loudness(self._windows(30))

    @property
    def loudness_range_lu(self) -> float:
        """EBU Tech 3342 loudness range (LU)."""
        st = self.short_term_lufs()
        st = st[st > ABSOLUTE_GATE_LUFS]
        if not len(st):
            return 0.0
        mean_square = 10 ** ((st + 0.691) / 10)
        st = st[st > _loudness(mean_square.mean()) + LRA_RELATIVE_GATE_LU]
        return float(np.percentile(st, 95) - np.percentile(st, 10)) if len(st) else 0.0


def measure(audio: np.ndarray, sample_rate: int, *, block: int = 1 << 16, filters: str = "bs1770") -> LoudnessMeter:
    """A meter fed with ``(channels, samples)`` audio in blocks of ``block`` samples."""
    audio = audio if audio.ndim == 2 else audio[None, :]
    meter = LoudnessMeter(sample_rate, audio.shape[0], filters)
    for start in range(0, audio.shape[1], block):
        meter.add(audio[:, start : start + block])
    return meter

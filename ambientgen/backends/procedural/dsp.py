"""Small signal-processing building blocks shared by the procedural generators.

Everything is vectorized numpy/scipy on mono ``np.float32`` arrays; randomness
always comes from the ``np.random.Generator`` passed in (never global state).
"""

from __future__ import annotations

import functools
import threading

import numpy as np
import scipy.fft
from scipy.ndimage import gaussian_filter, gaussian_filter1d
from scipy.signal import butter, fftconvolve, istft, lfilter, sosfilt


def colored_noise(rng: np.random.Generator, n: int, exponent: float) -> np.ndarray:
    """Noise with power spectrum ~ 1/f**exponent (0 white, 1 pink, 2 brown), unit RMS."""
    return band_noise(rng, n, 1, exponent)


def band_noise(rng: np.random.Generator, n: int, sr: float, exponent: float, *, low: float | None = None,
               high: float | None = None, order: int = 2) -> np.ndarray:
    """``filt(colored_noise(rng, n, exponent), sr, low=low, high=high, order=order)``, the same draws made into
    the same sound three times faster: noise coloured ~ 1/f**exponent and scaled to unit RMS, through the
    Butterworth band of :func:`filt` (none without ``low`` and ``high``).

    One inverse FFT in single precision: the Gaussian spectrum times the colour times the filter's frequency
    response. That is the filter applied circularly, so the result differs from filtering in time only in the
    filter's start-up (the first milliseconds); the unit RMS is the whole coloured noise's, by Parseval."""
    spectrum, scale = _shaped(rng, n, sr, exponent, low, high, order, "colour")
    return scipy.fft.irfft(spectrum, n) * scale


def band_spectrum(rng: np.random.Generator, n: int, sr: float, exponent: float, *, low: float | None = None,
                  high: float | None = None, order: int = 2, level: str = "colour") -> np.ndarray:
    """The spectrum of :func:`band_noise`'s noise, drawn as it draws, its level folded in: ``irfft(spectrum, n)`` is
    ``band_noise(...)`` (``level="colour"``: the whole coloured noise at unit RMS, before the band) or the band
    itself at unit RMS (``level="band"``), but for rounding.

    Spectra add: the inverse FFT of their weighted sum is the same sum of noises, for one transform instead of one
    per noise (:func:`noise_from`)."""
    spectrum, scale = _shaped(rng, n, sr, exponent, low, high, order, level)
    spectrum *= scale
    return spectrum


def _shaped(rng: np.random.Generator, n: int, sr: float, exponent: float, low: float | None, high: float | None,
            order: int, level: str) -> tuple[np.ndarray, np.float32]:
    """(Gaussian spectrum times the colour and the band, the scale that brings its noise to unit RMS): of the whole
    coloured noise (``level="colour"``) or of the band itself (``"band"``), worked out from the spectrum drawn."""
    spectrum = _gaussian_spectrum(rng, n)
    colour, response = _noise_shape(n, float(sr), float(exponent), low or None, high or None, order)
    if level == "colour":
        variance = _variance(spectrum, n, colour)
    elif level == "band":
        variance = _variance(spectrum, n, colour if response is None else _gain(n, float(sr), float(exponent),
                                                                                  low or None, high or None, order))
    else:
        raise ValueError(f"level must be 'colour' or 'band', got {level!r}")
    spectrum *= colour if response is None else response
    return spectrum, np.float32(1 / np.sqrt(variance))


def noise_from(spectrum: np.ndarray, n: int) -> np.ndarray:
    """The ``n``-sample noise of a spectrum (or a weighted sum of them) made by :func:`band_spectrum`."""
    return scipy.fft.irfft(spectrum, n)


@functools.lru_cache(maxsize=12)
def _gain(n: int, sr: float, exponent: float, low: float | None, high: float | None, order: int) -> np.ndarray:
    """The magnitude of :func:`_noise_shape`'s band (its colour times the filter's response), per bin."""
    return np.abs(_noise_shape(n, sr, exponent, low, high, order)[1])


def _gaussian_spectrum(rng: np.random.Generator, n: int) -> np.ndarray:
    """A spectrum of ``n // 2 + 1`` bins of complex Gaussian noise, single precision: the real parts drawn first,
    then the imaginary parts (the order of draws the generators' sounds were made and judged with).

    The double-precision draws go through a buffer each thread keeps (the same draws: a quarter less time than
    drawing into new arrays, which the system hands over zeroed page by page)."""
    m = n // 2 + 1
    draws = getattr(_scratch, "draws", None)
    if draws is None or len(draws) < m:
        draws = _scratch.draws = np.empty(m)
    spectrum = np.empty(m, dtype=np.complex64)
    spectrum.real = rng.standard_normal(out=draws[:m])
    spectrum.imag = rng.standard_normal(out=draws[:m])
    return spectrum


_scratch = threading.local()  # per generating thread: the buffer of _gaussian_spectrum's draws


# the shapes of the bands last used, per chunk length (3.5 MB each for a 12 s chunk: at most 42 MB kept; a
# generator uses a few bands, a render one chunk length)
@functools.lru_cache(maxsize=12)
def _noise_shape(n: int, sr: float, exponent: float, low: float | None, high: float | None,
                 order: int) -> tuple[np.ndarray, np.ndarray | None]:
    """(the colour 1/f**(exponent/2) per rFFT bin, the DC bin taking the first's; the colour times :func:`filt`'s
    frequency response, or None without a band), single precision, made once per chunk length and band."""
    f = np.fft.rfftfreq(n)
    f[0] = f[1] if n > 1 else 1.0
    colour = f ** (-exponent / 2)
    if not (low or high):
        return colour.astype(np.float32), None
    response = section_response(_butter(order, low, high, sr), np.fft.rfftfreq(n) * 2 * np.pi)
    return colour.astype(np.float32), (colour * response).astype(np.complex64)


def section_response(sos: np.ndarray, w: np.ndarray) -> np.ndarray:
    """The frequency response of second-order sections at ``w`` (radians per sample), as scipy's ``sosfreqz``
    gives it: each section's numerator over its denominator at z = e^{jw}."""
    z1 = np.exp(-1j * w)  # z^-1
    z2 = z1 * z1
    out = np.ones(len(w), dtype=np.complex128)
    for b0, b1, b2, _, a1, a2 in sos:
        out *= (b0 + b1 * z1 + b2 * z2) / (1 + a1 * z1 + a2 * z2)
    return out


def _variance(spectrum: np.ndarray, n: int, weight: np.ndarray | None = None) -> float:
    """The variance of ``irfft(spectrum * weight, n)`` (``weight`` real, per bin), from the spectrum (Parseval):
    the DC bin and an even length's Nyquist bin count once and by their real parts, the others twice."""
    power = np.abs(spectrum) ** 2 if weight is None else (np.abs(spectrum) * weight) ** 2
    dc = float(spectrum.real[0] * (1 if weight is None else weight[0]))
    total = dc**2 + 2 * float(power[1:].sum(dtype=np.float64))
    if n % 2 == 0:  # the Nyquist bin: its real part, once
        nyq = float(spectrum.real[-1] * (1 if weight is None else weight[-1]))
        total -= 2 * float(power[-1]) - nyq**2
    return max(total / n**2 - (dc / n) ** 2, 1e-24)


def filt(x: np.ndarray, sr: int, *, low: float | None = None, high: float | None = None, order: int = 2) -> np.ndarray:
    """Butterworth high-pass (``low``), low-pass (``high``) or band-pass (both)."""
    if not (low or high):
        return x
    return sosfilt(_butter(order, low or None, high or None, sr).copy(), x).astype(np.float32)


@functools.lru_cache(maxsize=512)
def _butter(order: int, low: float | None, high: float | None, sr: float) -> np.ndarray:
    """The second-order sections of :func:`filt`'s filter, designed once per distinct filter (a design costs about
    1 ms, as much as filtering 5 s of audio, and most generators filter with the same few every chunk)."""
    nyq = sr / 2
    if low and high:
        sos = butter(order, [low / nyq, min(high, nyq * 0.99) / nyq], btype="band", output="sos")
    elif low:
        sos = butter(order, low / nyq, btype="high", output="sos")
    else:
        sos = butter(order, min(high, nyq * 0.99) / nyq, btype="low", output="sos")
    sos.flags.writeable = False  # shared: each caller filters with a copy (sosfilt wants a writable one)
    return sos


def smooth_random(rng: np.random.Generator, n: int, sr: int, *, rate_hz: float) -> np.ndarray:
    """A slowly wandering curve in [0, 1] whose changes take about ``1 / rate_hz`` seconds."""
    points = max(4, int(n / sr * rate_hz * 4) + 4)
    raw = gaussian_filter1d(rng.standard_normal(points), sigma=2.0, mode="wrap")
    raw = (raw - raw.min()) / (np.ptp(raw) + 1e-12)
    # straight lines between the points: worked out every 64 samples (at least 16 steps a line), then sample by
    # sample; the last line runs on past the end for the last step's sake
    step = max(1, min(64, n // (16 * points)))
    at = np.arange(n // step + 2) * (step * (points - 1) / max(n - 1, 1))
    j = np.minimum(at.astype(int), points - 2)
    coarse = raw[j] + (at - j) * (raw[j + 1] - raw[j])
    return upsample_linear(coarse.astype(np.float32), step, n)


def upsample_linear(x: np.ndarray, step: int, n: int) -> np.ndarray:
    """``x`` (one value every ``step`` samples) drawn sample by sample with straight lines between its values:
    the first ``n`` samples."""
    if step == 1:
        return x[:n]
    return (x[:-1, None] + np.diff(x)[:, None] * (np.arange(step, dtype=x.dtype) / step)).ravel()[:n]


def poisson_onsets(rng: np.random.Generator, n: int, sr: int, rate_hz: float) -> np.ndarray:
    """Sample indices of events arriving at ``rate_hz`` on average (a Poisson process)."""
    count = rng.poisson(rate_hz * n / sr)
    return np.sort(rng.integers(0, n, size=count))


def impulses(n: int, onsets: np.ndarray, amplitudes: np.ndarray) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    np.add.at(out, onsets, amplitudes.astype(np.float32))
    return out


def add_at(out: np.ndarray, clip: np.ndarray, at: int, gain: float) -> None:
    """Add ``clip`` times ``gain`` into ``out`` from sample ``at`` (what falls past the end is dropped)."""
    end = min(len(out), at + len(clip))
    if 0 <= at < end:
        out[at:end] += clip[: end - at] * gain


def decaying(sr: int, seconds: float, decay_s: float, attack_s: float = 0.0005) -> np.ndarray:
    """An envelope with a short smooth attack (no click) and an exponential decay."""
    t = np.arange(max(2, round(seconds * sr))) / sr
    attack = np.clip(t / max(attack_s, 1e-6), 0, 1)
    return (np.sin(attack * np.pi / 2) ** 2 * np.exp(-t / decay_s)).astype(np.float32)


def excite(n: int, onsets: np.ndarray, amplitudes: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Events at ``onsets``, each a copy of ``kernel`` scaled by its amplitude."""
    if len(onsets) == 0:
        return np.zeros(n, dtype=np.float32)
    return fftconvolve(impulses(n, onsets, amplitudes), kernel)[:n].astype(np.float32)


def tone_burst(sr: int, seconds: float, f0: float, f1: float, decay_s: float, attack_s: float = 0.002) -> np.ndarray:
    """A sine gliding from ``f0`` to ``f1`` Hz (exponentially) under a decaying envelope."""
    t = np.arange(max(2, round(seconds * sr))) / sr
    freq = f0 * (f1 / f0) ** (t / t[-1])
    phase = 2 * np.pi * np.cumsum(freq) / sr
    return (np.sin(phase) * decaying(sr, seconds, decay_s, attack_s)[: len(t)]).astype(np.float32)


def finish(x: np.ndarray, sr: int, *, rms: float = 0.1, high: float | None = None) -> np.ndarray:
    """Remove DC and sub-audio rumble (20 Hz high-pass) and set the level; with ``high``, also what air absorbs
    over a distance (a first-order low-pass there), in the same pass."""
    if high is None:
        return level(filt(x, sr, low=20.0), rms=rms)
    return level(sosfilt(_distance_filter(high, sr).copy(), x).astype(np.float32), rms=rms)


@functools.lru_cache(maxsize=8)
def _distance_filter(high: float, sr: float) -> np.ndarray:
    """:func:`finish`'s sections with ``high``: the first-order low-pass, then the 20 Hz high-pass."""
    sos = np.vstack([_butter(1, None, high, sr), _butter(2, 20.0, None, sr)])
    sos.flags.writeable = False
    return sos


def level(x: np.ndarray, *, rms: float = 0.1) -> np.ndarray:
    """``x`` at ``rms`` (a part's level before the sum of parts is finished; silence stays silence)."""
    got = float(np.sqrt(np.dot(x, x) / max(len(x), 1)))
    return (x * (rms / got) if got > 0 else x).astype(np.float32)


def shaped_noise(rng: np.random.Generator, n: int, sr: float, points: list[tuple[float, float]]) -> np.ndarray:
    """Unit-RMS noise whose spectrum follows ``points`` ((Hz, dB) pairs, interpolated on a log-frequency axis),
    made as :func:`band_noise` makes its noise."""
    spectrum = _gaussian_spectrum(rng, n)
    spectrum *= _spectrum_shape(n, float(sr), tuple(points))
    return scipy.fft.irfft(spectrum, n) * np.float32(1 / np.sqrt(_variance(spectrum, n)))


@functools.lru_cache(maxsize=4)
def _spectrum_shape(n: int, sr: float, points: tuple[tuple[float, float], ...]) -> np.ndarray:
    f = np.fft.rfftfreq(n, 1 / sr)
    f[0] = f[1] if n > 1 else 1.0
    hz, db = zip(*points)
    return (10 ** (np.interp(np.log(f), np.log(hz), db) / 20)).astype(np.float32)


def rumbling_noise(rng: np.random.Generator, envelope: np.ndarray, sr: int, points: list[tuple[float, float]], *,
                   depth: float = 0.5, shared: float = 1.0, smear_s: float = 0.024,
                   smear_octaves: float = 0.25) -> np.ndarray:
    """Noise with the spectrum ``points`` ((Hz, dB), log-frequency) whose level follows ``envelope`` (one gain per
    sample) and churns: every quarter-octave band's level wanders on its own (a log-normal gain, ``depth`` nepers
    of power, correlated over ``smear_s`` and ``smear_octaves``), plus ``shared`` times as much churn that all
    bands share.

    Built in the short-time Fourier domain (32 ms frames, 16 ms hop) so the churn is a field over time and
    frequency: the texture of a rolling rumble (shared, 25 ms) or of rain's countless drops (each band on its
    own, 5 ms), which an envelope on plain noise (one gain for all bands) lacks."""
    n = len(envelope)
    nper = 2 ** int(np.round(np.log2(0.032 * sr)))
    hop = nper // 2
    frames, bins = n // hop + 2, nper // 2 + 1
    f = np.fft.rfftfreq(nper, 1 / sr)
    f[0] = f[1]
    band = np.clip(np.floor(np.log2(f / 20.0) * 4), 0, None).astype(int)  # quarter-octave bands from 20 Hz
    along = smear_s * sr / hop
    common = gaussian_filter1d(rng.standard_normal(frames), along) if shared else np.zeros(frames)
    own = gaussian_filter(rng.standard_normal((band.max() + 1, frames)), (smear_octaves * 4, along))
    churn = own[band] / own.std() + shared * common[None, :] / (common.std() + 1e-12)
    hz, db = zip(*points)
    level = np.interp(np.arange(frames) * hop, np.arange(n), envelope)
    gain = 10 ** (np.interp(np.log(f), np.log(hz), db) / 20)[:, None] * np.exp(depth * churn / 2) * level[None, :]
    spectrum = (rng.standard_normal((bins, frames)) + 1j * rng.standard_normal((bins, frames))) * gain
    _, x = istft(spectrum, sr, nperseg=nper, noverlap=nper - hop)
    return np.pad(x[:n], (0, max(0, n - len(x)))).astype(np.float32)


def reverberate(rng: np.random.Generator, x: np.ndarray, sr: int, *, tail_s: tuple[float, float],
                wet: tuple[float, float]) -> np.ndarray:
    """``x`` in a diffuse space: noise decaying over a tail drawn from ``tail_s`` (its level falls 35 dB over it)
    as the impulse response, mixed in at a share of ``x``'s level drawn from ``wet``."""
    tail = rng.uniform(*tail_s)
    m = int(tail * sr)
    response = rng.standard_normal(m) * np.exp(-np.arange(m) / (0.25 * tail * sr))
    y = fftconvolve(x, response)[: len(x)]
    return x + rng.uniform(*wet) * y / (np.std(y) + 1e-12) * np.std(x)


def resonator(x: np.ndarray, sr: int, freq: float, bandwidth: float) -> np.ndarray:
    """A two-pole resonance at ``freq`` Hz, ``bandwidth`` Hz wide (a formant, a body mode)."""
    r = np.exp(-np.pi * bandwidth / sr)
    return lfilter([1 - r], [1, -2 * r * np.cos(2 * np.pi * freq / sr), r * r], x).astype(np.float32)


def flutter(rng: np.random.Generator, n: int, sr: int, *, low: float, high: float, depth: float,
            floor: float = 0.0) -> np.ndarray:
    """A random gain curve ``1 + depth * noise`` band-limited to ``low``-``high`` Hz, clipped at ``floor``."""
    return np.clip(1.0 + depth * band_curve(rng, n, sr, low=low, high=high), floor, None).astype(np.float32)


def band_curve(rng: np.random.Generator, n: int, sr: float, *, low: float, high: float,
               control_hz: float | None = None) -> np.ndarray:
    """Unit-RMS noise band-limited to ``low``-``high`` Hz: a slow curve (a gust's roll, a flame's flicker).

    The noise is drawn and filtered at a control rate (``control_hz``; at least 16 times ``high`` by default) and
    interpolated up: a curve with nothing above ``high`` needs no more samples (drawing it at the audio rate cost
    30 times as much for the same curve). A filter's skirt reaches past ``high``: a curve whose fast ripples are
    part of the sound (the wind's roll) is drawn at a rate that keeps them."""
    step = max(1, int(sr / (control_hz or 16 * high)))
    points = n // step + 2
    x = filt(rng.standard_normal(points).astype(np.float32), sr / step, low=low, high=high)
    x = upsample_linear(x, step, n)
    return x / np.float32(np.std(x) + 1e-9)


def lower_rate(sr: int, top_hz: float) -> int:
    """The largest factor (3, 2 or 1) that divides ``sr`` and leaves a rate of at least 2.5 times ``top_hz``:
    a sound with nothing above ``top_hz`` is made at ``sr / factor`` and brought up with ``resample_poly``."""
    return next(k for k in (3, 2, 1) if sr % k == 0 and sr / k >= 2.5 * top_hz)


def unit(x: np.ndarray) -> np.ndarray:
    """``x`` scaled to unit RMS (silence stays silence)."""
    return (x / (np.std(x) + 1e-12)).astype(np.float32)

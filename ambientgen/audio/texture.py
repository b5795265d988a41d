"""Texture resynthesis: a recording too short (or too uneven) to arrange without replay, rebuilt for any length.

A recording is split in two (:func:`analyse`), as harmonic/percussive separation
splits a spectrogram, but by level over time:

* its **bed**, the steady part: per band (:data:`BANDS`, log-spaced) the energy
  under a running floor (a low percentile over :data:`FLOOR_S`, what the sound
  keeps between its crackles, drips and calls);
* its **transients**: what rises well over that floor (a crackle, a drip, a
  call, a thunder clap), taken out with a soft spectral mask and cut into
  events at their onsets, each running until it has decayed.

The bed is rebuilt for any length as long randomised grains of itself
(:class:`GrainBed`): :data:`VOICES` chains of grains sound at once, each grain
(:data:`GRAIN_S`) from a random place of the bed, joined to the next by an
equal-power fade of half its length, so every moment is a mixture that never
sounded before and none lasts as long as the repetition ``check`` listens for;
the mixture keeps the bed's spectrum and level (incoherent grains add in
power). The transients are scattered again as events (:func:`scatter_events`):
intervals drawn from the source's own (so a fire's bursts of crackles stay
bursts), each with its own gain, pan and a small change of pitch, a long one not
played again within a listener's memory.

Grains were chosen over noise shaped to the bed's band envelopes (phase-randomised
surrogates of them, after McDermott & Simoncelli's statistics), measured with the
YAMNet tagger on the seven fixture recordings: shaped noise lost the fine structure
of a cicada chorus (tagged "Water, Hiss" instead of "Animal") and halved the
café's "Speech" score; grains kept every class.

A grain layout and an event schedule are fixed for the whole track from the
seed, so any block equals the same stretch of a whole-track render; on a loop
the last grain fades into the first and events wrap, so the end flows into the start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

N_FFT_S = 0.042  # analysis frame (2048 samples at 48 kHz)
BANDS = 32  # log-spaced bands, 40 Hz .. Nyquist
FLOOR_S = 8.0  # the window of the running floor a band keeps between its transients
FLOOR_PERCENTILE = 20
TRANSIENT_DB = 6.0  # a band more than this over its floor holds a transient (where the frame is one)
ONSET_DB = 2.0  # a frame is a transient where its bands' mean excess over the floor is at least this
EVENT_MAX_S = 20.0  # a transient event (a thunder clap with its roll) is cut at most this long
GAP_FRAMES = 3  # frames with no transient at all (about 30 ms) between two sounds: separate events
EVENT_DECAY = 1e-3  # an event ends where its power has fallen this far (30 dB) under its peak
MAX_EVENTS = 160  # the strongest events kept as variations
PITCH_SEMITONES = 0.6  # each event plays up to this much higher or lower
GAIN_JITTER_DB = 2.0
LOOP_GUARD_S = 1.5  # no transient starts this close to a loop point (the check's level step looks 1 s either side)
SPARSE_S = 1.0  # transients this far apart on average (or more) are sparse: they keep clear of a loop point


def _frame_size(sample_rate: int) -> int:
    return 1 << max(8, round(math.log2(N_FFT_S * sample_rate)))


def _stft(mono: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Hann-windowed frames of ``mono`` (as a loop) every ``hop`` samples (frame ``m`` centred on ``m * hop``), as
    (frames, bins)."""
    # wrapped round: the source is heard as a loop, and its ends are not mistaken for silence
    pad = np.pad(mono.astype(np.float32), (n_fft // 2, n_fft // 2 + hop), mode="wrap")
    count = 1 + (len(mono) - 1) // hop + 1
    frames = np.lib.stride_tricks.sliding_window_view(pad, n_fft)[: count * hop : hop]
    return np.fft.rfft(frames * np.hanning(n_fft + 1)[:-1].astype(np.float32), axis=1).astype(np.complex64)


def _istft(spec: np.ndarray, n_fft: int, hop: int, length: int) -> np.ndarray:
    """Weighted overlap-add inverse of :func:`_stft` (the analysis window is also the synthesis one)."""
    win = np.hanning(n_fft + 1)[:-1].astype(np.float32)
    frames = np.fft.irfft(spec, n=n_fft, axis=1).astype(np.float32) * win
    out = np.zeros(len(spec) * hop + n_fft, dtype=np.float32)
    norm = np.zeros_like(out)
    for m, f in enumerate(frames):
        out[m * hop : m * hop + n_fft] += f
        norm[m * hop : m * hop + n_fft] += win**2
    half = n_fft // 2
    return out[half : half + length] / np.maximum(norm[half : half + length], 1e-3)


def band_edges(n_fft: int, sample_rate: int, bands: int = BANDS) -> np.ndarray:
    """Each rfft bin's band (0 .. bands - 1), log-spaced from 40 Hz; bins under 40 Hz join the first band."""
    freqs = np.fft.rfftfreq(n_fft, 1 / sample_rate)
    edges = np.geomspace(40.0, sample_rate / 2, bands + 1)
    band = np.clip(np.searchsorted(edges, freqs, side="right") - 1, 0, bands - 1)
    present = np.unique(band)  # a band no bin falls in (at low rates) is dropped, the rest renumbered
    return np.searchsorted(present, band)


@dataclass
class TextureModel:
    """What :func:`analyse` keeps of a recording: its bed and its transient events."""

    sample_rate: int
    bed: np.ndarray  # the source less its transients (channels, n)
    events: list[np.ndarray]  # transient clips (channels, n)
    onsets_s: np.ndarray  # where each began in the source (seconds)
    transient_share: float  # of the source's energy, the share its transients carry

    @property
    def duration_s(self) -> float:
        return self.bed.shape[1] / self.sample_rate

    @property
    def intervals_s(self) -> np.ndarray:
        """The source's intervals between transients, the last round to the first (the source as a loop)."""
        if len(self.onsets_s) < 2:
            return np.array([self.duration_s])
        times = np.sort(self.onsets_s)
        return np.maximum(np.append(np.diff(times), times[0] + self.duration_s - times[-1]), 0.02)


def analyse(audio: np.ndarray, sample_rate: int, *, floor_s: float | None = FLOOR_S) -> TextureModel:
    """Split ``audio`` ``(channels, n)`` into its bed and its transient events (see the module's notes).

    ``floor_s``: the window of the running floor; ``None``, one floor for the whole recording (an uneven one, whose
    swells and rolls last longer than any window: all of them are events over the floor of its lulls)."""
    from scipy.ndimage import binary_dilation, percentile_filter, uniform_filter1d

    audio = np.atleast_2d(np.asarray(audio, dtype=np.float32))
    n_fft = _frame_size(sample_rate)
    hop = n_fft // 4
    n = audio.shape[1]
    specs = [_stft(ch, n_fft, hop) for ch in audio]
    power = sum(np.abs(s) ** 2 for s in specs) / len(specs)
    band = band_edges(n_fft, sample_rate)
    sums = np.zeros((len(power), int(band.max()) + 1))
    np.add.at(sums.T, band, power.T.astype(np.float64))
    energy = uniform_filter1d(sums, size=3, axis=0, mode="wrap") + 1e-20
    if floor_s is None:
        floor = np.percentile(energy, FLOOR_PERCENTILE, axis=0, keepdims=True) + 1e-20
    else:
        window = max(3, round(floor_s * sample_rate / hop))
        floor = percentile_filter(energy, FLOOR_PERCENTILE, size=(min(window, len(energy)), 1), mode="wrap") + 1e-20
    excess_db = 10 * np.log10(energy / floor)
    loud = np.mean(np.maximum(excess_db - TRANSIENT_DB, 0.0), axis=1) >= ONSET_DB
    transient = binary_dilation(loud, iterations=2)
    # the soft mask: of a transient frame's band, the energy over twice (3 dB over) its floor
    keep = np.where(transient[:, None], np.clip(1.0 - 2.0 * floor / energy, 0.0, 1.0), 0.0)
    mask = np.sqrt(keep[:, band]).astype(np.float32)
    transients = np.stack([_istft(s * mask, n_fft, hop, n) for s in specs])
    bed = np.stack([_istft(s * np.sqrt(1.0 - mask**2), n_fft, hop, n) for s in specs])
    events, onsets = _cut_events(transients, loud, keep.sum(axis=1), hop, sample_rate)
    share = float(np.sum(power * mask**2)) / (float(np.sum(power)) + 1e-20)
    return TextureModel(sample_rate, bed, events, np.array(onsets), share)


def _cut_events(transients: np.ndarray, loud: np.ndarray, strength: np.ndarray, hop: int, sample_rate: int
                ) -> tuple[list[np.ndarray], list[float]]:
    """The transient signal cut into events: one starts two frames before a run of transient frames and runs
    until its power (over 100 ms, held for 300 ms) has fallen :data:`EVENT_DECAY` under its peak, at most
    :data:`EVENT_MAX_S` (the runs within it belong to it: a thunder clap's roll is one event), or until the next
    run after :data:`GAP_FRAMES` without any transient (a fire's crackles are each their own); the
    :data:`MAX_EVENTS` strongest, in time order."""
    from .streams import edge_fades

    frames = np.flatnonzero(loud)
    if not len(frames):
        return [], []
    starts = frames[np.concatenate([[True], np.diff(frames) > 1])]
    # a run that begins after GAP_FRAMES without any transient starts a new event (dense crackles stay separate)
    apart = frames[np.concatenate([[True], np.diff(frames) > GAP_FRAMES])]
    from scipy.ndimage import maximum_filter1d, uniform_filter1d

    level = uniform_filter1d(np.sum(np.square(transients), axis=0), size=hop)
    slow = uniform_filter1d(level, size=round(0.1 * sample_rate))  # what the decay is judged on
    hold = round(0.3 * sample_rate)
    cap = round(EVENT_MAX_S * sample_rate)
    found, busy = [], -1
    for a in starts:
        s0 = max(0, (int(a) - 2) * hop)
        if s0 < busy:
            continue
        stretch = slow[s0 : s0 + cap]
        peak = int(np.argmax(level[s0 : s0 + 4 * hop])) if len(stretch) else 0
        # ended where it stays under the decay for 300 ms (a roll's dips do not end it)
        still = maximum_filter1d(stretch[peak:], size=hold, origin=-(hold // 2), mode="nearest")
        below = np.flatnonzero(still < level[s0 + peak] * EVENT_DECAY)
        end = s0 + peak + (int(below[0]) if len(below) else len(stretch) - peak)
        later = apart[apart * hop > s0 + peak]
        if len(later) and (int(later[0]) - 2) * hop < end:  # the next sound began after this one had gone
            end, below = max(s0 + hop, (int(later[0]) - 2) * hop), [0]
        busy = end
        if end - s0 < 3 * hop:  # a fragment of a frame or two: left in the transient signal, not an event
            continue
        capped = not len(below)  # still sounding at the cap: a longer fade, not a cut
        clip = edge_fades(transients[:, s0:end].copy(), sample_rate, fade_in_s=0.003,
                          fade_out_s=1.0 if capped else 0.02)
        found.append((float(np.sum(level[s0:end])), s0, clip))
    found = sorted(found, key=lambda e: -e[0])[:MAX_EVENTS]
    found.sort(key=lambda e: e[1])
    return [c for _, _, c in found], [s / sample_rate for _, s, _ in found]


def pitched(clip: np.ndarray, semitones: float) -> np.ndarray:
    """``clip`` (channels, n) played ``semitones`` higher (shorter) or lower, by resampling (soxr)."""
    import soxr

    if abs(semitones) < 1e-6:
        return clip
    ratio = 2 ** (semitones / 12)
    out = soxr.resample(np.ascontiguousarray(clip.T, dtype=np.float32), 48000 * ratio, 48000, quality="HQ")
    return np.ascontiguousarray(np.atleast_2d(out.T), dtype=np.float32)


PITCHES = (-1.0, -0.35, 0.35, 1.0)  # of PITCH_SEMITONES: each event's variations


def scatter_events(models: list[TextureModel], *, total: int, rng: np.random.Generator, loop: bool = True,
                   pan: float = 0.0, width: float = 0.5) -> tuple[list[np.ndarray], list]:
    """The transients of ``models`` scattered over ``total`` samples: (variations, events) for an
    :class:`~ambientgen.audio.streams.EventStream` (which wraps the events over a loop's end).

    Intervals are drawn from the sources' own (each stretched or squeezed by up
    to 25 %), so their rate and their bursts stay; each event takes one of
    the transients at one of :data:`PITCHES`, a gain within
    :data:`GAIN_JITTER_DB` and, for a mono source, a pan spread by ``width``. A
    transient longer than a second is not played again while it sounded less
    than :data:`~ambientgen.audio.repetition.REPEAT_WITHIN_S` ago (another
    plays, or the next waits for one to be free: a few long thunder rolls come
    rarer rather than sooner); no transient plays twice in a row when there are others. On a loop
    no event starts or ends within :data:`LOOP_GUARD_S` of the loop point (an
    onset or an end there would be a level step across it; one that spans it
    plays on over it, as the stream wraps it).
    """
    from .arrange import EventTime
    from .repetition import REPEAT_WITHIN_S

    clips = [c for m in models for c in m.events]
    if not clips:
        return [], []
    sr = models[0].sample_rate
    variations = [pitched(c, PITCH_SEMITONES * p) for c in clips for p in PITCHES]
    lengths = np.array([c.shape[1] for c in clips])
    intervals = np.concatenate([m.intervals_s for m in models if len(m.events)])
    mono = all(c.shape[0] == 1 for c in clips)
    recent = round(REPEAT_WITHIN_S * sr)
    last = np.full(len(clips), -np.inf)
    events, t, previous = [], float(rng.uniform(0, intervals.mean()) * sr), -1
    # sparse events keep clear of a loop point; dense ones (more than one a second) do not: a hole in them would
    # be the step
    guard = round(LOOP_GUARD_S * sr) if loop and intervals.mean() >= SPARSE_S else 0
    t = max(t, guard)
    while t < total - guard:
        free = np.ones(len(clips), dtype=bool)
        if len(clips) > 1 and previous >= 0:
            free[previous] = False
        long = lengths > sr
        free &= ~(long & (t - last < recent + lengths))
        pool = np.flatnonzero(free)
        if not len(pool):  # every long one sounded too recently: wait for the first to be free again
            k = int(np.argmin(last + lengths))
            t = max(t, float(last[k] + recent + lengths[k]))
            if t >= total - guard:
                break
            pool = np.array([k])
        k = int(rng.choice(pool))
        end = (t + lengths[k]) % total if guard else None
        if end is not None and (end < guard or end > total - guard):  # it would end at the loop point: later
            t += 2 * guard
            continue
        last[k], previous = t, k
        v = k * len(PITCHES) + int(rng.integers(len(PITCHES)))
        spread = float(rng.uniform(-1, 1)) * width if mono else 0.0
        events.append(EventTime(v, int(t), float(rng.uniform(-GAIN_JITTER_DB, GAIN_JITTER_DB)),
                                float(np.clip(pan + spread, -1, 1))))
        t += float(rng.choice(intervals)) * float(rng.uniform(0.8, 1.25)) * sr
    return variations, events


GRAIN_S = (1.0, 2.5)  # grain lengths (each fades into the next over half its length)
VOICES = 2  # chains of grains sounding at once (a mono source's two are its mid and side)


class GrainBed:
    """A :class:`~ambientgen.audio.streams.LayerStream`: ``total`` samples of the beds of ``models`` (each a
    :class:`TextureModel` at the stream's rate) as :data:`VOICES` chains of grains (see the module's notes),
    placed in stereo: a mono source's voices become mid and side (``width`` of side), a stereo source keeps its
    channels with its side scaled by ``2 * width`` (as :func:`~ambientgen.audio.placement.place`); at ``gain_db``
    and ``pan``. A grain comes from a model long enough for it, with a chance in proportion to its length."""

    def __init__(self, models: list[TextureModel], *, total: int, loop: bool, rng: np.random.Generator,
                 gain_db: float = 0.0, pan: float = 0.0, width: float = 0.5):
        from .arrange import bounded_partition
        from .placement import db_to_gain, pan_gains

        self.beds = [m.bed for m in models]
        self.total, self.loop, self.width = total, loop, width
        self.stereo = any(b.shape[0] == 2 for b in self.beds)
        sr = models[0].sample_rate
        sizes = np.array([b.shape[1] for b in self.beds], dtype=np.float64)
        hi = min(round(GRAIN_S[1] * sr), int(sizes.max()) * 2 // 3)
        lo = min(round(GRAIN_S[0] * sr), hi)
        rows = []  # (first sample, end, fade, bed, offset of the first sample, voice)
        for voice in range(VOICES):
            count = max(1, round(total / ((lo + hi) / 2)))
            lengths = bounded_partition(float(total), count, min(lo, total / count), max(hi, total / count), rng)
            t = float(rng.uniform(0, lengths[0])) if loop else 0.0
            for length in lengths:
                length, fade = int(round(length)), int(round(length)) // 2
                span = length + fade
                fits = sizes * (sizes >= span)  # a bed long enough for the grain (the longest always is)
                k = int(rng.choice(len(sizes), p=fits / fits.sum()))
                n = self.beds[k].shape[1]
                offset = int(rng.integers(0, max(1, n - span)))
                a = int(round(t)) - fade // 2
                rows.append((a, a + span, fade, k, offset, voice))
                t += length
        if loop:  # the grains over either end sound again at the other
            rows += [(a + shift, b + shift, f, k, o, v) for a, b, f, k, o, v in rows
                     for shift in (-total, total) if a + shift < total and b + shift > 0]
        rows.sort()
        self.rows = rows
        self._starts = np.array([r[0] for r in rows], dtype=np.int64)
        self._longest = max(r[1] - r[0] for r in rows)
        left, right = pan_gains(pan)
        self.gains = (db_to_gain(gain_db) * left / math.sqrt(VOICES), db_to_gain(gain_db) * right / math.sqrt(VOICES))

    @property
    def grains(self) -> int:
        return sum(1 for a, b, *_ in self.rows if 0 <= a + (b - a) // 2 < self.total)

    def add_to(self, out: np.ndarray, start: int) -> None:
        n = out.shape[1]
        voices = np.zeros((VOICES, 2, n), dtype=np.float32)
        first = int(np.searchsorted(self._starts, start - self._longest))
        last = int(np.searchsorted(self._starts, start + n))
        for a, b, fade, k, offset, voice in self.rows[first:last]:
            lo, hi = max(a, start), min(b, start + n)
            if lo >= hi:
                continue
            idx = np.arange(lo - a, hi - a)
            w = np.ones(hi - lo, dtype=np.float32)  # equal-power fades: incoherent grains keep their power
            up, down = idx < fade, idx >= (b - a) - fade
            w[up] = np.sin(0.5 * np.pi * (idx[up] + 0.5) / fade)
            w[down] = np.cos(0.5 * np.pi * (idx[down] - ((b - a) - fade) + 0.5) / fade)
            seg = self.beds[k][:, offset + lo - a : offset + hi - a] * w
            voices[voice, :, lo - start : hi - start] += seg if seg.shape[0] == 2 else seg[0]
        if self.stereo:
            mid = 0.5 * (voices[:, 0] + voices[:, 1]).sum(axis=0)
            side = 0.5 * (voices[:, 0] - voices[:, 1]).sum(axis=0) * np.float32(2 * self.width)
            norm = 1.0
        else:  # mono: the difference of the two independent voices is the side (as loud as their sum, uncorrelated)
            mid = voices[0, 0] + voices[1, 0]
            side = (voices[0, 0] - voices[1, 0]) * np.float32(self.width)
            norm = 1.0 / math.sqrt(1.0 + self.width**2)
        out[0] += (mid + side) * np.float32(self.gains[0] * norm)
        out[1] += (mid - side) * np.float32(self.gains[1] * norm)


class TextureStream:
    """A texture layer: its :class:`GrainBed` and its scattered transients (an
    :class:`~ambientgen.audio.streams.EventStream`), under the layer's animation."""

    def __init__(self, bed: GrainBed, events, animation=None):
        self.bed, self.events, self.animation = bed, events, animation

    def add_to(self, out: np.ndarray, start: int) -> None:
        target = out if self.animation is None else np.zeros_like(out)
        self.bed.add_to(target, start)
        if self.events is not None:
            self.events.add_to(target, start)
        if self.animation is not None:
            out += target * self.animation.gains(start, out.shape[1])

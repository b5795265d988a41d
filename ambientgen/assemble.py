"""Streaming assembly: layers generated block by block, mastered in two passes, written as they come.

Nothing here holds the whole track: a layer is a :class:`LayerStream` that can
produce any stretch ``[start, start + n)`` of its placed stereo signal on
demand (from its pool of tiles and its arrangement, its event variations and
schedule, or a short rendered stream), so peak memory depends on the pool, not
on the duration.

Mastering (:func:`assemble`):

1. **Analysis pass**: the mix is generated block by block and fed to the
   streaming BS.1770-4 meter (:mod:`ambientgen.meter`); each block's sample
   peak is kept.
2. **True peak without oversampling the whole hour**: a block's 4x-oversampled
   peak is at most its sample peak times the interpolation filter's largest
   polyphase L1 norm (:data:`TRUE_PEAK_BOUND`), so the exact true peak is
   found by oversampling blocks in order of sample peak until the next bound
   falls under the largest peak found (branch and bound; usually a few blocks).
3. If gain alone keeps the true peak under the ceiling, the output is the mix
   times one gain: its loudness is the measured loudness plus that gain, exactly.
   Otherwise a look-ahead true-peak limiter runs on each block with enough
   context around it to equal a whole-track limiter; one extra analysis pass
   measures what limiting cost, and the gain is corrected for it.
4. **Write pass**: blocks are generated again, mastered and written to every
   output (mix formats and stems) as they come.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from .arrange import Arrangement, EventTime
from .loudness import OVERSAMPLE, _oversampled_abs_peaks, limiter_gain
from .meter import LoudnessMeter
from .mix import db_to_gain, pan_gains
from .stitch import equal_power_fades

BLOCK = 1 << 18  # samples per block (5.5 s at 48 kHz; a stereo float32 block is 2 MB)
PEAK_BLOCK = 1 << 14  # sample peaks are kept per 0.34 s, so the true-peak search oversamples little
FEATURE_FRAME = 1024  # analysis frame for choosing where seams fade


def _true_peak_bound() -> float:
    """The largest 4x-oversampled |value| a signal with sample peak 1 can reach (the filter's polyphase L1 norm)."""
    from scipy.signal import resample_poly

    impulse = np.zeros(256)
    impulse[128] = 1.0
    response = resample_poly(impulse, OVERSAMPLE, 1)
    return float(max(np.abs(response[p::OVERSAMPLE]).sum() for p in range(OVERSAMPLE)))


TRUE_PEAK_BOUND = _true_peak_bound()


class LayerStream(Protocol):
    name: str

    def add_to(self, out: np.ndarray, start: int) -> None:
        """Add this layer's placed stereo signal for ``[start, start + out.shape[1])`` into ``out`` (in range)."""


def _wrapped(total: int, loop: bool, start: int, n: int):
    """(timeline start, offset in the block, length) pieces of ``[start, start + n)`` inside ``[0, total)``.

    A loop wraps around; otherwise what lies outside the track is silence (skipped).
    """
    pos, done = start, 0
    while done < n:
        if loop:
            t = pos % total
            take = min(n - done, total - t)
            yield t, done, take
        else:
            if pos < 0:
                take = min(n - done, -pos)
            elif pos >= total:
                return
            else:
                take = min(n - done, total - pos)
                yield pos, done, take
        pos += take
        done += take


def render_block(layer: LayerStream, start: int, n: int, *, total: int, loop: bool,
                 out: np.ndarray | None = None) -> np.ndarray:
    """``[start, start + n)`` of a layer (any range: wrapped on a loop, silent outside otherwise)."""
    out = np.zeros((2, n), dtype=np.float32) if out is None else out
    for t, offset, take in _wrapped(total, loop, start, n):
        layer.add_to(out[:, offset : offset + take], t)
    return out


@dataclass
class Animation:
    """A slow, smooth, seeded gain drift: ``depth_db`` peak to peak, main period ``period_s``.

    Three sinusoids (periods 1, 1/1.618 and 1/2.618 of the main period) with
    random phases; on a loop each makes a whole number of cycles so the drift
    loops too.
    """

    depth_db: float
    period_s: float
    seed: int
    total: int
    sample_rate: int
    loop: bool
    step: int = 480  # control rate: one gain value per 10 ms at 48 kHz, linearly interpolated

    def __post_init__(self) -> None:
        rng = np.random.default_rng(self.seed)
        seconds = self.total / self.sample_rate
        self.freqs, self.phases = [], rng.uniform(0, 2 * np.pi, 3)
        for ratio in (1.0, 1.618, 2.618):
            f = ratio / self.period_s
            if self.loop:
                f = max(1, round(f * seconds)) / seconds
            self.freqs.append(f)
        self.weights = np.array([1.0, 0.6, 0.35])
        self.norm = self.weights.sum()

    def gain_db(self, t_s: np.ndarray) -> np.ndarray:
        wave = sum(w * np.sin(2 * np.pi * f * t_s + p) for w, f, p in zip(self.weights, self.freqs, self.phases))
        return (self.depth_db / 2) * wave / self.norm

    def gains(self, start: int, n: int) -> np.ndarray:
        """Linear gains for ``[start, start + n)``: knots every ``step`` samples, linearly interpolated."""
        step = self.step
        k0 = start - start % step
        intervals = (start + n - k0) // step + 1
        knots = k0 + step * np.arange(intervals + 1)
        g = (10 ** (self.gain_db(knots / self.sample_rate) / 20)).astype(np.float32)
        ramp = np.arange(step, dtype=np.float32) / np.float32(step)
        curve = (g[:-1, None] + (g[1:] - g[:-1])[:, None] * ramp[None, :]).reshape(-1)
        return curve[start - k0 : start - k0 + n]


@dataclass
class ArrayStream:
    """A layer held whole (a short consecutive render): ``stereo`` is ``(2, total)``, already placed."""

    name: str
    stereo: np.ndarray
    animation: Animation | None = None

    def add_to(self, out: np.ndarray, start: int) -> None:
        piece = self.stereo[:, start : start + out.shape[1]]
        out += piece if self.animation is None else piece * self.animation.gains(start, out.shape[1])


def tile_features(tile: np.ndarray) -> np.ndarray:
    """Per :data:`FEATURE_FRAME` frame of a mono tile: power in 16 log-spaced bands, then total power."""
    frames = len(tile) // FEATURE_FRAME
    x = tile[: frames * FEATURE_FRAME].reshape(frames, FEATURE_FRAME).astype(np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(FEATURE_FRAME), axis=1)) ** 2
    edges = np.unique(np.geomspace(1, spec.shape[1] - 1, 17).astype(int))
    bands = np.add.reduceat(spec, edges, axis=1)[:, :-1]
    return np.concatenate([bands, np.mean(x**2, axis=1, keepdims=True)], axis=1)


def seam_fade_start(feat_a: np.ndarray, start_a: int, feat_b: np.ndarray, start_b: int, *, overlap: int,
                    fade: int) -> int:
    """Where in the overlap (samples from its start) the fade from tile a into tile b sounds most alike.

    The same rule as :func:`ambientgen.stitch.best_fade` (16-band spectrum and
    level alike, near-silence avoided) on precomputed frame features, so choosing
    every seam of an hour costs milliseconds.
    """
    fr = FEATURE_FRAME
    span = overlap - fade
    if span < fr:
        return 0
    fa, fb, nf = start_a // fr, start_b // fr, max(1, fade // fr)
    count = span // fr + 1
    a = feat_a[fa : fa + count + nf]
    b = feat_b[fb : fb + count + nf]
    m = min(count, min(len(a), len(b)) - nf + 1)
    if m <= 0:
        return 0
    ca = np.concatenate([np.zeros((1, a.shape[1])), np.cumsum(a, axis=0)])
    cb = np.concatenate([np.zeros((1, b.shape[1])), np.cumsum(b, axis=0)])
    wa = (ca[nf : nf + m] - ca[:m]) / nf
    wb = (cb[nf : nf + m] - cb[:m]) / nf
    la, lb = 10 * np.log10(wa + 1e-12), 10 * np.log10(wb + 1e-12)
    cost = np.sqrt(np.mean((la[:, :-1] - lb[:, :-1]) ** 2, axis=1)) + np.abs(la[:, -1] - lb[:, -1]) / 2
    quiet = (wa[:, -1] < a[:, -1].mean() * 0.01) | (wb[:, -1] < b[:, -1].mean() * 0.01)
    cost = cost + 100.0 * quiet
    return int(np.argmin(cost)) * fr


@dataclass
class PoolStream:
    """A bed layer played from its pool of tiles by an :class:`~ambientgen.arrange.Arrangement`.

    ``tiles`` are placed stereo ``(2, tile_length)`` tiles (gain, pan and width
    already applied). Each excerpt fades into the next over ``fade`` samples at
    the point of their overlap where they match best; on a loop the last excerpt
    fades into the first across the loop point.
    """

    name: str
    tiles: list[np.ndarray]
    arrangement: Arrangement
    overlap: int
    fade: int
    features: list[np.ndarray] | None = None
    animation: Animation | None = None
    segments: list[tuple[int, int, int, int, int, int]] = field(init=False, repr=False)
    seams: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        arr, places = self.arrangement, self.arrangement.placements
        n, total = len(places), arr.total
        # fade_at[i]: timeline sample where the fade into placement i begins (None: no seam before it)
        fade_at: list[int | None] = [None] * (n + 1)
        for i in range(n + 1):
            if (i == 0 and not arr.loop) or (i == n and not arr.loop):
                continue
            prev, cur = places[i - 1], places[i % n]
            boundary = cur.start if i < n else total
            if self.features is not None:
                at = seam_fade_start(self.features[prev.tile], prev.offset + prev.length, self.features[cur.tile],
                                     cur.offset, overlap=self.overlap, fade=self.fade)
            else:
                at = (self.overlap - self.fade) // 2
            fade_at[i] = boundary + at
        if arr.loop:
            fade_at[0] = fade_at[n] - total
        segs = []  # (t0, t1, tile, source offset: source = t + offset, kind 0 solo / 1 in / 2 out, fade origin)
        for i, p in enumerate(places):
            so = p.offset - p.start
            begin, end = fade_at[i], fade_at[i + 1]
            if begin is not None:
                segs.append((begin, begin + self.fade, p.tile, so, 1, begin))
            solo_end = end if end is not None else total
            segs.append((begin + self.fade if begin is not None else 0, solo_end, p.tile, so, 0, 0))
            if end is not None:
                segs.append((end, end + self.fade, p.tile, so, 2, end))
                self.seams.append((end + self.fade // 2) % total)
        wrapped = []
        for t0, t1, tile, so, kind, origin in segs:
            if t0 < total:
                wrapped.append((t0, min(t1, total), tile, so, kind, origin))
            if arr.loop and t1 > total:  # past the loop point: wraps to the start
                wrapped.append((max(t0, total) - total, t1 - total, tile, so + total, kind, origin - total))
        self.segments = sorted(w for w in wrapped if w[1] > w[0])
        self.seams.sort()
        self._starts = [s[0] for s in self.segments]
        self._max_len = max((s[1] - s[0] for s in self.segments), default=0)
        self._fade_in, self._fade_out = equal_power_fades(self.fade)

    def add_to(self, out: np.ndarray, start: int) -> None:
        n = out.shape[1]
        target = out if self.animation is None else np.zeros_like(out)
        i = max(0, bisect.bisect_left(self._starts, start - self._max_len))
        while i < len(self.segments) and self.segments[i][0] < start + n:
            a, b, tile, s0, kind, origin = self.segments[i]
            i += 1
            lo, hi = max(a, start), min(b, start + n)
            if lo >= hi:
                continue
            src = self.tiles[tile][:, s0 + lo : s0 + hi]
            if kind == 0:
                target[:, lo - start : hi - start] += src
            else:
                env = (self._fade_in if kind == 1 else self._fade_out)[lo - origin : hi - origin]
                target[:, lo - start : hi - start] += src * env
        if self.animation is not None:
            out += target * self.animation.gains(start, n)


def trim_event(clip: np.ndarray, sample_rate: int, *, pre_s: float = 0.5, floor_db: float = 35.0,
               fade_s: float = 0.05) -> np.ndarray:
    """The event inside a rendered clip: from just before its loudest moment until it decays ``floor_db`` under it.

    Levels are 50 ms RMS frames; the clip is cut ``pre_s`` before the first
    frame within 20 dB of the peak and after the last frame above the floor,
    with short raised-cosine fades so the cut never clicks.
    """
    hop = max(1, round(0.05 * sample_rate))
    frames = len(clip) // hop
    if frames < 2:
        return clip.astype(np.float32)
    rms = np.sqrt(np.mean(clip[: frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1)) + 1e-12
    level = 20 * np.log10(rms / rms.max())
    first = int(np.argmax(level > -20))
    loud = np.nonzero(level > -floor_db)[0]
    last = int(loud[-1]) + 1 if len(loud) else frames
    a = max(0, first * hop - round(pre_s * sample_rate))
    b = min(len(clip), last * hop)
    out = clip[a:b].astype(np.float32, copy=True)
    f = min(round(fade_s * sample_rate), len(out) // 2)
    if f:
        ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, f))).astype(np.float32)
        out[:f] *= ramp
        out[-f:] *= ramp[::-1]
    return out


@dataclass
class EventStream:
    """Sparse events: short variations (mono) placed at scheduled times with their own gain and pan."""

    name: str
    variations: list[np.ndarray]
    events: list[EventTime]
    gain_db: float
    total: int
    loop: bool
    animation: Animation | None = None
    placed: list[tuple[int, int, int, float, float]] = field(init=False, repr=False)  # t0, t1, var, gl, gr

    def __post_init__(self) -> None:
        placed = []
        for e in self.events:
            left, right = pan_gains(e.pan)
            g = db_to_gain(self.gain_db + e.gain_db)
            length = len(self.variations[e.variation])
            for shift in (0, -self.total) if self.loop else (0,):
                t0 = e.start + shift
                if t0 + length > 0 and t0 < self.total:
                    placed.append((t0, t0 + length, e.variation, g * left, g * right))
        self.placed = sorted(placed)

    def add_to(self, out: np.ndarray, start: int) -> None:
        n = out.shape[1]
        target = out if self.animation is None else np.zeros_like(out)
        for t0, t1, var, gl, gr in self.placed:
            lo, hi = max(t0, start), min(t1, start + n)
            if lo >= hi:
                continue
            clip = self.variations[var][lo - t0 : hi - t0]
            target[0, lo - start : hi - start] += clip * gl
            target[1, lo - start : hi - start] += clip * gr
        if self.animation is not None:
            out += target * self.animation.gains(start, n)


def fade_curve(n: int) -> np.ndarray:
    """A smooth rise from 0 to 1 over ``n`` samples (raised cosine)."""
    return (0.5 - 0.5 * np.cos(np.pi * (np.arange(n) + 0.5) / n)).astype(np.float32)


@dataclass
class Mix:
    """The sum of the layers, with the master fades; any range can be generated."""

    layers: Sequence[LayerStream]
    total: int
    loop: bool
    fade_in: int = 0
    fade_out: int = 0

    def block(self, start: int, n: int, *, stems: list[np.ndarray] | None = None) -> np.ndarray:
        """``[start, start + n)`` of the mix; with ``stems`` (one ``(2, n)`` buffer per layer) fills those too."""
        mix = np.zeros((2, n), dtype=np.float32)
        for k, layer in enumerate(self.layers):
            if stems is None:
                render_block(layer, start, n, total=self.total, loop=self.loop, out=mix)
            else:
                stems[k][:] = 0.0
                render_block(layer, start, n, total=self.total, loop=self.loop, out=stems[k])
                mix += stems[k]
        env = self.envelope(start, n)
        if env is not None:
            mix *= env
            for s in stems or ():
                s *= env
        return mix

    def envelope(self, start: int, n: int) -> np.ndarray | None:
        """The master fade gains over ``[start, start + n)``, or None where there is no fade."""
        fi, fo, total = self.fade_in, self.fade_out, self.total
        if not ((fi and start < fi) or (fo and start + n > total - fo)):
            return None
        t = np.arange(start, start + n)
        env = np.ones(n, dtype=np.float32)
        if fi:
            env *= np.interp(t, [0, fi], [0.0, 1.0]).astype(np.float32) ** 2 * (3 - 2 * np.interp(t, [0, fi], [0.0, 1.0]))
        if fo:
            x = np.interp(t, [total - fo, total], [1.0, 0.0])
            env *= (x**2 * (3 - 2 * x)).astype(np.float32)
        return env


Sink = Callable[[np.ndarray], None]  # receives (2, n) mastered blocks in order


class _Worker:
    """One background thread running submitted calls in order (metering, encoding, writing).

    libsndfile and scipy's filters release the GIL, so while the main thread
    generates block k + 1 this thread meters or writes block k. The queue is
    short (memory stays bounded); the first error is raised again in the main thread.
    """

    def __init__(self, depth: int = 4):
        import queue
        import threading

        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is None:
                return
            if self.error is None:
                try:
                    for fn, arg in item:
                        fn(arg)
                except BaseException as exc:  # handed to the main thread in submit/close
                    self.error = exc

    def submit(self, calls: list[tuple[Callable[[np.ndarray], None], np.ndarray]]) -> None:
        if self.error is not None:
            raise self.error
        self.queue.put(calls)

    def close(self) -> None:
        self.queue.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


@dataclass
class MasterReport:
    input_lufs: float
    gain_db: float
    integrated_lufs: float
    sample_peak_dbfs: float
    true_peak_dbtp: float
    true_peak_exact: bool  # False: an upper bound (see TruePeak)
    limiter_reduction_db: float
    limited: bool
    layer_lufs: dict[str, float]
    timings: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


def _sub_peaks(block: np.ndarray) -> np.ndarray:
    """Sample peak (both channels) of each :data:`PEAK_BLOCK` stretch of a block (blocks are whole multiples)."""
    n = block.shape[1]
    edges = np.arange(0, n, PEAK_BLOCK)
    both = np.maximum(np.abs(block[0]), np.abs(block[1])) if block.shape[0] == 2 else np.abs(block).max(axis=0)
    return np.maximum.reduceat(both, edges) if n else np.zeros(0)


def _db(x: float) -> float:
    return 20 * math.log10(x) if x > 0 else -math.inf


@dataclass
class _Limiter:
    """The look-ahead true-peak limiter applied block by block with context (equals a whole-track run)."""

    mix: Mix
    sample_rate: int
    ceiling_dbtp: float
    lookahead_s: float = 0.005
    release_s: float = 0.08

    def __post_init__(self) -> None:
        la = max(1, round(self.lookahead_s * self.sample_rate))
        self.margin = 2 * la + max(la, round(self.release_s * self.sample_rate)) + 128
        self.reduction = 0.0

    def block(self, start: int, n: int, gain: float) -> tuple[np.ndarray, np.ndarray]:
        """(limited block, the limiter's gain curve) for ``[start, start + n)`` at input gain ``gain``."""
        m = self.margin
        ext = self.mix.block(start - m, n + 2 * m) * gain
        curve = limiter_gain(ext, self.sample_rate, ceiling_dbtp=self.ceiling_dbtp, lookahead_s=self.lookahead_s,
                             release_s=self.release_s)[m : m + n]
        self.reduction = max(self.reduction, -_db(float(curve.min())))
        return ext[:, m : m + n] * curve, curve


@dataclass
class TruePeak:
    """The true peak of a track from per-block sample peaks, oversampling as few blocks as possible.

    A block whose sample peak times :data:`TRUE_PEAK_BOUND` is under the largest
    true peak found so far cannot hold the maximum and is never oversampled.
    ``exact`` is False when the budget ran out first: ``linear`` is then an
    upper bound (the largest of the found peaks and the remaining bounds).
    """

    linear: float
    exact: bool
    blocks_oversampled: int


def true_peak_search(block_peaks: np.ndarray, get_block: Callable[[int], np.ndarray], *,
                     budget: int = 48, decide_at: float | None = None) -> TruePeak:
    """Branch and bound over blocks in order of sample peak.

    With ``decide_at`` it only settles whether the true peak exceeds that level
    (stops as soon as one block does, or no remaining block can), without a budget.
    """
    best, done = 0.0, 0
    for k in np.argsort(block_peaks)[::-1]:
        bound = float(block_peaks[k]) * TRUE_PEAK_BOUND
        if bound <= best:
            return TruePeak(best, True, done)
        if decide_at is not None and (best > decide_at or bound <= decide_at):
            return TruePeak(max(best, bound), False, done)
        if decide_at is None and done >= budget:
            return TruePeak(max(best, bound), False, done)
        best = max(best, float(get_block(int(k)).max()))
        done += 1
    return TruePeak(best, True, done)


def assemble(mix: Mix, *, sample_rate: int, target_lufs: float, ceiling_dbtp: float, sinks: Sequence[Sink] = (),
             stem_sinks: Sequence[Sink] = (), layer_names: Sequence[str] = (), block: int = BLOCK,
             on_progress: Callable[[str, int, int], None] | None = None, limiter_margin_db: float = 0.1
             ) -> MasterReport:
    """Master ``mix`` to ``target_lufs`` under ``ceiling_dbtp`` and stream it into ``sinks`` (and stems).

    Stems receive each layer times the master gain (before the limiter, with the
    master fades), clipped to +-1. Returns the measured figures.
    """
    import time

    total = mix.total
    block = max(PEAK_BLOCK, block // PEAK_BLOCK * PEAK_BLOCK)  # whole peak blocks, so peak indices are global
    starts = list(range(0, total, block))
    want_stems = bool(stem_sinks)
    timings: dict[str, float] = {}

    def progress(stage: str, k: int) -> None:
        if on_progress:
            on_progress(stage, min(total, (k + 1) * block), total)

    # 1. analysis pass
    t0 = time.perf_counter()
    # one thread per channel meters the mix (and the layers, for the stems' loudness) while this one generates
    meters = [LoudnessMeter(sample_rate, 1) for _ in range(2)]
    layer_meters = [[LoudnessMeter(sample_rate, 1) for _ in range(2)] for _ in mix.layers] if want_stems else []
    channel_peaks: list[list[np.ndarray]] = [[], []]
    keep_peaks = [lambda x, c=c: channel_peaks[c].append(_sub_peaks(x)) for c in range(2)]  # run in the workers
    workers = [_Worker(), _Worker()]
    try:
        for k, s in enumerate(starts):
            n = min(block, total - s)
            bufs = [np.zeros((2, n), dtype=np.float32) for _ in mix.layers] if want_stems else None
            out = mix.block(s, n, stems=bufs)
            for ch, worker in enumerate(workers):
                worker.submit([(meters[ch].add, out[ch]), (keep_peaks[ch], out[ch : ch + 1])]
                              + [(lm[ch].add, b[ch]) for lm, b in zip(layer_meters, bufs or ())])
            progress("analyse", k)
    finally:
        for worker in workers:
            worker.close()
    peaks = np.maximum(*(np.concatenate(p) for p in channel_peaks)) if starts else np.zeros(0)
    meter = LoudnessMeter.joined(meters)
    layer_meters = [LoudnessMeter.joined(lm) for lm in layer_meters]
    measured = meter.integrated_lufs
    timings["analyse_s"] = time.perf_counter() - t0
    if not math.isfinite(measured) or measured < -70.0:
        raise ValueError(f"the mix is silent (integrated loudness {measured:.1f} LUFS): nothing to normalize")
    gain_db = target_lufs - measured
    gain = db_to_gain(gain_db)

    # 2. true peak of the unlimited mix, exactly, oversampling few blocks
    t0 = time.perf_counter()

    def oversampled_block(k: int) -> np.ndarray:
        s = k * PEAK_BLOCK
        n = min(PEAK_BLOCK, total - s)
        ctx = 64
        ext = mix.block(s - ctx, n + 2 * ctx)
        return _oversampled_abs_peaks(ext)[ctx : ctx + n]

    ceiling = db_to_gain(ceiling_dbtp)
    # the limiter is needed only if some block's true peak, at this gain, passes the ceiling
    decision = true_peak_search(peaks, oversampled_block, decide_at=ceiling / gain)
    limited = decision.linear * gain > ceiling
    input_tp = decision if limited or decision.exact else true_peak_search(peaks, oversampled_block)
    timings["true_peak_s"] = time.perf_counter() - t0
    limiter = _Limiter(mix, sample_rate, ceiling_dbtp - limiter_margin_db) if limited else None

    # 3. limiting costs loudness: measure what it cost and correct the gain (a pass or two suffice)
    if limiter is not None:
        t0 = time.perf_counter()
        for _ in range(4):
            check = LoudnessMeter(sample_rate, 2)
            for k, s in enumerate(starts):
                check.add(limiter.block(s, min(block, total - s), gain)[0])
                progress("limit", k)
            miss = target_lufs - check.integrated_lufs
            if abs(miss) <= 0.02:
                break
            gain_db += miss
            gain = db_to_gain(gain_db)
        timings["limit_s"] = time.perf_counter() - t0

    # 4. write pass
    t0 = time.perf_counter()
    if limiter is not None:
        limiter.reduction = 0.0  # report what the final pass did
    out_meter = LoudnessMeter(sample_rate, 2) if limiter is not None else None
    out_peaks: list[np.ndarray] = []
    worker = _Worker()
    try:
        for k, s in enumerate(starts):
            n = min(block, total - s)
            bufs = [np.zeros((2, n), dtype=np.float32) for _ in mix.layers] if want_stems else None
            if limiter is None:
                out = mix.block(s, n, stems=bufs)
                out *= np.float32(gain)
            else:
                out, _ = limiter.block(s, n, gain)
                if bufs is not None:
                    mix.block(s, n, stems=bufs)
            calls = [(sink, out) for sink in sinks] + ([(out_meter.add, out)] if out_meter is not None else [])
            for sink, b in zip(stem_sinks, bufs or ()):
                b *= gain
                np.clip(b, -1.0, 1.0, out=b)
                calls.append((sink, b))
            worker.submit(calls)
            out_peaks.append(_sub_peaks(out))
            progress("write", k)
    finally:
        worker.close()
    out_peaks = np.concatenate(out_peaks) if out_peaks else np.zeros(0)
    sample_peak = float(out_peaks.max()) if len(out_peaks) else 0.0
    timings["write_s"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    if limiter is None:
        integrated = measured + gain_db  # the output is the measured mix times one gain
        tp = TruePeak(input_tp.linear * gain, input_tp.exact, input_tp.blocks_oversampled)
    else:
        integrated = out_meter.integrated_lufs

        def limited_block(k: int) -> np.ndarray:
            s = k * PEAK_BLOCK
            n = min(PEAK_BLOCK, total - s)
            ctx = 64
            ext = limiter.block(s - ctx, n + 2 * ctx, gain)[0]
            return _oversampled_abs_peaks(ext)[ctx : ctx + n]

        tp = true_peak_search(out_peaks, limited_block)
    timings["final_true_peak_s"] = time.perf_counter() - t0
    layer_lufs = {name: lm.integrated_lufs + gain_db for name, lm in zip(layer_names, layer_meters)}
    return MasterReport(measured, gain_db, integrated, _db(sample_peak), _db(tp.linear), tp.exact,
                        limiter.reduction if limiter else 0.0, limited, layer_lufs, timings)

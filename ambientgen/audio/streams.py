"""Layer streams: any stretch of a layer, or of the mix, generated on demand from what was rendered.

Nothing here holds the whole track: a layer is a :class:`LayerStream` that can
produce any stretch ``[start, start + n)`` of its placed stereo signal (from its
pool of tiles and its arrangement, its event variations and schedule, or a
short rendered stream), so peak memory depends on the pool, not on the
duration. :class:`Mix` sums the layers and applies the master fades;
:mod:`ambientgen.output.master` masters and writes it.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from .arrange import Arrangement, EventTime
from .bands import band_power, log_bin_edges
from .placement import Placed, db_to_gain, pan_gains
from .stitch import (
    correlation,
    envelope_spans,
    equal_power_fades,
    fade_norm,
    level_envelope,
    return_ramp,
    seam_gains,
)

POWER_FRAME = 1024  # frame of the tile power track the level-matched joins read


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


def _frames(tile: np.ndarray) -> np.ndarray:
    """A tile ``(n,)`` or ``(channels, n)`` as ``(channels, frames, POWER_FRAME)`` float64 frames."""
    tile = np.atleast_2d(tile)
    frames = tile.shape[-1] // POWER_FRAME
    return tile[:, : frames * POWER_FRAME].reshape(tile.shape[0], frames, POWER_FRAME).astype(np.float64)


def _stretch(track: np.ndarray, start: int, n: int) -> np.ndarray:
    """The frames of a per-frame track covering samples ``[start, start + n)`` (at least one)."""
    lo = start // POWER_FRAME
    return track[lo : max(lo + 1, (start + n) // POWER_FRAME)]


def tile_power(tile: np.ndarray) -> np.ndarray:
    """Mean power (over channels) of each :data:`POWER_FRAME`-sample frame of a tile ``(n,)`` or ``(channels, n)``:
    what the level-matched joins between excerpts read, so an hour's seams cost milliseconds."""
    return np.mean(_frames(tile) ** 2, axis=(0, 2))


def tile_colour(tile: np.ndarray, bands: int = 16) -> np.ndarray:
    """Per :data:`POWER_FRAME` frame of a tile (channels averaged): power in ``bands`` log-spaced bands."""
    return band_power(_frames(tile).mean(axis=0), log_bin_edges(POWER_FRAME // 2 + 1, bands))


class ColourCost:
    """How different two tiles sound over a fade of ``overlap`` samples, level aside: the RMS over bands of the
    difference of their mean log band powers, each minus its mean (level matching takes care of level)."""

    def __init__(self, colours: list[np.ndarray], overlap: int):
        self.colours, self.overlap = colours, overlap

    def _shape(self, tile: int, at: int) -> np.ndarray | None:
        seg = _stretch(self.colours[tile], at, self.overlap)
        if not len(seg):
            return None
        db = 10 * np.log10(seg.mean(axis=0) + 1e-12)
        return db - db.mean()

    def __call__(self, tile_out: int, out_at: int, tile_in: int, in_at: int) -> float:
        a, b = self._shape(tile_out, out_at), self._shape(tile_in, in_at)
        return 0.0 if a is None or b is None else float(np.sqrt(np.mean((a - b) ** 2)))


def _mean_power(power: np.ndarray, start: int, n: int) -> float:
    seg = _stretch(power, start, n)
    return float(seg.mean()) if len(seg) else 0.0


@dataclass
class PoolStream:
    """A bed layer played from its pool of tiles by an :class:`~ambientgen.audio.arrange.Arrangement`.

    ``tiles`` are placed stereo ``(2, tile_length)`` tiles (gain, pan and width
    already applied). Each excerpt fades into the next over the whole
    ``overlap``, level-matched (:mod:`ambientgen.audio.stitch`): both excerpts meet at
    their mean level across the fade and return to their own over a few
    seconds. On a loop the last excerpt fades into the first across the loop point.
    ``power`` (per tile, from :func:`tile_power`) enables the level matching.
    """

    name: str
    tiles: list[np.ndarray]
    arrangement: Arrangement
    overlap: int
    sample_rate: int
    power: list[np.ndarray] | None = None
    animation: Animation | None = None
    segments: list[tuple[int, int, int, int, int, int, int]] = field(init=False, repr=False)
    seams: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        arr, places, fade = self.arrangement, self.arrangement.placements, self.overlap
        n, total = len(places), arr.total
        # seam i (before placement i; i == n is the loop point): its gains (outgoing, incoming)
        gains: list[tuple[float, float] | None] = [None] * (n + 1)
        rhos = [0.0] * (n + 1)  # the two pieces' correlation over each fade (see ambientgen.audio.stitch.fade_norm)
        for i in range(n + 1):
            if (i == 0 or i == n) and not arr.loop:
                continue
            prev, cur = places[i - 1], places[i % n]
            if self.power is not None and fade:
                gains[i] = seam_gains(_mean_power(self.power[prev.tile], prev.offset + prev.length, fade),
                                      _mean_power(self.power[cur.tile], cur.offset, fade))
            else:
                gains[i] = (0.0, 0.0)
            if fade:
                out_at = prev.offset + prev.length
                rhos[i] = correlation(self.tiles[prev.tile][:, out_at : out_at + fade],
                                      self.tiles[cur.tile][:, cur.offset : cur.offset + fade])
        if arr.loop:
            gains[0], rhos[0] = gains[n], rhos[n]
        # per placement: (length incl. fades, head, tail, gain in, gain out, ramp, correlation in, correlation out)
        self.pieces = []
        # segments: (t0, t1, tile, source offset: source = t + offset, kind 0 solo / 1 in / 2 out, fade origin,
        #            piece, piece origin: piece sample = t - piece origin)
        segs = []
        for i, p in enumerate(places):
            so = p.offset - p.start
            head = fade if gains[i] is not None else 0
            tail = fade if gains[i + 1] is not None else 0
            begin, end = p.start, p.start + p.length  # the fade in starts at begin, the fade out at end
            self.pieces.append((end + tail - begin, head, tail, gains[i][1] if head else 0.0,
                                gains[i + 1][0] if tail else 0.0, return_ramp(p.length - head, self.sample_rate),
                                rhos[i], rhos[i + 1]))
            if head:
                segs.append((begin, begin + fade, p.tile, so, 1, begin, i, begin))
            segs.append((begin + head, end if tail else total, p.tile, so, 0, 0, i, begin))
            if tail:
                segs.append((end, end + fade, p.tile, so, 2, end, i, begin))
                self.seams.append((end + fade // 2) % total)
        wrapped = []
        for t0, t1, tile, so, kind, origin, piece, p0 in segs:
            if t0 < total:
                wrapped.append((t0, min(t1, total), tile, so, kind, origin, piece, p0))
            if arr.loop and t1 > total:  # past the loop point: wraps to the start
                wrapped.append((max(t0, total) - total, t1 - total, tile, so + total, kind, origin - total, piece,
                                p0 - total))
        self.segments = sorted(w for w in wrapped if w[1] > w[0])
        self.seams.sort()
        self._starts = [s[0] for s in self.segments]
        self._max_len = max((s[1] - s[0] for s in self.segments), default=0)
        self._fade_in, self._fade_out = equal_power_fades(fade) if fade else (None, None)

    def add_to(self, out: np.ndarray, start: int) -> None:
        n = out.shape[1]
        target = out if self.animation is None else np.zeros_like(out)
        i = max(0, bisect.bisect_left(self._starts, start - self._max_len))
        while i < len(self.segments) and self.segments[i][0] < start + n:
            a, b, tile, s0, kind, origin, piece, p0 = self.segments[i]
            i += 1
            lo, hi = max(a, start), min(b, start + n)
            if lo >= hi:
                continue
            src = self.tiles[tile][:, s0 + lo : s0 + hi]
            length, head, tail, g_in, g_out, ramp, rho_in, rho_out = self.pieces[piece]
            if (g_in or g_out) and any(a < hi - p0 and b > lo - p0 for a, b in envelope_spans(
                    length, head=head, tail=tail, gain_in_db=g_in, gain_out_db=g_out, ramp=ramp)):
                src = src * level_envelope(length, head=head, tail=tail, gain_in_db=g_in, gain_out_db=g_out,
                                           ramp=ramp, offset=lo - p0, count=hi - lo)
            if kind == 0:
                target[:, lo - start : hi - start] += src
            else:
                k0, k1 = lo - origin, hi - origin
                env = (self._fade_in if kind == 1 else self._fade_out)[k0:k1]
                rho = rho_in if kind == 1 else rho_out
                if rho:
                    env = env / fade_norm(self._fade_in[k0:k1], self._fade_out[k0:k1], rho)
                target[:, lo - start : hi - start] += src * env
        if self.animation is not None:
            out += target * self.animation.gains(start, n)


def trim_event(clip: np.ndarray, sample_rate: int, *, pre_s: float = 0.5, floor_db: float = 35.0,
               fade_s: float = 0.05) -> np.ndarray:
    """The event inside a rendered clip ``(channels, n)``: from just before its loudest moment until it decays
    ``floor_db`` under it.

    Levels are 50 ms RMS frames of the channels' mean; the clip is cut ``pre_s`` before the first
    frame within 20 dB of the peak and after the last frame above the floor,
    with short raised-cosine fades so the cut never clicks.
    """
    clip = np.atleast_2d(clip)
    mono = clip[0] if clip.shape[0] == 1 else clip.mean(axis=0)
    hop = max(1, round(0.05 * sample_rate))
    frames = len(mono) // hop
    if frames < 2:
        return clip.astype(np.float32)
    rms = np.sqrt(np.mean(mono[: frames * hop].reshape(frames, hop).astype(np.float64) ** 2, axis=1)) + 1e-12
    level = 20 * np.log10(rms / rms.max())
    first = int(np.argmax(level > -20))
    loud = np.nonzero(level > -floor_db)[0]
    last = int(loud[-1]) + 1 if len(loud) else frames
    a = max(0, first * hop - round(pre_s * sample_rate))
    b = min(len(mono), last * hop)
    return edge_fades(clip[:, a:b], sample_rate, fade_in_s=fade_s, fade_out_s=fade_s)


def edge_fades(clip: np.ndarray, sample_rate: int, *, fade_in_s: float, fade_out_s: float) -> np.ndarray:
    """A float32 copy of ``clip`` ``(channels, n)`` with raised-cosine fades at both ends (each at most half of it),
    so a cut never clicks."""
    out = clip.astype(np.float32, copy=True)
    for seconds, head in ((fade_in_s, True), (fade_out_s, False)):
        f = min(round(seconds * sample_rate), out.shape[1] // 2)
        if f:
            ramp = (0.5 - 0.5 * np.cos(np.linspace(0, np.pi, f))).astype(np.float32)
            if head:
                out[:, :f] *= ramp
            else:
                out[:, -f:] *= ramp[::-1]
    return out


@dataclass
class EventStream:
    """Sparse events: short variations ``(channels, n)`` placed at scheduled times with their own gain and pan.

    A mono variation is panned; a stereo one keeps its channels under the same balance law.
    """

    name: str
    variations: list[np.ndarray]
    events: list[EventTime]
    gain_db: float
    total: int
    loop: bool
    animation: Animation | None = None
    placed: list[tuple[int, int, int, float, float]] = field(init=False, repr=False)  # t0, t1, var, gl, gr

    def __post_init__(self) -> None:
        self.variations = [np.atleast_2d(v) for v in self.variations]  # (n,) is mono
        placed = []
        for e in self.events:
            left, right = pan_gains(e.pan)
            g = db_to_gain(self.gain_db + e.gain_db)
            length = self.variations[e.variation].shape[-1]
            for shift in (0, -self.total) if self.loop else (0,):
                t0 = e.start + shift
                if t0 + length > 0 and t0 < self.total:
                    placed.append((t0, t0 + length, e.variation, g * left, g * right))
        self.placed = sorted(placed)
        self._starts = np.array([p[0] for p in self.placed], dtype=np.int64)
        self._longest = max((p[1] - p[0] for p in self.placed), default=0)

    def add_to(self, out: np.ndarray, start: int) -> None:
        n = out.shape[1]
        target = out if self.animation is None else np.zeros_like(out)
        # only the events that can sound in the block (sorted by start; none is longer than the longest)
        first = int(np.searchsorted(self._starts, start - self._longest, side="left"))
        last = int(np.searchsorted(self._starts, start + n, side="left"))
        for t0, t1, var, gl, gr in self.placed[first:last]:
            lo, hi = max(t0, start), min(t1, start + n)
            if lo >= hi:
                continue
            clip = self.variations[var][:, lo - t0 : hi - t0]
            target[0, lo - start : hi - start] += clip[0] * gl
            target[1, lo - start : hi - start] += clip[-1] * gr
        if self.animation is not None:
            out += target * self.animation.gains(start, n)


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

    def hold_sides(self, budget: int) -> int:
        """Hold the decorrelated sides of the layers placed on demand (:meth:`Placed.hold_side`), first to last, as
        long as they fit in ``budget`` bytes; a ``budget`` of 0 lets them all go. Returns the bytes held."""
        held = 0
        for layer in self.layers:
            stereo = getattr(layer, "stereo", None)
            if isinstance(stereo, Placed) and stereo.side_bytes:
                keep = 0 < stereo.side_bytes <= budget - held
                stereo.hold_side(keep)
                held += stereo.side_bytes if keep else 0
        return held

    def envelope(self, start: int, n: int) -> np.ndarray | None:
        """The master fade gains over ``[start, start + n)``, or None where there is no fade."""
        fi, fo, total = self.fade_in, self.fade_out, self.total
        if not ((fi and start < fi) or (fo and start + n > total - fo)):
            return None
        t = np.arange(start, start + n)
        env = np.ones(n, dtype=np.float32)
        for x in ([np.interp(t, [0, fi], [0.0, 1.0])] if fi else []) + \
                 ([np.interp(t, [total - fo, total], [1.0, 0.0])] if fo else []):
            env *= (x**2 * (3 - 2 * x)).astype(np.float32)  # smoothstep: no corner at either end
        return env

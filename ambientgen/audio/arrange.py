"""Arranging a bounded pool of rendered material into any duration, and scheduling sparse events.

A bed layer's pool holds a few dozen tiles (one or a few chunks each). The
arrangement plays excerpts of them one after another (each excerpt of a
random length and in-point, so seams fall on no common grid and no two layers
share a cycle), under two rules: a tile never recurs within ``min_spacing``
placements of itself, and no ordered pair of tiles (a followed by b) occurs
twice. For a loop, both rules hold around the loop point as well.

Events are scheduled on the circle of the loop: the waits between event
starts lie in ``[min_wait, max_wait]`` everywhere, including the wait that
crosses the loop point.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np


def bounded_partition(total: float, n: int, lo: float, hi: float, rng: np.random.Generator) -> np.ndarray:
    """``n`` random values in ``[lo, hi]`` that sum to ``total`` (which must lie in ``[n lo, n hi]``).

    Values start uniform in ``[lo, hi]`` and are scaled towards the sum, those
    that would leave the range being clamped (water-filling), so the result is
    as random as the constraint allows.
    """
    if n <= 0:
        raise ValueError("bounded_partition needs n >= 1")
    if not n * lo - 1e-9 <= total <= n * hi + 1e-9:
        raise ValueError(f"cannot split {total:g} into {n} values in [{lo:g}, {hi:g}]")
    span = hi - lo
    if span <= 0:
        return np.full(n, total / n)
    u = rng.uniform(0.0, 1.0, n)
    want = (total - n * lo) / span  # the sum the u's must reach, each in [0, 1]
    for _ in range(100):
        gap = want - u.sum()
        if abs(gap) < 1e-12:
            break
        free = (u < 1.0) if gap > 0 else (u > 0.0)
        if not free.any():
            break
        if gap > 0:  # scale the distances to 1 down, so every free value moves up in proportion
            room = (1.0 - u)[free]
            u[free] = 1.0 - room * max(0.0, 1.0 - gap / room.sum())
        else:
            u[free] = u[free] * max(0.0, 1.0 + gap / u[free].sum())
        np.clip(u, 0.0, 1.0, out=u)
    return lo + span * u


@dataclass(frozen=True)
class Placement:
    """One excerpt of a tile on the timeline: ``[start, start + length)`` plus the overlap after it."""

    tile: int
    start: int  # timeline sample where this excerpt begins (its seam with the previous one)
    offset: int  # where in the tile the excerpt begins
    length: int  # samples until the next excerpt begins

    def to_dict(self, sample_rate: int) -> dict:
        d = asdict(self)
        return {"tile": d["tile"], "start_s": round(self.start / sample_rate, 4),
                "offset_s": round(self.offset / sample_rate, 4), "length_s": round(self.length / sample_rate, 4)}


@dataclass(frozen=True)
class Arrangement:
    placements: tuple[Placement, ...]
    total: int
    loop: bool
    min_spacing: int
    pairs_unique: bool  # False when the pool is too small for the duration (said in the manifest)
    spacing_met: bool  # both the placement spacing and the time gap asked for
    min_gap: int = 0  # samples between two starts of the same tile (the gap used)

    @property
    def sequence(self) -> list[int]:
        return [p.tile for p in self.placements]


def sequence_problems(seq: list[int], *, min_spacing: int, loop: bool) -> tuple[int, int]:
    """(spacing violations, repeated ordered pairs) of a tile sequence, circular when ``loop``."""
    n = len(seq)
    spacing = 0
    for i in range(n):
        for d in range(1, min_spacing + 1):
            j = i + d
            if j >= n:
                if not loop or n <= d:
                    break
                j -= n
                if j >= i:
                    break
            if seq[i] == seq[j]:
                spacing += 1
    pairs = [(seq[i], seq[i + 1]) for i in range(n - 1)] + ([(seq[-1], seq[0])] if loop and n > 1 else [])
    return spacing, len(pairs) - len(set(pairs))


def _try_sequence(n: int, tiles: int, spacing: int, unique_pairs: bool, loop: bool, rng: np.random.Generator,
                  starts: list[int] | None = None, total: int = 0, min_gap: int = 0) -> list[int] | None:
    seq: list[int] = []
    used_pairs: set[tuple[int, int]] = set()
    counts = np.zeros(tiles)
    last_start: dict[int, int] = {}
    first_start: dict[int, int] = {}
    for i in range(n):
        banned = set(seq[max(0, i - spacing) : i])
        if loop:  # the end of a loop is followed by its start
            banned |= set(seq[: max(0, spacing - (n - i) + 1)])
        if starts is not None and min_gap:
            now = starts[i]
            banned |= {t for t, at in last_start.items() if now - at < min_gap}
            if loop:
                banned |= {t for t, at in first_start.items() if total - now + at < min_gap}
        candidates = [t for t in range(tiles) if t not in banned]
        if unique_pairs and seq:
            candidates = [t for t in candidates if (seq[-1], t) not in used_pairs]
            if loop and i == n - 1:
                candidates = [t for t in candidates if (t, seq[0]) not in used_pairs and (t, seq[0]) != (seq[-1], t)]
        if not candidates:
            return None
        # least-used tiles first (every tile gets its turn), random among equals
        least = counts[candidates].min()
        pool = [t for t in candidates if counts[t] <= least + 1]
        pick = int(pool[rng.integers(len(pool))])
        if seq:
            used_pairs.add((seq[-1], pick))
        seq.append(pick)
        counts[pick] += 1
        if starts is not None:
            last_start[pick] = starts[i]
            first_start.setdefault(pick, starts[i])
    return seq


def tile_sequence(n: int, tiles: int, *, min_spacing: int, loop: bool, rng: np.random.Generator,
                  attempts: int = 60, starts: list[int] | None = None, total: int = 0,
                  min_gap: int = 0) -> tuple[list[int], int, bool, int]:
    """A sequence of ``n`` tile indices under the spacing, time-gap and unique-pair rules.

    A tile recurs no sooner than ``min_spacing`` placements and (with
    ``starts``) ``min_gap`` samples after its previous start. Returns (sequence,
    spacing used, pairs unique, gap used). When the pool is too small for the
    rules, the pair rule is dropped first, then spacing and gap shrink together.
    """
    spacing = max(0, min(min_spacing, (tiles - 1) // 2 if loop else tiles - 1))
    if tiles == 1:
        return [0] * n, 0, n <= 1, 0
    for unique in (True, False):
        if unique and n > tiles * (tiles - 1):
            continue
        for s in range(spacing, -1, -1):
            for gap in dict.fromkeys(min_gap * k // 4 for k in (4, 3, 2, 1, 0)):  # the time gap gives way first
                for _ in range(attempts if gap == min_gap or gap == 0 else 10):
                    seq = _try_sequence(n, tiles, s, unique, loop, rng, starts, total, gap)
                    if seq is not None:
                        return seq, s, unique, gap
    raise AssertionError("a tile sequence without the pair rule and with spacing 0 always exists")


SeamCost = Callable[[int, int, int, int], float]
"""``cost(tile_out, out_at, tile_in, in_at)``: how audible a fade from ``tile_out`` (from sample ``out_at``) into
``tile_in`` (from sample ``in_at``) would be."""


def arrange(*, tiles: int, tile_length: int, overlap: int, total: int, loop: bool, rng: np.random.Generator,
            min_spacing: int | None = None, min_gap: int = 0, min_fraction: float = 0.55,
            seam_cost: SeamCost | None = None, in_points: int = 8) -> Arrangement:
    """Excerpts of ``tiles`` tiles (each ``tile_length`` samples, joined over ``overlap`` samples) for ``total``.

    Each excerpt plays ``length`` samples in ``[min_fraction, 1] x usable`` (usable =
    ``tile_length - overlap``) from a random in-point; lengths sum to ``total``
    exactly. ``min_spacing`` defaults to a third of the pool; ``min_gap`` (samples)
    is the least time between two starts of the same tile (the check command
    fails a stretch of 5 s or more recurring within 60 s; the engine asks 90 s).
    With ``seam_cost``, each excerpt after the first starts at the best of
    ``in_points`` random in-points: where its fade-in agrees best with the
    previous excerpt's fade-out.
    """
    usable = tile_length - overlap
    if usable <= 0:
        raise ValueError("tiles must be longer than the overlap")
    lo = max(1, int(usable * min_fraction))
    n = max(1, int(np.ceil(total / (usable * (1 + min_fraction) / 2))))
    while n * lo > total and n > 1:
        n -= 1
    while n * usable < total:
        n += 1
    lo_n = min(lo, total / n)
    lengths = bounded_partition(float(total), n, lo_n, float(usable), rng)
    ints = np.floor(lengths).astype(np.int64)
    ints[: total - int(ints.sum())] += 1  # exact integer total
    if min_spacing is None:
        min_spacing = max(1, tiles // 3)
    starts = np.concatenate([[0], np.cumsum(ints)[:-1]]).astype(np.int64).tolist()
    seq, spacing, unique, gap = tile_sequence(n, tiles, min_spacing=min_spacing, loop=loop, rng=rng, starts=starts,
                                              total=total, min_gap=min_gap)
    placements = []
    start = 0
    for tile, length in zip(seq, ints):
        length = int(length)
        if seam_cost is not None and placements:
            prev = placements[-1]
            options = rng.integers(0, usable - length + 1, size=in_points)
            offset = int(min(options, key=lambda o: seam_cost(prev.tile, prev.offset + prev.length, tile, int(o))))
        else:
            offset = int(rng.integers(0, usable - length + 1))
        placements.append(Placement(tile, start, offset, length))
        start += length
    return Arrangement(tuple(placements), total, loop, spacing, unique, spacing >= min_spacing and gap >= min_gap,
                       gap)


@dataclass(frozen=True)
class EventTime:
    """One event: which variation, when it starts (sample), its gain (dB) and pan."""

    variation: int
    start: int
    gain_db: float
    pan: float

    def to_dict(self, sample_rate: int) -> dict:
        return {"variation": self.variation, "start_s": round(self.start / sample_rate, 4),
                "gain_db": round(self.gain_db, 2), "pan": round(self.pan, 3)}


def schedule_events(*, total: int, sample_rate: int, min_wait_s: float, max_wait_s: float, variations: int,
                    loop: bool, rng: np.random.Generator, pan: float = 0.0, pan_jitter: float = 0.0,
                    gain_jitter_db: float = 0.0, lengths: list[int] | None = None) -> tuple[list[EventTime], bool]:
    """Event starts whose successive waits lie in ``[min_wait_s, max_wait_s]``; returns (events, waits met).

    On a loop the wait from the last event round to the first also lies in the
    range (events near the end spill over the loop point and are wrapped, never
    cut). Without a loop the first event comes after a wait from the start, and
    no event starts within ``min_wait_s`` of the end. The same variation never
    plays twice in a row (when there are two or more); given the variations' ``lengths`` (samples), one is not
    played again while it, or its last playing, is within :data:`~ambientgen.audio.repetition.REPEAT_WITHIN_S`
    of the new start, when another variation is free (a recurrence check would hear it as a replay).
    """
    from .repetition import REPEAT_WITHIN_S

    recent = round(REPEAT_WITHIN_S * sample_rate)
    lo, hi = round(min_wait_s * sample_rate), round(max_wait_s * sample_rate)
    if loop:
        n = max(1, round(total / ((lo + hi) / 2)))
        n = min(max(n, -(-total // hi)), max(1, total // max(lo, 1)))
        met = n * lo <= total <= n * hi
        waits = bounded_partition(float(total), n, min(lo, total / n), max(hi, total / n), rng)
        first = int(rng.integers(0, max(1, int(waits[-1]))))  # the last start stays before the loop point
    else:
        waits, t = [], 0.0
        while True:
            w = float(rng.uniform(lo, hi))
            if t + w > total - lo:
                break
            waits.append(w)
            t += w
        first, met = 0, True
        waits = np.array(waits)
    if loop:
        starts = (first + np.concatenate([[0.0], np.cumsum(waits)[:-1]])).round().astype(np.int64)
    else:
        starts = np.cumsum(waits).round().astype(np.int64) if len(waits) else np.zeros(0, dtype=np.int64)
    events, previous = [], -1
    for i, s in enumerate(starts):
        banned = {previous}
        if lengths is not None:
            heard = set()
            for e in reversed(events):  # in time order: only the last minute or so can be near
                if s - e.start >= recent + max(lengths):
                    break
                if s - (e.start + lengths[e.variation]) < recent:
                    heard.add(e.variation)
            if len(heard | banned) < variations:
                banned |= heard
        if loop and i == len(starts) - 1 and i > 0:
            banned.add(events[0].variation)  # the last event is followed by the first, round the loop
        allowed = [v for v in range(variations) if v not in banned] or list(range(variations))
        v = allowed[int(rng.integers(len(allowed)))]
        previous = v
        g = float(rng.uniform(-gain_jitter_db, gain_jitter_db)) if gain_jitter_db else 0.0
        p = float(np.clip(pan + (rng.uniform(-pan_jitter, pan_jitter) if pan_jitter else 0.0), -1.0, 1.0))
        events.append(EventTime(v, int(s) % total if loop else int(s), g, p))
    return events, bool(met)


def event_waits(events: list[EventTime], total: int, *, loop: bool) -> list[int]:
    """Waits between successive event starts (and, on a loop, from the last round to the first)."""
    starts = sorted(e.start for e in events)
    waits = list(np.diff(starts))
    if loop and starts:
        waits.append(starts[0] + total - starts[-1])
    return [int(w) for w in waits]

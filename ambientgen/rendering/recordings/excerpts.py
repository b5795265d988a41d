"""Excerpts of recordings arranged over any duration (the bed of a ``source:`` layer): chosen one after another on
the source itself, so that no stretch of the recording plays again soon, no stretch of audio is replayed, and a
loop's end flows into its start (:func:`arrange_excerpts`); and how soon the source did recur
(:func:`source_recurrence`), measured from the placements."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...audio.arrange import Arrangement, Placement, SeamCost

LOOP_LEVEL_WEIGHT = 2.0  # of the loop point's level step (dB), over the half every join's cost has


@dataclass(frozen=True)
class Recurrence:
    """How soon the same stretch of source material plays again: the shortest interval (samples) between two plays
    of any ``bin``-sample stretch of it (circular on a loop), and where; ``None`` when nothing plays twice."""

    min_interval: int | None
    at_tile: int | None = None
    at_offset: int | None = None


def source_recurrence(placements: tuple[Placement, ...] | list[Placement], *, overlap: int, total: int, loop: bool,
                      bin: int) -> Recurrence:
    """The shortest interval between two plays of the same source stretch, from the placements themselves.

    Each placement plays its tile from ``offset`` for ``length + overlap`` samples
    (its fade-out included); the source is divided into ``bin``-sample stretches
    and every play of every stretch is timed, so excerpts cut from overlapping
    parts of a recording count, not only the same tile index.
    """
    plays: dict[tuple[int, int], list[int]] = {}
    for p in placements:
        first, last = p.offset // bin, (p.offset + p.length + overlap - 1) // bin
        for b in range(first, last + 1):
            plays.setdefault((p.tile, b), []).append(p.start + b * bin - p.offset)
    best = Recurrence(None)
    for (tile, b), times in plays.items():
        if len(times) < 2:
            continue
        times.sort()
        gaps = np.diff(times)
        gap = int(gaps.min()) if len(gaps) else None
        if loop:
            wrap = times[0] + total - times[-1]
            if wrap > 0:  # 0: the same moment of the loop (a fade across the loop point heard from both sides)
                gap = wrap if gap is None else min(gap, wrap)
        if gap is not None and (best.min_interval is None or gap < best.min_interval):
            best = Recurrence(gap, tile, b * bin)
    return best


def _replayed(placed: np.ndarray, count: int, tile: int, start: int, offset: int, length: int, *, overlap: int,
              tol: int, window: int, enough: int) -> int:
    """How long a stretch of audio ending with a new excerpt (``tile`` from ``offset``, ``length`` long, at time
    ``start``) would replay, sample for sample, audio played less than ``window`` before it.

    ``placed`` holds the ``count`` excerpts so far as rows (tile, start, offset, length). An excerpt plays source
    ``offset + (time - start)``; two excerpts of one tile play the same audio ``lag`` apart exactly when
    ``lag = (start - offset) - (start' - offset')``, over the time both cover. For every lag at which the new
    excerpt replays an earlier one, the replayed stretch is followed back through the excerpts before the new one
    for as long as each also replays one at that lag (within ``tol``): a chain of short excerpts that
    comes back in the same order is as audible as one long one. Returns the longest such stretch (0: none; the
    walk stops past ``enough``).
    """
    if not count:
        return 0
    rows = placed[:count]
    anchors = rows[:, 1] - rows[:, 2]
    recent = rows[:, 1] + rows[:, 3] + overlap > start - window
    end = start + length + overlap
    best = 0
    for i in np.flatnonzero(recent & (rows[:, 0] == tile)):
        lag = int((start - offset) - anchors[i])
        if not 0 < lag < window:
            continue
        begins = max(start, rows[i, 1] + lag)
        agreed = min(end, rows[i, 1] + rows[i, 3] + overlap + lag) - begins
        if agreed <= 0:
            continue
        k, edge = count - 1, start  # walk back: does the excerpt before also replay at this lag, up to here?
        # (a replay that starts within a fade continues one that ends there: both excerpts sound in the fade)
        while begins <= edge + overlap and k >= 0 and agreed < enough:
            tk, sk, ok_, _ = rows[k]
            match = np.flatnonzero((rows[:, 0] == tk) & (np.abs(anchors - (sk - ok_ - lag)) < tol)
                                   & (rows[:, 1] + rows[:, 3] + overlap + lag >= edge))
            if not len(match):
                break
            begins = max(int(sk), int((rows[match, 1] + lag).min()))
            agreed += max(0, edge - begins)
            edge, k = int(sk), k - 1
        best = max(best, int(agreed))
    return best


def _starts(tiles: list[int], cut_points: list[np.ndarray], last: list[np.ndarray], first: list[np.ndarray], *,
            t: int, total: int, loop: bool, bin: int, overlap: int, span: int, min_gap: int, aim: int,
            rng: np.random.Generator, count: int, future: list[np.ndarray] | None = None) -> list[tuple[int, int]]:
    """Up to ``count`` candidate (tile, start) pairs for an excerpt of at least ``span`` samples at time ``t``.

    Every cut point's gap (how long since its material last played, and on a loop
    until it first plays round the loop point, and from when it is kept to play in
    ``future``) is estimated at once with a running
    minimum over the bins it would cover; candidates are drawn from the points that
    keep ``aim``, then from those that keep ``min_gap``, then the points that come
    closest, ``count`` in all (few free points must not leave too few to choose
    from by the other rules). Drawing
    from every feasible point, not from random ones, keeps the free stretches of
    a recording from being missed as the recording fills up.
    """
    from scipy.ndimage import minimum_filter1d

    pairs, gaps = [], []
    for tile, n in enumerate(tiles):
        room = n - overlap
        points = cut_points[tile]
        points = points[points + span <= room] if len(points) else points
        if not len(points):
            if room - span < 0:
                continue
            points = np.arange(0, room - span + 1, bin)
        bins = np.arange(len(last[tile])) * bin
        w = max(1, -(-(span + overlap) // bin) + 1)
        h = minimum_filter1d(bins - last[tile], size=w, origin=-(w // 2), mode="nearest")
        gap = t - points + h[points // bin]
        if loop:
            f = np.where(np.isnan(first[tile]), np.inf, first[tile]) - bins
            gap = np.minimum(gap, total - t + points + minimum_filter1d(f, size=w, origin=-(w // 2),
                                                                        mode="nearest")[points // bin])
        if future is not None and np.any(~np.isnan(future[tile])):  # material kept for a later moment
            ahead = np.where(np.isnan(future[tile]), np.inf, future[tile]) - bins
            behind = bins - np.where(np.isnan(future[tile]), -np.inf, future[tile])
            gap = np.minimum(gap, minimum_filter1d(ahead, size=w, origin=-(w // 2), mode="nearest")[points // bin]
                             - t + points)
            if loop:
                gap = np.minimum(gap, minimum_filter1d(behind, size=w, origin=-(w // 2),
                                                       mode="nearest")[points // bin] + t - points + total)
        pairs += [(tile, int(p)) for p in points]
        gaps.append(gap)
    if not pairs:
        return []
    gap = np.concatenate(gaps)
    picked: list[int] = []
    for need in dict.fromkeys((aim, min_gap)):  # random among those that keep aim, then min_gap ...
        ok = np.setdiff1d(np.flatnonzero(gap >= need), picked)
        picked += rng.choice(ok, size=min(count - len(picked), len(ok)), replace=False).tolist()
    rest = [i for i in np.argsort(-gap, kind="stable")[: 2 * count] if i not in set(picked)]
    picked += rest[: count - len(picked)]  # ... then those that come closest: always ``count`` to choose from
    return [pairs[i] for i in picked]


def arrange_excerpts(*, tiles: list[int], cut_points: list[np.ndarray], overlap: int, total: int, loop: bool,
                     rng: np.random.Generator, lengths: tuple[int, int], min_gap: int, bin: int,
                     seam_cost: SeamCost | None = None, options: int = 64, join_window: int | None = None,
                     join_limit: int | None = None, aim: int | None = None, short: tuple[int, int] | None = None,
                     continuous_loop: bool = False, first_points: list[np.ndarray] | None = None
                     ) -> Arrangement:
    """Excerpts of recordings (tiles of any length) for ``total`` samples, cut at chosen points, so that no
    stretch of source plays again within ``min_gap`` samples where the material allows.

    ``cut_points[t]`` are the sample positions of tile ``t`` where a fade may
    start (steady moments: no onset, no level movement within the fade). Each
    excerpt starts at one and, where it can, ends at one; its length lies in
    ``lengths`` (the last one takes what remains). Excerpts are chosen one after
    another: of ``options`` random candidates, those that keep every ``bin`` of
    their source at least ``min_gap`` from its previous play (and, on a loop, from
    its first play round the loop point) are preferred, then those that keep
    ``aim`` (a longer gap asked of ample material: a recording played in a random
    order with only the rule's gap runs out of free stretches near a loop's end,
    where its first minutes must not come back either), then the one with the
    best fade (``seam_cost``) plus how much more its material has played than
    the average (so everything gets its turn, in no fixed order). When no
    candidate keeps the gap the one that comes closest is taken. An excerpt that
    would make a stretch of ``join_limit`` samples or more replay audio heard less
    than ``join_window`` before (default ``min_gap``; :func:`_replayed`: a chain of
    excerpts coming back in the same order counts) is taken only when nothing else
    fits: with excerpts shorter than the repetition the check listens for, nothing
    that long then comes back soon;
    :func:`source_recurrence` reports what was achieved. ``short`` = (window,
    length): where no candidate keeps ``window`` (the repetition a listener or
    ``check`` notices), an excerpt of ``length`` is played instead, too short to be
    heard coming back. ``continuous_loop``: a loop's last excerpt is the stretch of
    source just before the first one's, so the loop point is no join at all (the
    first excerpt starts at least ``lengths[1]`` into its tile to leave room, at one
    of ``first_points`` when given: the loop point lies there). On scarce material pass
    a ``min_gap`` the material can keep (a fixed order would keep a larger one, and
    be heard as a loop).
    """
    lo, hi = lengths
    if not 0 < lo <= hi:
        raise ValueError(f"excerpt lengths must satisfy 0 < lo <= hi, got {lengths}")
    last = [np.full(n // bin + 2, -np.inf) for n in tiles]
    first = [np.full(n // bin + 2, np.nan) for n in tiles]
    plays = [np.zeros(n // bin + 2) for n in tiles]
    future = [np.full(n // bin + 2, np.nan) for n in tiles]  # when kept material will play (the loop's end)
    placements: list[Placement] = []
    t, mean_plays, bins = 0, 0.0, sum(len(p) for p in plays)
    window = min_gap if join_window is None else join_window
    aim = max(min_gap, aim or 0)
    stutter = min(min_gap, hi + overlap)
    placed = np.zeros((total // lo + 2, 4), dtype=np.int64)  # (tile, start, offset, length) of each excerpt
    worst_gap = None
    while t < total:
        remaining = total - t
        if remaining <= hi:
            span = (remaining, remaining)
        else:
            span = (lo, min(hi, remaining - lo)) if remaining - lo >= lo else (remaining - lo, remaining - lo)
        closing = loop and remaining <= hi  # the last excerpt fades into the first too: look harder
        if closing and continuous_loop and placements and placements[0].offset >= remaining:
            head = placements[0]  # the source just before the first excerpt: it flows into it across the loop point
            offset = head.offset - remaining
            b0, b1 = offset // bin, (head.offset - 1) // bin  # its fade-out is the first excerpt's fade-in
            when = t + np.arange(b0, b1 + 1) * bin - offset
            wrap = first[head.tile][b0 : b1 + 1] + total - when
            wrap = np.where(np.isnan(wrap) | (wrap == 0), np.inf, wrap)  # 0: the loop's own start, the same moment
            gap = float(np.min(np.minimum(when - last[head.tile][b0 : b1 + 1], wrap)))
            if gap >= (min_gap if short else stutter / 2):  # only when that material has not played too recently
                worst_gap = gap if worst_gap is None else min(worst_gap, gap)
                placements.append(Placement(head.tile, t, offset, remaining))
                break
        points_now = cut_points
        if continuous_loop and loop and not placements:  # room before the first excerpt for the last one
            chosen = first_points if first_points is not None else cut_points
            points_now = [c[c >= hi] if len(c[c >= hi]) else d[d >= hi] if len(d[d >= hi]) else d
                          for c, d in zip(chosen, cut_points)]
        starts = _starts(tiles, points_now, last, first, t=t, total=total, loop=loop, bin=bin, overlap=overlap,
                         span=span[0], min_gap=min_gap, aim=aim, rng=rng, count=options * (4 if closing else 1),
                         future=future)
        if continuous_loop and loop and not placements:  # only starts with room before them (where there are any)
            starts = [(tile, offset) for tile, offset in starts if offset >= hi] or starts

        def evaluate(tile: int, offset: int, lengths: list[int]):
            # the longest of the lengths that keeps the gap (else the shortest, which comes closest)
            for length in lengths:
                b0, b1 = offset // bin, (offset + length + overlap - 1) // bin
                when = t + np.arange(b0, b1 + 1) * bin - offset
                gap = float(np.min(when - last[tile][b0 : b1 + 1]))
                if loop:
                    seen = first[tile][b0 : b1 + 1]
                    if np.any(~np.isnan(seen)):
                        gap = min(gap, float(np.nanmin(seen + total - when)))
                kept = future[tile][b0 : b1 + 1]
                if np.any(~np.isnan(kept)):  # material kept for the loop's last excerpt
                    gap = min(gap, float(np.nanmin(kept - when)), float(np.nanmin(when + total - kept)))
                if gap >= min_gap:
                    break
            # the source's own continuation is no join (a fade of a signal into itself, slightly shifted, combs)
            continues = bool(placements) and placements[-1].tile == tile and \
                abs(offset - (placements[-1].offset + placements[-1].length)) < overlap + bin
            cost = seam_cost(placements[-1].tile, placements[-1].offset + placements[-1].length, tile, offset) \
                if seam_cost is not None and placements else 0.0
            if loop and seam_cost is not None and placements and length == remaining:  # it fades into the first
                cost += seam_cost(tile, offset + length, placements[0].tile, placements[0].offset)
                step = getattr(seam_cost, "level_step", None)  # a check judges the loop point's level step alone
                if step is not None:
                    cost += LOOP_LEVEL_WEIGHT * step(tile, offset + length, placements[0].tile, placements[0].offset)
            spread = float(plays[tile][b0 : b1 + 1].mean()) - mean_plays  # played more than the rest: worse
            # worst of all a stutter (the same source again within one excerpt's span) or a continuation
            return (gap < stutter or continues, gap < min_gap, gap < aim, -min(gap, aim), cost + spread), tile, \
                offset, length, b0, b1, when, gap

        found_all = []
        for tile, offset in starts:
            points = cut_points[tile]
            if span[0] == span[1]:
                lengths = [span[0]]
            else:
                room = tiles[tile] - overlap  # an excerpt needs its fade-out after it
                ends = points[(points >= offset + span[0]) & (points <= min(offset + span[1], room))] - offset
                # a few lengths, the shortest always among them (the one the start was found free for)
                lengths = sorted({int(ends[0]), *rng.choice(ends, size=min(3, len(ends)), replace=False).tolist()},
                                 reverse=True) if len(ends) else [span[0]]
            found_all.append(evaluate(tile, offset, lengths))
        if not found_all:
            raise ValueError("no excerpt fits: every recording is shorter than one excerpt and its fade")
        found_all.sort(key=lambda c: c[0])
        if short and found_all[0][7] < short[0] and found_all[0][3] > short[1] and remaining - short[1] >= lo:
            # no long excerpt keeps the repetition window here: a short one, too short to be heard coming back
            found_all = sorted(found_all + [evaluate(tile, offset, [short[1]]) for tile, offset in starts
                                            if offset + short[1] + overlap <= tiles[tile]],
                               key=lambda c: (c[0][0], -min(c[7], short[0]), c[0][4]))
        # the best that replays nothing audible (a stretch of join_limit or more heard within join_window); checked
        # in order of preference, so only a few are measured; when every one replays, the best of them
        best = found_all[0] if join_limit is None else next(
            (c for c in found_all[: 2 * options] if not c[0][0] and
             _replayed(placed, len(placements), c[1], t, c[2], c[3], overlap=overlap, tol=bin, window=window,
                       enough=join_limit) < join_limit), found_all[0])
        key, tile, offset, length, b0, b1, when, _ = best
        worst_gap = best[7] if worst_gap is None else min(worst_gap, best[7])
        last[tile][b0 : b1 + 1] = when
        seen = first[tile][b0 : b1 + 1]
        first[tile][b0 : b1 + 1] = np.where(np.isnan(seen), when, seen)
        plays[tile][b0 : b1 + 1] += 1
        mean_plays = sum(float(p.sum()) for p in plays) / bins
        placed[len(placements)] = (tile, t, offset, length)
        placements.append(Placement(tile, t, offset, length))
        if continuous_loop and loop and len(placements) == 1 and offset >= hi:
            # keep the source just before the first excerpt for the last one (it plays source s at total - (o - s))
            k0, k1 = (offset - hi) // bin, (offset - 1) // bin
            future[tile][k0 : k1 + 1] = total - (offset - np.arange(k0, k1 + 1) * bin)
        t += length
    met = worst_gap is None or worst_gap >= min_gap
    return Arrangement(tuple(placements), total, loop, 0, True, bool(met), min_gap)

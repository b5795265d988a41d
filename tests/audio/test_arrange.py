from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ambientgen.audio.arrange import (
    arrange,
    bounded_partition,
    event_waits,
    schedule_events,
    sequence_problems,
    tile_sequence,
)

SR = 48000
HOUR = 3600 * SR


@given(n=st.integers(1, 200), lo=st.floats(0.0, 10.0), span=st.floats(0.0, 10.0), where=st.floats(0.0, 1.0),
       seed=st.integers(0, 2**32 - 1))
@settings(max_examples=200, deadline=None)
def test_bounded_partition_sums_and_stays_in_range(n, lo, span, where, seed):
    hi = lo + span
    total = n * lo + where * n * span
    values = bounded_partition(total, n, lo, hi, np.random.default_rng(seed))
    assert len(values) == n
    assert values.sum() == pytest.approx(total, rel=1e-9, abs=1e-6)
    assert values.min() >= lo - 1e-9 and values.max() <= hi + 1e-9


def test_bounded_partition_refuses_the_impossible():
    with pytest.raises(ValueError, match="cannot split 100 into 3 values in"):
        bounded_partition(100, 3, 1, 5, np.random.default_rng(0))


def test_bounded_partition_is_random_not_even():
    values = bounded_partition(50.0, 10, 1.0, 9.0, np.random.default_rng(1))
    assert values.std() > 0.5


@pytest.mark.parametrize("loop", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_hour_of_a_default_pool_keeps_both_rules(loop, seed):
    """36 one-chunk tiles (the default variety) over an hour: no tile within a third of the pool, no pair twice."""
    tile, overlap = round(10.24 * SR), round(1.5 * SR)
    arr = arrange(tiles=36, tile_length=tile, overlap=overlap, total=HOUR, loop=loop, rng=np.random.default_rng(seed),
                  min_gap=90 * SR)
    seq = arr.sequence
    assert arr.min_spacing == 12 and arr.min_gap == 90 * SR and arr.spacing_met and arr.pairs_unique
    # a tile never starts again within 90 s (so no stretch recurs within the check's 60 s), round the loop too
    for t in range(36):
        starts = [p.start for p in arr.placements if p.tile == t]
        gaps = np.diff(starts + ([starts[0] + HOUR] if loop else []))
        assert gaps.min() >= 90 * SR
    assert sequence_problems(seq, min_spacing=12, loop=loop) == (0, 0)
    assert len(seq) > 360  # more placements than naive chunks: excerpts are shorter than a chunk
    assert set(seq) == set(range(36))  # every tile is used
    # excerpts fill the hour exactly, each inside its tile with room for the overlap
    assert sum(p.length for p in arr.placements) == HOUR
    starts = [p.start for p in arr.placements]
    assert starts[0] == 0 and all(b - a == p.length for a, b, p in zip(starts, starts[1:], arr.placements))
    assert all(0 <= p.offset and p.offset + p.length + overlap <= tile for p in arr.placements)
    # seams fall on no grid: excerpt lengths vary widely
    lengths = np.array([p.length for p in arr.placements]) / SR
    assert lengths.min() < 6.0 and lengths.max() > 8.0


def test_the_loop_point_is_bound_by_the_rules_too():
    """Spacing and pair rules hold across the wrap (last placements vs the first ones)."""
    for seed in range(20):
        seq, spacing, unique, _ = tile_sequence(60, 12, min_spacing=4, loop=True, rng=np.random.default_rng(seed))
        assert (spacing, unique) == (4, True)
        doubled = seq + seq[:5]
        for i in range(len(seq)):
            assert doubled[i] not in doubled[i + 1 : i + 5]
        pairs = list(zip(seq, seq[1:] + seq[:1]))
        assert len(pairs) == len(set(pairs))


def test_sequence_problems_finds_violations():
    assert sequence_problems([0, 1, 0, 2], min_spacing=2, loop=False) == (1, 0)
    assert sequence_problems([0, 1, 2, 0, 1], min_spacing=1, loop=False) == (0, 1)
    assert sequence_problems([0, 1, 2, 0], min_spacing=1, loop=True) == (1, 0)  # the last 0 meets the first


def test_a_pool_too_small_relaxes_the_rules_and_says_so():
    arr = arrange(tiles=3, tile_length=10 * SR, overlap=SR, total=600 * SR, loop=True, rng=np.random.default_rng(0))
    assert not arr.pairs_unique  # 3 tiles have 6 ordered pairs; 10 minutes needs more placements
    assert arr.min_spacing == 1 and arr.spacing_met  # a third of the pool: no tile twice in a row, still
    assert sequence_problems(arr.sequence, min_spacing=1, loop=True)[0] == 0
    two = arrange(tiles=2, tile_length=10 * SR, overlap=SR, total=45 * SR, loop=True, rng=np.random.default_rng(0))
    assert two.min_spacing == 0 and not two.spacing_met  # two tiles cannot alternate around an odd loop


def test_arrangement_is_deterministic():
    kw = dict(tiles=20, tile_length=5 * SR, overlap=SR // 2, total=300 * SR, loop=True)
    a = arrange(rng=np.random.default_rng(3), **kw)
    assert a == arrange(rng=np.random.default_rng(3), **kw)
    assert a != arrange(rng=np.random.default_rng(4), **kw)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("wait", [(40.0, 150.0), (5.0, 6.0), (60.0, 60.0)])
def test_event_waits_hold_across_the_loop_point(seed, wait):
    total = 600 * SR
    events, met = schedule_events(total=total, sample_rate=SR, min_wait_s=wait[0], max_wait_s=wait[1], variations=4,
                                  loop=True, rng=np.random.default_rng(seed), pan=0.2, pan_jitter=0.3,
                                  gain_jitter_db=3.0)
    assert met
    waits = np.array(event_waits(events, total, loop=True)) / SR
    assert len(waits) == len(events) and waits.sum() == pytest.approx(600.0)
    assert waits.min() >= wait[0] - 1e-3 and waits.max() <= wait[1] + 1e-3  # the last wait crosses the loop point
    assert all(0 <= e.start < total for e in events)
    assert all(-1 <= e.pan <= 1 and abs(e.pan - 0.2) <= 0.3 + 1e-9 and abs(e.gain_db) <= 3 for e in events)
    variations = [e.variation for e in sorted(events, key=lambda e: e.start)]
    assert all(a != b for a, b in zip(variations, variations[1:]))  # never the same variation twice in a row


def test_events_without_loop_start_after_a_wait_and_end_in_time():
    total = 300 * SR
    events, met = schedule_events(total=total, sample_rate=SR, min_wait_s=20, max_wait_s=40, variations=3, loop=False,
                                  rng=np.random.default_rng(0))
    starts = np.array([e.start for e in events]) / SR
    assert met and starts[0] >= 20 and starts[-1] <= 300 - 20
    assert np.all(np.diff(starts) >= 20 - 1e-3) and np.all(np.diff(starts) <= 40 + 1e-3)


def test_impossible_wait_range_is_reported():
    events, met = schedule_events(total=100 * SR, sample_rate=SR, min_wait_s=60, max_wait_s=80, variations=2,
                                  loop=True, rng=np.random.default_rng(0))
    assert not met and len(events) == 1


def test_in_points_are_chosen_where_the_seam_costs_least():
    """With a seam cost, each excerpt starts at the cheapest of its random in-points; rules and lengths hold."""
    kw = dict(tiles=12, tile_length=10 * SR, overlap=SR, total=600 * SR, loop=True, min_gap=90 * SR)

    def cost(tile_out, out_at, tile_in, in_at):  # a stand-in: in-points near the start of a tile are cheap
        return in_at / SR

    random = arrange(rng=np.random.default_rng(5), **kw)
    chosen = arrange(rng=np.random.default_rng(5), seam_cost=cost, **kw)
    assert [p.tile for p in chosen.placements] == [p.tile for p in random.placements]
    assert [p.length for p in chosen.placements] == [p.length for p in random.placements]
    rest = chosen.placements[1:]
    assert np.mean([p.offset for p in rest]) < 0.5 * np.mean([p.offset for p in random.placements[1:]])
    assert all(0 <= p.offset and p.offset + p.length + SR <= 10 * SR for p in chosen.placements)
    assert chosen.spacing_met == random.spacing_met

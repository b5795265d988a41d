"""Repetition found as a band track streams past: the same answer in any blocks, copies found, memory flat."""

from __future__ import annotations

import numpy as np
import pytest

from ambientgen.audio.repetition import RepetitionFinder, find_repetition

HOP = 0.025


def track(seconds: float, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal((int(seconds / HOP), 32)) * 3).astype(np.float32)


def plant(f: np.ndarray, at_s: float, copy_s: float, length_s: float) -> np.ndarray:
    a, b, n = int(at_s / HOP), int(copy_s / HOP), int(length_s / HOP)
    f = f.copy()
    f[b : b + n] = f[a : a + n]
    return f


def streamed(f: np.ndarray, block: int, **kw) -> dict | None:
    finder = RepetitionFinder(HOP, min_s=kw.get("min_s", 5.0), within_s=kw.get("within_s", 60.0))
    for k in range(0, len(f), block):
        finder.add(f[k : k + block])
    return finder.result()


@pytest.mark.parametrize("length_s, lag_s", [(6.0, 25.0), (10.0, 40.0), (8.0, 59.0)])
def test_a_planted_copy_is_found_where_it_is(length_s, lag_s):
    f = plant(track(160, seed=int(lag_s)), 70.0, 70.0 + lag_s, length_s)
    found = find_repetition(f, HOP, min_s=5.0, within_s=60.0)
    assert found is not None
    assert found["length_s"] == pytest.approx(length_s, abs=0.1)
    assert found["first_s"] == pytest.approx(70.0, abs=0.1) and found["lag_s"] == pytest.approx(lag_s, abs=0.03)
    assert found["again_s"] == pytest.approx(70.0 + lag_s, abs=0.1)


def test_nothing_in_noise_and_nothing_shorter_than_the_rule_or_further_than_within():
    assert find_repetition(track(130), HOP, min_s=5.0, within_s=60.0) is None
    assert find_repetition(plant(track(130, 1), 50, 80, 4.0), HOP, min_s=5.0, within_s=60.0) is None  # too short
    assert find_repetition(plant(track(130, 2), 20, 100, 9.0), HOP, min_s=5.0, within_s=60.0) is None  # 80 s later


@pytest.mark.parametrize("block", [7, 400, 5000])
def test_any_blocks_give_the_answer_of_the_whole_track(block):
    f = plant(plant(track(150, 3), 10, 30, 7.0), 90, 105, 12.0)
    whole = find_repetition(f, HOP, min_s=5.0, within_s=60.0)
    assert whole is not None and whole["length_s"] == pytest.approx(12.0, abs=0.1)
    assert streamed(f, block) == whole


def test_a_tiled_loop_is_one_long_repetition():
    f = track(200, 4)
    a, n = int(50 / HOP), int(10 / HOP)
    for k in range(1, 6):
        f[a + k * n : a + (k + 1) * n] = f[a : a + n]
    found = find_repetition(f, HOP, min_s=5.0, within_s=60.0)
    assert found["lag_s"] == pytest.approx(10.0, abs=0.03) and found["length_s"] == pytest.approx(50.0, abs=0.1)


def test_memory_does_not_grow_with_the_track():
    finder = RepetitionFinder(HOP, min_s=5.0, within_s=60.0)
    sizes = []
    for k in range(16):  # 16 blocks of 30 s: 8 minutes
        finder.add(track(30, seed=k))
        sizes.append(sum(a.nbytes for a in (finder._raw, finder._hist)))
    assert max(sizes[6:]) <= max(sizes[2:6])  # after the first minute, the buffers stay the same size
    assert max(sizes) < 20e6


def reference(f: np.ndarray, *, min_s: float = 5.0, within_s: float = 60.0, threshold: float = 0.5) -> dict | None:
    """The rule judged the slow way: every frame at every lag over the whole track, runs followed one by one."""
    from scipy.ndimage import uniform_filter1d

    avg, smooth = int(1.0 / HOP), int(0.5 / HOP)
    before, after = smooth // 2, smooth - 1 - smooth // 2
    d = f.astype(np.float32) - uniform_filter1d(f.astype(np.float32), size=avg, axis=0)
    d -= d.mean(axis=1, keepdims=True)
    d = (d / (np.linalg.norm(d, axis=1, keepdims=True) + 1e-9)).astype(np.float64)
    n = len(d)
    best = (0, 0, 0)  # (length, -lag, -end): the longest, then the shortest lag, then the first
    for lag in range(max(1, int(min_s / HOP)), int(within_s / HOP) + 1):
        c = np.zeros(n)
        c[lag:] = np.einsum("ij,ij->i", d[lag:], d[:-lag])
        sums = np.concatenate([[0.0], np.cumsum(c)])
        j = np.arange(lag, n)
        lo, hi = np.maximum(j - before, lag), np.minimum(j + after + 1, n)
        hit = np.concatenate([[False], sums[hi] - sums[lo] > threshold * (hi - lo), [False]])
        edges = np.flatnonzero(np.diff(hit.astype(int)))  # runs [edges[0], edges[1]), ... of hits among j
        for a, b in zip(edges[::2], edges[1::2]):
            best = max(best, (int(b - a), -lag, -int(lag + a)))
    length, lag, first = best[0], -best[1], -best[2]
    if length * HOP < min_s:
        return None
    return {"length_s": round(length * HOP, 2), "first_s": round((first - lag) * HOP, 2),
            "again_s": round(first * HOP, 2), "lag_s": round(lag * HOP, 2)}


@pytest.mark.parametrize("seed", range(4))
def test_the_grid_gives_the_answer_of_every_frame_at_every_lag(seed):
    """Judging lags frame by frame only where a grid frame says a run may cross is exact: planted copies of any
    length and place (near the ends, runs just at and just under the rule, a copy straddling the grid, a tiled
    loop) give what the rule judged everywhere gives."""
    rng = np.random.default_rng(seed)
    f = track(100, seed=10 + seed)
    for _ in range(3):
        length = rng.choice([4.9, 5.0, 5.05, 5.3, 7.0, float(rng.uniform(4, 12))])
        at = float(rng.uniform(0, 100 - length - 1))
        lag = float(rng.uniform(5.0, 60.0))
        if at + lag + length < 100:
            f = plant(f, at, at + lag, length)
    assert streamed(f, 333) == reference(f)

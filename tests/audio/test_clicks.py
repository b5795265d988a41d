"""Clicks found as a signal streams past: the same frames judged as the direct computation judges them, in any
blocks."""

from __future__ import annotations

import numpy as np
import pytest

from ambientgen.audio.clicks import CLICK_FLOOR, CLICK_FRAME, CLICK_ORDER, CLICK_RATIO, ClickFinder, _levinson

SR = 48000


def reference(x: np.ndarray) -> list[int]:
    """Every frame judged alone, the plain way: the predictor fitted on the frame and the one before (direct
    sums over the 2-frame stretch), the residual by a dot product per sample, the robust RMS by np.median."""
    n = CLICK_FRAME
    x = np.concatenate([np.zeros(n), x])
    found = []
    for f in range(1, len(x) // n):
        seg = x[(f - 1) * n : (f + 1) * n]
        r = np.array([seg[: 2 * n - k] @ seg[k:] for k in range(CLICK_ORDER + 1)])
        r[0] = r[0] * 1.001 + 1e-12
        a = _levinson(r[None, :])[0]
        residual = np.array([seg[n + t] - a @ seg[n + t - 1 - np.arange(CLICK_ORDER)] for t in range(n)])
        if f == 1:
            residual[:CLICK_ORDER] = 0.0
        peak = np.abs(residual).max()
        if peak > CLICK_RATIO * (1.4826 * np.median(np.abs(residual)) + 1e-12) and peak > CLICK_FLOOR:
            found.append((f - 1) * n + int(np.argmax(np.abs(residual))))
    return found


def signal(kind: str, seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    if kind == "noise":
        return 0.05 * rng.standard_normal(len(t))
    if kind == "tones":  # narrow-band: a predictor with a high gain
        tones = 0.2 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.sin(2 * np.pi * 1234 * t)
        return tones + 1e-3 * rng.standard_normal(len(t))
    if kind == "quiet":
        return 1e-3 * rng.standard_normal(len(t))
    raise ValueError(kind)


def clicked(x: np.ndarray, at: list[int], size: float) -> np.ndarray:
    x = x.copy()
    for p in at:
        x[p : p + 3] += size
    return x


def streamed(x: np.ndarray, block: int) -> list[int]:
    finder = ClickFinder()
    for k in range(0, len(x), block):
        finder.add(x[k : k + block])
    return finder.times


@pytest.mark.parametrize("kind, size", [("noise", 5.0), ("tones", 0.3), ("quiet", 0.05)])
def test_frames_are_judged_as_the_direct_computation_judges_them(kind, size):
    rng = np.random.default_rng(1)
    at = sorted(int(p) for p in rng.integers(0, int(0.95 * SR), 6))
    found = []
    for x in (signal(kind), clicked(signal(kind), at, size), clicked(signal(kind), at[:2], size / 20)):
        found.append(streamed(x, 4800))
        assert found[-1] == reference(x)
    assert found[0] == [] and len(found[1]) >= 3  # clean: none; clicked: most of the six (two may share a frame)


def test_clicks_are_found_where_they_are_and_clean_signals_have_none():
    assert streamed(signal("noise", seed=3), 10_000) == []
    x = clicked(signal("quiet", seed=4), [12_345, 30_000], 0.05)
    assert [abs(t - p) <= 3 for t, p in zip(streamed(x, 10_000), [12_345, 30_000])] == [True, True]


@pytest.mark.parametrize("block", [333, 1024, 50_000])
def test_any_blocks_give_the_answer_of_the_whole_signal(block):
    x = clicked(signal("tones", seconds=1.5, seed=5), [5_000, 40_000, 70_001], 0.3)
    whole = ClickFinder()
    whole.add(x)
    assert streamed(x, block) == whole.times and len(whole.times) == 3


def test_a_row_whose_count_is_exactly_half_is_decided_by_its_median():
    """The counting shortcut hands rows whose count of passing values is exactly half to np.median."""
    from ambientgen.audio.clicks import _over_robust

    level = np.concatenate([np.full(512, 1.0), np.full(512, 3.0)])[None, :]  # median 2.0: robust 2.9652
    just_over = np.array([CLICK_RATIO * (1.4826 * 2.0 + 1e-12) * 1.000001])
    just_under = np.array([CLICK_RATIO * (1.4826 * 2.0 + 1e-12) * 0.999999])
    assert _over_robust(level, just_over)[0] and not _over_robust(level, just_under)[0]


def test_the_single_precision_screen_hands_every_click_to_double_precision(monkeypatch):
    """A screen five times wider sends many more frames to the exact judgement, and finds the same clicks: the
    screen's margin only decides how much work is exact, never the answer."""
    import ambientgen.audio.clicks as clicks

    x = clicked(signal("tones", seconds=1.5, seed=6), [5_000, 20_000, 40_000, 70_001], 0.25)
    found = streamed(x, 9_600)
    monkeypatch.setattr(clicks, "SCREEN_MARGIN", 5.0)
    assert streamed(x, 9_600) == found == reference(x) and len(found) >= 2

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from ambientgen.analysis import percentile_rank, seam_report
from ambientgen.stitch import splice_chunks

from .conftest import DATA

RECORDINGS = ["rain_redeclipse", "river_stk", "waterfall_stk", "birds_stk", "cafe_stk", "cicadas_redeclipse"]
# near-white noise: a butt splice there is genuinely inconspicuous (a step is just another noise sample)
NOISE_LIKE = {"rain_redeclipse", "waterfall_stk"}


def splice_study(name: str, seeds=(0, 1, 2), seams: int = 20, seg_s: float = 2.0, overlap_s: float = 0.5):
    """Cut a real recording into random segments (as independent chunks would be) and join them two ways."""
    x, sr = sf.read(DATA / f"{name}.ogg")
    x = x if x.ndim == 1 else x.mean(axis=1)
    seg, ov = round(seg_s * sr), round(overlap_s * sr)
    aware, butt = [], []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        chunks = [x[s : s + seg].astype(np.float32) for s in rng.integers(0, len(x) - seg, size=seams + 1)]
        joined, positions = splice_chunks(chunks, overlap=ov, sample_rate=sr)
        aware += [r.rank for r in seam_report(joined, sr, positions)[0]]
        cut = np.concatenate([c[: seg - ov] for c in chunks])
        butt += [r.rank for r in seam_report(cut, sr, [k * (seg - ov) for k in range(1, len(chunks))])[0]]
    return float(np.mean(aware)), float(np.mean(butt))


@pytest.fixture(scope="module")
def study():
    return {name: splice_study(name) for name in RECORDINGS}


@pytest.mark.parametrize("name", RECORDINGS)
@pytest.mark.slow
def test_seam_aware_splices_look_like_ordinary_moments(study, name):
    aware, _ = study[name]
    assert aware <= 0.6


@pytest.mark.slow
def test_butt_splices_score_clearly_worse(study):
    aware = np.mean([a for a, _ in study.values()])
    butt = np.mean([b for _, b in study.values()])
    assert butt >= aware + 0.15, study
    for name, (a, b) in study.items():
        if name not in NOISE_LIKE:
            assert b > a + 0.1, (name, a, b)


@pytest.mark.parametrize("kind", ["step", "impulse"])
def test_a_planted_click_ranks_at_the_top(kind):
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(1)
    sr = 16000
    x = sosfilt(butter(2, 3000 / 8000, output="sos"), rng.standard_normal(sr * 4))  # ambience-like noise
    if kind == "step":
        x[sr * 2 :] += np.std(x)  # a discontinuity of one standard deviation
    else:
        x[sr * 2] += 3 * np.std(x)
    report, _ = seam_report(x, sr, [sr * 2])
    assert report[0].rank > 0.98


def test_a_level_jump_at_the_loop_point_is_found():
    rng = np.random.default_rng(2)
    sr = 16000
    x = rng.standard_normal(sr * 4) * 0.1
    x[: sr // 2] *= 1.5  # the start is 3.5 dB louder than the end: the wrap jumps
    _, loop_point = seam_report(x, sr, [], loop=True)
    assert loop_point.rank > 0.95


def test_percentile_rank():
    assert percentile_rank(5, [1, 2, 3, 4]) == 1.0
    assert percentile_rank(0, [1, 2, 3, 4]) == 0.0
    assert percentile_rank(2, [1, 2, 3, 4]) == 0.375

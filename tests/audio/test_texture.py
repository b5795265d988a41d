"""Texture resynthesis: the split into bed and transients, grains that keep the bed and never replay it, transients
scattered at the source's rate, blocks that equal the whole, loops that wrap; judged by check and by YAMNet."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import soxr

from ambientgen.audio.streams import EventStream
from ambientgen.audio.texture import GrainBed, TextureStream, analyse, scatter_events
from ambientgen.check.report import check_file
from tests.conftest import DATA

SR = 48000


def _crackles(seconds=12.0, onsets=(1.0, 3.5, 6.2, 8.0, 10.4), seed=0):
    """Steady noise at -40 dBFS with decaying bursts 30 dB over it at ``onsets``."""
    rng = np.random.default_rng(seed)
    audio = 0.01 * rng.standard_normal(round(seconds * SR))
    for at in onsets:
        n = round(0.15 * SR)
        audio[round(at * SR) : round(at * SR) + n] += 0.3 * rng.standard_normal(n) * np.exp(-np.arange(n) / (0.02 * SR))
    return audio[None].astype(np.float32)


def _real(name, seconds=None):
    x, sr = sf.read(DATA / f"{name}.ogg", dtype="float32", always_2d=True)
    x = soxr.resample(x, sr, SR).T
    return x if seconds is None else x[:, : round(seconds * SR)]


def _render(stream, total, block=SR):
    out = np.zeros((2, total), dtype=np.float32)
    for a in range(0, total, block):
        part = np.zeros((2, min(block, total - a)), dtype=np.float32)
        stream.add_to(part, a)
        out[:, a : a + part.shape[1]] = part
    return out


def _db(x):
    return 10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20)


def test_the_split_finds_each_burst_and_leaves_the_bed_steady():
    audio = _crackles()
    model = analyse(audio, SR)
    assert np.allclose(model.onsets_s, [1.0, 3.5, 6.2, 8.0, 10.4], atol=0.06)
    assert all(c.shape[1] < 0.6 * SR for c in model.events)  # each ends when it has decayed
    assert 0.5 < model.transient_share < 1.0
    # the bed keeps the floor through a burst, where the source is 20 dB and more over it
    burst = slice(round(6.2 * SR), round(6.25 * SR))
    quiet = slice(round(5.0 * SR), round(6.0 * SR))
    assert _db(audio[0, burst]) - _db(audio[0, quiet]) > 20
    assert _db(model.bed[0, burst]) - _db(model.bed[0, quiet]) < 4  # (the mask leaves 3 dB over the floor)
    assert _db(model.bed[0, quiet]) == pytest.approx(_db(audio[0, quiet]), abs=0.5)


def test_steady_noise_has_no_transients():
    audio = (0.05 * np.random.default_rng(1).standard_normal(10 * SR))[None].astype(np.float32)
    model = analyse(audio, SR)
    assert model.events == [] and model.transient_share < 0.01


@pytest.mark.parametrize("loop", [True, False])
def test_grains_keep_the_bed_level_and_spectrum_and_any_block_equals_the_whole(loop):
    src = _real("river_stk")
    model = analyse(src, SR)
    total = 40 * SR
    bed = GrainBed([model], total=total, loop=loop, rng=np.random.default_rng(3), width=0.0)
    whole = _render(bed, total, block=total)
    assert np.array_equal(whole, _render(bed, total, block=7919))  # odd blocks: the same samples
    # the level of the bed (less the centre pan's 3 dB), and its colour band by band within 1.5 dB
    assert _db(whole[0]) == pytest.approx(_db(model.bed[0]) - 3.01, abs=0.5)
    spec = lambda x: np.abs(np.fft.rfft(x[: len(x) // 4096 * 4096].reshape(-1, 4096) * np.hanning(4096))) ** 2
    edges = np.geomspace(50, 16000, 13) * 4096 / SR
    a, b = spec(model.bed[0]).mean(axis=0), spec(whole[0]).mean(axis=0)
    for lo, hi in zip(edges[:-1].astype(int), edges[1:].astype(int)):
        assert 10 * np.log10(b[lo:hi].sum() / a[lo:hi].sum()) + 3.01 == pytest.approx(0, abs=1.5)
    assert bed.grains >= 2 * 40 / 2.5


def test_a_looping_bed_wraps_so_its_end_flows_into_its_start():
    model = analyse(_real("rain_redeclipse"), SR)
    total = 20 * SR
    bed = GrainBed([model], total=total, loop=True, rng=np.random.default_rng(4))
    whole = _render(bed, total, block=total)
    # played twice in a row, the loop point is continuous: the samples across it equal those of a render that
    # starts half a second before the end and wraps (the stream's own blocks over the loop point)
    part = np.zeros((2, SR), dtype=np.float32)
    bed.add_to(part[:, : SR // 2], total - SR // 2)
    bed.add_to(part[:, SR // 2 :], 0)
    assert np.array_equal(part[:, : SR // 2], whole[:, -SR // 2 :]) and np.array_equal(part[:, SR // 2 :], whole[:, : SR // 2])
    step = abs(np.diff(np.concatenate([whole[0, -SR // 4 :], whole[0, : SR // 4]])))
    assert step[SR // 4 - 1] < 6 * np.median(step)  # no jump at the wrap


def test_grains_from_several_recordings_of_any_lengths():
    """A short file beside a long one: each grain comes from a recording long enough for it."""
    rng = np.random.default_rng(6)
    short, long = (analyse((0.1 * rng.standard_normal((1, round(s * SR)))).astype(np.float32), SR) for s in (3.2, 20))
    bed = GrainBed([short, long], total=30 * SR, loop=True, rng=np.random.default_rng(1))
    out = _render(bed, 30 * SR)
    assert np.all(np.isfinite(out)) and _db(out[0]) == pytest.approx(_db(long.bed[0]) - 3.01, abs=1.0)
    assert {k for _, _, _, k, _, _ in bed.rows} == {0, 1}  # both play


def test_a_stereo_bed_keeps_its_image_and_a_mono_one_is_widened_by_width():
    rng = np.random.default_rng(2)
    left = 0.1 * rng.standard_normal(12 * SR)
    stereo = np.stack([left, 0.001 * rng.standard_normal(12 * SR)]).astype(np.float32)  # all on the left
    out = _render(GrainBed([analyse(stereo, SR)], total=20 * SR, loop=True, rng=rng, width=0.5), 20 * SR)
    assert _db(out[1]) < _db(out[0]) - 30
    mono = _render(GrainBed([analyse(stereo[:1], SR)], total=20 * SR, loop=True, rng=rng, width=0.0), 20 * SR)
    assert np.allclose(mono[0], mono[1])
    wide = _render(GrainBed([analyse(stereo[:1], SR)], total=20 * SR, loop=True, rng=rng, width=1.0), 20 * SR)
    corr = np.corrcoef(wide[0], wide[1])[0, 1]
    assert abs(corr) < 0.2 and _db(wide[0]) == pytest.approx(_db(mono[0]), abs=0.5)  # decorrelated, as loud


def test_transients_are_scattered_at_the_source_rate_with_variety_and_the_same_for_a_seed():
    model = analyse(_crackles(), SR)
    total = 600 * SR
    variations, events = scatter_events([model], total=total, rng=np.random.default_rng(0))
    again = scatter_events([model], total=total, rng=np.random.default_rng(0))[1]
    assert events == again
    rate = len(events) / 600
    assert rate == pytest.approx(len(model.events) / 12.0, rel=0.25)
    kinds = [e.variation // 4 for e in events]
    assert all(a != b for a, b in zip(kinds, kinds[1:]))  # never the same transient twice in a row
    assert len({e.variation for e in events}) == len(variations) == 4 * len(model.events)  # pitches: all used
    assert np.ptp([e.gain_db for e in events]) > 3 and np.ptp([e.pan for e in events]) > 0.5
    # a pitched variation is the transient resampled: a semitone up is 1/2^(0.6/12) as long
    assert variations[3].shape[1] == pytest.approx(model.events[0].shape[1] / 2 ** (0.6 / 12), abs=2)


def test_a_long_transient_is_not_played_again_within_a_minute_while_another_is_free():
    model = analyse(_crackles(), SR)
    model.events = [np.ones((1, 3 * SR), np.float32) * 0.01 for _ in range(3)]  # three 3 s "claps"
    _, events = scatter_events([model], total=900 * SR, rng=np.random.default_rng(1))
    last = {}
    for e in events:
        k = e.variation // 4
        if k in last:
            assert e.start - last[k] >= 60 * SR or all(e.start - t < 63 * SR for t in last.values())
        last[k] = e.start


def test_a_short_recording_resynthesised_for_minutes_has_no_repetition_where_tiling_it_has(tmp_path):
    src = _real("rain_redeclipse")  # 9.5 s
    model = analyse(src, SR)
    total = 180 * SR
    bed = GrainBed([model], total=total, loop=True, rng=np.random.default_rng(0))
    sf.write(tmp_path / "texture.wav", _render(bed, total).T, SR)
    assert check_file(tmp_path / "texture.wav", preset="quality").repetition is None
    tiled = np.tile(src[0], total // src.shape[1] + 1)[:total]  # the control: the check can fail
    sf.write(tmp_path / "tiled.wav", tiled, SR)
    assert check_file(tmp_path / "tiled.wav", preset="quality").repetition["length_s"] > 60


@pytest.mark.slow
@pytest.mark.parametrize("name,family", [("rain_redeclipse", "water"), ("river_stk", "water"),
                                         ("waterfall_stk", "water"), ("cicadas_redeclipse", "animals"),
                                         ("birds_stk", "animals"), ("cafe_stk", "speech")])
def test_the_judge_hears_the_same_sound_in_the_resynthesis(name, family):
    from tests.yamnet import family_scores

    src = _real(name)
    model = analyse(src, SR)
    total = 60 * SR
    rng = np.random.default_rng(0)
    bed = GrainBed([model], total=total, loop=True, rng=rng)
    variations, events = scatter_events([model], total=total, rng=rng)
    stream = TextureStream(bed, EventStream("t", variations, events, 0.0, total, True) if events else None)
    out = _render(stream, total).mean(axis=0)
    before, after = family_scores(src.mean(axis=0), SR), family_scores(out, SR)
    assert max(before, key=before.get) == family  # the source is what its file says
    assert max(after, key=after.get) == family, after
    assert after[family] >= 0.6 * before[family]

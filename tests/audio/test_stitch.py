from __future__ import annotations

import math

import numpy as np
import pytest

from ambientgen.audio.stitch import (
    apply_level_envelope,
    close_loop,
    correlation,
    equal_power_fades,
    fade_norm,
    level_envelope,
    seam_gains,
    stitch_chunks,
)
from tests.conftest import noise


def test_equal_power_fades_sum_to_unit_power():
    fade_in, fade_out = equal_power_fades(1000)
    np.testing.assert_allclose(fade_in**2 + fade_out**2, 1.0, atol=1e-6)
    assert fade_in[0] < 0.01 and fade_in[-1] > 0.999 and np.all(np.diff(fade_in) > 0)


@pytest.mark.parametrize("n_chunks, length, overlap", [(1, 100, 10), (3, 1000, 100), (5, 640, 0), (4, 800, 399)])
def test_stitch_length(n_chunks, length, overlap):
    chunks = [noise(length / 16000, seed=k)[0] for k in range(n_chunks)]
    out = stitch_chunks(chunks, overlap=overlap)
    assert out.shape == (n_chunks * (length - overlap) + overlap,)
    # outside the overlaps each chunk is copied untouched
    np.testing.assert_array_equal(out[overlap : length - overlap], chunks[0][overlap : length - overlap])


def test_stitch_keeps_level_through_seams():
    sr = 16000
    chunks = [noise(2.0, sr, seed=k)[0] for k in range(6)]
    out = stitch_chunks(chunks, overlap=sr // 2)
    # RMS in 100 ms windows: seams (uncorrelated material, equal-power fade) stay at the chunks' level
    rms = np.sqrt((out[: len(out) // 1600 * 1600].reshape(-1, 1600) ** 2).mean(axis=1))
    assert rms.min() > 0.08 and rms.max() < 0.12


def test_stitch_rejects_bad_input():
    with pytest.raises(ValueError, match="at least one chunk"):
        stitch_chunks([], overlap=1)
    with pytest.raises(ValueError, match="equal shape"):
        stitch_chunks([np.zeros(10), np.zeros(11)], overlap=1)
    with pytest.raises(ValueError, match="overlap must be in"):
        stitch_chunks([np.zeros(10)], overlap=10)


def test_close_loop_is_continuous_at_the_wrap():
    sr = 16000
    t = np.arange(3 * sr) / sr
    tone = np.sin(2 * np.pi * 3.7 * t).astype(np.float32)  # a slow sine: any cut shows as a jump
    length, overlap = 2 * sr + 123, sr // 4
    loop = close_loop(tone, length=length, overlap=overlap)
    assert loop.shape == (length,)
    wrap_jump = abs(float(loop[0] - loop[-1]))
    typical = float(np.abs(np.diff(tone)).max())
    assert wrap_jump <= 1.5 * typical
    # a plain cut at the same place would jump far more
    assert abs(float(tone[0] - tone[length - 1])) > 20 * typical


def test_close_loop_needs_enough_material():
    with pytest.raises(ValueError, match="needs 110 samples"):
        close_loop(np.zeros(100), length=100, overlap=10)


def _levels(x: np.ndarray, frame: int) -> np.ndarray:
    x = x.reshape(-1, x.shape[-1]).mean(axis=0)
    k = x.shape[-1] // frame
    return 10 * np.log10(np.mean(x[: k * frame].reshape(k, frame).astype(np.float64) ** 2, axis=1))


def test_seam_gains_meet_half_way_and_leave_silence_alone():
    out_db, in_db = seam_gains(1.0, 10 ** (6 / 10))  # the incoming piece is 6 dB louder
    assert out_db == pytest.approx(3.0) and in_db == pytest.approx(-3.0)
    assert seam_gains(1.0, 10 ** (30 / 10)) == pytest.approx((6.0, -6.0))  # matched at most 12 dB
    assert seam_gains(0.0, 1.0) == (0.0, 0.0)


def test_level_envelope_holds_across_the_fades_and_ramps_back():
    env = 20 * np.log10(level_envelope(1000, head=100, tail=50, gain_in_db=-4.0, gain_out_db=2.0, ramp=200))
    assert np.allclose(env[:101], -4.0, atol=1e-4) and np.allclose(env[-50:], 2.0, atol=1e-4)
    assert np.allclose(env[300:750], 0.0, atol=1e-4)  # back to the piece's own level between the ramps
    assert np.abs(np.diff(env)).max() <= 4.0 / 200 + 1e-4  # a ramp, never a step
    part = level_envelope(1000, head=100, tail=50, gain_in_db=-4.0, gain_out_db=2.0, ramp=200, offset=90, count=30)
    np.testing.assert_array_equal(part, level_envelope(1000, head=100, tail=50, gain_in_db=-4.0, gain_out_db=2.0,
                                                       ramp=200)[90:120])


def test_level_matched_stitch_has_no_step_and_returns_to_each_chunk_level():
    """Chunks alternating between two levels 6 dB apart: a plain fade steps 6 dB within the overlap, a
    level-matched join moves at most ~2 dB per second, and each chunk's middle keeps its own level."""
    sr = 8000
    chunks = [noise(12.0, sr, seed=k)[0] * (2.0 if k % 2 else 1.0) for k in range(5)]
    overlap = round(1.5 * sr)
    plain = _levels(stitch_chunks(chunks, overlap=overlap), sr // 4)
    matched = _levels(stitch_chunks(chunks, overlap=overlap, sample_rate=sr), sr // 4)
    assert np.abs(np.diff(plain)).max() > 1.5  # 6 dB over the 1.5 s fade
    assert np.abs(np.diff(matched)).max() < 0.6
    hop_q = (len(chunks[0]) - overlap) // (sr // 4)
    middle = [matched[k * hop_q + 22] for k in range(5)]  # 5.5 s into each chunk: past the 4 s return ramp
    assert np.allclose(np.diff(middle), [6.0, -6.0, 6.0, -6.0], atol=0.8)


def test_level_matched_loop_closure_is_continuous_and_level_steady():
    sr = 8000
    x = noise(20.0, sr, seed=3)[0]
    x[: 6 * sr] *= 0.5  # the start is 6 dB quieter than the end: the wrap would step
    length, overlap = 18 * sr, round(1.5 * sr)
    plain = close_loop(x, length=length, overlap=overlap)
    matched = close_loop(x, length=length, overlap=overlap, sample_rate=sr)
    for loop, limit in ((plain, None), (matched, 0.9)):
        around = _levels(np.concatenate([loop[..., -4 * sr :], loop[..., : 4 * sr]], axis=-1), sr // 4)
        if limit is None:
            assert np.abs(np.diff(around)).max() > 1.5
        else:
            assert np.abs(np.diff(around)).max() < limit
    assert abs(float(matched[..., 0] - matched[..., -1])) < 0.5  # no jump at the wrap


def test_correlated_pieces_keep_their_level_through_the_fade():
    """Two pieces identical over their overlap: an equal-power fade would bump +3 dB mid-fade; the fade is
    normalized by the measured correlation, so the level stays put. Uncorrelated pieces are left alone."""
    sr = 8000
    x = noise(6.0, sr, seed=5)[0]
    overlap, hop = sr, len(x) - sr
    rolled = np.concatenate([x[hop:], x[:hop]])  # begins with x's last second: the overlap is identical
    level = _levels(stitch_chunks([x, rolled], overlap=overlap), sr // 8)
    assert np.abs(level - np.median(level)).max() < 1.0
    fade_in, fade_out = equal_power_fades(overlap)
    bumped = _levels(np.concatenate([x[:hop], x[hop:] * (fade_in + fade_out), rolled[overlap:]]), sr // 8)
    assert bumped.max() - np.median(bumped) > 2.0  # what the plain equal-power fade would have done
    assert correlation(x[hop:], x[hop:]) == pytest.approx(0.95)
    assert abs(correlation(x[:overlap], x[overlap : 2 * overlap])) < 0.1
    assert np.allclose(fade_norm(fade_in, fade_out, 0.0), 1.0)


def test_stitching_holds_one_piece_in_flight_not_a_copy_of_every_chunk():
    import tracemalloc

    rng = np.random.default_rng(0)
    chunks = [(0.1 * rng.standard_normal((1, 48000))).astype(np.float32) for _ in range(40)]
    tracemalloc.start()
    try:
        out = stitch_chunks(chunks, overlap=4800, sample_rate=48000)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < out.nbytes + 15 * chunks[0].nbytes  # the output, a piece and small curves: not 40 chunks more


def plain_level_envelope(n, *, head, tail, gain_in_db, gain_out_db, ramp, offset=0, count=None):
    """The gain curve as it was first written: the dB curve of every sample, then one exp over all of it."""
    count = n - offset if count is None else count
    t = np.arange(offset, offset + count, dtype=np.float64)
    db = np.zeros(count)
    ramp_ = max(ramp, 1)  # no ramp: the held stretches meet (np.where works out both branches)
    if gain_in_db:
        db += np.where(t < head, gain_in_db, np.where(t < head + ramp, gain_in_db * (1 - (t - head) / ramp_), 0.0))
    if gain_out_db:
        held_from = n - tail
        db += np.where(t >= held_from, gain_out_db,
                       np.where(t >= held_from - ramp, gain_out_db * (1 - (held_from - t) / ramp_), 0.0))
    return np.exp(db * (math.log(10) / 20)).astype(np.float32)


@pytest.mark.parametrize("n, head, tail, ramp", [(576000, 144000, 144000, 192000), (576000, 144000, 144000, 96000),
                                                 (1000, 100, 300, 0), (1000, 0, 0, 400), (5000, 2000, 2000, 2500)])
@pytest.mark.parametrize("gain_in_db, gain_out_db", [(1.5, -2.25), (0.0, 3.0), (-6.0, 0.0), (0.7, 0.7)])
def test_the_envelope_held_as_one_number_is_the_curve_computed_everywhere(n, head, tail, ramp, gain_in_db,
                                                                          gain_out_db):
    kw = dict(head=head, tail=tail, gain_in_db=gain_in_db, gain_out_db=gain_out_db, ramp=ramp)
    want = plain_level_envelope(n, **kw)
    exact = level_envelope(n, **kw)
    assert np.array_equal(exact, want)  # the same numbers, bit for bit
    for offset, count in [(0, n), (n // 3, n // 4), (n - 7, 7), (head, 1)]:  # any stretch is the same stretch
        assert np.array_equal(level_envelope(n, **kw, offset=offset, count=count), exact[offset : offset + count])
    piece = np.random.default_rng(0).standard_normal((2, n)).astype(np.float32)
    applied = piece.copy()
    apply_level_envelope(applied, **kw)
    assert np.array_equal(applied, piece * exact)


def test_a_loop_closed_in_place_is_the_loop_closed_on_a_copy():
    rng = np.random.default_rng(4)
    audio = (0.1 * rng.standard_normal((1, 100_000)) * np.linspace(0.5, 2, 100_000)).astype(np.float32)
    want = close_loop(audio, length=80_000, overlap=12_000, sample_rate=8000)
    mine = audio.copy()
    got = close_loop(mine, length=80_000, overlap=12_000, sample_rate=8000, in_place=True)
    assert np.array_equal(got, want) and np.shares_memory(got, mine)
    with pytest.raises(ValueError, match="float32"):
        close_loop(audio.astype(np.float64), length=80_000, overlap=12_000, in_place=True)

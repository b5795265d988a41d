from __future__ import annotations

import numpy as np
import pyloudnorm as pyln
import pytest
import soundfile as sf

from ambientgen.audio.arrange import EventTime, arrange
from ambientgen.audio.streams import (
    Animation,
    ArrayStream,
    EventStream,
    Mix,
    PoolStream,
    render_block,
    tile_power,
    trim_event,
)
from ambientgen.audio.true_peak import limiter_gain, oversampled_abs_peaks, true_peak_dbtp
from ambientgen.output.master import assemble
from tests.conftest import DATA  # noqa: E402

SR = 48000


def noise_pool(tiles=8, seconds=4.0, seed=0):
    rng = np.random.default_rng(seed)
    mono = [(rng.standard_normal(round(seconds * SR)) * 0.1).astype(np.float32) for _ in range(tiles)]
    return mono, [np.stack([m, m * 0.5]) for m in mono]


def pool_stream(total_s=60.0, loop=True, seed=0, tiles=8, matched=True, levels=None, seconds=4.0):
    mono, stereo = noise_pool(tiles, seconds=seconds, seed=seed)
    if levels is not None:  # tile k at levels[k % len(levels)] dB
        stereo = [t * np.float32(10 ** (levels[k % len(levels)] / 20)) for k, t in enumerate(stereo)]
    overlap = SR // 2
    arr = arrange(tiles=tiles, tile_length=stereo[0].shape[1], overlap=overlap, total=round(total_s * SR), loop=loop,
                  rng=np.random.default_rng(seed))
    return PoolStream("bed", stereo, arr, overlap, SR, [tile_power(t) for t in stereo] if matched else None)


def collect(mix, block):
    return np.concatenate([mix.block(s, min(block, mix.total - s)) for s in range(0, mix.total, block)], axis=1)


@pytest.mark.parametrize("loop", [True, False])
def test_pool_stream_is_the_same_whatever_the_block_size(loop):
    stream = pool_stream(loop=loop)
    mix = Mix([stream], stream.arrangement.total, loop)
    whole = collect(mix, mix.total)
    for block in (1, 997, 65536):
        if block == 1:
            idx = np.random.default_rng(0).integers(0, mix.total, 50)
            assert all(np.array_equal(mix.block(int(i), 1)[:, 0], whole[:, i]) for i in idx)
        else:
            assert np.array_equal(collect(mix, block), whole)


def test_pool_stream_level_is_steady_through_every_seam():
    """Equal-power fades between uncorrelated tiles: the 50 ms level never moves by more than 1.5 dB."""
    stream = pool_stream(total_s=120.0)
    out = collect(Mix([stream], stream.arrangement.total, True), 1 << 16)[0]
    rms = np.sqrt(np.mean(out.reshape(-1, SR // 20).astype(np.float64) ** 2, axis=1))
    level = 20 * np.log10(rms / 0.1)
    assert np.abs(level).max() < 1.5
    assert len(stream.seams) == len(stream.arrangement.placements)  # every join, the loop point's too


def test_loop_point_is_continuous():
    """Playing past the end wraps into the start: the block across the loop point is end + start."""
    stream = pool_stream(total_s=30.0)
    total = stream.arrangement.total
    whole = render_block(stream, 0, total, total=total, loop=True)
    across = render_block(stream, total - 500, 1000, total=total, loop=True)
    assert np.array_equal(across, np.concatenate([whole[:, -500:], whole[:, :500]], axis=1))
    silent = render_block(pool_stream(total_s=30.0, loop=False), total - 500, 1000, total=total, loop=False)
    assert np.all(silent[:, 500:] == 0)  # no loop: after the end is silence


@pytest.mark.parametrize("loop", [True, False])
def test_pool_seams_between_tiles_of_different_levels_are_level_matched(loop):
    """Tiles 6 dB apart: unmatched, the level steps 6 dB within each 0.5 s fade; matched, it moves at most
    ~1 dB per second everywhere (the loop point included) and the same blocks come out whatever the block size."""
    def steps(stream):
        out = collect(Mix([stream], stream.arrangement.total, loop), 1 << 16)[0].astype(np.float64)
        out = np.concatenate([out[-SR * 2 :], out]) if loop else out  # the loop point too
        q = SR // 4
        level = 10 * np.log10(np.mean(out[: len(out) // q * q].reshape(-1, q) ** 2, axis=1))
        return np.abs(np.diff(level)).max()

    assert steps(pool_stream(total_s=120.0, loop=loop, levels=[0, -6], matched=False, seconds=10.0)) > 2.0
    matched = pool_stream(total_s=120.0, loop=loop, levels=[0, -6], seconds=10.0)
    assert steps(matched) < 0.6
    mix = Mix([matched], matched.arrangement.total, loop)
    assert np.array_equal(collect(mix, 997 * 13), collect(mix, mix.total))


@pytest.mark.parametrize("name", ["rain_redeclipse", "river_stk", "birds_stk"])
def test_assembly_hits_the_target_by_pyloudnorm_on_real_audio(name):
    audio, sr = sf.read(DATA / f"{name}.ogg", dtype="float32", always_2d=True)
    audio = audio.T[:, : sr * 20]
    if audio.shape[0] == 1:
        audio = np.repeat(audio, 2, axis=0)
    mix = Mix([ArrayStream("x", audio)], audio.shape[1], True)
    out = []
    report = assemble(mix, sample_rate=sr, target_lufs=-23, ceiling_dbtp=-1, sinks=[out.append], block=50_000)
    out = np.concatenate(out, axis=1)
    # pyloudnorm approximates the K-weighting filters; our meter uses the standard's (0.0-0.11 LU apart, test_meter)
    assert pyln.Meter(sr).integrated_loudness(out.T.astype(np.float64)) == pytest.approx(-23, abs=0.15)
    assert report.integrated_lufs == pytest.approx(-23, abs=0.01)
    assert true_peak_dbtp(out) <= -1 + 1e-6


def test_streamed_limiter_equals_the_whole_track_limiter():
    """Block by block with context equals limiting everything at once (away from the file edges)."""
    rng = np.random.default_rng(2)
    n = SR * 6
    x = (rng.standard_normal((2, n)) * 0.05).astype(np.float32)
    for pos in rng.integers(SR // 2, n - SR // 2, 12):  # sharp peaks that force limiting
        x[:, pos : pos + 40] += 0.9
    mix = Mix([ArrayStream("x", x)], n, False)
    out = []
    report = assemble(mix, sample_rate=SR, target_lufs=-16, ceiling_dbtp=-1, sinks=[out.append], block=40_000,
                      limiter_margin_db=0.0)
    out = np.concatenate(out, axis=1)
    assert report.limited and report.limiter_reduction_db > 3
    gain = 10 ** (report.gain_db / 20)
    loud = (x * gain).astype(np.float32)
    whole = loud * limiter_gain(loud, SR, ceiling_dbtp=-1)  # the limiter run on the whole track at once
    edge = SR // 10
    np.testing.assert_allclose(out[:, edge:-edge], whole[:, edge:-edge], atol=1e-6)
    assert report.true_peak_dbtp <= -1 + 0.05 and true_peak_dbtp(out) == pytest.approx(report.true_peak_dbtp, abs=0.01)
    assert report.integrated_lufs == pytest.approx(-16, abs=0.1)


def test_the_reported_true_peak_is_the_written_mixs_own():
    """Unlimited, the true peak is measured on the mix as it is analysed (every block with its real neighbours) and
    is the written file's to rounding, with an inter-sample peak that sits across the analysis blocks' boundary."""
    rng = np.random.default_rng(3)
    n = SR * 4
    x = (rng.standard_normal((2, n)) * 0.02).astype(np.float32)
    # a quarter-rate sine sampled 45 degrees off its crests (its peaks between the samples), at a block boundary
    x[0, 39_984:40_016] = 0.3 * np.sign(np.sin(np.arange(32) * np.pi / 2 + np.pi / 4))
    mix = Mix([ArrayStream("x", x)], n, False)
    out = []
    report = assemble(mix, sample_rate=SR, target_lufs=-30, ceiling_dbtp=-1, sinks=[out.append], block=40_000)
    out = np.concatenate(out, axis=1)
    assert not report.limited and report.true_peak_exact
    gain = 10 ** (report.gain_db / 20)
    assert report.true_peak_dbtp == pytest.approx(true_peak_dbtp(out), abs=1e-4)
    assert report.true_peak_dbtp == pytest.approx(20 * np.log10(float(oversampled_abs_peaks(x).max()) * gain), abs=1e-9)
    assert oversampled_abs_peaks(x).max() > 1.1 * np.abs(x).max()  # the peak is between the samples


def test_events_wrap_around_the_loop_point_whole():
    clip = np.hanning(SR).astype(np.float32)
    total = SR * 10
    events = [EventTime(0, total - SR // 4, 0.0, -1.0), EventTime(0, SR * 4, -6.0, 1.0)]
    stream = EventStream("ev", [clip], events, 0.0, total, True)
    out = render_block(stream, 0, total, total=total, loop=True)
    # the first event starts 0.25 s before the end: its rest plays at the start (hard left)
    assert np.allclose(out[0, total - SR // 4 :], clip[: SR // 4])
    assert np.allclose(out[0, : SR * 3 // 4], clip[SR // 4 :]) and np.all(out[1, : SR * 3 // 4] == 0)
    energy = (out.astype(np.float64) ** 2).sum()
    assert energy == pytest.approx((clip.astype(np.float64) ** 2).sum() * (1 + 10 ** (-6 / 10)), rel=1e-5)
    cut = EventStream("ev", [clip], events, 0.0, total, False)
    assert np.all(render_block(cut, 0, SR // 2, total=total, loop=False) == 0)  # no loop: no wrap


def test_trim_event_keeps_the_event_and_cuts_the_silence():
    clip = np.zeros(SR * 10, dtype=np.float32)
    burst = np.hanning(SR * 2).astype(np.float32) * 0.5
    clip[SR * 6 : SR * 8] = burst
    out = trim_event(clip, SR)
    assert out.shape[0] == 1 and SR * 1.5 < out.shape[1] < SR * 3  # (channels, samples)
    assert out[0, 0] == 0 and out[0, -1] == 0 and np.abs(out).max() == pytest.approx(0.5, rel=1e-3)
    stereo = trim_event(np.stack([clip, 0.5 * clip]), SR)
    assert stereo.shape == (2, out.shape[1]) and np.abs(stereo[1]).max() == pytest.approx(0.25, rel=1e-3)


def test_animation_is_smooth_bounded_and_loops():
    total = SR * 600
    anim = Animation(6.0, 120.0, seed=1, total=total, sample_rate=SR, loop=True)
    t = np.arange(0, 600, 0.5)
    g = anim.gain_db(t)
    assert g.max() - g.min() > 3.0 and np.abs(g).max() <= 3.0 + 1e-9
    assert anim.gain_db(np.array([0.0]))[0] == pytest.approx(anim.gain_db(np.array([600.0]))[0], abs=1e-9)
    assert np.abs(np.diff(g)).max() < 0.3  # under 0.3 dB per half second: a drift, not a step
    assert np.array_equal(anim.gains(1000, 5000), Animation(6.0, 120.0, 1, total, SR, True).gains(1000, 5000))


def test_master_fades_start_and_end_in_silence():
    x = np.full((2, SR * 4), 0.1, dtype=np.float32)
    mix = Mix([ArrayStream("x", x)], x.shape[1], False, fade_in=SR, fade_out=SR * 2)
    out = collect(mix, 10_000)
    assert out[0, 0] < 1e-6 and out[0, -1] < 1e-6 and out[0, SR * 3 // 2] == pytest.approx(0.1)
    assert np.all(np.diff(out[0, :SR]) >= -1e-7) and np.all(np.diff(out[0, -SR * 2 :]) <= 1e-7)  # float rounding


def test_silent_mix_is_refused():
    mix = Mix([ArrayStream("x", np.zeros((2, SR), dtype=np.float32))], SR, True)
    with pytest.raises(ValueError, match="the mix is silent"):
        assemble(mix, sample_rate=SR, target_lufs=-23, ceiling_dbtp=-1)


def test_a_failing_sink_stops_the_assembly():
    stream = pool_stream(total_s=20.0)
    mix = Mix([stream], stream.arrangement.total, True)

    def broken(block):
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError, match="No space left"):
        assemble(mix, sample_rate=SR, target_lufs=-23, ceiling_dbtp=-1, sinks=[broken])


@pytest.mark.parametrize("room_mb", [None, 0, 5, 10_000])
def test_sides_held_between_the_passes_change_no_bit_and_are_let_go(monkeypatch, room_mb):
    """Mastering holds the mono layers' decorrelated sides between its passes as far as memory allows (none when
    the resident size is unknown or leaves no room, the first layer's only with 5 MB of room, all with plenty):
    the same mix and stems every time, and nothing held afterwards."""
    import ambientgen.output.master as master
    from ambientgen.audio.placement import Placed
    from ambientgen.runtime import MEMORY_GOAL

    def mix():
        layers = [ArrayStream(f"l{k}", Placed(noise_pool(1, seconds=20.0, seed=k)[0][0], gain_db=-6.0, pan=0.3 * k,
                                                  width=0.5, seed=k, loop=True)) for k in range(3)]
        return Mix(layers, total=20 * SR, loop=True)

    def run(m):
        out, stems = [], [[], [], []]
        assemble(m, sample_rate=SR, target_lufs=-20, ceiling_dbtp=-1, sinks=[out.append],
                 stem_sinks=[s.append for s in stems], layer_names=["l0", "l1", "l2"], block=1 << 16)
        return np.concatenate(out, axis=1), [np.concatenate(s, axis=1) for s in stems]

    plain = run(mix())
    resident = None if room_mb is None else MEMORY_GOAL - master.HOLD_MARGIN - room_mb * 2**20
    monkeypatch.setattr(master, "resident_bytes", lambda: resident)
    held = []
    real = Placed.hold_side
    monkeypatch.setattr(Placed, "hold_side", lambda self, hold: (held.append(hold), real(self, hold))[1])
    m = mix()
    out, stems = run(m)
    assert np.array_equal(out, plain[0]) and all(np.array_equal(a, b) for a, b in zip(stems, plain[1]))
    assert held[:3] == {None: [False] * 3, 0: [False] * 3, 5: [True, False, False], 10_000: [True] * 3}[room_mb]
    assert held[3:] == [False] * 3 and all(len(layer.stereo._blocks) <= 2 for layer in m.layers)



def test_a_sink_that_holds_memory_while_fed_leaves_less_room_for_held_sides(monkeypatch):
    """A check fed the mix as it is written says what it holds: mastering holds that much less (here, with room for
    all three sides, a sink holding the room of two leaves room for one)."""
    import ambientgen.output.master as master
    from ambientgen.audio.placement import Placed
    from ambientgen.runtime import MEMORY_GOAL

    layers = [ArrayStream(f"l{k}", Placed(noise_pool(1, seconds=20.0, seed=k)[0][0], gain_db=-6.0, pan=0.3 * k,
                                              width=0.5, seed=k, loop=True)) for k in range(3)]
    side = layers[0].stereo.side_bytes
    monkeypatch.setattr(master, "resident_bytes", lambda: MEMORY_GOAL - master.HOLD_MARGIN - 3 * side - 1)
    held = []
    real = Placed.hold_side
    monkeypatch.setattr(Placed, "hold_side", lambda self, hold: (held.append(hold), real(self, hold))[1])

    class Watch(list):
        resident_bytes = 2 * side

        def __call__(self, block):
            self.append(block)

    watch = Watch()
    assemble(Mix(layers, total=20 * SR, loop=True), sample_rate=SR, target_lufs=-20, ceiling_dbtp=-1,
             sinks=[watch], block=1 << 16)
    assert held[:3] == [True, False, False] and sum(b.shape[1] for b in watch) == 20 * SR

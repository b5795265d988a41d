"""Timeline curves and the stream that follows them: glides, absent stretches on the layer's own clock, brightness,
width, and the envelope a DAW gets."""

from __future__ import annotations

import numpy as np
import pytest

from ambientgen.audio.streams import ArrayStream, render_block
from ambientgen.audio.timeline import (
    TimelineStream,
    Unlevelled,
    audible_spans,
    envelope_points,
    lane_values,
    level_gain,
    thin_events,
)

SR = 8000


def test_glides_follow_a_raised_cosine_and_hold_between():
    lane = [[0.0, 0.0], [10.0, 0.0], [20.0, -12.0], [30.0, -12.0]]
    v = lane_values(lane, np.array([0.0, 10.0, 15.0, 20.0, 25.0, 40.0]))
    assert v == pytest.approx([0, 0, -6, -12, -12, -12])
    assert lane_values(lane, np.array([12.5]))[0] == pytest.approx(-12 * (0.5 - 0.5 * np.cos(np.pi / 4)))


def test_off_is_silence_and_glides_pass_through_minus_60_db():
    lane = [[0.0, None], [10.0, None], [20.0, 0.0], [30.0, 0.0]]
    g = level_gain(lane, np.array([0.0, 5.0, 10.0, 15.0, 20.0]))
    assert g[0] == g[1] == g[2] == 0.0 and g[3] == pytest.approx(10 ** (-30 / 20)) and g[4] == pytest.approx(1.0)
    assert audible_spans(lane, 30 * SR, SR) == [(10 * SR, 30 * SR)]
    assert audible_spans(None, 100, SR) == [(0, 100)]


def _tone_stream(seconds: float, *, seed: int = 0) -> ArrayStream:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, round(seconds * SR))).astype(np.float32) * 0.1
    return ArrayStream("x", x)


def _whole(stream, total, loop=False):
    return render_block(stream, 0, total, total=total, loop=loop)


@pytest.mark.parametrize("loop", [False, True])
def test_any_block_equals_the_whole_track(loop):
    total = 20 * SR
    lanes = {"level": [[0.0, 0.0], [5.0, 0.0], [8.0, -20.0], [20.0, -20.0]],
             "brightness": [[0.0, 1.0], [4.0, 1.0], [12.0, 0.2], [20.0, 0.2]],
             "width": [[0.0, 0.5], [6.0, 0.5], [9.0, 1.0], [20.0, 1.0]]}
    stream = TimelineStream("x", _tone_stream(20), total, loop, total, loop, SR, lanes, 0.5)
    whole = _whole(stream, total, loop)
    pieces = np.concatenate([render_block(stream, s, 3001, total=total, loop=loop)
                             for s in range(0, total, 3001)], axis=1)[:, :total]
    assert np.max(np.abs(whole - pieces)) < 1e-6


def test_an_absent_stretch_stops_the_layers_own_clock():
    """A layer held off from 5 s to 9 s (gliding out from 4 s, back in until 10 s) is rendered for its 11 audible
    seconds only; after the gap it goes on where it stopped."""
    total = 15 * SR
    inner = _tone_stream(11)
    lane = [[0.0, 0.0], [4.0, 0.0], [5.0, None], [9.0, None], [10.0, 0.0], [15.0, 0.0]]
    spans = audible_spans(lane, total, SR)
    assert spans == [(0, 5 * SR), (9 * SR, 15 * SR)]
    own = sum(b - a for a, b in spans)
    stream = TimelineStream("x", inner, own, False, total, False, SR, {"level": lane}, 0.5, spans)
    out = _whole(Unlevelled(stream), total)
    assert np.array_equal(out[:, : 5 * SR], inner.stereo[:, : 5 * SR])
    assert not out[:, 5 * SR : 9 * SR].any()
    assert np.array_equal(out[:, 9 * SR : 10 * SR], inner.stereo[:, 5 * SR : 6 * SR])  # resumed, no jump
    assert stream.scene_time(5 * SR) == 9 * SR and stream.inner_time(9 * SR) == 5 * SR
    assert stream.inner_time(6 * SR) is None


def test_brightness_darkens_and_width_narrows():
    total = 4 * SR
    inner = _tone_stream(4)
    dark = TimelineStream("x", inner, total, False, total, False, SR,
                          {"brightness": [[0.0, 0.2], [4.0, 0.2]], "width": [[0.0, 0.0], [4.0, 0.0]]}, 0.5)
    out, dry = _whole(dark, total), inner.stereo

    def high(x):  # power above 2 kHz
        spec = np.abs(np.fft.rfft(x[0])) ** 2
        return spec[len(spec) // 2 :].sum()

    assert high(out) < 0.1 * high(dry)
    assert np.allclose(out[0], out[1], atol=1e-6)  # width 0: mono


def test_the_daws_envelope_times_the_unlevelled_layer_is_the_layer():
    total = 30 * SR
    lane = [[0.0, -6.0], [5.0, -6.0], [15.0, None], [20.0, None], [25.0, 3.0], [30.0, 3.0]]
    spans = audible_spans(lane, total, SR)
    stream = TimelineStream("x", _tone_stream(30), sum(b - a for a, b in spans), False, total, False, SR,
                            {"level": lane}, 0.5, spans)
    points = np.array(envelope_points(lane))
    env = np.interp(np.arange(total) / SR, points[:, 0], points[:, 1])
    levelled, flat = _whole(stream, total), _whole(Unlevelled(stream), total)
    k = total // 400  # 50 ms windows: the DAW's level over the layer's, where the layer sounds
    a = np.sqrt(np.mean((flat * env)[:, : k * 400].reshape(2, k, 400) ** 2, axis=(0, 2)))
    b = np.sqrt(np.mean(levelled[:, : k * 400].reshape(2, k, 400) ** 2, axis=(0, 2)))
    heard = b > 1e-3 * b.max()
    assert np.abs(20 * np.log10(a[heard] / b[heard])).max() < 0.25
    assert not levelled[:, 16 * SR : 19 * SR].any() and not flat[:, 16 * SR : 19 * SR].any()


def test_events_thin_out_with_density_and_stop_where_the_layer_is_off():
    from ambientgen.audio.arrange import EventTime

    events = [EventTime(start=k * SR, variation=0, gain_db=0.0, pan=0.0) for k in range(0, 300)]
    density = [[0.0, 2.0], [100.0, 2.0], [100.0, 0.5], [300.0, 0.5]]
    level = [[0.0, 0.0], [200.0, 0.0], [200.0, None], [300.0, None]]
    kept = thin_events(events, density, level, SR, np.random.default_rng(0), 2.0)
    first = sum(e.start < 100 * SR for e in kept)
    second = sum(100 * SR <= e.start < 200 * SR for e in kept)
    assert first == 100 and 10 < second < 45 and not any(e.start >= 200 * SR for e in kept)

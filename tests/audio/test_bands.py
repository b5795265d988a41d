"""The band track: single precision, within a hair of double precision's levels, the same in any blocks."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from ambientgen.audio.bands import BandTrack, band_db

SR = 48000


def signal(seconds: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(2)
    t = np.arange(int(seconds * SR)) / SR
    swell = 1 + 0.5 * np.sin(2 * np.pi * 0.7 * t)
    return 0.1 * rng.standard_normal(len(t)) * swell + 0.2 * np.sin(2 * np.pi * 330 * t)


@pytest.mark.parametrize("frame_hops", [2, 4])
def test_single_precision_levels_are_within_a_ten_thousandth_of_a_db_of_double(frame_hops):
    x = signal()
    track = BandTrack.of(x, SR, frame_hops=frame_hops)
    frames = sliding_window_view(x, track.n_fft)[:: track.hop]
    double = band_db(frames, track.edges)
    assert track.features().dtype == np.float32 and track.features().shape == double.shape
    assert np.abs(track.features() - double).max() < 1e-4


def test_any_blocks_give_the_frames_of_the_whole_signal():
    x = signal()
    whole = BandTrack.of(x, SR).features()
    track = BandTrack(SR)
    for k in range(0, len(x), 7_777):
        track.add(x[k : k + 7_777])
    np.testing.assert_array_equal(track.features(), whole)

"""Where a file looks spliced (ambientgen.check.splices)."""

from __future__ import annotations

import numpy as np

from ambientgen.audio.bands import BandTrack
from ambientgen.check.splices import detect_seams, pick_seams


def test_pick_seams_keeps_the_strongest_apart():
    rows = np.array([[100, 2.0], [110, 3.0], [400, 2.5], [405, 1.9], [900, 1.6]])
    assert pick_seams(rows, 0.025, max_seams=2, min_gap_s=2.0) == [2.75, 10.0]
    assert pick_seams(rows, 0.025, max_seams=20, min_gap_s=2.0) == [2.75, 10.0, 22.5]
    assert pick_seams(np.zeros((0, 2)), 0.025) == []


def test_a_splice_between_two_textures_is_found_and_a_natural_onset_is_not():
    sr = 16000
    rng = np.random.default_rng(3)
    white = rng.standard_normal(sr * 12) * 0.05
    brown = np.cumsum(rng.standard_normal(sr * 12)) * 0.002
    brown -= np.convolve(brown, np.ones(800) / 800, mode="same")  # no drift
    spliced = np.concatenate([white, brown])
    track = BandTrack.of(spliced, sr)
    assert detect_seams(track.features(), track.hop / sr) == [12.0]
    t = np.arange(sr * 2) / sr
    events = {"clap": 0.5 * np.exp(-12 * t) * rng.standard_normal(len(t)),
              "bird chirp": 0.3 * np.exp(-8 * t) * np.sin(2 * np.pi * (3000 * t + 2000 * t**2)),
              "thud": 0.5 * np.exp(-4 * t) * np.sin(2 * np.pi * 80 * t)}
    for name, event in events.items():  # each decays into an unsteady side: no splice
        onset = white.copy()
        onset[sr * 6 : sr * 8] += event
        track = BandTrack.of(onset, sr)
        assert detect_seams(track.features(), track.hop / sr) == [], name
    # the same texture at another level is a splice too
    track = BandTrack.of(np.concatenate([white, white * 2]), sr)
    assert detect_seams(track.features(), track.hop / sr) == [12.0]

"""Recording beds too short or too uneven for excerpts: resynthesised, looped without replay, checked."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

import ambientgen
from ambientgen.cli import commands as cli
from tests.conftest import DATA

runner = CliRunner()


def _thunder_over_rain(path):
    """The fixture storm (two rolls with digital silence between) over a -54 dBFS floor: an ordinary thunder
    ambience, quiet between its rolls."""
    storm, sr = sf.read(DATA / "storm_redeclipse.ogg", dtype="float32")
    floor = 0.002 * np.random.default_rng(0).standard_normal(len(storm)).astype(np.float32)
    sf.write(path, 0.8 * storm + floor, sr)
    return path


@pytest.mark.slow
def test_an_uneven_thunder_ambience_loops_with_no_gap_and_passes_its_check(tmp_path):
    result = ambientgen.loop(_thunder_over_rain(tmp_path / "thunder.wav"), tmp_path / "o", duration="3m",
                             session=False)
    layer = result.manifest["layers"][0]
    assert layer["texture"]["why"] == "uneven: thunder.wav has long quiet stretches"
    assert layer["texture"]["transients"] >= 3 and layer["texture"]["events"] >= 5  # the rolls come back, varied
    report = result.report
    assert report.passed and report.repetition is None and not report.gaps_s, report.to_json()
    # the rolls stand out of the floor as in the source: the loudest seconds are 15 dB and more over the quietest
    mix = result.audio().mean(axis=0)
    level = 10 * np.log10(np.mean(mix[: len(mix) // 48000 * 48000].reshape(-1, 48000) ** 2, axis=1) + 1e-20)
    assert np.percentile(level, 95) - np.percentile(level, 10) > 15


@pytest.mark.slow
def test_a_nine_second_recording_loops_for_minutes_without_a_cycle(tmp_path):
    out = tmp_path / "o"
    res = runner.invoke(cli.app, ["loop", str(DATA / "rain_redeclipse.ogg"), "--duration", "4m", "-o", str(out),
                                  "-q", "--no-stems"])
    assert res.exit_code == 0, res.output
    assert "9.4 s of recording resynthesised (9.4 s of recording, under the 122 s excerpts need)" in res.stdout
    report = json.loads((out / "rain_redeclipse.check.json").read_text())
    assert report["passed"] and report["repetition"] is None
    assert abs(report["loop"]["level_jump_db"]) < 1.5  # the loop point's level matches


def test_resynthesis_is_the_same_for_a_seed_and_differs_for_another(tmp_path):
    scene = {"name": "r", "duration": 20, "loop": True, "layers": [{"name": "rain", "source": str(DATA / "rain_redeclipse.ogg")}]}
    a = ambientgen.render(ambientgen.scene_from_dict({**scene, "seed": 1}), tmp_path / "a", report=False,
                          session=False, stems=False).audio()
    b = ambientgen.render(ambientgen.scene_from_dict({**scene, "seed": 1}), tmp_path / "b", report=False,
                          session=False, stems=False).audio()
    c = ambientgen.render(ambientgen.scene_from_dict({**scene, "seed": 2}), tmp_path / "c", report=False,
                          session=False, stems=False).audio()
    assert np.array_equal(a, b) and not np.allclose(a, c)

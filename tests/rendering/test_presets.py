"""``render --preset sleep``: one compressed file, a gentle fade-in, a wind-down and a long fade; the same meaning as
``check --preset sleep``."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

import ambientgen
from ambientgen.check.report import PRESETS, check_file
from ambientgen.cli import commands as cli
from ambientgen.errors import UsageError
from ambientgen.rendering.presets import apply_recipe, recipe
from ambientgen.scene.schema import scene_from_dict

SCENE = {"name": "night", "duration": "8h", "model": {"backend": "procedural"},
         "layers": [{"name": "rain", "prompt": "light rain"},
                    {"name": "thunder", "prompt": "distant thunder", "role": "events"}]}


def test_the_recipe_is_the_check_presets_delivery():
    rec = recipe("sleep")
    assert (rec.lufs, rec.ceiling_dbtp) == (PRESETS["sleep"].target_lufs, PRESETS["sleep"].true_peak_max_dbtp)
    assert rec.duration == "8h" and rec.formats == "mp3" and not rec.stems and not rec.session
    assert PRESETS["sleep"].loop is False


def test_the_recipe_fades_in_winds_down_and_fades_out():
    sc, notes = apply_recipe(scene_from_dict(SCENE), recipe("sleep"), fade_in_given=False, fade_out_given=False)
    assert sc.fade_in == 60.0 and sc.fade_out == 900.0 and not sc.loopable and notes == []
    lanes = sc.lanes()
    assert lanes["thunder"]["density"][-1][1] < 0.5 and lanes["thunder"]["level"][-1][1] < 0
    assert lanes["rain"]["brightness"][-1][1] < 1 and lanes["rain"]["level"][1][0] == pytest.approx(0.75 * 8 * 3600)
    short, _ = apply_recipe(scene_from_dict({**SCENE, "duration": "10m"}), recipe("sleep"), fade_in_given=False,
                            fade_out_given=False)
    assert short.fade_in == pytest.approx(12.0) and short.fade_out == pytest.approx(60.0)  # shares of a short one


def test_a_layers_own_timeline_through_the_wind_down_is_kept_and_said():
    data = {**SCENE, "timeline": [{"at": "80%", "set": {"rain": {"level": -6}}}]}
    sc, notes = apply_recipe(scene_from_dict(data), recipe("sleep"), fade_in_given=True, fade_out_given=True)
    assert notes == ["sleep: 'rain' keeps its own timeline through the wind-down"]
    assert sc.fade_in == 0 and "brightness" not in sc.lanes()["rain"]


def test_an_unknown_preset_names_the_option():
    with pytest.raises(UsageError, match="preset: must be one of sleep, got 'nap'"):
        recipe("nap")
    result = CliRunner().invoke(cli.app, ["render", "scenes/forest.yaml", "--preset", "nap", "-o", "x"])
    assert result.exit_code == 2 and "--preset" in result.output and "Traceback" not in result.output


def test_a_sleep_render_is_one_mp3_that_check_sleep_passes(tmp_path):
    result = ambientgen.render("rain on a tent", tmp_path, preset="sleep", duration="90s", backend="procedural",
                               cache=False)
    kinds = sorted(f["kind"] for f in result.manifest["files"])
    assert kinds == ["mix"] and result.mix_path.suffix == ".mp3"
    assert result.manifest["fade_in_s"] == pytest.approx(1.8) and result.manifest["fade_out_s"] == pytest.approx(9)
    assert result.manifest["target_lufs"] == -27.0 and result.manifest["loop"] is False
    assert result.passed, result.report.failures
    report = check_file(result.mix_path, preset="sleep")  # no manifest: the preset's own fades are intended
    assert report.passed, report.failures


def test_options_given_win_over_the_recipe(tmp_path):
    result = ambientgen.render("rain on a tent", tmp_path, preset="sleep", duration=40, backend="procedural",
                               formats="flac", stems=True, cache=False, report=False)
    kinds = sorted(f["kind"] for f in result.manifest["files"])
    assert kinds == ["mix", "stem"] and result.mix_path.suffix == ".flac"

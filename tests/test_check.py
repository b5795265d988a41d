from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from ambientgen import cli
from ambientgen.check import check_file
from ambientgen.stitch import close_loop

from .conftest import DATA, master

CLEAN = ["rain_redeclipse", "river_stk", "waterfall_stk", "birds_stk", "cafe_stk", "cicadas_redeclipse"]
runner = CliRunner()


def clean_loop(name: str, path):
    """A real recording made into a loop (its tail faded into its head) at -23 LUFS: a clean deliverable."""
    x, sr = sf.read(DATA / f"{name}.ogg")
    x = np.atleast_2d(x.T).astype(np.float32)
    y = close_loop(x, length=x.shape[1] - sr // 2, overlap=sr // 2)
    y, _ = master(y, sr, target_lufs=-23, ceiling_dbtp=-1)
    sf.write(path, y.T, sr, subtype="PCM_24")
    return y.T.astype(np.float64), sr


@pytest.mark.parametrize("name", CLEAN)
@pytest.mark.slow
def test_clean_loops_pass(name, tmp_path):
    clean_loop(name, tmp_path / "x.wav")
    report = check_file(tmp_path / "x.wav")
    assert report.passed, report.failures
    assert report.integrated_lufs == pytest.approx(-23, abs=0.2)
    assert report.seams_source == "detected" and report.seams == []  # no splice is seen in a clean recording


def _mono(name: str) -> np.ndarray:
    x, _ = sf.read(DATA / f"{name}.ogg", dtype="float64", always_2d=True)
    x = x.mean(axis=1)
    return x / np.sqrt(np.mean(x**2)) * 0.05


@pytest.mark.parametrize(
    "first, second, gain",
    [("rain_redeclipse", "river_stk", 1.0), ("waterfall_stk", "river_stk", 1.0), ("birds_stk", "cafe_stk", 1.0),
     ("rain_redeclipse", "cicadas_redeclipse", 1.0), ("river_stk", None, 2.0)],
)
@pytest.mark.slow
def test_splices_are_detected_without_a_manifest(first, second, gain, tmp_path):
    """Butt splices between different recordings, and a +6 dB step inside one, are found to within 0.15 s."""
    a = _mono(first)
    if second is None:  # the same recording, 6 dB louder after 7 s
        a, b = a[: 7 * 48000], a[7 * 48000 :]
    else:
        b = _mono(second)
    sf.write(tmp_path / "spliced.wav", np.concatenate([a, b * gain]), 48000, subtype="PCM_24")
    report = check_file(tmp_path / "spliced.wav", preset="quality")
    splice = len(a) / 48000
    assert report.seams_source == "detected"
    assert [round(s["time_s"]) for s in report.seams] == [round(splice)], report.seams
    assert abs(report.seams[0]["time_s"] - splice) < 0.15


@pytest.mark.slow
def test_a_recording_with_near_silence_is_reported(tmp_path):
    """storm_redeclipse is not clean as a loop deliverable: it falls near-silent between thunderclaps."""
    clean_loop("storm_redeclipse", tmp_path / "storm.wav")
    report = check_file(tmp_path / "storm.wav")
    assert report.gaps_s and any("silent gap" in f for f in report.failures)


@pytest.mark.parametrize(
    "name, plant, reason",
    [("cafe_stk", "click", "click at the loop point"),
     ("cafe_stk", "gap", "silent gap(s), first at 10.00 s"),
     ("waterfall_stk", "jump", "dB at the loop point"),
     ("cafe_stk", "repeat", "stretch at 2.1 s recurs at 14.2 s"),
     ("river_stk", "clip", "clipped samples")],
)
@pytest.mark.slow
def test_planted_defects_are_found(name, plant, reason, tmp_path):
    y, sr = clean_loop(name, tmp_path / "clean.wav")
    if plant == "click":
        y[0] += 0.5
    elif plant == "gap":
        y[sr * 10 : sr * 10 + sr // 20] = 0  # 50 ms of digital silence
    elif plant == "jump":
        y[: len(y) // 2] *= 10 ** (3 / 20)  # the start is 3 dB louder than the end: the wrap jumps
    elif plant == "repeat":
        y[sr * 14 : sr * 24] = y[sr * 2 : sr * 12].copy()  # 10 s recur 12 s later
    elif plant == "clip":
        y[sr * 5 : sr * 5 + 2000] *= 20
        y = np.clip(y, -1, 1)
    sf.write(tmp_path / "bad.wav", y, sr, subtype="PCM_24")
    report = check_file(tmp_path / "bad.wav")
    assert not report.passed
    assert any(reason in f for f in report.failures), report.failures


@pytest.mark.slow
def test_cli_exit_codes_json_and_picture(tmp_path):
    clean_loop("river_stk", tmp_path / "ok.wav")
    result = runner.invoke(cli.app, ["check", str(tmp_path / "ok.wav"), "--json", str(tmp_path / "r.json"),
                                     "--png", str(tmp_path / "r.png")])
    assert result.exit_code == 0, result.output
    assert "seams (detected)" in result.output and "none found" in result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["passed"] and data["preset"] == "ebu-r128" and data["seams_source"] == "detected"
    png = (tmp_path / "r.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) < 500_000
    result = runner.invoke(cli.app, ["check", str(tmp_path / "ok.wav"), "--preset", "streaming"])
    assert result.exit_code == 1 and "loudness -23.0 LUFS is outside -14 ± 1 LU" in result.output


@pytest.mark.parametrize(
    "args, code, message",
    [(["README.md"], 1, "not an audio file soundfile can read"),
     (["missing.wav"], 1, "missing.wav: no such file"),
     (["x.wav", "--preset", "loud"], 2, "--preset: must be one of ebu-r128"),
     (["x.wav", "--manifest", "README.md"], 1, "--manifest: README.md is not an AmbientGen manifest")],
)
def test_cli_bad_inputs(args, code, message, tmp_path, monkeypatch):
    from .conftest import ROOT

    monkeypatch.chdir(ROOT)
    if "x.wav" in args:
        clean_loop("river_stk", tmp_path / "x.wav")
        args = [str(tmp_path / "x.wav") if a == "x.wav" else a for a in args]
    result = runner.invoke(cli.app, ["check", *args])
    assert result.exit_code == code
    assert message in result.stderr and "Traceback" not in result.output

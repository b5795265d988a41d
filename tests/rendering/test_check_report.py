"""Step 7 of a render: its check report and picture, made while the export hashes its files, or not at all when the
export fails."""

from __future__ import annotations

import io
import json

import pytest

import ambientgen


def test_a_render_whose_export_fails_while_its_report_is_made_leaves_no_report(tmp_path, monkeypatch):
    """The check report and picture are made while the export hashes its files: when the export fails there,
    neither is written, and nothing of the render is left."""
    from ambientgen.output import export

    started = []

    def broken(paths):
        started.append(True)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(export, "sha256_files", broken)
    with pytest.raises(Exception, match="No space left on device"):
        ambientgen.render("a gentle stream", tmp_path / "out", duration=12, backend="procedural", cache=False)
    assert started == [True]
    assert not (tmp_path / "out").exists()  # the folder it made is gone again


def test_the_early_report_and_picture_are_the_ones_drawn_from_the_file(tmp_path):
    """The report made from the draft manifest and the written blocks, and its picture, equal the check and the
    picture of the finished file with its final manifest (the draft lacks only the hashes)."""
    from ambientgen.check.picture import draw
    from ambientgen.check.report import check_file, scene_preset

    result = ambientgen.render("a gentle stream and rain", tmp_path / "out", duration=30, seed=3,
                               backend="procedural", cache=False)
    m = result.manifest
    assert all(f["sha256"] for f in m["files"])
    mix = tmp_path / "out" / next(f["path"] for f in m["files"] if f["kind"] == "mix")
    preset = scene_preset(m["target_lufs"], m["true_peak_dbtp"], loop=bool(m["loop"]))
    want = check_file(mix, manifest=m, preset=preset)
    assert (tmp_path / "out" / f"{m['name']}.check.json").read_text() == json.dumps(want.to_json(), indent=2) + "\n"
    png = io.BytesIO()
    seams = sorted({t for layer in m["layers"] for t in layer["seams_s"]})
    draw(want, png, seams_s=seams, preset=preset)
    assert (tmp_path / "out" / f"{m['name']}.check.png").read_bytes() == png.getvalue()

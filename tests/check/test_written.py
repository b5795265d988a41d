"""The check a render makes of its mix from the blocks it writes: the report of reading the file back."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from ambientgen.check.report import check_file, scene_preset
from ambientgen.check.written import WrittenCheck

SR = 48000


def _manifest(seams):
    return {"duration_s": 40.0, "layers": [{"name": "bed", "seams_s": [0.0, *seams]}], "files": []}


def _write_and_watch(path, audio, subtype, seams, block=12_345):
    watch = WrittenCheck(sample_rate=SR, channels=2, frames=audio.shape[1], subtype=subtype, seams_s=seams)
    with sf.SoundFile(path, "w", SR, 2, subtype=subtype, format="WAV") as f:
        for s in range(0, audio.shape[1], block):  # blocks of another size than the check's own
            f.write(audio[:, s : s + block].T)
            watch(audio[:, s : s + block])
    return watch


@pytest.mark.parametrize("subtype", ["PCM_24", "PCM_16", "FLOAT"])
def test_the_written_check_is_the_check_of_the_file(tmp_path, subtype):
    rng = np.random.default_rng(2)
    n = 40 * SR
    audio = (0.1 * rng.standard_normal((2, n)) * np.linspace(0.5, 1.5, n)).astype(np.float32)
    audio[:, 20 * SR : 20 * SR + 5] = 0.99  # a click, and a few samples at full scale
    seams = [9.0, 18.0, 27.0]
    path = tmp_path / "mix.wav"
    watch = _write_and_watch(path, audio, subtype, seams)
    preset = scene_preset(-23.0, -1.0, loop=True)
    got = watch.report(path, _manifest(seams), preset)
    want = check_file(path, preset=preset, manifest=_manifest(seams))
    assert json.dumps(got.to_json()) == json.dumps(want.to_json())
    assert got.seams and got.container == "WAV"


def test_a_manifest_with_other_seams_leaves_the_check_to_reading_the_file(tmp_path):
    rng = np.random.default_rng(3)
    audio = (0.1 * rng.standard_normal((2, 20 * SR))).astype(np.float32)
    watch = _write_and_watch(tmp_path / "mix.wav", audio, "PCM_24", [9.0])
    assert watch.report(tmp_path / "mix.wav", _manifest([8.0]), scene_preset(-23.0, -1.0, loop=True)) is None


def test_only_wav_in_integers_or_floats_is_checked_from_its_blocks():
    assert WrittenCheck.exact("WAV", "PCM_24") and WrittenCheck.exact("WAV", "FLOAT")
    assert not WrittenCheck.exact("FLAC", "PCM_24") and not WrittenCheck.exact("OGG", "VORBIS")
    assert not WrittenCheck.exact("WAV", "PCM_32") and not WrittenCheck.exact("M4A", None)


def test_an_analysis_failure_is_raised_by_close_unless_the_render_failed_first():
    watch = WrittenCheck(sample_rate=SR, channels=2, frames=SR, subtype="PCM_24", seams_s=[])
    watch(np.zeros((2, 1000), dtype=np.float32))
    watch.check.gathered.add = lambda block: 1 / 0  # the next block's analysis breaks
    watch(np.zeros((2, SR), dtype=np.float32))
    with pytest.raises(ZeroDivisionError):
        watch.close()
    quiet = WrittenCheck(sample_rate=SR, channels=2, frames=SR, subtype="PCM_24", seams_s=[])
    quiet.check.gathered.add = lambda block: 1 / 0
    quiet(np.zeros((2, SR), dtype=np.float32))
    quiet.close(quiet=True)  # said nothing: the render's own error is what the user sees

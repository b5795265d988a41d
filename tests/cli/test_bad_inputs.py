"""Every bad input answered: one line on stderr, the right exit code, no traceback, nothing half-written.

Each case names how to set it up (files it needs), the command, the exit code
(1: bad input or environment, 2: bad usage of an option) and a part of the
one line expected. Before the command, the output folder holds an earlier
render's mix; afterwards it must be byte-for-byte what it was.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile as sf
from typer.testing import CliRunner

from ambientgen.cli import commands as cli
from tests.conftest import DATA, SCENES, noise

runner = CliRunner()
EARLIER = b"RIFF an earlier render"

REC = """name: rec
duration: 30
layers:
  - name: bed
    source: {src}
"""

GOOD = """name: good
duration: 30
model: {backend: procedural}
layers:
  - {name: rain, prompt: steady rain on leaves}
"""


# (id, files to create {name: text or bytes}, argv with {tmp} placeholders, exit code, message part)
CASES = [
    # scene files
    ("yaml-syntax", {"s.yaml": "name: [unclosed\n"}, ["render", "{tmp}/s.yaml"], 1, "YAML syntax error at line"),
    ("wrong-type", {"s.yaml": GOOD.replace("duration: 30", "duration: [1]")}, ["render", "{tmp}/s.yaml"], 1,
     "duration: must be seconds or a string like '10m'"),
    ("unknown-key", {"s.yaml": GOOD + "targt_lufs: -23\n"}, ["render", "{tmp}/s.yaml"], 1,
     "targt_lufs: unknown key (did you mean 'target_lufs'?)"),
    ("empty-file", {"s.yaml": ""}, ["render", "{tmp}/s.yaml"], 1, "a scene must be a mapping of keys to values, got empty"),
    ("list-file", {"s.yaml": "- a\n- b\n"}, ["render", "{tmp}/s.yaml"], 1, "got list"),
    ("zero-duration", {"s.yaml": GOOD.replace("duration: 30", "duration: 0")}, ["render", "{tmp}/s.yaml"], 1,
     "duration: must be greater than 0 seconds, got 0"),
    ("negative-duration", {"s.yaml": GOOD.replace("duration: 30", "duration: -5")}, ["render", "{tmp}/s.yaml"], 1,
     "duration: must be greater than 0 seconds, got -5"),
    ("absurd-duration", {"s.yaml": GOOD.replace("duration: 30", "duration: 30h")}, ["render", "{tmp}/s.yaml"], 1,
     "duration: must be at most 24h"),
    ("no-layers-key", {"s.yaml": "name: x\nduration: 30\n"}, ["render", "{tmp}/s.yaml"], 1,
     "layers: required field is missing"),
    ("empty-layers", {"s.yaml": "name: x\nlayers: []\n"}, ["render", "{tmp}/s.yaml"], 1,
     "layers: must list at least 1 item(s), got none"),
    ("layer-without-prompt", {"s.yaml": "name: x\nlayers:\n  - {name: rain}\n"}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0]: give prompt (a sound to generate) or source (a recording to play), got neither"),
    ("layer-prompt-and-source", {"s.yaml": REC.format(src="a.wav") + "    prompt: rain\n"},
     ["render", "{tmp}/s.yaml"], 1, "layers[0]: give prompt (a sound to generate) or source (a recording to play), "
                                   "not both"),
    ("all-muted", {"s.yaml": GOOD.replace("steady rain on leaves}", "steady rain on leaves, mute: true}")},
     ["render", "{tmp}/s.yaml"], 1, "layers: every layer is muted (mute: true); unmute one to render"),
    ("all-muted-validate", {"s.yaml": GOOD.replace("steady rain on leaves}", "steady rain on leaves, mute: true}")},
     ["validate", "{tmp}/s.yaml"], 1, "layers: every layer is muted (mute: true); unmute one to render"),
    ("mute-not-bool", {"s.yaml": GOOD.replace("steady rain on leaves}", "steady rain on leaves, mute: maybe}")},
     ["render", "{tmp}/s.yaml"], 1, "layers[0].mute:"),
    ("studio-remote", {"s.yaml": GOOD}, ["studio", "{tmp}/s.yaml", "--host", "0.0.0.0", "--no-browser"], 1,
     "needs --allow-remote"),
    ("studio-empty-folder", {"x.txt": "x"}, ["studio", "{tmp}", "--no-browser"], 1, "is a folder without a render"),
    # recordings as layers (source:), read relative to the scene file's folder
    ("rec-missing", {"s.yaml": REC.format(src="missing.wav")}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0].source: no such file: {tmp}/missing.wav"),
    ("rec-empty-glob", {"s.yaml": REC.format(src="'recs/*.flac'"), "recs/a.wav": "AUDIO"}, ["render", "{tmp}/s.yaml"],
     1, "layers[0].source: '{tmp}/recs/*.flac' matches no file"),
    ("rec-empty-folder", {"s.yaml": REC.format(src="recs"), "recs/notes.txt": "x"}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0].source: the folder '{tmp}/recs' holds no audio files"),
    ("rec-not-audio", {"s.yaml": REC.format(src="n.wav"), "n.wav": "this is text"}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0].source: {tmp}/n.wav is not an audio file soundfile can read"),
    ("rec-silent", {"s.yaml": REC.format(src="q.wav"), "q.wav": "SILENT"}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0].source: q.wav is silent (its loudest moment is -140 dBFS)"),
    ("rec-too-short", {"s.yaml": REC.format(src="s.wav"), "s.wav": "SHORT"}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0].source: s.wav is 0.50 s long; a bed needs at least 3 s (two crossfades of model.overlap_s)"),
    ("rec-low-rate", {"s.yaml": REC.format(src="l.wav"), "l.wav": "LOWRATE"}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0].source: l.wav has a sample rate of 6000 Hz; recordings need at least 8000 Hz"),
    ("rec-thunder-bed", {"s.yaml": REC.format(src="storm.ogg"), "storm.ogg": "STORM"}, ["render", "{tmp}/s.yaml"], 1,
     "layers[0].source: storm.ogg is separate sounds with silence between"),
    ("rec-no-events", {"s.yaml": REC.format(src="n.wav") + "    role: events\n", "n.wav": "NOISE40"},
     ["render", "{tmp}/s.yaml"], 1, "layers[0].source: n.wav has no distinct events"),
    ("loop-missing", {}, ["loop", "{tmp}/missing.wav", "-o", "{out}/new"], 1, "no such file: {tmp}/missing.wav"),
    ("loop-duration", {"ok.wav": "AUDIO"}, ["loop", "{tmp}/ok.wav", "-o", "{out}/new", "--duration", "0"], 2,
     "--duration: must be greater than 0 seconds, got '0'"),
    ("loop-earlier-render", {"good.wav": "AUDIO"}, ["loop", "{tmp}/good.wav", "-o", "{out}", "--duration", "10"], 1,
     "already exists: pass --overwrite to replace it"),
    ("unknown-backend", {"s.yaml": GOOD.replace("procedural", "magic")}, ["render", "{tmp}/s.yaml"], 1,
     "model.backend: must be one of auto, audioldm2, procedural, stable-audio-3, recording, got 'magic'"),
    # Stable Audio 3's own keys, checked by its settings model before anything loads
    ("sa3-window", {"s.yaml": GOOD.replace("{backend: procedural}", "{backend: stable-audio-3, window_s: 500}")}, ["render", "{tmp}/s.yaml"], 1,
     "model.window_s: must be less than or equal to 380, got 500"),
    ("sa3-join", {"s.yaml": GOOD.replace("{backend: procedural}", "{backend: stable-audio-3, join: glue}")}, ["render", "{tmp}/s.yaml"], 1,
     "model.join: must be 'multidiffusion' or 'inpaint', got 'glue'"),
    ("sa3-sampler", {"s.yaml": GOOD.replace("{backend: procedural}", "{backend: stable-audio-3, sampler: heun}")}, ["render", "{tmp}/s.yaml"], 1,
     "model.sampler: must be 'auto', 'pingpong' or 'euler', got 'heun'"),
    ("sa3-overlap", {"s.yaml": GOOD.replace("{backend: procedural}", "{backend: stable-audio-3, window_overlap_s: 0.1}")}, ["render", "{tmp}/s.yaml"], 1,
     "model.window_overlap_s: must be greater than or equal to 0.5, got 0.1"),
    ("sa3-overlap-window", {"s.yaml": GOOD.replace("{backend: procedural}", "{backend: stable-audio-3, window_s: 10, window_overlap_s: 20}")}, ["render", "{tmp}/s.yaml"], 1,
     "model: window_overlap_s must be less than window_s (10 s) so that windows advance, got 20"),
    ("loud-target", {"s.yaml": GOOD + "target_lufs: 3\n"}, ["render", "{tmp}/s.yaml"], 1,
     "target_lufs: must be less than or equal to -5, got 3"),
    ("quiet-target", {"s.yaml": GOOD + "target_lufs: -80\n"}, ["render", "{tmp}/s.yaml"], 1,
     "target_lufs: must be greater than or equal to -50, got -80"),
    ("peak-ceiling", {"s.yaml": GOOD + "true_peak_dbtp: 2\n"}, ["render", "{tmp}/s.yaml"], 1,
     "true_peak_dbtp: must be less than or equal to 0, got 2"),
    ("sample-rate", {"s.yaml": GOOD + "sample_rate: 44000\n"}, ["render", "{tmp}/s.yaml"], 1,
     "sample_rate: must be one of 16000"),
    ("duplicate-layers", {"s.yaml": GOOD + "  - {name: rain, prompt: wind}\n"}, ["render", "{tmp}/s.yaml"], 1,
     "layer names must be unique, repeated: rain"),
    ("events-on-bed", {"s.yaml": GOOD.replace("prompt: steady rain on leaves", "prompt: rain, events: {wait: [1, 2]}")},
     ["render", "{tmp}/s.yaml"], 1, "events settings need role: events"),
    ("fade-too-long", {"s.yaml": GOOD + "fade_out: 1m\n"}, ["render", "{tmp}/s.yaml"], 1,
     "fade_in + fade_out must fit in the duration (30 s), got 0 + 60 s"),
    ("scene-is-directory", {"d/keep": "x"}, ["render", "{tmp}/d"], 1, "is a directory, not a scene file"),
    ("scene-missing", {}, ["render", "{tmp}/nope.yaml"], 1, "no such scene file"),
    ("scene-binary", {"s.yaml": b"\xff\xfe\x00\x01binary"}, ["render", "{tmp}/s.yaml"], 1, "is not a UTF-8 text file"),
    # options
    ("opt-duration-zero", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--duration", "0"], 2,
     "--duration: must be greater than 0 seconds"),
    ("opt-duration-words", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--duration", "soon"], 2,
     "--duration: cannot read 'soon' as a duration"),
    ("opt-duration-48h", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--duration", "48h"], 2,
     "--duration: must be at most 24h"),
    ("opt-format", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--format", "aiff"], 2,
     "--format: must be a comma-separated list of wav, flac, ogg, opus, mp3, m4a, got 'aiff'"),
    ("opt-bit-depth", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--bit-depth", "20"], 2,
     "--bit-depth: must be one of 16, 24, 32f, got '20'"),
    ("opt-flac-float", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--format", "flac", "--bit-depth", "32f"], 2,
     "--bit-depth: FLAC stores 16 or 24-bit integers, not 32f"),
    ("opt-opus-rate", {"s.yaml": GOOD + "sample_rate: 44100\n"}, ["render", "{tmp}/s.yaml", "--format", "opus"], 2,
     "--format: opus needs a sample rate of 8000, 12000, 16000, 24000, 48000 Hz, got 44100"),
    ("opt-device", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--device", "tpu"], 2,
     "--device: must be one of auto, cpu, cuda, mps, got 'tpu'"),
    ("opt-backend", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--backend", "magic"], 2,
     "--backend: must be one of auto, audioldm2, procedural, stable-audio-3, recording, got 'magic'"),
    ("opt-lufs", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--lufs", "3"], 2,
     "--lufs: must be less than or equal to -5, got 3.0"),
    ("opt-variety", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--variety", "1"], 2,
     "--variety: must be greater than or equal to 2, got 1"),
    ("opt-steps", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--steps", "0"], 2,
     "--steps: must be greater than or equal to 1, got 0"),
    ("opt-seed", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--seed", "-1"], 2,
     "--seed: must be greater than or equal to 0, got -1"),
    ("opt-fade", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--fade-in", "later"], 2,
     "--fade-in: cannot read 'later' as a duration"),
    ("output-is-file", {"s.yaml": GOOD, "f.txt": "x"}, ["render", "{tmp}/s.yaml", "-o", "{tmp}/f.txt"], 2,
     "--output: '{tmp}/f.txt' exists and is not a directory"),
    ("cache-dir-is-file", {"s.yaml": GOOD, "f.txt": "x"}, ["render", "{tmp}/s.yaml", "--cache-dir", "{tmp}/f.txt"], 2,
     "--cache-dir: '{tmp}/f.txt' exists and is not a directory"),
    # environment
    ("output-unwritable", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "-o", "/proc/ambientgen-out"], 1,
     "--output: cannot write to /proc"),
    ("earlier-render", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "-o", "{out}"], 1,
     "good.wav already exists: pass --overwrite to replace it"),
    ("checkpoint-missing", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--backend", "audioldm2", "--checkpoint",
                                              "{tmp}/no-such-model"], 1, "is not a directory"),
    ("checkpoint-offline", {"s.yaml": GOOD}, ["render", "{tmp}/s.yaml", "--backend", "audioldm2", "--checkpoint",
                                              "cvssp/audioldm2"], 1, "checkpoint: cannot load 'cvssp/audioldm2'"),
    ("procedural-unknown-sound", {"s.yaml": GOOD.replace("steady rain on leaves", "a choir singing")},
     ["render", "{tmp}/s.yaml"], 1, "layers: backend procedural has no generator for layer(s) 'rain'; its sources are"),
    # check
    ("check-not-audio", {"n.wav": "this is text"}, ["check", "{tmp}/n.wav"], 1, "not an audio file soundfile can read"),
    ("check-missing", {}, ["check", "{tmp}/missing.wav"], 1, "missing.wav: no such file"),
    ("check-directory", {"d/keep": "x"}, ["check", "{tmp}/d"], 1, "no such file"),
    ("check-bad-preset", {"ok.wav": "AUDIO"}, ["check", "{tmp}/ok.wav", "--preset", "loud"], 2,
     "--preset: must be one of ebu-r128"),
    ("check-bad-manifest", {"ok.wav": "AUDIO", "m.json": "{}"}, ["check", "{tmp}/ok.wav", "--manifest", "{tmp}/m.json"],
     1, "is not an AmbientGen manifest"),
    ("check-empty-audio", {"e.wav": "EMPTY"}, ["check", "{tmp}/e.wav"], 1, "the file holds no audio"),
    ("validate-bad", {"s.yaml": GOOD.replace("duration: 30", "duration: -1")}, ["validate", "{tmp}/s.yaml"], 1,
     "duration: must be greater than 0 seconds"),
]


def _setup(tmp_path, files):
    for name, content in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if content == "AUDIO":
            sf.write(path, noise(3, 48000).reshape(-1), 48000)
        elif content == "SILENT":
            sf.write(path, np.zeros(3 * 48000), 48000)
        elif content == "SHORT":
            sf.write(path, noise(0.5, 48000).reshape(-1), 48000)
        elif content == "LOWRATE":
            sf.write(path, noise(3, 6000).reshape(-1), 6000)
        elif content == "NOISE40":
            sf.write(path, noise(40, 16000).reshape(-1), 16000)
        elif content == "STORM":
            shutil.copy(DATA / "storm_redeclipse.ogg", path)
        elif content == "EMPTY":
            sf.write(path, noise(3, 48000).reshape(-1)[:0], 48000)
        elif isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


def test_the_corpus_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("name, files, argv, code, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input(name, files, argv, code, message, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    _setup(tmp_path, files)
    out = tmp_path / "out"
    out.mkdir()
    (out / "good.wav").write_bytes(EARLIER)  # an earlier render, which must survive untouched
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    args = [a.replace("{tmp}", str(tmp_path)).replace("{out}", str(out)) for a in argv]
    if args[0] == "render" and "-o" not in args:
        args += ["-o", str(out / "new")]
    result = runner.invoke(cli.app, [*args, "-q"] if args[0] in ("render", "loop") else args)
    assert result.exit_code == code, (result.exit_code, result.stderr, result.stdout)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message.replace("{tmp}", str(tmp_path)) in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before  # nothing new, nothing half-written
    assert (out / "good.wav").read_bytes() == EARLIER


def test_not_enough_disk_space(tmp_path, monkeypatch):
    from collections import namedtuple

    import ambientgen.rendering.preflight as preflight

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(preflight.shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 10**6, 10**6))
    (tmp_path / "s.yaml").write_text(GOOD)
    result = runner.invoke(cli.app, ["render", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o"), "-q"])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: --output: not enough disk space in {tmp_path / 'o'}: this render writes about ")
    assert "1.0 MB is free" in result.stderr and not (tmp_path / "o").exists()


@pytest.mark.slow
def test_overwrite_replaces_an_earlier_render(tmp_path):
    (tmp_path / "s.yaml").write_text(GOOD)
    args = ["render", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o"), "-q", "--no-report"]
    assert runner.invoke(cli.app, args).exit_code == 0
    again = runner.invoke(cli.app, args)
    assert again.exit_code == 1 and "good.wav already exists (and 3 more): pass --overwrite" in again.stderr
    assert runner.invoke(cli.app, [*args, "--overwrite"]).exit_code == 0


def test_checkpoint_folder_with_a_missing_component(tiny_checkpoint, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    shutil.rmtree(broken / "vae")
    (tmp_path / "s.yaml").write_text(GOOD)
    result = runner.invoke(cli.app, ["render", str(tmp_path / "s.yaml"), "-o", str(tmp_path / "o"), "-q",
                                     "--backend", "audioldm2", "--checkpoint", str(broken)])
    assert result.exit_code == 1 and "Traceback" not in result.output
    line = result.stderr.strip()
    assert len(line.splitlines()) == 1 and "vae" in line and str(broken) in line
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_corrupt_cache_entry_is_rendered_again(tmp_path):
    (tmp_path / "s.yaml").write_text(GOOD)
    args = ["render", str(tmp_path / "s.yaml"), "-q", "--no-report", "--cache-dir", str(tmp_path / "c")]
    assert runner.invoke(cli.app, [*args, "-o", str(tmp_path / "a")]).exit_code == 0
    entry = sorted((tmp_path / "c").rglob("*.npy"))[0]
    entry.write_bytes(entry.read_bytes()[:-100])  # truncated, as by a full disk in an older version
    result = runner.invoke(cli.app, [*args, "-o", str(tmp_path / "b")])
    assert result.exit_code == 0
    assert "is corrupt (checksum mismatch); rendering it again" in result.stderr
    assert (tmp_path / "a" / "good.wav").read_bytes() == (tmp_path / "b" / "good.wav").read_bytes()
    assert SCENES.is_dir()

"""An hour-long render: length, loop, loudness, true peak, memory, model calls and assembly speed.

    python benchmarks/hour.py [--scene scenes/thunderstorm.yaml] [--backend procedural] [--checkpoint PATH]

Runs ``ambientgen render SCENE --duration 10m`` and ``--duration 1h`` exactly as
a user would (stems, session and check report included), each in its own
process, and measures its peak RSS (``wait4``). Then checks the hour: exact
length, integrated loudness by pyloudnorm (an independent meter), true peak
and the loop point from the render's own check report (4x oversampled, whole
file), model calls per layer. Finally it renders the hour once more with only
the mix (``--no-stems --no-session --no-report``) and compares its assembly
time (everything after the chunks exist, from the manifest) with soundfile
alone writing an hour of the same audio to the same format, in this same run.
Prints a table and appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]


def render(scene: str, out: Path, duration: str, extra: list[str]) -> tuple[dict, float, float]:
    """Run the CLI; returns (manifest, peak RSS in MB, wall seconds)."""
    cmd = [sys.executable, "-m", "ambientgen.cli", "render", scene, "-o", str(out), "--duration", duration, "-q",
           *extra]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if status != 0:
        raise SystemExit(f"render failed ({status}): {proc.stderr.read().decode()[-2000:]}")
    return json.loads((out / "manifest.json").read_text()), usage.ru_maxrss / 1024, wall


def soundfile_write_seconds(source: Path, target: Path, seconds: int) -> float:
    """soundfile alone writing ``seconds`` of the source's audio (its first minute, repeated) in its format."""
    info = sf.info(str(source))
    minute, sr = sf.read(str(source), frames=60 * info.samplerate, dtype="float32")
    block = 1 << 18
    started = time.perf_counter()
    with sf.SoundFile(str(target), "w", samplerate=sr, channels=info.channels, format=info.format,
                      subtype=info.subtype) as f:
        for _ in range(seconds // 60):
            for s in range(0, len(minute), block):
                f.write(minute[s : s + block])
    return time.perf_counter() - started


def pyloudnorm_lufs(path: Path) -> float:
    import pyloudnorm

    audio, sr = sf.read(str(path), dtype="float64")
    return float(pyloudnorm.Meter(sr).integrated_loudness(audio))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", default="scenes/thunderstorm.yaml")
    parser.add_argument("--backend", default="procedural")
    parser.add_argument("--checkpoint", default=None, help="for --backend audioldm2 (e.g. a tiny test model)")
    args = parser.parse_args()
    extra = ["--backend", args.backend] + (["--checkpoint", args.checkpoint] if args.checkpoint else [])
    rows: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        m10, rss10, wall10 = render(args.scene, tmp / "10m", "10m", extra)
        del m10
        hour, rss60, wall60 = render(args.scene, tmp / "1h", "1h", extra)
        name = hour["name"]
        mix = tmp / "1h" / f"{name}.wav"
        info = sf.info(str(mix))
        report = json.loads((tmp / "1h" / f"{name}.check.json").read_text())
        lufs = pyloudnorm_lufs(mix)
        target, ceiling = hour["target_lufs"], hour["true_peak_dbtp"]
        rows += [
            ("render command", f"`ambientgen render {args.scene} --duration 1h --backend {args.backend}`"),
            ("length", f"{info.frames} frames = {info.frames / info.samplerate:.3f} s at {info.samplerate} Hz, "
                       f"{info.channels} ch"),
            ("integrated loudness (pyloudnorm)", f"{lufs:.2f} LUFS (target {target:g}, off by {lufs - target:+.2f} LU)"),
            ("true peak (check report, 4x, whole file)", f"{report['true_peak_dbtp']:.2f} dBTP (ceiling {ceiling:g})"),
            ("loop point (check report)", f"rank {report['loop']['rank']:.2f} among ordinary moments, click "
                                          f"{report['loop']['click_db']:.1f} dB over ordinary peaks (fails > 6), "
                                          f"level jump {report['loop']['level_jump_db']:+.2f} dB"),
            ("check verdict (scene preset)", "pass" if report["passed"] else "FAIL: " + "; ".join(report["failures"])),
            ("model calls per layer", ", ".join(f"{l['name']} ({l['kind']}) {l['model_calls']} vs naive "
                                                f"{l['naive_model_calls']}" for l in hour["layers"])),
            ("peak RSS 10 min / 1 h", f"{rss10:.0f} MB / {rss60:.0f} MB (growth {100 * (rss60 / rss10 - 1):+.1f} %)"),
            ("wall 10 min / 1 h (render + assembly + check)", f"{wall10:.1f} s / {wall60:.1f} s"),
        ]
        plain, _, _ = render(args.scene, tmp / "plain", "1h", extra + ["--no-stems", "--no-session", "--no-report"])
        assembly = plain["stats"]["assemble_s"]
        write = soundfile_write_seconds(tmp / "plain" / f"{name}.wav", tmp / "baseline.wav", 3600)
        rows.append(("assembly of the hour (mix only) vs soundfile writing it",
                     f"{assembly:.2f} s vs {write:.2f} s = {assembly / write:.2f}x "
                     f"({', '.join(f'{k} {v:.2f}' for k, v in plain['stats']['assemble_timings_s'].items())})"))
        stems_s = hour["stats"]["assemble_s"]
        files = [f for f in hour["files"] if f["kind"] in ("mix", "stem")]
        rows.append(("assembly with stems vs soundfile writing as many hours",
                     f"{stems_s:.2f} s vs {write * len(files):.2f} s = {stems_s / (write * len(files)):.2f}x"))
    table = "| measure | result |\n|---|---|\n" + "\n".join(f"| {a} | {b} |" for a, b in rows)
    print(table)
    stamp = f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs"
    with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write(f"\n## One hour ({stamp}, `python benchmarks/hour.py --scene {args.scene} --backend {args.backend}`)\n\n"
                f"{table}\n")


if __name__ == "__main__":
    main()

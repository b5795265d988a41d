"""The engine's own DSP against the libraries under it: four ratios, each measured in one run on this machine.

    python benchmarks/dsp_pace.py [--scene scenes/forest.yaml] [--hour]

1. **Cold render**: ``ambientgen render SCENE --backend procedural`` (5 minutes, stems, session, check report)
   with an empty cache, twice (each with a cache of its own); realtime factor = seconds of audio / wall seconds of
   the faster (goal: 30x or better).
2. **Cached re-render**: the same command again with ``--overwrite`` (every chunk from the cache, no model
   work; the mean of two runs), against soundfile alone writing the same files (the mix and each stem, same
   format and subtype, from memory, to new files; the median of three runs) in this run (goal: within 8x).
3. **Peak memory** of a 1-hour render (``--hour``; peak RSS from ``wait4``; goal: at most 600 MB).
4. **check of a 1-hour WAV** (``--hour``) against soundfile alone reading the same file in blocks, three times
   in turn (check, read, check, read ...): the median of the three ratios (goal: within 4x). This machine's speed
   drifts by a fifth between minutes, and a check and the read that follows it share the moment.

Each command runs in its own process, as a user runs it. Prints a table and appends it to
benchmarks/RESULTS.md.
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


def run(args: list[str]) -> tuple[float, float]:
    """Run ``python -m ambientgen.cli ARGS``; (wall seconds, peak RSS in MB)."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "ambientgen.cli", *args], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: the check failed, which is not this benchmark's point
        raise SystemExit(f"ambientgen {' '.join(args)} failed: {proc.stderr.read().decode()[-2000:]}")
    return wall, usage.ru_maxrss / 1024


SOUNDFILE_WRITE = """
import json, sys, time
from pathlib import Path
import soundfile as sf
out = Path(sys.argv[1])
manifest = json.loads((out / "manifest.json").read_text())
data = []
for f in manifest["files"]:
    if f["kind"] in ("mix", "stem"):
        info = sf.info(str(out / f["path"]))
        x, sr = sf.read(str(out / f["path"]), dtype="float32")
        data.append((x, sr, info))
target = out.parent / sys.argv[2]  # a new folder: new files, as a render writes them
target.mkdir()
started = time.perf_counter()
for k, (x, sr, info) in enumerate(data):
    with sf.SoundFile(str(target / f"{k}.{info.format.lower()}"), "w", samplerate=sr, channels=info.channels,
                      format=info.format, subtype=info.subtype) as f:
        for s in range(0, len(x), 1 << 16):
            f.write(x[s : s + (1 << 16)])
print(time.perf_counter() - started)
"""


def soundfile_write(out: Path, times: int = 3) -> float:
    """soundfile alone writing the render's audio files (mix formats and stems) again, from memory, to new files:
    the median of ``times`` runs, each in a process of its own, so that this one stays small (a child's peak RSS
    counts the parent's at the moment it starts)."""
    runs = [float(subprocess.run([sys.executable, "-c", SOUNDFILE_WRITE, str(out), f"soundfile-copy-{k}"],
                                 capture_output=True, text=True, check=True).stdout.strip()) for k in range(times)]
    return sorted(runs)[len(runs) // 2]


def soundfile_read(path: Path) -> float:
    started = time.perf_counter()
    for _ in sf.blocks(str(path), blocksize=480000, dtype="float64", always_2d=True):
        pass
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scene", default="scenes/forest.yaml")
    parser.add_argument("--hour", action="store_true", help="also the 1-hour memory and check measurements")
    args = parser.parse_args()
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        cache = ["--cache-dir", str(tmp / "cache")]
        base = ["render", args.scene, "--backend", "procedural", "-q", *cache]
        colds = [run(["render", args.scene, "--backend", "procedural", "-q", "--cache-dir",
                      str(tmp / ("cache" if k == 0 else f"cold{k}")), "-o", str(tmp / ("r" if k == 0 else f"r{k}"))])
                 for k in range(2)]
        (cold, _), cold_rss = min(colds), max(m for _, m in colds)
        manifest = json.loads((tmp / "r" / "manifest.json").read_text())
        seconds = manifest["duration_s"]
        rows.append(("cold render (procedural), faster of two", " / ".join(f"{w:.1f} s" for w, _ in colds),
                     f"{seconds / cold:.1f}x realtime", ">= 30x"))
        # the first cold render's cache and output folder, again
        cached_runs = [run([*base, "-o", str(tmp / "r"), "--overwrite"]) for _ in range(2)]
        cached, cached_rss = sum(w for w, _ in cached_runs) / 2, max(m for _, m in cached_runs)
        manifest = json.loads((tmp / "r" / "manifest.json").read_text())
        assert manifest["stats"]["rendered_now"] == 0, "the re-render did model work"
        write = soundfile_write(tmp / "r")
        rows.append(("cached re-render / soundfile writing the same files", f"{cached:.1f} s / {write:.2f} s",
                     f"{cached / write:.1f}x", "<= 8x"))
        rows.append(("peak RSS, 5-minute render (cold / cached)", f"{cold_rss:.0f} / {cached_rss:.0f} MB", "", ""))
        if args.hour:
            hour, hour_rss = run(["render", args.scene, "--backend", "procedural", "-q", *cache, "-o",
                                  str(tmp / "h"), "--duration", "1h", "--no-stems", "--no-session"])
            rows.append(("1-hour render: wall, peak RSS", f"{hour:.0f} s", f"{hour_rss:.0f} MB", "<= 600 MB"))
            mix = next((tmp / "h").glob("*.wav"))
            pairs = []
            for _ in range(3):
                check, check_rss = run(["check", str(mix)])
                pairs.append((check / soundfile_read(mix), check, check_rss))
            ratios = sorted(pairs)
            median = ratios[1]
            check_rss = max(m for _, _, m in pairs)
            rows.append(("check of the 1-hour WAV / soundfile reading it (median of 3)",
                         ", ".join(f"{c:.1f} s / {c / r:.1f} s" for r, c, _ in pairs), f"{median[0]:.1f}x "
                         f"({', '.join(f'{r:.1f}' for r, _, _ in pairs)})", "<= 4x"))
            rows.append(("check of the 1-hour WAV: peak RSS", f"{check_rss:.0f} MB", "", ""))
    table = ["| measure | figures | ratio | goal |", "|---|---|---|---|"]
    table += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in rows]
    command = "python benchmarks/dsp_pace.py" + (" --hour" if args.hour else "")
    heading = (f"## The engine's DSP against its libraries ({datetime.date.today()}, {platform.machine()}, "
               f"{os.cpu_count()} cores, `{command}`)")
    text = "\n".join([heading, "", *table, ""])
    print(text)
    with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write("\n" + text)


if __name__ == "__main__":
    main()

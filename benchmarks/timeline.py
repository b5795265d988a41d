"""Scenes that evolve, measured: each stem's loudness per stretch of a 30-minute render follows the timeline.

    python benchmarks/timeline.py [--duration 30m] [--stretch 3m] [--scenes storm-passes dusk-to-night]

Renders the bundled evolving scenes with the procedural backend (``scenes/storm-passes.yaml``: a storm that rolls
in, rages and passes back to light rain; ``scenes/dusk-to-night.yaml``: birdsong fading out as frogs and crickets
start), then measures with pyloudnorm (BS.1770, independent of the engine's own meter) the integrated loudness of
every stem over each stretch, and the mix's. The words say where a layer must rise or fall; each such change is
checked for at least 6 LU between the quietest and loudest stretch it spans, and the render's own check report must
pass. Prints a table per scene and appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import math
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyloudnorm
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# what the words of each scene say must change (layer, from stretch share, to stretch share, direction)
EXPECT = {
    "storm-passes": [("rain", 0.0, 0.4, "rises"), ("rain", 0.4, 0.95, "falls"), ("thunder", 0.0, 0.4, "rises"),
                     ("thunder", 0.4, 0.95, "falls"), ("wind", 0.0, 0.4, "rises")],
    "dusk-to-night": [("birds", 0.0, 0.95, "falls"), ("frogs", 0.0, 0.95, "rises"), ("crickets", 0.0, 0.95, "rises")],
}
SILENT = -70.0  # LUFS shown for a stretch where a layer is absent (gated: no loudness at all)


def stretch_lufs(path: Path, stretch_s: float) -> list[float]:
    x, sr = sf.read(str(path), dtype="float64", always_2d=True)
    meter = pyloudnorm.Meter(sr)
    n = round(stretch_s * sr)
    out = []
    for a in range(0, len(x) - n // 2, n):
        with np.errstate(divide="ignore"):
            v = meter.integrated_loudness(x[a : a + n])
        out.append(v if math.isfinite(v) and v > SILENT else SILENT)
    return out


def judge(name: str, lufs: dict[str, list[float]]) -> list[str]:
    lines = []
    for layer, a, b, way in EXPECT.get(name, []):
        values = lufs[layer]
        k0, k1 = int(a * len(values)), max(int(a * len(values)) + 2, int(math.ceil(b * len(values))))
        span = values[k0:k1]
        low, high = min(span), max(span)
        loud = span.index(high)
        quiet = [i for i, v in enumerate(span) if v == low]
        direction_ok = quiet[0] < loud if way == "rises" else loud < quiet[-1]  # quiet before loud, or after
        ok = high - low >= 6.0 and direction_ok
        lines.append(f"| {layer} {way} ({a:.0%}-{b:.0%}) | {high - low:.1f} LU | {'yes' if ok else 'NO'} |")
    return lines


def main() -> int:
    import ambientgen

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", default="30m")
    parser.add_argument("--stretch", default="3m")
    parser.add_argument("--scenes", nargs="+", default=list(EXPECT))
    args = parser.parse_args()
    from ambientgen.scene.durations import parse_duration

    stretch = parse_duration(args.stretch)
    report = [f"## Evolving scenes ({datetime.date.today()}, {platform.machine()}, {args.duration} procedural, "
              f"loudness per {args.stretch} stretch, pyloudnorm)", ""]
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.scenes:
            started = time.perf_counter()
            result = ambientgen.render(ROOT / "scenes" / f"{name}.yaml", Path(tmp) / name, backend="procedural",
                                       duration=args.duration, overwrite=True, cache=False)
            wall = time.perf_counter() - started
            layers = [e["name"] for e in result.manifest["layers"]]
            lufs = {layer: stretch_lufs(result.output / f"stems/{layer}.wav", stretch) for layer in layers}
            lufs["mix"] = stretch_lufs(result.mix_path, stretch)
            starts = [k * stretch for k in range(len(lufs["mix"]))]
            report += [f"### {name}: rendered in {wall:.0f} s, check {'passes' if result.passed else 'FAILS: ' + '; '.join(result.report.failures)}, "
                       f"loop: {result.manifest['loop']}", ""]
            report.append("| stretch | " + " | ".join(layers + ["mix"]) + " |")
            report.append("|---" * (len(layers) + 2) + "|")
            for k, t in enumerate(starts):
                cells = [f"{lufs[c][k]:.1f}" if lufs[c][k] > SILENT else "absent" for c in layers + ["mix"]]
                report.append(f"| {int(t // 60)}-{int(min(t + stretch, result.manifest['duration_s']) // 60)} min | "
                              + " | ".join(cells) + " |")
            report += ["", "| the words say | change | at least 6 LU, that way |", "|---|---|---|"]
            verdicts = judge(name, lufs)
            report += verdicts + [""]
            failed |= any(v.endswith("NO |") for v in verdicts) or not result.passed
    text = "\n".join(report)
    print(text)
    with open(ROOT / "benchmarks" / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write("\n" + text + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

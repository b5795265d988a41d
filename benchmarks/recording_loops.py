"""Every fixture recording turned into a long loop with ``ambientgen loop``: the README's table.

For each recording in ``tests/data`` (copies of ``../shared/fixtures/real``), a
loop of each duration asked (default 10 minutes and 1 hour) is rendered in its
own process (``os.wait4`` gives that process's peak RSS), then read back from
its manifest and check report: exact length, integrated loudness against the
target, the check verdict, the shortest recurrence of any source stretch, and
the seams' mean rank by the project's seam measure (``ambientgen.audio.seams``, as
``check --manifest`` scores them; 0.5 = like any moment of the loop).

    python benchmarks/recording_loops.py            # 10m and 1h, every recording (about 25 min on 2 cores)
    python benchmarks/recording_loops.py 5m rain    # one duration, recordings whose name contains "rain"
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data"
STATIONARY = {"rain_redeclipse", "river_stk", "waterfall_stk"}  # steady noise; a pulsing insect chorus is not


def run(path: Path, duration: str, out: Path) -> dict:
    started = time.perf_counter()
    log = out.with_suffix(".log")
    with open(log, "w") as fh:
        proc = subprocess.Popen([sys.executable, "-m", "ambientgen.cli", "loop", str(path), "--duration", duration,
                                 "-o", str(out), "-q", "--no-stems", "--overwrite"], stdout=fh, stderr=fh)
        _, status, usage = os.wait4(proc.pid, 0)  # this process's own peak RSS
    stderr = log.read_text()
    seconds = time.perf_counter() - started
    row = {"file": path.stem, "duration": duration, "wall_s": round(seconds, 1),
           "rc": os.waitstatus_to_exitcode(status), "peak_rss_mb": round(usage.ru_maxrss / 1024)}
    manifest_path = out / "manifest.json"
    if not manifest_path.exists():
        row["error"] = stderr.strip() or "no output"
        return row
    manifest = json.loads(manifest_path.read_text())
    report = json.loads(next(out.glob("*.check.json")).read_text())
    layer = manifest["layers"][0]
    texture = layer.get("texture")
    pool = layer.get("pool") or {"material_s": texture["material_s"], "excerpts": f"texture: {texture['grains']} grains",
                                 "min_source_recurrence_s": "never whole", "recurrence_rule_s": 90.0}
    ranks = [s["rank"] for s in report["seams"]]
    row.update({
        "frames_exact": manifest["frames"] == round(manifest["duration_s"] * manifest["sample_rate"]),
        "duration_s": manifest["duration_s"],
        "lufs": report["integrated_lufs"], "target": manifest["target_lufs"],
        "passed": report["passed"], "failures": report["failures"],
        "material_s": pool["material_s"], "excerpts": pool["excerpts"],
        "recurrence_s": pool["min_source_recurrence_s"], "rule_s": pool["recurrence_rule_s"],
        "seams": len(ranks), "mean_seam_rank": round(float(np.mean(ranks)), 3) if ranks else None,
        "loop_rank": (report.get("loop") or {}).get("rank"),
    })
    return row


def main(argv: list[str]) -> None:
    durations = [a for a in argv if a[0].isdigit()] or ["10m", "1h"]
    names = [a for a in argv if not a[0].isdigit()]
    files = [p for p in sorted(DATA.glob("*.ogg")) if not names or any(n in p.stem for n in names)]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            for duration in durations:
                row = run(path, duration, Path(tmp) / f"{path.stem}-{duration}")
                rows.append(row)
                print(json.dumps(row), flush=True)
    print()
    print("| recording | length | exact | LUFS (target) | check | source recurs after | seams | mean seam rank | "
          "loop rank | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['file']} | {r['duration']} | refused: {r['error'].splitlines()[-1]} | | | | | | | |")
            continue
        verdict = "pass" if r["passed"] else "FAIL: " + "; ".join(r["failures"])
        stationary = " (stationary)" if r["file"] in STATIONARY else ""
        print(f"| {r['file']}{stationary} | {r['duration']} | {'yes' if r['frames_exact'] else 'NO'} | "
              f"{r['lufs']:.1f} ({r['target']:g}) | {verdict} | {r['recurrence_s']} s of {r['material_s']:.1f} s "
              f"(rule {r['rule_s']:g} s) | {r['seams']} | {r['mean_seam_rank']} | {r['loop_rank']} | "
              f"{r.get('peak_rss_mb', '?')} MB |")


if __name__ == "__main__":
    main(sys.argv[1:])

"""Loops from short and uneven real recordings the project has never seen, judged from outside (issue 37).

    python benchmarks/short_recordings.py [--duration 10m] [--debs DIR] [name ...]

The set: 30 recordings of 4-55 s from two Debian game-data packages (field recordings from Freesound, CC0,
CC-BY-3.0 and CC-BY-SA-3.0; each file's credit and licence is in ``SET`` below), fetched with
``apt-get download`` and unpacked with ``dpkg-deb -x`` into ``--debs`` (default ``/tmp/ambientgen-debs``) unless
already there; the six fixture recordings in ``tests/data`` are among them. Nothing is copied into the repository.

For each, ``ambientgen loop FILE --duration 10m`` runs in its own process; then: the exit status (0 pass, 3 written
but its check failed, 1 refused), whether its own ``check`` passes, the longest repetition the check found, the loop
point's seam rank (0.5: like any moment of the loop), how the bed was made (texture resynthesis or excerpts), and
the YAMNet tagger's verdict (``tests/yamnet.py``: AudioSet classes summed into families) on the source and on the
loop: the family kept and the source's top class still among the loop's top five. Wall time is per minute of output
on this machine. Prints a table; appends it to ``benchmarks/RESULTS.md``.
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

import numpy as np
import soundfile as sf
import soxr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RD = "redeclipse-data", "usr/share/games/redeclipse/data/sounds/ambience"
STK = "supertuxkart-data", "usr/share/games/supertuxkart/data"
RD_CREDIT = "Quinton Reeves, Alex Anguix (Red Eclipse); Freesound sources in the package's readme"
# (package, path, licence, credit)
SET = {
    "fire": (RD, "fire.ogg", "CC-BY-SA", RD_CREDIT),
    "creek": (RD, "creek.ogg", "CC-BY-SA", "Freesound (Red Eclipse readme: nightcrickets.ogg creek.ogg)"),
    "cavedrip": (RD, "cavedrip.ogg", "CC-BY-SA", "Mike 'Acclivity', Dob 'dobroide' (Freesound #25879, #26266)"),
    "water": (RD, "water.ogg", "CC-BY-SA", "Paul Hertz 'ignotus' (Freesound #14779)"),
    "waterfall-small": (RD, "waterfall.ogg", "CC-BY-SA", "Red Eclipse readme: waterfall*.ogg"),
    "waterfall-huge": (RD, "waterfall_huge.ogg", "CC-BY-SA", "Red Eclipse readme: waterfall*.ogg"),
    "waterfall2": (RD, "waterfall2.ogg", "CC-BY-SA", "Red Eclipse readme: waterfall*.ogg"),
    "waterfall3": (RD, "waterfall3.ogg", "CC-BY-SA", "Red Eclipse readme: waterfall*.ogg"),
    "river-acclivity": (RD, "river.ogg", "CC-BY-SA", "Mike 'Acclivity' (Freesound #13553)"),
    "wind": (RD, "wind.ogg", "CC-BY-SA", "Batuhan Bozkurt (Freesound #17735)"),
    "blowwind": (RD, "blowwind.ogg", "CC-BY-SA", RD_CREDIT),
    "hollowwind": (RD, "hollowwind.ogg", "CC-BY-SA", RD_CREDIT),
    "wastewind": (RD, "wastewind.ogg", "CC-BY-SA", RD_CREDIT),
    "distant-cars": (RD, "distant_cars.ogg", "CC-BY-SA", "Red Eclipse readme: distant_cars.ogg"),
    "night-crickets": (RD, "nightcrickets.ogg", "CC-BY-SA", "Red Eclipse readme: nightcrickets.ogg"),
    "forest1": (RD, "forest1.ogg", "CC-BY-SA", "dobroide (Red Eclipse readme: forest*.ogg)"),
    "forest2": (RD, "forest2.ogg", "CC-BY-SA", "dobroide (Red Eclipse readme: forest*.ogg)"),
    "forest3": (RD, "forest3.ogg", "CC-BY-SA", "dobroide (Red Eclipse readme: forest*.ogg)"),
    "lava-rumble": (RD, "lavarumble1.ogg", "CC-BY-SA", RD_CREDIT),
    "storm-rain": (RD, "morph/stormrain.ogg", "CC-BY-3.0", "Q009 (morph ambient pack)"),
    "storm-wind": (RD, "morph/stormwind.ogg", "CC-BY-3.0", "Q009 (morph ambient pack)"),
    "wind-morph": (RD, "morph/wind1.ogg", "CC-BY-3.0", "Q009 (morph ambient pack)"),
    "rain": (RD, "morph/rain.ogg", "CC-BY-3.0", "Slawek Blauciak"),
    "cicadas": (RD, "cycadas.ogg", "CC-BY-SA", "dobroide (Freesound)"),
    "exotic-birds": (STK, "sfx/exotic-birds.ogg", "CC0", "James 'swiftoid' Swift (Freesound #182501)"),
    "birds": (STK, "sfx/exotic-birds_2.ogg", "CC0", "mpfeiffer (Freesound #115758)"),
    "restaurant": (STK, "sfx/lenautile_restaurant.ogg", "CC0", "Alcappuccino (Freesound #263528)"),
    "river": (STK, "sfx/river_loop.ogg", "CC0", "Adam_N (Freesound #166310)"),
    "waterfall": (STK, "sfx/waterfall_loop_2.ogg", "CC0", "VKProduktion (Freesound #215711)"),
    "steam-locomotive": (STK, "tracks/black_forest/steamLocomotive.ogg", "CC-BY-SA-3.0", "Daniel Simion"),
}


def fetch(debs: Path) -> None:
    """Download and unpack the two packages into ``debs`` unless there already."""
    debs.mkdir(parents=True, exist_ok=True)
    for package in {RD[0], STK[0]}:
        if (debs / package).is_dir():
            continue
        subprocess.run(["apt-get", "download", package], cwd=debs, check=True)
        deb = next(debs.glob(f"{package}_*.deb"))
        subprocess.run(["dpkg-deb", "-x", str(deb), str(debs / package)], check=True)


def judge(path: Path) -> tuple[str, str, dict[str, float], list[str]]:
    """YAMNet: the top family, the top class, the family scores and the five top classes of a file."""
    from tests.yamnet import family_scores, top_classes

    x, sr = sf.read(str(path), dtype="float32", always_2d=True)
    mono = x.mean(axis=1)
    if len(mono) > 120 * sr:  # the first two minutes say what it is
        mono = mono[: 120 * sr]
    mono = soxr.resample(mono, sr, 16000)
    fam = family_scores(mono, 16000)
    top = [c for c, _ in top_classes(mono, 16000, k=5)]
    return max(fam, key=fam.get), top[0], fam, top


def run(name: str, path: Path, duration: str, out: Path) -> dict:
    started = time.perf_counter()
    with open(out.with_suffix(".log"), "w") as fh:
        proc = subprocess.run([sys.executable, "-m", "ambientgen.cli", "loop", str(path), "--duration", duration,
                               "-o", str(out), "-q", "--no-stems", "--overwrite"], stdout=fh, stderr=fh)
    wall = time.perf_counter() - started
    row = {"name": name, "seconds": round(sf.info(str(path)).duration, 1), "rc": proc.returncode,
           "wall_s": round(wall, 1)}
    src_family, src_top, _, _ = judge(path)
    row.update({"source_family": src_family, "source_top": src_top})
    if not (out / "manifest.json").exists():
        row["error"] = out.with_suffix(".log").read_text().strip().splitlines()[-1]
        return row
    manifest = json.loads((out / "manifest.json").read_text())
    report = json.loads(next(out.glob("*.check.json")).read_text())
    layer = manifest["layers"][0]
    loop_family, _, _, loop_top = judge(next(p for p in out.glob("*.wav")))
    row.update({
        "passed": report["passed"], "failures": report["failures"],
        "repetition_s": (report.get("repetition") or {}).get("length_s"),
        "loop_rank": (report.get("loop") or {}).get("rank"),
        "bed": "texture" if "texture" in layer else "excerpts",
        "events": (layer.get("texture") or {}).get("events"),
        "loop_family": loop_family, "family_kept": loop_family == src_family, "top_kept": src_top in loop_top,
        "minutes": manifest["duration_s"] / 60,
    })
    row["wall_s_per_min"] = round(wall / row["minutes"], 2)
    return row


def table(rows: list[dict]) -> str:
    lines = ["| recording | s | exit | check | repetition | loop-point rank | bed | YAMNet family (source -> loop) | "
             "source's top class kept | wall s / min |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['name']} | {r['seconds']} | {r['rc']} | refused: {r['error']} | | | | "
                         f"{r['source_family']} | | |")
            continue
        verdict = "pass" if r["passed"] else "FAIL: " + "; ".join(r["failures"])
        lines.append(f"| {r['name']} | {r['seconds']} | {r['rc']} | {verdict} | {r['repetition_s'] or 'none'} | "
                     f"{r['loop_rank']} | {r['bed']} | {r['source_family']} -> {r['loop_family']} | "
                     f"{'yes' if r['top_kept'] else 'no'} ({r['source_top']}) | {r['wall_s_per_min']} |")
    done = [r for r in rows if "error" not in r]
    lines.append("")
    lines.append(f"{sum(r['passed'] for r in done)} of {len(rows)} loops pass their own check; "
                 f"{sum(1 for r in done if not r['passed'] and r['rc'] == 0)} failures exit 0; "
                 f"{len(rows) - len(done)} refused; repetition found in "
                 f"{sum(1 for r in done if r['repetition_s'])}; YAMNet family kept in "
                 f"{sum(r['family_kept'] for r in done)} of {len(done)}, the source's top class among the loop's "
                 f"top five in {sum(r['top_kept'] for r in done)}; median loop-point rank "
                 f"{np.median([r['loop_rank'] for r in done if r['loop_rank'] is not None]):.2f}; median wall "
                 f"time {np.median([r['wall_s_per_min'] for r in done]):.1f} s per minute of output.")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*")
    ap.add_argument("--duration", default="10m")
    ap.add_argument("--debs", type=Path, default=Path(tempfile.gettempdir()) / "ambientgen-debs")
    args = ap.parse_args()
    fetch(args.debs)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, ((package, base), rel, _, _) in SET.items():
            if args.names and not any(n in name for n in args.names):
                continue
            path = args.debs / package / base / rel
            rows.append(run(name, path, args.duration, Path(tmp) / name))
            print(json.dumps(rows[-1]), flush=True)
    text = table(rows)
    print(text)
    with open(ROOT / "benchmarks" / "RESULTS.md", "a") as fh:
        fh.write(f"\n## short_recordings.py, {datetime.date.today()} ({platform.machine()}, {os.cpu_count()} CPUs), "
                 f"{args.duration} loops\n\n{text}\n")


if __name__ == "__main__":
    main()

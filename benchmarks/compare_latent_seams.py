"""Seams and loop points: latent continuation vs crossfades, on the tiny offline AudioLDM2.

    python benchmarks/compare_latent_seams.py [--renders 6] [--steps 4]

Renders the same layers (45 s, looping) with each method and scores every seam
and the wrap point with ``ambientgen.audio.seams`` (percentile rank among ordinary
moments of the same audio: 0.5 = like any other moment, 1 = stands out). Also
counts UNet evaluations. Prints a table and appends it to benchmarks/RESULTS.md.
The tiny model has random weights: this measures the joins, not the sound.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
import tempfile
from pathlib import Path

import numpy as np

from ambientgen.audio.seams import seam_report
from ambientgen.audio.stitch import close_loop, stitch_chunks
from ambientgen.backends.audioldm2 import AudioLDM2Backend
from ambientgen.backends.base import ChunkRequest, chunk_seed
from ambientgen.rendering.chunk_plan import chunk_count
from ambientgen.testing import save_tiny_audioldm2

SR, DURATION, CHUNK, OVERLAP = 16000, 45.0, 10.24, 1.5  # long enough for ordinary moments 2.5 s from seams


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--renders", type=int, default=6)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        backend = AudioLDM2Backend.load(str(save_tiny_audioldm2(Path(tmp) / "tiny")), device="cpu", steps=args.steps)
    n = chunk_count(duration_s=DURATION, chunk_s=CHUNK, overlap_s=OVERLAP, loop=True)
    length, ov, chunk_n = round(DURATION * SR), round(OVERLAP * SR), round(CHUNK * SR)
    rows = {m: {"seams": [], "loop": [], "unet": 0} for m in ("latent", "level-matched crossfade", "plain crossfade",
                                                              "butt splice")}
    for r in range(args.renders):
        seeds = [chunk_seed(r, "layer", 0, k) for k in range(n)]
        before = backend.stats.unet_evals
        audio, seams = backend.render_stream(layer="x", prompt="field recording of rain", negative_prompt="Low quality.",
                                             seeds=seeds, duration_s=DURATION, window_s=CHUNK, overlap_s=OVERLAP,
                                             loop=True)
        audio = audio[0]
        rows["latent"]["unet"] += backend.stats.unet_evals - before
        report, wrap = seam_report(audio, SR, [round(t * SR) for t in seams], loop=True)
        rows["latent"]["seams"] += [x.rank for x in report]
        rows["latent"]["loop"].append(wrap.rank)
        before = backend.stats.unet_evals
        chunks = backend.render([ChunkRequest("x", k, "field recording of rain", "Low quality.", s, CHUNK)
                                 for k, s in enumerate(seeds)])
        chunks = [c[0, :chunk_n] for c in chunks]  # (channels, samples): the mono channel
        for m in ("level-matched crossfade", "plain crossfade", "butt splice"):
            rows[m]["unet"] += backend.stats.unet_evals - before
        joined = stitch_chunks(chunks, overlap=ov, sample_rate=SR)
        plain = stitch_chunks(chunks, overlap=ov)
        middles = [k * (chunk_n - ov) + ov // 2 for k in range(1, n)]
        butt = np.concatenate([c[: chunk_n - ov] for c in chunks])
        for m, stream, pos, overlap in (("level-matched crossfade", joined, middles, ov),
                                        ("plain crossfade", plain, middles, ov),
                                        ("butt splice", butt, [k * (chunk_n - ov) for k in range(1, n)], 0)):
            matched = SR if m == "level-matched crossfade" else None
            looped = close_loop(stream, length=length, overlap=overlap, sample_rate=matched) if overlap else stream[:length]
            report, wrap = seam_report(looped, SR, [p for p in pos if p < length], loop=True)
            rows[m]["seams"] += [x.rank for x in report]
            rows[m]["loop"].append(wrap.rank)
    lines = [f"## Seams: latent vs crossfade ({datetime.date.today()}, {platform.machine()}, "
             f"`python benchmarks/compare_latent_seams.py --renders {args.renders} --steps {args.steps}`)", "",
             "| method | mean seam rank | mean loop rank | UNet evaluations per 45 s layer |", "|---|---|---|---|"]
    for m, row in rows.items():
        lines.append(f"| {m} | {np.mean(row['seams']):.2f} (n={len(row['seams'])}) | {np.mean(row['loop']):.2f} "
                     f"(n={len(row['loop'])}) | {row['unet'] / args.renders:.0f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    with open(Path(__file__).with_name("RESULTS.md"), "a", encoding="utf-8") as f:
        f.write("\n" + text)
    sys.stdout.flush()


if __name__ == "__main__":
    main()

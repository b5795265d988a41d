"""Seams on real recordings: the joining methods, scored by our seam measure and by an independent one.

    python benchmarks/compare_seams.py [--seeds 3] [--chunks 30]

Every recording in tests/data is cut into chunks from unrelated random positions
(as independent renders would be) and joined again by each method. Each
recording is used twice: as it is, and with a moving level (multiplied by a
smooth random gain, 3 dB standard deviation, changing over ~2 s: gusts,
swells, traffic), which the fixtures lack. Methods:

- ``matched 3 s``: the procedural backend's default: equal-power fade over the
  whole 3 s overlap, level-matched (both sides meet at their mean level and
  return over a few seconds);
- ``matched 1.5 s``: the same over the scene default overlap (1.5 s);
- ``plain 3 s`` / ``plain 1.5 s``: the same fades without level matching;
- ``butt``: no fade at all;
- ``unedited``: no seam at all: the recording played on (looped) with "seams"
  declared at the same positions. It is what "like any moment" scores on each
  measure for that track: 0.5 in principle (our measure: 0.48 on average).

Each seam is ranked among ordinary moments of the same stream (0.5 = like any
moment) by ``ambientgen.audio.seams.seam_report`` and by an independent judge
written here: the largest change of a 0.5 s log-mel (64 bands) window within
±0.5 s of the seam, as the seam-quality issue measured it. 30 chunks make
tracks of about 3 minutes, which hold many stretches between seams to rank
against. Prints a
table and appends it to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.ndimage import gaussian_filter1d

from ambientgen.audio.arrange import arrange
from ambientgen.audio.seams import seam_report
from ambientgen.audio.stitch import stitch_chunks
from ambientgen.audio.streams import ColourCost, Mix, PoolStream, tile_colour, tile_power

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"
RECORDINGS = ["rain_redeclipse", "river_stk", "waterfall_stk", "birds_stk", "cafe_stk", "cicadas_redeclipse",
              "storm_redeclipse"]
CHUNK_S, OVERLAP_S = 8.0, 1.5
POOL_OVERLAP_S = 3.0  # the procedural backend's fade (its pools' tiles overlap as its chunks do)
METHODS = ("matched 3 s", "matched 1.5 s", "plain 3 s", "plain 1.5 s", "butt", "unedited")


# --- the independent judge --------------------------------------------------------------------------------------
def _mel_filters(sr: int, n_fft: int, n_mels: int = 64) -> np.ndarray:
    mel = lambda f: 2595 * np.log10(1 + f / 700)  # noqa: E731
    points = 700 * (10 ** (np.linspace(mel(50), mel(sr * 0.45), n_mels + 2) / 2595) - 1)
    freqs = np.fft.rfftfreq(n_fft, 1 / sr)
    return np.array([np.clip(np.minimum((freqs - lo) / (c - lo), (hi - freqs) / (hi - c)), 0, None)
                     for lo, c, hi in zip(points, points[1:], points[2:])])


def judge(x: np.ndarray, sr: int, seams: list[int], count: int = 400, seed: int = 0) -> list[float]:
    """Percentile rank of the largest 0.5 s log-mel change within ±0.5 s of each seam among ordinary moments."""
    hop, n_fft = round(0.01 * sr), 1 << int(np.ceil(np.log2(0.025 * sr)))
    frames = (len(x) - n_fft) // hop + 1
    idx = np.arange(n_fft)[None] + hop * np.arange(frames)[:, None]
    f = 10 * np.log10(np.abs(np.fft.rfft(x[idx] * np.hanning(n_fft), axis=1)) ** 2 @ _mel_filters(sr, n_fft).T + 1e-10)
    w = 50
    c = np.concatenate([np.zeros((1, f.shape[1])), np.cumsum(f, axis=0)])
    i = np.arange(w, frames - w + 1)
    d = np.full(frames + 1, np.nan)
    d[i] = np.sqrt(np.mean(((c[i + w] - c[i]) - (c[i] - c[i - w])) ** 2, axis=1)) / w

    def value(pos: int) -> float:
        k = round((pos - n_fft / 2) / hop)
        seg = d[max(0, k - 50) : k + 51]
        return float(np.nanmax(seg)) if np.isfinite(seg).any() else np.nan

    rng = np.random.default_rng(seed)
    margin = round(1.2 * sr)
    cand = rng.integers(margin, len(x) - margin, size=count * 5)
    dist = np.min(np.abs(cand[:, None] - np.asarray(seams)[None]), axis=1)
    far = cand[dist > 2.5 * sr]
    cand = far if len(far) > 50 else cand[dist > 0.3 * sr]
    ordinary = np.array([value(p) for p in cand[:count]])
    ordinary = ordinary[np.isfinite(ordinary)]
    return [float((np.sum(ordinary < v) + 0.5 * np.sum(ordinary == v)) / len(ordinary))
            for v in (value(p) for p in seams if margin <= p <= len(x) - margin)]


# --- the study ----------------------------------------------------------------------------------------------------
def moving_level(x: np.ndarray, sr: int, seed: int = 9, std_db: float = 3.0, period_s: float = 2.0) -> np.ndarray:
    step = 480
    g = gaussian_filter1d(np.random.default_rng(seed).standard_normal(len(x) // step + 2), period_s * sr / step / 2)
    g = g / g.std() * std_db
    return (x * 10 ** (np.interp(np.arange(len(x)) / step, np.arange(len(g)), g) / 20)).astype(np.float32)


def joined(method: str, chunks: list[np.ndarray], overlap_s: float, sr: int) -> tuple[np.ndarray, list[int]]:
    kind, _, seconds = method.partition(" ")
    length = len(chunks[0])
    overlap = min(round(float(seconds.removesuffix(" s")) * sr), length // 2) if seconds else round(overlap_s * sr)
    hop = length - overlap
    middles = [k * hop + overlap // 2 for k in range(1, len(chunks))]
    if kind == "matched":
        return stitch_chunks(chunks, overlap=overlap, sample_rate=sr), middles
    if kind == "plain":
        return stitch_chunks(chunks, overlap=overlap), middles
    return np.concatenate([c[:hop] for c in chunks]), [k * hop for k in range(1, len(chunks))]


def study(name: str, *, moving: bool, seeds: int, count: int) -> dict[str, dict[str, list[float]]]:
    x, sr = sf.read(DATA / f"{name}.ogg", dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if moving:
        x = moving_level(x, sr)
    length = min(round(CHUNK_S * sr), round(len(x) * 0.6))
    out = {m: {"ours": [], "judge": []} for m in METHODS}
    for seed in range(seeds):
        rng = np.random.default_rng(seed)
        starts = rng.integers(0, len(x) - length, size=count)
        chunks = [x[s : s + length] for s in starts]
        for m in METHODS[:-1]:
            y, seams = joined(m, chunks, OVERLAP_S, sr)
            out[m]["ours"] += [r.rank for r in seam_report(y, sr, seams)[0]]
            out[m]["judge"] += judge(y, sr, seams)
        # the unedited recording, looped, at the default method's positions
        y, seams = joined(METHODS[0], chunks, OVERLAP_S, sr)
        start = int(rng.integers(0, len(x)))
        played = np.tile(x, len(y) // len(x) + 2)[start : start + len(y)]
        out["unedited"]["ours"] += [r.rank for r in seam_report(played, sr, seams)[0]]
        out["unedited"]["judge"] += judge(played, sr, seams)
    return out


def pool_study(name: str, *, moving: bool, seeds: int, tiles: int = 8, seconds: int = 90
               ) -> dict[str, dict[str, list[float]]]:
    """Pools (the long-render path): tiles cut from the recording, arranged over ``seconds`` and joined
    level-matched, with random in-points or in-points chosen where the two excerpts' colour agrees."""
    x, sr = sf.read(DATA / f"{name}.ogg", dtype="float32", always_2d=True)
    x = x.mean(axis=1)
    if moving:
        x = moving_level(x, sr)
    n = min(round(CHUNK_S * sr), int(len(x) * 0.7))
    overlap, total = round(POOL_OVERLAP_S * sr), seconds * sr
    out = {m: {"ours": [], "judge": []} for m in ("random in-points", "chosen in-points")}
    for seed in range(seeds):
        cut = [np.stack([x[s : s + n]] * 2) for s in np.random.default_rng(seed).integers(0, len(x) - n, size=tiles)]
        for m, cost in (("random in-points", None), ("chosen in-points", ColourCost([tile_colour(t) for t in cut],
                                                                                   overlap))):
            arr = arrange(tiles=tiles, tile_length=n, overlap=overlap, total=total, loop=True,
                          rng=np.random.default_rng(seed), seam_cost=cost)
            stream = PoolStream("bed", cut, arr, overlap, sr, [tile_power(t) for t in cut])
            y = Mix([stream], total, True).block(0, total)[0]
            seams = [t for t in stream.seams if t > 0]
            out[m]["ours"] += [r.rank for r in seam_report(y, sr, seams)[0]]
            out[m]["judge"] += judge(y, sr, seams)
    return out


def table(title: str, rows: dict, methods, pairs, beds=lambda label: True) -> list[str]:
    lines = [title, "", "| recording | " + " | ".join(methods) + " |", "|---|" + "---|" * len(methods)]
    for label, r in rows.items():
        lines.append(f"| {label} | " + " | ".join(f"{np.mean(r[m]['ours']):.2f} / {np.mean(r[m]['judge']):.2f}"
                                                 for m in methods) + " |")
    kept = {label: r for label, r in rows.items() if beds(label)}
    means = [(np.mean([np.mean(r[m]["ours"]) for r in kept.values()]),
              np.mean([np.mean(r[m]["judge"]) for r in kept.values()])) for m in methods]
    name = "**mean**" if len(kept) == len(rows) else f"**mean of the {len(kept)} beds**"
    lines.append(f"| {name} | " + " | ".join(f"**{a:.2f} / {b:.2f}**" for a, b in means) + " |")
    worst = [max(np.mean(r[m]["ours"]) for r in kept.values()) for m in methods]
    lines.append("| highest bed, our measure | " + " | ".join(f"{w:.2f}" for w in worst) + " |")
    lines.append("")
    for better, worse in pairs:
        for measure, k in (("our measure", "ours"), ("the judge", "judge")):
            wins = sum(np.mean(r[better][k]) < np.mean(r[worse][k]) for r in kept.values())
            lines.append(f"{better} ranks lower than {worse} on {wins} of {len(kept)} recordings by {measure}.  ")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--chunks", type=int, default=30)
    args = parser.parse_args()
    rows = {}
    for name in RECORDINGS:
        for moving in (False, True):
            label = name + (" (moving level)" if moving else "")
            rows[label] = study(name, moving=moving, seeds=args.seeds, count=args.chunks)
            print(label, "  ".join(f"{m} {np.mean(r['ours']):.2f}/{np.mean(r['judge']):.2f}"
                                   for m, r in rows[label].items()), file=sys.stderr, flush=True)
    pools = {}
    for name in RECORDINGS[:-1]:  # the thunder recording is one event: never a bed
        for moving in (False, True):
            label = name + (" (moving level)" if moving else "")
            pools[label] = pool_study(name, moving=moving, seeds=args.seeds)
            print(label, "  ".join(f"{m} {np.mean(r['ours']):.2f}/{np.mean(r['judge']):.2f}"
                                   for m, r in pools[label].items()), file=sys.stderr, flush=True)
    command = f"`python benchmarks/compare_seams.py --seeds {args.seeds} --chunks {args.chunks}`"
    lines = table(f"## Seams on real recordings ({datetime.date.today()}, {platform.machine()}, {command})\n\n"
                  "Consecutive chunks. Mean seam rank per recording, our measure / independent 0.5 s log-mel judge "
                  "(0.5 = like any moment; `unedited`: what the recording itself scores at the same positions).",
                  rows, METHODS, [("matched 3 s", "plain 3 s"), ("matched 1.5 s", "plain 1.5 s"),
                                  ("matched 3 s", "matched 1.5 s")],
                  beds=lambda label: not label.startswith("storm"))
    lines += [""] + table("Pools of 8 tiles over 90 s, level-matched 3 s joins, in-points random or chosen where the "
                          "two excerpts' 16-band colour agrees (best of 8).", pools,
                          ("random in-points", "chosen in-points"), [("chosen in-points", "random in-points")])
    text = "\n".join(lines) + "\n"
    print(text)
    with open(Path(__file__).with_name("RESULTS.md"), "a", encoding="utf-8") as f:
        f.write("\n" + text)


if __name__ == "__main__":
    main()

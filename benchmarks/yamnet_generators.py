"""YAMNet (an AudioSet tagger that knows nothing of this code) on every procedural generator, beside real recordings.

    python benchmarks/yamnet_generators.py [--seconds 20] [--seeds 4]

Prints a Markdown table: for each generator prompt, the family it is expected in,
the mean family score over the seeds, how many seeds put it in that family, and the
top three classes of the first seed; then the same for the real recordings in
``tests/data``. The README's table is this script's output.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ambientgen.backends.base import ChunkRequest  # noqa: E402
from ambientgen.backends.procedural import ProceduralBackend  # noqa: E402
from tests.yamnet import family_scores, top_classes  # noqa: E402

GENERATORS = [  # (prompt, expected family)
    ("light rain", "water"), ("rain", "water"), ("heavy rain", "water"), ("rain on a tin roof", "water"),
    ("a stream", "water"), ("a distant stream", "water"), ("waterfall", "water"), ("ocean waves", "water"),
    ("water dripping from a gutter", "water"), ("campfire", "fire"), ("fireplace", "fire"),
    ("softly hissing embers", "fire"), ("distant thunder", "thunder"), ("close thunder", "thunder"),
    ("wind in the trees", "wind"), ("a soft sea breeze", "wind"), ("a howling mountain wind", "wind"),
    ("songbirds", "animals"), ("crickets", "animals"), ("cicadas", "animals"), ("frogs", "animals"),
    ("bullfrogs", "animals"), ("seagulls calling", "animals"), ("a busy café", "speech"),
    ("a ticking clock", "clock"), ("book pages turning", "wind"), ("inside a moving train carriage", "vehicle"),
    ("room tone of a quiet library", "none"), ("an air conditioner humming", "none"), ("distant traffic", "vehicle"),
    ("traffic passing on a city street", "vehicle"), ("cars passing close by", "vehicle"),
    ("church bells tolling", "bells"), ("wind chimes", "bells"), ("a dog barking", "animals"),
    ("an owl hooting at night", "animals"), ("footsteps on a wooden floor", "footsteps"),
    ("clattering dishes in a kitchen", "clatter"), ("typing on a keyboard", "typing"),
]
REAL = [("rain_redeclipse.ogg", "water"), ("river_stk.ogg", "water"), ("waterfall_stk.ogg", "water"),
        ("storm_redeclipse.ogg", "thunder"), ("birds_stk.ogg", "animals"), ("cicadas_redeclipse.ogg", "animals"),
        ("cafe_stk.ogg", "speech")]


def generate(prompt: str, seconds: float, seed: int) -> np.ndarray:
    return ProceduralBackend().render([ChunkRequest("x", 0, prompt, "", seed, seconds)])[0][0]


def row(label: str, family: str, clips: list[tuple[np.ndarray, int]]) -> str:
    scores = [family_scores(x, sr) for x, sr in clips]
    if family not in scores[0]:  # no AudioSet family to be judged in (room tone, a fan's hum)
        tops = ", ".join(f"{c} {v:.2f}" for c, v in top_classes(*clips[0]))
        return f"| {label} | — | — | — | {tops} |"
    hits = sum(max(s, key=s.get) == family for s in scores)
    mean = np.mean([s[family] for s in scores])
    tops = ", ".join(f"{c} {v:.2f}" for c, v in top_classes(*clips[0]))
    return f"| {label} | {family} | {mean:.2f} | {hits}/{len(clips)} | {tops} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("prompts", nargs="*", help="only the generators whose prompt contains one of these")
    args = parser.parse_args()
    print("| sound | family | family score (mean) | seeds in family | top classes (first seed) |")
    print("|---|---|---|---|---|")
    for prompt, family in GENERATORS:
        if args.prompts and not any(p in prompt for p in args.prompts):
            continue
        clips = [(generate(prompt, args.seconds, seed), 48000) for seed in range(1, args.seeds + 1)]
        print(row(f"`{prompt}`", family, clips), flush=True)
    for file, family in REAL if not args.prompts else ():
        x, sr = sf.read(ROOT / "tests" / "data" / file)
        print(row(f"real: {file}", family, [(x if x.ndim == 1 else x.mean(axis=1), sr)]), flush=True)


if __name__ == "__main__":
    main()

"""Ray: the model work of a pool-heavy scene on 1 and on 2 local CPU workers.

    python benchmarks/ray_speedup.py [--variety 24] [--steps 8]

Builds the tiny offline AudioLDM2, plans a 10-minute two-layer scene whose beds
are pools of ``--variety`` chunks (crossfade continuity, one chunk per piece),
and renders its pieces on a local Ray with 1 worker, then with 2 workers, each
worker using one PyTorch thread, each run with an empty render cache. Reports
the model-work wall time of each and the speed-up, and checks the two caches
hold byte-identical pieces. Appends the table to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--variety", type=int, default=24)
    parser.add_argument("--steps", type=int, default=8)
    args = parser.parse_args()
    import ray

    from ambientgen.backends import choose_backend
    from ambientgen.rendering.cache import RenderCache
    from ambientgen.rendering.ray import RayExecutor
    from ambientgen.scene.schema import scene_from_dict
    from ambientgen.testing import save_tiny_audioldm2

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        checkpoint = save_tiny_audioldm2(tmp / "tiny")
        scene = scene_from_dict({
            "name": "pools", "duration": "10m",
            "model": {"backend": "audioldm2", "checkpoint": str(checkpoint), "steps": args.steps, "batch_size": 1,
                      "continuity": "crossfade", "variety": args.variety},
            "layers": [{"name": "rain", "prompt": "field recording of rain"},
                       {"name": "wind", "prompt": "field recording of wind"}]})
        caches = {}
        for workers in (1, 2):
            cache = RenderCache(tmp / f"cache-{workers}")
            ex = RayExecutor(model=scene.model, device="cpu", choice=choose_backend(scene.model),
                             cache_dir=str(cache.root), workers=workers, threads=1)
            info = ex.info([layer.prompt for layer in scene.layers])
            pieces = ex.plan_pieces(scene, info, cache)
            report = ex.render_pieces(pieces)
            ex.shutdown()
            rows.append((workers, len(pieces), report.model_calls, report.seconds))
            caches[workers] = {p.relative_to(cache.root): p.read_bytes() for p in cache.root.rglob("*.npy")}
        identical = caches[1] == caches[2]
    ray.shutdown()
    one, two = rows[0][3], rows[1][3]
    table = ["| workers (1 PyTorch thread each) | pieces | model calls | model-work wall time |", "|---|---|---|---|"]
    table += [f"| {w} | {p} | {c} | {s:.1f} s |" for w, p, c, s in rows]
    table.append(f"| speed-up, 2 workers over 1 | | | {one / two:.2f}x |")
    text = "\n".join(table) + f"\n\nPieces byte-identical between the two runs: {identical}."
    print(text)
    stamp = f"{datetime.date.today()}, {platform.machine()}, {os.cpu_count()} CPUs"
    with open(HERE / "RESULTS.md", "a", encoding="utf-8") as f:
        f.write(f"\n## Ray, 1 vs 2 local CPU workers ({stamp}, `python benchmarks/ray_speedup.py --variety "
                f"{args.variety} --steps {args.steps}`; tiny model, 10-minute scene, two pooled beds)\n\n{text}\n")


if __name__ == "__main__":
    main()

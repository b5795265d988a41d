"""Render a bundled scene through the public API with the tiny offline AudioLDM2.

    python examples/render_with_tiny_model.py [OUTDIR]

With real weights, drop the tiny model and let ``render`` load the scene's
checkpoint (``cvssp/audioldm2``) instead.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from ambientgen import load_scene, render
from ambientgen.backends.audioldm2 import AudioLDM2Backend
from ambientgen.testing import save_tiny_audioldm2

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/example")
    scene = load_scene(ROOT / "scenes" / "campfire.yaml").model_copy(update={"duration": 30.0})
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = save_tiny_audioldm2(Path(tmp) / "tiny")
        backend = AudioLDM2Backend.load(str(checkpoint), device="cpu", steps=4)
        manifest = render(scene, out_dir, backend=backend,
                          on_progress=lambda e: print(f"{e.stage} {e.layer or ''} {e.done}/{e.total}", file=sys.stderr))
    print(f"{manifest['files'][0]['path']}: {manifest['duration_s']} s at {manifest['integrated_lufs']} LUFS")
    for layer in manifest["layers"]:
        print(f"  {layer['name']}: {layer['model_calls']} chunks, seams at {layer['seams_s']}")


if __name__ == "__main__":
    main()

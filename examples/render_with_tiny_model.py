"""Render a bundled scene through the public API with the tiny offline AudioLDM2.

    python examples/render_with_tiny_model.py [OUTDIR]

With real weights, drop the tiny model and let ``render`` load the scene's
checkpoint (``cvssp/audioldm2``) instead.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import ambientgen
from ambientgen.testing import save_tiny_audioldm2

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    out_dir = Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/example")
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = save_tiny_audioldm2(Path(tmp) / "tiny")
        result = ambientgen.render(
            ROOT / "scenes" / "campfire.yaml", out_dir, duration=30, checkpoint=str(checkpoint), steps=4,
            overwrite=True, on_progress=lambda e: print(f"{e.stage} {e.layer or ''} {e.done}/{e.total}", file=sys.stderr))
    print(f"{result.mix_path}: {result.manifest['duration_s']} s at {result.manifest['integrated_lufs']} LUFS, "
          f"check {'passed' if result.passed else 'failed: ' + '; '.join(result.report.failures)}")


if __name__ == "__main__":
    main()

"""AmbientGen: long, seamless, loopable ambient soundscapes from a scene file.

Public API::

    from ambientgen import load_scene, render
    scene = load_scene("scenes/forest.yaml")
    manifest = render(scene, "out/", checkpoint="cvssp/audioldm2")
"""

from __future__ import annotations

__version__ = "0.1.0"

from .errors import AmbientgenError, BackendError, ExportError, SceneError  # noqa: E402
from .scene import Layer, ModelSettings, Scene, load_scene, scene_from_dict  # noqa: E402

__all__ = [
    "AmbientgenError",
    "BackendError",
    "ExportError",
    "Layer",
    "ModelSettings",
    "Scene",
    "SceneError",
    "__version__",
    "load_backend",
    "load_scene",
    "render",
    "scene_from_dict",
]


def load_backend(scene: Scene, *, device: str = "auto"):
    """Load the backend a scene asks for (``scene.model``; ``auto`` resolves to AudioLDM2 or procedural)."""
    from .backends import load_backend as _load

    return _load(scene.model, device=device)


def render(scene: Scene, out_dir, *, device: str = "auto", backend=None, fmt: str | list[str] = "wav",
           bit_depth: str = "24", stems: bool = True, session: bool = True, on_progress=None) -> dict:
    """Render ``scene`` into ``out_dir`` (mix, stems, manifest.json); returns the manifest.

    Layers the backend has no generator for are left out (an error if the scene
    names that backend explicitly); the manifest lists them.
    """
    from .backends import supported_scene
    from .engine import render_scene

    backend = backend if backend is not None else load_backend(scene, device=device)
    strict = scene.model.backend == getattr(backend, "name", None)
    scene, skipped = supported_scene(scene, backend, strict=strict)
    return render_scene(scene, backend, out_dir, fmt=fmt, bit_depth=bit_depth, stems=stems, session=session,
                        on_progress=on_progress, notes={"skipped_layers": skipped})

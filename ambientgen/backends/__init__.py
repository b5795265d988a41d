"""Backends render chunk requests into audio; see :mod:`ambientgen.backends.base`.

``auto`` (the default) uses AudioLDM2 when its checkpoint is a local folder, is
in the Hugging Face cache, or can be downloaded, and the offline procedural
backend otherwise. ``audioldm2`` never falls back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from ..errors import AmbientgenError, BackendError
from ..scene import ModelSettings, Scene
from .base import Backend, BackendStats, ChunkRequest, chunk_seed

__all__ = ["Backend", "BackendStats", "ChunkRequest", "Choice", "choose_backend", "chunk_seed", "load_backend",
           "supported_scene"]


@dataclass(frozen=True)
class Choice:
    backend: str  # "audioldm2" or "procedural"
    reason: str
    automatic: bool


def _hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def choose_backend(model: ModelSettings) -> Choice:
    """Resolve ``auto``: AudioLDM2 if its checkpoint is at hand or downloadable, else procedural."""
    if model.backend != "auto":
        return Choice(model.backend, "asked for", automatic=False)
    from .audioldm2 import looks_like_path

    checkpoint = model.checkpoint
    if looks_like_path(checkpoint):
        if os.path.isdir(os.path.expanduser(checkpoint)):
            return Choice("audioldm2", f"local checkpoint {checkpoint}", True)
        return Choice("procedural", f"checkpoint folder {checkpoint} not found", True)
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(checkpoint, "model_index.json")
    if isinstance(cached, str):
        return Choice("audioldm2", f"{checkpoint} is in the Hugging Face cache", True)
    if _hub_offline():
        return Choice("procedural", f"{checkpoint} is not cached and HF_HUB_OFFLINE is set", True)
    try:
        from huggingface_hub import file_exists

        if file_exists(checkpoint, "model_index.json"):
            return Choice("audioldm2", f"{checkpoint} will be downloaded from the hub", True)
        return Choice("procedural", f"{checkpoint} does not exist on the hub", True)
    except Exception:
        return Choice("procedural", f"{checkpoint} is not cached and the hub is unreachable", True)


def load_backend(model: ModelSettings, *, device: str = "auto", choice: Choice | None = None) -> Backend:
    """Load the backend ``choice`` (default: :func:`choose_backend`) names, with the scene's model settings."""
    choice = choice or choose_backend(model)
    if choice.backend == "audioldm2":
        from .audioldm2 import AudioLDM2Backend

        try:
            return AudioLDM2Backend.load(
                model.checkpoint,
                device=device,
                steps=model.steps,
                guidance=model.guidance,
                scheduler=model.scheduler,
                batch_size=model.batch_size,
            )
        except BackendError:
            if not choice.automatic:
                raise
    from .procedural import ProceduralBackend

    return ProceduralBackend()


def supported_scene(scene: Scene, backend: Backend, *, strict: bool) -> tuple[Scene, list[str]]:
    """The scene without layers the backend cannot render, and their names.

    ``strict`` (the user named the backend): an unsupported layer is an error.
    """
    supports = getattr(backend, "supports", None)
    if supports is None:
        return scene, []
    skipped = [layer.name for layer in scene.layers if not supports(layer.prompt)]
    if skipped and (strict or len(skipped) == len(scene.layers)):
        listed = ", ".join(f"'{name}'" for name in skipped)
        raise AmbientgenError(
            f"backend {backend.name}: no generator for layer(s) {listed}; "
            "its sources are rain, drips, thunder, wind, waves, stream, waterfall, fire, crickets, cicadas, "
            "birds, frogs, fan/hum, traffic, white/pink/brown noise"
        )
    if skipped:
        kept = [layer for layer in scene.layers if layer.name not in skipped]
        scene = scene.model_copy(update={"layers": kept})
    return scene, skipped

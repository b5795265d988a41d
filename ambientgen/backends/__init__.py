"""Backends render chunk requests into audio; see :mod:`ambientgen.backends.base`."""

from __future__ import annotations

from ..scene import ModelSettings
from .base import Backend, BackendStats, ChunkRequest, chunk_seed

__all__ = ["Backend", "BackendStats", "ChunkRequest", "chunk_seed", "load_backend"]


def load_backend(model: ModelSettings, *, device: str = "auto") -> Backend:
    """Load the backend named by ``model.backend`` with the scene's model settings."""
    if model.backend == "audioldm2":
        from .audioldm2 import AudioLDM2Backend

        return AudioLDM2Backend.load(
            model.checkpoint,
            device=device,
            steps=model.steps,
            guidance=model.guidance,
            scheduler=model.scheduler,
            batch_size=model.batch_size,
        )
    raise ValueError(f"unknown backend {model.backend!r}")  # the scene schema rejects this first

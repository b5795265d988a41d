"""The backend protocol: what a sound generator must offer the renderer."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

ProgressCallback = Callable[[int], None]
"""Called with the number of chunks just finished."""


@dataclass(frozen=True)
class ChunkRequest:
    """One chunk of one layer to render."""

    layer: str
    index: int
    prompt: str
    negative_prompt: str
    seed: int
    duration_s: float


@dataclass
class BackendStats:
    """Counts of the expensive operations a backend performed."""

    model_calls: int = 0  # chunks rendered
    text_encodes: int = 0  # distinct (prompt, negative prompt) conditionings computed
    unet_evals: int = 0  # UNet forward passes (one per denoising step per batch)
    decode_calls: int = 0  # VAE + vocoder passes (per batch)
    per_layer: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class Backend(Protocol):
    """A generator of mono audio chunks.

    ``render`` returns one ``np.float32`` array of shape ``(samples,)`` per
    request, ``round(duration_s * sample_rate)`` samples long, in request order.
    """

    name: str
    sample_rate: int
    max_duration_s: float
    stats: BackendStats

    def render(
        self, requests: Sequence[ChunkRequest], *, on_progress: ProgressCallback | None = None
    ) -> list[np.ndarray]: ...

    def describe(self) -> dict[str, Any]: ...


def chunk_seed(scene_seed: int, layer_name: str, seed_offset: int, chunk_index: int) -> int:
    """A 63-bit seed for one chunk, derived from (scene seed, layer, chunk index).

    Stable across runs, platforms and Python versions (no ``hash()``), and
    independent of how chunks are batched.
    """
    key = f"{scene_seed}:{layer_name}:{seed_offset}:{chunk_index}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1

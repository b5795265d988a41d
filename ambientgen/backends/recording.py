"""The ``recording`` backend: a layer that names ``source:`` (your own recordings) instead of ``prompt:``.

It renders no prompt: the scene's other layers go to the scene's backend, so one
scene mixes a rain recording with AudioLDM2 birds and procedural wind. How the
recordings are read, cut and arranged is :mod:`ambientgen.rendering.recordings.layers`; the
registry lists this backend so ``ambientgen models`` shows it and a scene that
names it for a prompt layer gets a clear error.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..errors import BackendError
from .base import Backend, BackendSpec, ChunkRequest, NoSettings


class RecordingBackend(Backend):
    """Plays recordings; renders no prompt (a scene's other layers go to its own backend)."""

    spec: BackendSpec

    def supports(self, prompt: str) -> bool:
        return False

    def sources_hint(self) -> str:
        return "the recording backend plays recordings: give such a layer source: FILE instead of prompt:"

    def render(self, requests: Sequence[ChunkRequest], *, on_progress=None) -> list[np.ndarray]:
        raise BackendError("backend recording: it renders no prompts; " + self.sources_hint())


SPEC = BackendSpec(
    name="recording",
    summary="your own recordings (source: FILE in a layer), arranged into long seamless beds or cut into events",
    sample_rate=48000,
    channels=2,
    max_window_s=60.0,
    settings=NoSettings,
    factory=lambda settings, device: RecordingBackend(),
    filters_prompts=True,
    offline=True,
    licence="that of your recordings",
)
RecordingBackend.spec = SPEC

"""What a render does for each layer: kind, chunk seeds and geometry, decided from the scene before any model work.

A bed layer short enough to render whole (at most ``variety`` chunks) is one
consecutive ``stream``; a longer bed renders a ``pool`` of ``variety`` chunks
that :mod:`ambientgen.audio.arrange` arranges over the duration; an ``events`` layer
renders a few short variations that are scheduled at random times. Seeds come
from (scene seed, layer, chunk index), so they do not depend on batching.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ..backends.base import chunk_seed
from ..scene.schema import Animate, Events, Scene


@dataclass(frozen=True, kw_only=True)
class LayerPlan:
    """One layer's render: prompt, chunk seeds, chunk geometry (s), placement and kind."""

    name: str
    prompt: str
    negative_prompt: str
    seeds: tuple[int, ...]
    chunk_s: float
    overlap_s: float
    gain_db: float
    pan: float
    width: float
    continuity: str  # "auto", "latent" or "crossfade"
    kind: str = "stream"  # "stream" (rendered whole), "pool" (arranged from a pool) or "events"
    events: Events | None = None
    animate: Animate | None = None
    seed_offset: int = 0
    source: tuple[str, ...] | None = None  # a recording layer's files (played by the recording backend)
    timeline: dict | None = field(default=None, compare=False)  # the layer's lanes (ambientgen.scene.timeline)
    duration_s: float | None = None  # seconds the layer sounds, where its timeline leaves it out for a while

    def spans(self, total: int, sample_rate: int) -> list[tuple[int, int]]:
        """The ``[a, b)`` sample stretches of the track where this layer sounds (all of it without a timeline)."""
        from ..audio.timeline import audible_spans

        return audible_spans((self.timeline or {}).get("level"), total, sample_rate)


@dataclass(frozen=True)
class Plan:
    """Every layer's :class:`LayerPlan` for a scene."""

    scene: Scene
    layers: tuple[LayerPlan, ...]

    @property
    def duration_s(self) -> float:
        return self.scene.duration

    @property
    def loop(self) -> bool:
        return self.scene.loop

    @property
    def frames(self) -> int:
        """Samples per channel of the finished track at the scene's output rate."""
        return scene_frames(self.scene)

    def consecutive_chunks(self, layer: LayerPlan) -> int:
        """Chunks a plain consecutive render of ``layer`` would need (the manifest compares it with what was
        rendered)."""
        return chunk_count(duration_s=self.duration_s, chunk_s=layer.chunk_s, overlap_s=layer.overlap_s,
                           loop=self.loop)


def scene_frames(scene: Scene) -> int:
    """Samples per channel of a scene's finished track (duration x output rate, rounded)."""
    return round(scene.duration * scene.sample_rate)


def chunk_count(*, duration_s: float, chunk_s: float, overlap_s: float, loop: bool) -> int:
    """Chunks needed so the stitched layer covers ``duration_s`` (plus one overlap to close a loop)."""
    hop = chunk_s - overlap_s
    needed = duration_s if loop else max(duration_s - overlap_s, 1e-9)
    return max(1, math.ceil(needed / hop - 1e-9))


def make_plan(scene: Scene, *, max_chunk_s: float, window: tuple[float, float] | None = None) -> Plan:
    """What every layer renders, with chunks no longer than ``max_chunk_s`` (the backend's longest window).

    ``window``: the backend's preferred (window, overlap) in seconds, used where
    the scene does not set ``chunk_s`` / ``overlap_s`` itself. Event layers keep
    the scene's ``chunk_s`` (10.24 s by default): an event needs no minute-long window.
    """
    given = scene.model.model_fields_set
    chunk_s = scene.model.chunk_s if window is None or "chunk_s" in given else window[0]
    chunk_s = min(chunk_s, max_chunk_s)
    overlap_s = scene.model.overlap_s if window is None or "overlap_s" in given else window[1]
    overlap_s = min(overlap_s, chunk_s / 2)
    event_s = min(scene.model.chunk_s, chunk_s)
    lanes = scene.lanes() if scene.timeline else {}
    total = scene_frames(scene)
    layers = []
    for layer in scene.layers:
        seconds = None
        if layer.role != "events" and "level" in lanes.get(layer.name, {}):
            from ..audio.timeline import audible_spans

            heard = sum(b - a for a, b in audible_spans(lanes[layer.name]["level"], total, scene.sample_rate))
            seconds = None if heard == total else max(heard / scene.sample_rate, chunk_s)
        n = chunk_count(duration_s=seconds or scene.duration, chunk_s=chunk_s, overlap_s=overlap_s, loop=scene.loop)
        variety = layer.variety or scene.model.variety
        if layer.role == "events":
            kind, n = "events", layer.events.variations
        elif layer.source is not None:  # excerpts of the recording, arranged: any duration
            kind, n = "pool", variety
        elif n <= variety:
            kind = "stream"
        else:
            kind, n = "pool", variety
        seeds = tuple(chunk_seed(scene.seed, layer.name, layer.seed_offset, k) for k in range(n))
        negative = layer.negative_prompt if layer.negative_prompt is not None else scene.model.negative_prompt
        size = event_s if kind == "events" else chunk_s
        layers.append(LayerPlan(name=layer.name, prompt=layer.prompt or "", negative_prompt=negative, seeds=seeds,
                                chunk_s=size, overlap_s=min(overlap_s, size / 2), gain_db=layer.gain_db, pan=layer.pan,
                                width=layer.width, continuity=layer.continuity or scene.model.continuity, kind=kind,
                                events=layer.events, animate=layer.animate, seed_offset=layer.seed_offset,
                                source=tuple(layer.source) if layer.source is not None else None,
                                timeline=lanes.get(layer.name), duration_s=seconds))
    return Plan(scene=scene, layers=tuple(layers))

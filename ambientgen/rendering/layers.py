"""What every rendered layer is, whatever rendered it (a backend or a recording): a :class:`LayerOutput`, its
audio brought to the output rate, and the seeded randomness of its arrangement and animation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..audio.streams import Animation, LayerStream
from ..backends.base import chunk_seed

if TYPE_CHECKING:
    from ..scene.schema import Scene
    from .chunk_plan import LayerPlan


@dataclass
class LayerOutput:
    """A rendered layer, ready to stream: its :class:`LayerStream` and what the manifest says of it."""

    plan: LayerPlan
    stream: LayerStream
    seams_s: list[float]
    model_calls: int  # renders the layer needs (chunks or latent windows); ``rendered`` of them ran this time
    method: str
    seam_report: list[dict[str, Any]] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    rendered: int | None = None  # model calls actually run (the rest came from the render cache)


def to_output_rate(audio: np.ndarray, sr_in: int, sr_out: int, seconds: float, *, loop: bool) -> np.ndarray:
    """``(channels, n)`` at ``sr_in`` -> ``(channels, round(seconds * sr_out))``, DC offset removed
    (:func:`~ambientgen.audio.placement.remove_dc`: a source's offset never reaches the loudness meter or the master)."""
    from ..audio.placement import remove_dc, resample

    return resample(remove_dc(audio, sr_in, loop=loop), sr_in, sr_out, length=round(seconds * sr_out), loop=loop)


def layer_rng(scene: Scene, layer: LayerPlan, purpose: str) -> np.random.Generator:
    """The layer's own random stream for ``purpose`` (arrangement, events): from (scene seed, layer, purpose)."""
    return np.random.default_rng(chunk_seed(scene.seed, f"{layer.name}/{purpose}", layer.seed_offset, 0))


def layer_animation(scene: Scene, layer: LayerPlan, total: int) -> Animation | None:
    """The layer's slow gain drift (``animate:``), or None."""
    if layer.animate is None:
        return None
    seed = chunk_seed(scene.seed, f"{layer.name}/animate", layer.seed_offset, 0)
    return Animation(layer.animate.depth_db, layer.animate.period, seed, total, scene.sample_rate, scene.loop)


def event_layer(scene: Scene, layer: LayerPlan, variations: list[np.ndarray], *, model_calls: int,
                details: dict[str, Any] | None = None) -> LayerOutput:
    """An event layer from its variations (rendered or cut from recordings): scheduled by the layer's wait, gain and
    pan rules (:func:`ambientgen.audio.arrange.schedule_events`), with what the manifest says of it (plus ``details``)."""
    from ..audio.arrange import schedule_events
    from ..audio.streams import EventStream

    sr = scene.sample_rate
    total = round(scene.duration * sr)
    lo, hi = layer.events.wait_range_s()
    lanes = layer.timeline or {}
    most = max((v for _, v in lanes["density"]), default=1.0) if "density" in lanes else 1.0
    events, met = schedule_events(total=total, sample_rate=sr, min_wait_s=lo / max(most, 1e-3),
                                  max_wait_s=hi / max(most, 1e-3), variations=len(variations), loop=scene.loop,
                                  rng=layer_rng(scene, layer, "events"), pan=layer.pan,
                                  pan_jitter=layer.events.pan_jitter, gain_jitter_db=layer.events.gain_jitter_db,
                                  lengths=[v.shape[-1] for v in variations])
    if "density" in lanes or "level" in lanes:  # made at the highest density, thinned to the timeline's
        from ..audio.timeline import thin_events

        events = thin_events(events, lanes.get("density"), lanes.get("level"), sr, layer_rng(scene, layer, "density"),
                             most) if most > 0 else []
    stream = EventStream(layer.name, variations, events, layer.gain_db, total, scene.loop,
                         layer_animation(scene, layer, total))
    info = {"kind": "events", **(details or {}), "wait_s": [lo, hi], "waits_met": met,
            "variation_s": [round(v.shape[-1] / sr, 3) for v in variations]}
    info["events"] = [e.to_dict(sr) for e in events]
    return LayerOutput(layer, stream, [], model_calls, "events", [], info)

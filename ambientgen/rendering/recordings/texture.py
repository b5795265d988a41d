"""A bed from recordings too short or too uneven to arrange as excerpts: rebuilt by texture resynthesis.

Each file (or each held stretch of it) is split into its steady bed and its
transients (:func:`ambientgen.audio.texture.analyse`); the layer plays grains of
the beds (:class:`~ambientgen.audio.texture.GrainBed`) with the transients
scattered over them (:func:`~ambientgen.audio.texture.scatter_events`). Nothing
the source played comes back whole, so a 9 s fire loops for an hour without a
cycle; a lull is the recording's own floor, not a gap; and a loop's end flows
into its start (the grains and events wrap).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..layers import LayerOutput, layer_animation, layer_rng

if TYPE_CHECKING:
    from ...progress import ProgressFn
    from ...scene.schema import Scene
    from ..chunk_plan import LayerPlan
    from .layers import LayerSources

ANALYSIS_S = 60.0  # a recording is analysed in pieces this long at most


def render_texture_bed(scene: Scene, layer: LayerPlan, sources: LayerSources, *, why: str,
                       on_progress: ProgressFn | None = None) -> tuple[LayerOutput, list[str]]:
    """The bed of a recording layer by texture resynthesis (``why``: what made the excerpts unfit, for the
    manifest); returns the layer and its warnings."""
    from ...audio.streams import EventStream
    from ...audio.texture import FLOOR_S, GRAIN_S, VOICES, GrainBed, TextureStream, analyse, scatter_events
    from ...progress import ProgressEvent
    from .sources import held_regions, is_uneven, read_at

    sr = scene.sample_rate
    total = round(scene.duration * sr)
    regions = held_regions(sources.files)
    # analysed in pieces of at most ANALYSIS_S (the spectrogram of a 5-minute stereo file would take a gigabyte)
    step = [round(ANALYSIS_S * f.sample_rate) for f in sources.files]
    pieces = [(k, p, min(b, p + step[k])) for k, a, b in regions for p in range(a, b, step[k])]
    # an uneven recording's bed is the floor of its lulls (its swells and rolls are all events)
    floor_s = [None if is_uneven(f) else FLOOR_S for f in sources.files]
    models = []
    for j, (k, a, b) in enumerate(pieces):
        f = sources.files[k]
        if b - a < f.sample_rate and j:  # a tail under a second adds nothing
            continue
        models.append(analyse(read_at(f, a, b, sr), sr, floor_s=floor_s[k]))
        if on_progress:
            on_progress(ProgressEvent("render", layer.name, j + 1, len(pieces), "recordings analysed"))
    bed = GrainBed(models, total=total, loop=scene.loop, rng=layer_rng(scene, layer, "grains"),
                   gain_db=layer.gain_db, pan=layer.pan, width=layer.width)
    variations, events = scatter_events(models, total=total, rng=layer_rng(scene, layer, "transients"),
                                        loop=scene.loop, pan=layer.pan, width=layer.width)
    scattered = EventStream(layer.name, variations, events, layer.gain_db, total, scene.loop) if events else None
    stream = TextureStream(bed, scattered, layer_animation(scene, layer, total))
    material_s = sum((b - a) / sources.files[k].sample_rate for k, a, b in regions)
    details = {
        "kind": "texture",
        "sources": [f.provenance() for f in sources.files],
        "texture": {"why": why, "material_s": round(material_s, 3), "grains": bed.grains,
                    "grain_s": list(GRAIN_S), "voices": VOICES,
                    "transients": sum(len(m.events) for m in models), "events": len(events),
                    "transient_share": round(sum(m.transient_share * m.duration_s for m in models)
                                             / max(1e-9, sum(m.duration_s for m in models)), 3)},
        # the scattered transients are planned events: check explains their onsets as it does an event layer's
        "variation_s": [round(v.shape[1] / sr, 4) for v in variations],
        "events": [e.to_dict(sr) for e in events],
    }
    return LayerOutput(layer, stream, [0.0] if scene.loop else [], 0, "texture", [], details), list(sources.warnings)

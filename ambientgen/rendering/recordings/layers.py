"""Your own recordings as layers, beside generated ones (played by the ``recording`` backend).

A layer that names ``source:`` (a file, a folder, a list of files or globs) is
played from those recordings instead of rendered from a prompt; any other
layer of the same scene is rendered by the scene's backend, so one scene mixes
a rain recording with AudioLDM2 birds and procedural wind.

**Beds.** At most :data:`~ambientgen.rendering.recordings.sources.MAX_MATERIAL_S` of each layer's recordings is held
(whole files when they are shorter; otherwise stretches spread evenly over
them, read without reading the rest). Excerpts are cut where a fade may start
unheard (:func:`steady_points`: no onset and no level movement within the
fade, not a fixed grid) and arranged by :func:`ambientgen.rendering.recordings.excerpts.arrange_excerpts`
so that no stretch of the *source* plays again within :data:`MIN_RECURRENCE_S`
(excerpts cut from overlapping stretches count, not only the same excerpt),
choosing among candidates the one whose fade agrees best with the previous
excerpt in colour and level. The joins are the pool's level-matched
crossfades (:class:`ambientgen.audio.streams.PoolStream`); the manifest's
``min_source_recurrence_s`` says what was achieved.

**Too short or uneven for excerpts.** Material under the rule plus two
excerpts, or a recording with long quiet stretches (:func:`~ambientgen.rendering.recordings.sources.is_uneven`),
is resynthesised instead (:mod:`ambientgen.rendering.recordings.texture`):
grains of its steady bed with its transients scattered over them, so nothing
of it replays whole and a lull is its own floor, not a gap.

**Events.** ``role: events`` with several files plays each as a variation; one
long recording is cut at its onsets (:func:`ambientgen.rendering.recordings.sources.find_events`).
Separate sounds over silence (a thunder recording with no floor) are refused as a bed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ...audio.repetition import MIN_RECURRENCE_S, REPEAT_MIN_S, REPEAT_WITHIN_S
from ...errors import SceneError
from ..layers import LayerOutput, event_layer, layer_animation, layer_rng

if TYPE_CHECKING:
    from ...progress import ProgressFn
    from ...scene.schema import Scene
    from ..chunk_plan import LayerPlan
    from .sources import SourceFile

EXCERPT_S = (6.0, 16.0)  # excerpt lengths where the material is ample
AIM = 1.0  # of ample material: the gap aimed at (more than the rule leaves room to keep it to a loop's end)
GUARD_S = REPEAT_WITHIN_S + 5.0  # where a long excerpt would come back sooner than this, a short one plays
RECUR_BIN_S = 0.25  # source stretches whose recurrence is timed
STEADY_DB = 3.0  # a fade may start where the level rises less than this over its running median
ONE_SHOT_MAX_S = 30.0  # a longer file in an event folder is cut at its strongest onset


@dataclass
class LayerSources:
    """A recording layer's files, opened and checked (see :func:`open_layer_sources`)."""

    layer: str
    files: list[SourceFile]
    warnings: list[str] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return sum(f.duration_s for f in self.files)

    def describe(self) -> str:
        names = ", ".join(f.path.name for f in self.files[:3]) + (", ..." if len(self.files) > 3 else "")
        return f"recording: {len(self.files)} file{'s' if len(self.files) > 1 else ''}, {self.seconds:.1f} s ({names})"


def find_layer_sources(scene: Scene) -> dict[str, list[Path]]:
    """Every recording layer's files (globs and folders expanded), without reading them: the quick check that comes
    before anything else (a missing file is said before a long read of the others).

    Raises :class:`SceneError` naming ``layers[i].source`` for every missing file, empty glob or folder.
    """
    from .sources import expand_source

    found, problems = {}, []
    for i, layer in enumerate(scene.layers):
        if layer.source is not None:
            try:
                found[layer.name] = expand_source(layer.source, where=f"layers[{i}].source")
            except SceneError as exc:
                problems += exc.problems
    if problems:
        raise SceneError(problems)
    return found


def open_layer_sources(scene: Scene, *, on_progress: ProgressFn | None = None) -> dict[str, LayerSources]:
    """Every recording layer's files opened (one streaming read each) and checked, before anything is rendered.

    Raises
    ------
    SceneError
        Every problem of every recording layer at once, each naming ``layers[i].source`` and the file: missing,
        a glob or folder with no audio, not audio, under 8 kHz, silent, shorter than two crossfades, or a recording
        of separate events used as a bed.
    """
    from ...progress import ProgressEvent
    from .sources import bed_problem, open_source

    named = find_layer_sources(scene)
    found, problems = {}, []
    for i, layer in enumerate(scene.layers):
        if layer.source is None:
            continue
        where = f"layers[{i}].source"
        try:
            paths = named[layer.name]
            files = []
            for path in paths:
                def read(done: float, length: float, label: str = f"{layer.name}: {path.name}"[:40]) -> None:
                    if on_progress:
                        on_progress(ProgressEvent("render", label, round(done), round(length), "s read"))
                files.append(open_source(path, where=where, on_read=read))
        except SceneError as exc:
            problems += exc.problems
            continue
        if layer.role == "bed":
            for f in files:
                why = bed_problem(f, min_s=2 * scene.model.overlap_s)
                if why:
                    problems.append(f"{where}: {why}")
        warnings = [w for f in files if (w := f.clip_warning(layer.name))]
        found[layer.name] = LayerSources(layer.name, files, warnings)
    if problems:
        raise SceneError(problems)
    return found


def steady_points(power: np.ndarray, fade: int, *, frame: int, sample_rate: int, step: int = 4) -> np.ndarray:
    """Sample positions (every ``step`` power frames) where a fade of ``fade`` samples may start unheard.

    A position's score is the largest rise, within the fade (and 2 frames either
    side), of the 100 ms level over its 1 s running median: an onset, a gust, a
    passing car. Kept: every position under :data:`STEADY_DB` (steady material
    keeps nearly all, in no grid), and at least the steadiest 40 % (between the
    calls of a busy recording). ``power`` is the tile's power per ``frame``
    samples (:func:`ambientgen.audio.streams.tile_power`).
    """
    from scipy.ndimage import maximum_filter1d, median_filter, uniform_filter1d

    if not len(power):
        return np.zeros(0, dtype=np.int64)
    short = max(1, round(0.1 * sample_rate / frame))
    level = 10 * np.log10(uniform_filter1d(power, size=short, mode="nearest") + 1e-14)
    over = level - median_filter(level, size=max(3, round(sample_rate / frame)), mode="nearest")
    span = max(1, -(-fade // frame)) + 4
    worst = maximum_filter1d(over, size=span, origin=-(span // 2), mode="nearest")  # over [x - 2, x + fade + 2]
    at = np.arange(0, len(worst), step)
    score = worst[at]
    keep = at[(score <= STEADY_DB) | (score <= np.percentile(score, 40))]
    return (keep * frame).astype(np.int64)


def _quiet_points(tile: np.ndarray, points: np.ndarray, sample_rate: int, count: int = 64) -> np.ndarray:
    """Of a tile's steady points (a seeded sample of ``count``), those where no transient falls (the click
    measure of :mod:`ambientgen.audio.seams` is 0): where a loop point may lie, since a check judges that one moment."""
    from ...audio.seams import CLICK_SIDE_S, click_db

    side = round(CLICK_SIDE_S * sample_rate)
    pick = points[np.linspace(0, len(points) - 1, min(count, len(points))).astype(int)] if len(points) else points
    n = tile.shape[1]  # a placed tile (an array, or a mono one placed on demand): only the stretches read
    quiet = [p for p in pick if side <= p <= n - side
             and click_db(tile[:, p - side : p + side].mean(axis=0), sample_rate) <= 0]
    return np.array(quiet, dtype=np.int64)


class _SeamCost:
    """How audible a fade between two excerpts is: their colour difference (:class:`~ambientgen.audio.streams.ColourCost`)
    plus half their level difference in dB (what level matching has to hide)."""

    def __init__(self, colours: list[np.ndarray], power: list[np.ndarray], overlap: int, frame: int):
        from ...audio.streams import ColourCost

        self.colour, self.power, self.overlap, self.frame = ColourCost(colours, overlap), power, overlap, frame

    def _level(self, tile: int, at: int) -> float:
        a = at // self.frame
        seg = self.power[tile][a : max(a + 1, (at + self.overlap) // self.frame)]
        return float(10 * np.log10(seg.mean() + 1e-14)) if len(seg) else 0.0

    def level_step(self, tile_out: int, out_at: int, tile_in: int, in_at: int) -> float:
        """The level difference (dB) across the fade."""
        return abs(self._level(tile_out, out_at) - self._level(tile_in, in_at))

    def __call__(self, tile_out: int, out_at: int, tile_in: int, in_at: int) -> float:
        return self.colour(tile_out, out_at, tile_in, in_at) + self.level_step(tile_out, out_at, tile_in, in_at) / 2


def render_recording_bed(scene: Scene, layer: LayerPlan, sources: LayerSources, *,
                         on_progress: ProgressFn | None = None) -> tuple[LayerOutput, list[str]]:
    """A bed played from recordings: excerpts at steady points, arranged so the source does not recur soon,
    level-matched crossfades; returns the layer and its warnings."""
    from ...audio.placement import placed
    from ...audio.streams import POWER_FRAME, PoolStream, tile_colour, tile_power
    from ...progress import ProgressEvent
    from .excerpts import arrange_excerpts, source_recurrence
    from .sources import held_regions, is_uneven, read_at
    from .texture import render_texture_bed

    sr = scene.sample_rate
    total = round(scene.duration * sr)
    regions = held_regions(sources.files)
    material_s = sum((b - a) / sources.files[k].sample_rate for k, a, b in regions)
    rule_s = MIN_RECURRENCE_S
    ample = material_s >= rule_s + 2 * EXCERPT_S[1]
    uneven = [f.path.name for f in sources.files if is_uneven(f)]
    if not ample or uneven:  # excerpts would replay, or would carry the lulls into the loop: resynthesis
        why = (f"uneven: {', '.join(uneven)} has long quiet stretches" if uneven else
               f"{material_s:.1f} s of recording, under the {rule_s + 2 * EXCERPT_S[1]:g} s excerpts need")
        return render_texture_bed(scene, layer, sources, why=why, on_progress=on_progress)
    overlap_s = layer.overlap_s
    overlap = round(overlap_s * sr)
    tiles, power, colours, points = [], [], [], []
    for j, (k, a, b) in enumerate(regions):
        f = sources.files[k]
        audio = read_at(f, a, b, sr)
        power.append(tile_power(audio))
        colours.append(tile_colour(audio))
        points.append(steady_points(power[-1], overlap, frame=POWER_FRAME, sample_rate=sr))
        tiles.append(placed(audio, gain_db=layer.gain_db, pan=layer.pan, width=layer.width,
                           seed=layer.seeds[j % len(layer.seeds)], loop=True))
        if on_progress:
            on_progress(ProgressEvent("render", layer.name, j + 1, len(regions), "stretches"))
    longest = max(t.shape[1] for t in tiles) - overlap

    # an excerpt whose span with both fades stays under the check's repetition window cannot be heard coming back
    short = max(round(1.25 * overlap), round((REPEAT_MIN_S - 2 * overlap_s - 0.5) * sr))
    hi = min(round(EXCERPT_S[1] * sr), longest)
    lo = min(round(EXCERPT_S[0] * sr), hi // 2)
    bin = round(RECUR_BIN_S * sr)
    arrangement = arrange_excerpts(tiles=[t.shape[1] for t in tiles], cut_points=points, overlap=overlap,
                                   total=total, loop=scene.loop, rng=layer_rng(scene, layer, "arrangement"),
                                   lengths=(lo, hi), min_gap=round(rule_s * sr), bin=bin,
                                   join_window=round(GUARD_S * sr),
                                   join_limit=round((REPEAT_MIN_S - 1.0) * sr),
                                   aim=round(AIM * material_s * sr), short=(round(GUARD_S * sr), short),
                                   continuous_loop=True, first_points=[_quiet_points(t, pts, sr) for t, pts in
                                                                       zip(tiles, points)],
                                   seam_cost=_SeamCost(colours, power, overlap, POWER_FRAME))
    recur = source_recurrence(arrangement.placements, overlap=overlap, total=total, loop=scene.loop, bin=bin)
    stream = PoolStream(layer.name, tiles, arrangement, overlap, sr, power, layer_animation(scene, layer, total))
    seams = ([0.0] if scene.loop else []) + [round(t / sr, 6) for t in stream.seams if t > 0]
    recur_s = None if recur.min_interval is None else round(recur.min_interval / sr, 2)
    met = recur_s is None or recur_s >= rule_s - RECUR_BIN_S
    warnings = list(sources.warnings)
    if not met:
        how = f"where one would come back within {GUARD_S:g} s a {short / sr:.1f} s excerpt plays instead"
        warnings.append(f"layer '{layer.name}': {material_s:.1f} s of recording is too little for "
                        f"{scene.duration:g} s without repeats: a stretch of it plays again after {recur_s:g} s "
                        f"(the rule is {rule_s:g} s); {how} — a longer recording gives more variety")
    place_dicts = []
    for p in arrangement.placements:
        k, a, _ = regions[p.tile]
        f = sources.files[k]
        d = p.to_dict(sr)
        d.update({"file": k, "source_s": round(a / f.sample_rate + p.offset / sr, 4)})
        place_dicts.append(d)
    details = {
        "kind": "pool",
        "sources": [f.provenance() for f in sources.files],
        "pool": {"stretches": len(tiles), "material_s": round(material_s, 3), "excerpts": len(arrangement.placements),
                 "excerpt_s": [round(lo / sr, 3), round(hi / sr, 3)], "crossfade_s": round(overlap / sr, 4),
                 "min_source_recurrence_s": recur_s, "recurrence_rule_s": rule_s, "recurrence_met": bool(met)},
        "arrangement": place_dicts,
    }
    out = LayerOutput(layer, stream, seams, 0, "crossfade", [], details)
    return out, warnings


def event_clips(sources: LayerSources, *, limit: int, sample_rate: int, where: str
                ) -> tuple[list[np.ndarray], list[dict[str, Any]]]:
    """The variations of a recording event layer at ``sample_rate``: one per file of a folder or list (a file over
    :data:`ONE_SHOT_MAX_S` gives its strongest event), or up to ``limit`` events cut at the onsets of one long
    recording; with where each came from."""
    from ...audio.streams import edge_fades, trim_event
    from .sources import find_events, read_at

    clips, origin = [], []
    files = sources.files
    for k, f in enumerate(files):
        if f.duration_s <= ONE_SHOT_MAX_S and (len(files) > 1 or not find_events(f, limit=2)[1:]):
            clip = trim_event(read_at(f, 0, f.frames, sample_rate), sample_rate)
            clips.append(clip)
            origin.append({"file": k, "start_s": 0.0, "end_s": round(f.duration_s, 4), "cut": "whole file"})
            continue
        cuts = find_events(f, limit=1 if len(files) > 1 else limit)
        if not cuts:
            raise SceneError(f"{where}: {f.path.name} has no distinct events (nothing in it rises 9 dB over its "
                             "background within 100 ms): use it as a bed, or give one-shot files")
        for a, b in cuts:
            clips.append(edge_fades(read_at(f, a, b, sample_rate), sample_rate,
                                    fade_in_s=0.01, fade_out_s=0.05))
            origin.append({"file": k, "start_s": round(a / f.sample_rate, 4), "end_s": round(b / f.sample_rate, 4),
                           "cut": "onset"})
    return clips, origin


def render_recording_events(scene: Scene, layer: LayerPlan, sources: LayerSources, *, index: int,
                            on_progress: ProgressFn | None = None) -> tuple[LayerOutput, list[str]]:
    """An event layer from recordings: its variations (see :func:`event_clips`) scheduled as generated events are."""
    from ...progress import ProgressEvent

    sr = scene.sample_rate
    variations, origin = event_clips(sources, limit=layer.events.variations, sample_rate=sr,
                                     where=f"layers[{index}].source")
    if on_progress:
        on_progress(ProgressEvent("render", layer.name, 1, 1, "events cut"))
    warnings = list(sources.warnings)
    if len(variations) == 1:
        warnings.append(f"layer '{layer.name}': one event found in its recording: every event sounds the same "
                        "(give a folder of one-shots for variety)")
    details = {"sources": [f.provenance() for f in sources.files], "variation_sources": origin}
    return event_layer(scene, layer, variations, model_calls=0, details=details), warnings

"""Rendering the layers of a plan: model work, seams, loop closure, placement, ready to stream.

For each layer of a :class:`~ambientgen.rendering.chunk_plan.Plan`:

1. render: chunks (or latent windows) through the backend, in batches;
2. stitch: seams joined seamlessly (latent continuation or level-matched
   crossfades over the whole overlap, :mod:`ambientgen.audio.stitch`); with ``loop`` the end flows into the start;
3. place: resampled to the output rate, gained, panned, widened, as a
   :class:`~ambientgen.audio.streams.LayerStream` (a whole array, a pool of tiles and
   its arrangement, or scheduled events) that the mastering pass
   (:mod:`ambientgen.output.master`) reads block by block.

Audio is ``(channels, samples)`` throughout: a mono backend's layers are
``(1, n)`` until placement makes them stereo; a stereo backend's keep their
two channels (see :func:`ambientgen.audio.placement.place`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..audio.arrange import arrange
from ..audio.placement import placed
from ..audio.repetition import MIN_RECURRENCE_S
from ..audio.stitch import close_loop, stitch_chunks
from ..audio.streams import ArrayStream, ColourCost, PoolStream, tile_colour, tile_power, trim_event
from ..backends.base import Backend, ChunkRequest, as_channels
from ..progress import ProgressEvent, ProgressFn
from ..runtime import release
from ..scene.schema import Scene
from .chunk_plan import LayerPlan, Plan
from .layers import LayerOutput, event_layer, layer_animation, layer_rng, to_output_rate


@dataclass
class LayerResult:
    plan: LayerPlan
    audio: np.ndarray  # (channels, samples) at the backend rate, exactly the scene duration
    sample_rate: int
    seams_s: list[float]
    model_calls: int
    method: str = "crossfade"  # how the seams were made: "latent" or "crossfade"
    seam_report: list[dict[str, Any]] = field(default_factory=list)


def _seam_report(stream: np.ndarray, sr: int, seams_s: list[float], *, loop: bool, method: str) -> list[dict]:
    """Per seam (and the loop point): time, method, rank among ordinary moments, level step and click
    (:func:`ambientgen.audio.seams.seam_report`)."""
    from ..audio.seams import seam_report

    interior = [s for s in seams_s if s > 0]
    seams, loop_point = seam_report(stream, sr, [round(s * sr) for s in interior], loop=loop)
    out = [{**r.to_dict(sr), "method": method} for r in seams]
    if loop_point is not None:
        out.insert(0, {**loop_point.to_dict(sr), "method": "loop"})
    return out


def render_layer(layer: LayerPlan, backend: Backend, *, duration_s: float, loop: bool,
                 on_progress: ProgressFn | None = None, report: bool = True) -> LayerResult:
    """Render one layer into ``(channels, samples)`` of exactly ``duration_s``, seamless and (with ``loop``) looping.

    ``latent`` continuity (backends whose spec declares ``latent_stream``: AudioLDM2) denoises
    one long latent; otherwise chunks are rendered and joined with level-matched
    crossfades. ``latent`` asked of a backend without latents falls back to
    crossfades (the manifest records the method used). ``report=False`` leaves the seam report to the caller.
    """
    sr = backend.sample_rate
    length = round(duration_s * sr)
    if _uses_latent(layer, backend):
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if on_progress:
                on_progress(ProgressEvent("render", layer.name, done, backend.steps, "steps"))

        stream, seams = backend.render_stream(
            layer=layer.name, prompt=layer.prompt, negative_prompt=layer.negative_prompt, seeds=layer.seeds,
            duration_s=duration_s, window_s=layer.chunk_s, overlap_s=layer.overlap_s, loop=loop, on_progress=step)
        stream = as_channels(stream, channels=backend.channels, backend=backend.name)
        calls, method = len(layer.seeds), "latent"
        extra = stream.shape[-1] - length  # under one latent frame (40 ms): folded into the loop, or cut
        stream = close_loop(stream, length=length, overlap=extra) if loop and extra > 0 else stream[:, :length]
        seams = ([0.0] if loop else []) + [round(t, 6) for t in seams if 0 < t < duration_s]
    else:
        stream, seams, calls = _render_chunks(layer, backend, duration_s=duration_s, loop=loop,
                                              on_progress=on_progress)
        method = "crossfade"
    report_ = _seam_report(stream, sr, seams, loop=loop, method=method) if report else []
    return LayerResult(layer, stream, sr, seams, calls, method, report_)


def _uses_latent(layer: LayerPlan, backend: Backend) -> bool:
    return layer.continuity in ("auto", "latent") and backend.spec.latent_stream


def _render_layer_chunks(layer: LayerPlan, backend: Backend, on_progress: ProgressFn | None) -> list[np.ndarray]:
    """One ``(channels, samples)`` chunk per seed of the layer, rendered in the backend's batches, with progress."""
    requests = [ChunkRequest(layer.name, k, layer.prompt, layer.negative_prompt, seed, layer.chunk_s)
                for k, seed in enumerate(layer.seeds)]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if on_progress:
            on_progress(ProgressEvent("render", layer.name, done, len(requests)))

    n = round(layer.chunk_s * backend.sample_rate)
    return [as_channels(c, channels=backend.channels, backend=backend.name)[:, :n]
            for c in backend.render(requests, on_progress=tick)]


def _render_chunks(layer: LayerPlan, backend: Backend, *, duration_s: float, loop: bool,
                   on_progress: ProgressFn | None) -> tuple[np.ndarray, list[float], int]:
    chunks = _render_layer_chunks(layer, backend, on_progress)
    seams, count = _chunk_seams(chunks, layer, backend.sample_rate, duration_s, loop), len(chunks)
    return _join(chunks, layer, backend.sample_rate, duration_s, loop), seams, count


def _chunk_seams(chunks: list[np.ndarray], layer: LayerPlan, sr: int, duration_s: float, loop: bool) -> list[float]:
    """Where :func:`_join` puts its seams (seconds): the middle of each fade, and the loop point at 0."""
    overlap = round(layer.overlap_s * sr)
    hop = chunks[0].shape[-1] - overlap
    seams = [(k * hop + overlap // 2) / sr for k in range(1, len(chunks))]
    return [round(s, 6) for s in ([0.0] if loop else []) + seams if s < duration_s]


def _join(chunks: list[np.ndarray], layer: LayerPlan, sr: int, duration_s: float, loop: bool) -> np.ndarray:
    """The chunks stitched into one stream of exactly ``duration_s``, its loop closed with ``loop`` (in the stitched
    samples: no copy of the whole); ``chunks`` is emptied once stitched."""
    overlap = round(layer.overlap_s * sr)
    stream = stitch_chunks(chunks, overlap=overlap, sample_rate=sr)
    chunks.clear()
    length = round(duration_s * sr)
    if not loop:
        return stream[:, :length]
    return close_loop(stream, length=length, overlap=overlap, sample_rate=sr, in_place=True)


def render_stream_layer(scene: Scene, layer: LayerPlan, backend: Backend, *,
                        on_progress: ProgressFn | None = None, finisher: LayerFinisher | None = None) -> LayerOutput:
    """A layer rendered whole (consecutive chunks or one latent), placed in stereo and held in memory.

    With ``finisher``, what follows the model work is done there, in the background, while the next layer renders:
    the seam report, and for chunks their joining and placement too (the output's ``stream`` is set there)."""
    if finisher is not None and not _uses_latent(layer, backend):
        sr = backend.sample_rate
        finisher.room()  # one layer's chunks waiting at most: a cached render's come faster than they are joined
        before = backend.stats.model_calls
        chunks = _render_layer_chunks(layer, backend, on_progress)
        seams, count = _chunk_seams(chunks, layer, sr, scene.duration, scene.loop), len(chunks)
        out = LayerOutput(layer, None, seams, count, "crossfade", [], {"kind": "stream"})

        def join() -> LayerResult:
            return LayerResult(layer, _join(chunks, layer, sr, scene.duration, scene.loop), sr, seams, count)

        def place(res: LayerResult) -> None:
            out.stream = _placed_stream(scene, layer, res)

        if backend.stats.model_calls == before:  # every chunk from the cache: nothing to overlap the joining with
            res = join()
            place(res)
            finisher.submit(out, lambda: res, loop=scene.loop)
        else:
            finisher.submit(out, join, loop=scene.loop, place=place)
        return out
    res = render_layer(layer, backend, duration_s=scene.duration, loop=scene.loop, on_progress=on_progress,
                       report=finisher is None)
    out = LayerOutput(layer, _placed_stream(scene, layer, res), res.seams_s, res.model_calls, res.method,
                      res.seam_report, {"kind": "stream"})
    if finisher is not None:
        finisher.submit(out, lambda: res, loop=scene.loop)
    return out


def _placed_stream(scene: Scene, layer: LayerPlan, res: LayerResult) -> ArrayStream:
    """A rendered layer at the output rate, gained, panned and widened, as a stream of the scene's length."""
    total = round(scene.duration * scene.sample_rate)
    audio = to_output_rate(res.audio, res.sample_rate, scene.sample_rate, scene.duration, loop=scene.loop)
    stereo = placed(audio, gain_db=layer.gain_db, pan=layer.pan, width=layer.width, seed=layer.seeds[0],
                    loop=scene.loop)
    return ArrayStream(layer.name, stereo, layer_animation(scene, layer, total))


def _render_tiles(layer: LayerPlan, backend: Backend, *, on_progress: ProgressFn | None
                  ) -> tuple[list[np.ndarray], float, str, int]:
    """The pool of a bed layer: (``(channels, n)`` tiles at the backend rate, tile seconds, method, model calls).

    With latent continuity each tile is two windows denoised as one latent (a
    latent seam inside every tile); otherwise each tile is one chunk.
    """
    sr = backend.sample_rate
    if _uses_latent(layer, backend) and len(layer.seeds) >= 4:
        tile_s = 2 * layer.chunk_s - layer.overlap_s
        tiles = []
        pairs = [layer.seeds[k : k + 2] for k in range(0, len(layer.seeds) - 1, 2)]
        for j, seeds in enumerate(pairs):
            audio, _ = backend.render_stream(layer=layer.name, prompt=layer.prompt,
                                             negative_prompt=layer.negative_prompt, seeds=seeds, duration_s=tile_s,
                                             window_s=layer.chunk_s, overlap_s=layer.overlap_s, loop=False)
            tiles.append(as_channels(audio, channels=backend.channels, backend=backend.name)[:, : round(tile_s * sr)])
            if on_progress:
                on_progress(ProgressEvent("render", layer.name, j + 1, len(pairs), "tiles"))
        return tiles, tile_s, "latent", 2 * len(pairs)
    chunks = _render_layer_chunks(layer, backend, on_progress)
    return chunks, layer.chunk_s, "crossfade", len(chunks)


def render_pool_layer(scene: Scene, layer: LayerPlan, backend: Backend, *,
                      on_progress: ProgressFn | None = None, finisher: LayerFinisher | None = None) -> LayerOutput:
    """A bed layer from a pool of tiles, arranged over the whole duration (see :mod:`ambientgen.audio.arrange`)."""
    sr = scene.sample_rate
    total = round(scene.duration * sr)
    raw, tile_s, method, calls = _render_tiles(layer, backend, on_progress=on_progress)
    tiles, power, colours = [], [], []
    for k in range(len(raw)):
        tile, raw[k] = raw[k], None  # each raw tile goes as soon as it is placed: not two pools at once
        audio = to_output_rate(tile, backend.sample_rate, sr, tile_s, loop=False)
        del tile
        power.append(tile_power(audio))
        colours.append(tile_colour(audio))
        tiles.append(placed(audio, gain_db=layer.gain_db, pan=layer.pan, width=layer.width, seed=layer.seeds[k],
                           loop=True))
    overlap = round(layer.overlap_s * sr)
    arrangement = arrange(tiles=len(tiles), tile_length=tiles[0].shape[1], overlap=overlap, total=total,
                          loop=scene.loop, rng=layer_rng(scene, layer, "arrangement"),
                          min_gap=round(MIN_RECURRENCE_S * sr), seam_cost=ColourCost(colours, overlap))
    stream = PoolStream(layer.name, tiles, arrangement, overlap, sr, power, layer_animation(scene, layer, total))
    seams = ([0.0] if scene.loop else []) + [round(t / sr, 6) for t in stream.seams if t > 0]
    details = {
        "kind": "pool",
        "pool": {"tiles": len(tiles), "tile_s": round(tile_s, 4), "min_spacing": arrangement.min_spacing,
                 "min_recurrence_s": round(arrangement.min_gap / sr, 3),
                 "spacing_met": arrangement.spacing_met, "pairs_unique": arrangement.pairs_unique,
                 "placements": len(arrangement.placements)},
        "arrangement": [p.to_dict(sr) for p in arrangement.placements],
    }
    return LayerOutput(layer, stream, seams, calls, method, [], details)


def render_event_layer(scene: Scene, layer: LayerPlan, backend: Backend, *,
                       on_progress: ProgressFn | None = None, finisher: LayerFinisher | None = None) -> LayerOutput:
    """An event layer: a few rendered variations, trimmed to their event, scheduled at random times."""
    sr = scene.sample_rate
    clips = _render_layer_chunks(layer, backend, on_progress)
    variations = [trim_event(to_output_rate(c, backend.sample_rate, sr, layer.chunk_s, loop=False), sr)
                  for c in clips]
    return event_layer(scene, layer, variations, model_calls=len(clips))


class LayerFinisher:
    """What follows a stream layer's model work, done in one background thread while the next layer renders: its
    chunks joined and placed (when it has chunks), then its seam report.

    Joining is numpy work and the seam measure numpy and scipy work, both releasing the GIL in their heavy loops,
    so on two or more cores they fill the time the model work leaves; the audio and each report are exactly what
    a direct call gives, and :meth:`wait` fills the reports in before the layers are used.
    """

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="layer-finish")
        self._pending: list[tuple[LayerOutput, Any]] = []
        self._draining = threading.Event()  # set by wait(): no layer is left to render

    def submit(self, out: LayerOutput, result, *, loop: bool, place=None) -> None:
        """``result()``, run in the background, gives the layer's :class:`LayerResult`; ``place(result)`` (if given)
        places it and its seam report follows. Both read the joined audio and neither writes it: once no layer is
        left to render (:meth:`wait` was called), they run side by side, on the core the model work has left (the
        last layer's tail, 0.7 s of a cold 5-minute render on one core)."""

        def finish() -> list[dict]:
            res = result()

            def report() -> list[dict]:
                return _seam_report(res.audio, res.sample_rate, res.seams_s, loop=loop, method=res.method)

            if place is None:
                return report()
            if not self._draining.is_set():
                place(res)
                return report()
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="layer-place") as side:
                placing = side.submit(place, res)
                found = report()
                placing.result()
            return found

        self._pending.append((out, self._pool.submit(finish)))

    def room(self) -> None:
        """Wait until no work is waiting to start (one layer's may be running)."""
        for _, future in self._pending[:-1]:
            future.result()

    def wait(self) -> None:
        self._draining.set()
        try:
            for out, future in self._pending:
                out.seam_report = future.result()
        finally:
            self._pool.shutdown(wait=True)

    def cancel(self) -> None:
        """Drop what is not started (the render failed or was interrupted) and let the running work end."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def render_layers(scene: Scene, plan: Plan, backend: Backend, *, on_progress: ProgressFn | None = None,
                  recordings: dict[str, Any] | None = None, warn=None) -> list[LayerOutput]:
    """Every layer of the plan rendered and ready to stream.

    Layers with a ``source`` are played from their recordings (``recordings``: the
    opened files by layer name, :func:`ambientgen.rendering.recordings.layers.open_layer_sources`;
    opened here when not given); ``warn`` receives what they have to say (material
    too short for the recurrence rule, a clipped file).
    """
    from .recordings.layers import open_layer_sources

    render = {"stream": render_stream_layer, "pool": render_pool_layer, "events": render_event_layer}
    if recordings is None and any(layer.source for layer in plan.layers):
        recordings = open_layer_sources(scene, on_progress=on_progress)
    outputs: list[LayerOutput] = []
    timelines: list[tuple[Scene, LayerPlan, LayerOutput]] = []  # followed once their audio is in
    finisher = LayerFinisher()
    try:
        _render_each(scene, plan, backend, render, recordings, outputs, timelines, finisher, on_progress, warn)
    except BaseException:
        finisher.cancel()
        raise
    finisher.wait()
    for own, layer, out in timelines:
        _follow_timeline(scene, own, layer, out)
    _seam_reports_on_scene_clock(outputs, scene.sample_rate)
    return outputs


def _render_each(scene, plan, backend, render, recordings, outputs, timelines, finisher, on_progress, warn) -> None:
    from .recordings.layers import render_recording_bed, render_recording_events

    for index, layer in enumerate(plan.layers):
        own = _own_scene(scene, layer)  # a layer absent for a while renders its audible time only
        if layer.source is not None:
            files = recordings[layer.name]
            if layer.kind == "events":
                out, notes = render_recording_events(own, layer, files, index=index,
                                                               on_progress=on_progress)
            else:
                out, notes = render_recording_bed(own, layer, files, on_progress=on_progress)
            for note in notes:
                (warn or (lambda text: None))(note)
            out.rendered = 0
            out.details["source_channels"] = max(f.channels for f in files.files)
        else:
            before = backend.stats.model_calls
            out = render[layer.kind](own, layer, backend, on_progress=on_progress, finisher=finisher)
            out.rendered = backend.stats.model_calls - before
            out.details["source_channels"] = backend.channels
        if layer.timeline:
            timelines.append((own, layer, out))
        outputs.append(out)
        release()  # what rendering this layer freed goes back before the next layer renders


def _own_scene(scene: Scene, layer: LayerPlan) -> Scene:
    """The scene a layer renders in: the scene itself, or (absent for a while) one lasting its audible time."""
    if layer.duration_s is None:
        return scene
    return scene.model_copy(update={"duration": layer.duration_s, "timeline": []})


def _follow_timeline(scene: Scene, own: Scene, layer: LayerPlan, out: LayerOutput) -> None:
    """Wrap a rendered layer in its :class:`~ambientgen.audio.timeline.TimelineStream`; its seams (rendered on the
    layer's own clock) are moved to the times they play at."""
    from ..audio.timeline import TimelineStream

    sr = scene.sample_rate
    total = round(scene.duration * sr)
    stream = TimelineStream(layer.name, out.stream, round(own.duration * sr), own.loop, total, scene.loop, sr,
                            layer.timeline, layer.width, layer.spans(total, sr))
    out.stream = stream
    if own is scene:
        return
    out.seams_s = [round(stream.scene_time(round(t * sr)) / sr, 6) if t > 0 else t for t in out.seams_s]
    out.details["own_clock_s"] = round(own.duration, 3)


def _seam_reports_on_scene_clock(outputs: list[LayerOutput], sample_rate: int) -> None:
    """Seam reports of layers rendered on their own clock (absent for a while), moved to when they play."""
    for out in outputs:
        if "own_clock_s" in out.details:
            for entry in out.seam_report:
                if entry.get("time_s"):
                    entry["time_s"] = round(out.stream.scene_time(round(entry["time_s"] * sample_rate)) / sample_rate,
                                            6)

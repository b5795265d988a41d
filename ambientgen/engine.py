"""From a validated scene to finished files, in numbered steps.

1. plan: the chunk grid of every layer (chunk count, per-chunk seeds);
2. render: each layer's chunks through the backend, in batches;
3. stitch: chunks joined with equal-power crossfades; with ``loop`` the tail
   fades into the head so the layer loops;
4. mix: each layer resampled to the output rate, gained and panned to stereo;
5. master: loudness to the target (BS.1770) under the true-peak ceiling;
6. export: mix, stems and manifest, written atomically.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backends.base import Backend, ChunkRequest, chunk_seed
from .errors import AmbientgenError
from .loudness import LoudnessReport, normalize
from .mix import db_to_gain, place, resample
from .scene import Scene
from .stitch import close_loop, splice_chunks


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of a render: ``stage`` is 'render', 'mix' or 'export'; ``unit`` what ``done`` counts."""

    stage: str
    layer: str | None
    done: int
    total: int
    unit: str = "chunks"


ProgressFn = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class LayerPlan:
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


@dataclass(frozen=True)
class Plan:
    scene: Scene
    duration_s: float
    loop: bool
    layers: tuple[LayerPlan, ...]

    @property
    def total_chunks(self) -> int:
        return sum(len(layer.seeds) for layer in self.layers)


def chunk_count(*, duration_s: float, chunk_s: float, overlap_s: float, loop: bool) -> int:
    """Chunks needed so the stitched layer covers ``duration_s`` (plus one overlap to close a loop)."""
    hop = chunk_s - overlap_s
    needed = duration_s if loop else max(duration_s - overlap_s, 1e-9)
    return max(1, math.ceil(needed / hop - 1e-9))


def make_plan(scene: Scene, *, max_chunk_s: float) -> Plan:
    """The chunk grid of every layer; seeds come from (scene seed, layer, chunk index)."""
    chunk_s = min(scene.model.chunk_s, max_chunk_s)
    overlap_s = min(scene.model.overlap_s, chunk_s / 2)
    layers = []
    for layer in scene.layers:
        n = chunk_count(duration_s=scene.duration, chunk_s=chunk_s, overlap_s=overlap_s, loop=scene.loop)
        seeds = tuple(chunk_seed(scene.seed, layer.name, layer.seed_offset, k) for k in range(n))
        negative = layer.negative_prompt if layer.negative_prompt is not None else scene.model.negative_prompt
        layers.append(LayerPlan(layer.name, layer.prompt, negative, seeds, chunk_s, overlap_s, layer.gain_db, layer.pan,
                                layer.width, layer.continuity or scene.model.continuity))
    return Plan(scene=scene, duration_s=scene.duration, loop=scene.loop, layers=tuple(layers))


@dataclass
class LayerResult:
    plan: LayerPlan
    audio: np.ndarray  # (1, samples) at the backend rate, exactly the scene duration
    sample_rate: int
    seams_s: list[float]
    model_calls: int
    method: str = "crossfade"  # how the seams were made: "latent" or "crossfade"
    seam_report: list[dict[str, Any]] = field(default_factory=list)


def _seam_report(stream: np.ndarray, sr: int, seams_s: list[float], *, loop: bool, method: str) -> list[dict]:
    """Per seam (and the loop point): time, method, discontinuity score and its rank among ordinary moments."""
    from .analysis import seam_report

    interior = [s for s in seams_s if s > 0]
    seams, loop_point = seam_report(stream, sr, [round(s * sr) for s in interior], loop=loop)
    out = [{"time_s": round(r.position / sr, 6), "method": method, "score": round(r.score, 3),
            "rank": round(r.rank, 3)} for r in seams]
    if loop_point is not None:
        out.insert(0, {"time_s": 0.0, "method": "loop", "score": round(loop_point.score, 3),
                       "rank": round(loop_point.rank, 3)})
    return out


def render_layer(layer: LayerPlan, backend: Backend, *, duration_s: float, loop: bool,
                 on_progress: ProgressFn | None = None) -> LayerResult:
    """Render one layer into a mono stream of exactly ``duration_s``, seamless and (with ``loop``) looping.

    ``latent`` continuity (backends with ``render_stream``: AudioLDM2) denoises
    one long latent; otherwise chunks are rendered and joined with seam-aware
    crossfades. ``latent`` asked of a backend without latents falls back to
    crossfades (the manifest records the method used).
    """
    sr = backend.sample_rate
    length = round(duration_s * sr)
    use_latent = layer.continuity in ("auto", "latent") and hasattr(backend, "render_stream")
    if use_latent:
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if on_progress:
                on_progress(ProgressEvent("render", layer.name, done, backend.steps, "steps"))

        stream, seams = backend.render_stream(
            layer=layer.name, prompt=layer.prompt, negative_prompt=layer.negative_prompt, seeds=layer.seeds,
            duration_s=duration_s, window_s=layer.chunk_s, overlap_s=layer.overlap_s, loop=loop, on_progress=step)
        calls, method = len(layer.seeds), "latent"
        extra = len(stream) - length  # under one latent frame (40 ms): folded into the loop, or cut
        stream = close_loop(stream, length=length, overlap=extra) if loop and extra > 0 else stream[:length]
        seams = ([0.0] if loop else []) + [round(t, 6) for t in seams if 0 < t < duration_s]
    else:
        stream, seams, calls = _render_chunks(layer, backend, duration_s=duration_s, loop=loop,
                                              on_progress=on_progress)
        method = "crossfade"
    report = _seam_report(stream, sr, seams, loop=loop, method=method)
    return LayerResult(layer, stream[None, :], sr, seams, calls, method, report)


def _render_chunks(layer: LayerPlan, backend: Backend, *, duration_s: float, loop: bool,
                   on_progress: ProgressFn | None) -> tuple[np.ndarray, list[float], int]:
    sr = backend.sample_rate
    requests = [ChunkRequest(layer.name, k, layer.prompt, layer.negative_prompt, seed, layer.chunk_s)
                for k, seed in enumerate(layer.seeds)]
    done = 0

    def tick(n: int) -> None:
        nonlocal done
        done += n
        if on_progress:
            on_progress(ProgressEvent("render", layer.name, done, len(requests)))

    chunks = backend.render(requests, on_progress=tick)
    chunk_n = round(layer.chunk_s * sr)
    overlap = round(layer.overlap_s * sr)
    chunks = [np.asarray(c, dtype=np.float32).reshape(-1)[:chunk_n] for c in chunks]
    stream, positions = splice_chunks(chunks, overlap=overlap, sample_rate=sr)
    length = round(duration_s * sr)
    seams = [p / sr for p in positions]
    if loop:
        stream = close_loop(stream, length=length, overlap=overlap)
        seams = [0.0] + seams
    else:
        stream = stream[:length]
    return stream, [round(s, 6) for s in seams if s < duration_s], len(chunks)


@dataclass
class MixResult:
    mix: np.ndarray  # (2, n) at the output rate, mastered
    stems: dict[str, np.ndarray]  # (2, n) each, gain/pan and master gain applied (pre-limiter)
    sample_rate: int
    loudness: LoudnessReport
    layers: list[LayerResult] = field(default_factory=list)


def mix_layers(results: list[LayerResult], *, sample_rate: int, duration_s: float, loop: bool,
               target_lufs: float, true_peak_dbtp: float) -> MixResult:
    """Resample, place and sum the layers, then master the sum."""
    length = round(duration_s * sample_rate)
    stems: dict[str, np.ndarray] = {}
    for res in results:
        audio = resample(res.audio, res.sample_rate, sample_rate, length=length, loop=loop)
        lp = res.plan
        stems[lp.name] = place(audio, gain_db=lp.gain_db, pan=lp.pan, width=lp.width, seed=lp.seeds[0], loop=loop)
    premaster = np.sum(list(stems.values()), axis=0, dtype=np.float32)
    try:
        mastered, report = normalize(premaster, sample_rate, target_lufs=target_lufs, ceiling_dbtp=true_peak_dbtp)
    except ValueError as exc:
        raise AmbientgenError(f"cannot master the mix: {exc}") from None
    master = db_to_gain(report.gain_db)
    stems = {name: (stem * master).astype(np.float32) for name, stem in stems.items()}
    return MixResult(mastered, stems, sample_rate, report, results)


def render_scene(scene: Scene, backend: Backend, out_dir: str | Path, *, fmt: str | list[str] = "wav",
                 bit_depth: str = "24", stems: bool = True, session: bool = True, on_progress: ProgressFn | None = None,
                 notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Render ``scene`` with ``backend`` into ``out_dir``; returns the manifest (also written as manifest.json).

    ``notes`` are added to the manifest as they are (e.g. how the backend was chosen).
    """
    from .export import export_render
    from .formats import parse_formats

    parse_formats(fmt, sample_rate=scene.sample_rate, bit_depth=bit_depth)  # checked before any model work
    started = time.perf_counter()
    # 1. plan
    plan = make_plan(scene, max_chunk_s=backend.max_duration_s)
    # 2-3. render and stitch each layer
    results = [render_layer(layer, backend, duration_s=plan.duration_s, loop=plan.loop, on_progress=on_progress)
               for layer in plan.layers]
    # 4-5. mix and master
    if on_progress:
        on_progress(ProgressEvent("mix", None, 0, 1))
    mixed = mix_layers(results, sample_rate=scene.sample_rate, duration_s=plan.duration_s, loop=plan.loop,
                       target_lufs=scene.target_lufs, true_peak_dbtp=scene.true_peak_dbtp)
    # 6. export
    if on_progress:
        on_progress(ProgressEvent("export", None, 0, 1))
    return export_render(plan, mixed, backend, Path(out_dir), fmt=fmt, bit_depth=bit_depth, stems=stems,
                         session=session, render_s=time.perf_counter() - started, notes=notes or {})

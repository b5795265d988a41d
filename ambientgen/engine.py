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
from .stitch import close_loop, stitch_chunks


@dataclass(frozen=True)
class ProgressEvent:
    """Progress of a render: ``stage`` is 'render', 'mix' or 'export'."""

    stage: str
    layer: str | None
    done: int
    total: int


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
                                layer.width))
    return Plan(scene=scene, duration_s=scene.duration, loop=scene.loop, layers=tuple(layers))


@dataclass
class LayerResult:
    plan: LayerPlan
    audio: np.ndarray  # (1, samples) at the backend rate, exactly the scene duration
    sample_rate: int
    seams_s: list[float]
    model_calls: int


def render_layer(layer: LayerPlan, backend: Backend, *, duration_s: float, loop: bool,
                 on_progress: ProgressFn | None = None) -> LayerResult:
    """Render one layer's chunks and stitch them into a mono stream of ``duration_s``."""
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
    hop = chunk_n - overlap
    chunks = [np.asarray(c, dtype=np.float32).reshape(-1)[:chunk_n] for c in chunks]
    stream = stitch_chunks(chunks, overlap=overlap)
    length = round(duration_s * sr)
    # seam centres on the output timeline (loop: the wrap point at 0 is the loop seam)
    seams = [(k * hop + overlap / 2) / sr for k in range(1, len(chunks))]
    if loop:
        stream = close_loop(stream, length=length, overlap=overlap)
        seams = [0.0] + seams
    else:
        stream = stream[:length]
    seams = [round(s, 6) for s in seams if s < duration_s]
    return LayerResult(layer, stream[None, :], sr, seams, len(chunks))


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

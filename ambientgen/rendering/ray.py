"""Rendering on a Ray cluster: the model work spread over actors, the rest done here, byte for byte the same.

``--executor ray`` works in two phases:

1. **Plan the model work.** The engine's render step is run once against a
   :class:`_Recorder` that, instead of rendering, notes every piece of model work
   it is asked for (a slice of chunks as the render cache would hand it to the
   backend, or a latent stream) and answers with silence. Pieces already in the
   render cache are skipped. The engine's continuity is MultiDiffusion (no chunk
   waits for another), so the pieces are independent: pool tiles, event
   variations and layers all run in parallel.
2. **Render on the cluster.** Actors (one per worker, GPU or CPU) each load the
   backend once and render pieces through the shared render cache, which is
   where results flow back. An actor that dies has its piece retried on a fresh
   actor (up to :data:`ATTEMPTS` times); an error from the backend itself (a bad
   prompt, an unloadable checkpoint) stops the render with its message.

Then the ordinary local render runs with the cache: every piece is a hit, no
model is loaded here, and the files are byte-identical to a local render
(the same code computed the same pieces in the same slices). On CPUs the
results of PyTorch depend on its thread count, so workers use the thread count
a local render on this machine would (``torch.get_num_threads()``) unless told
otherwise (``threads``); identical bytes then need the same kind of machine
(CPU instruction set, or GPU model) on both sides. A render
interrupted on the cluster resumes like a local one: what reached the cache is
kept. The cache directory must be shared by the workers (the same machine, or
a shared file system).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..backends.base import Backend, BackendStats
from ..errors import AmbientgenError, BackendError

ATTEMPTS = 3


@dataclass(frozen=True)
class Piece:
    """One piece of model work: ``("chunks", [requests])`` or ``("stream", {render_stream keyword arguments})``."""

    kind: str
    layer: str
    work: Any


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, with one line, when a ``host:port`` Ray address does not answer (Ray itself retries for
    minutes)."""
    import socket

    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # not host:port: leave it to Ray
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise AmbientgenError(f"ray_address: cannot connect to Ray at {address}: {exc.strerror or exc}") from None


def _quiet_noise(channels: int, n: int) -> np.ndarray:
    """Stand-in audio for the dry run (never written anywhere)."""
    return (np.random.default_rng(n).standard_normal((channels, n)) * 1e-3).astype(np.float32)


class _Described(Backend):
    """A backend as the workers described it (``RenderActor.info``): its spec, figures and identity, no model."""

    def __init__(self, info: dict[str, Any]):
        from ..backends import get_spec

        self.spec = get_spec(info["name"])
        self.batch_size = info["batch_size"]
        self.steps = info.get("steps", 1)
        self._identity = info["identity"]
        self._window = tuple(info["preferred_window"]) if info.get("preferred_window") else None
        self.stats = BackendStats()

    @property
    def preferred_window(self) -> tuple[float, float] | None:
        return self._window  # type: ignore[return-value]

    def identity(self) -> dict[str, Any]:
        return self._identity


class _Recorder(_Described):
    """Stands in for the backend during planning: records the pieces the render would need, returns silence."""

    def __init__(self, info: dict[str, Any], cache):
        super().__init__(info)
        self.pieces: list[Piece] = []
        self.cache = cache

    def render(self, requests, *, on_progress=None):
        from .cache import chunk_key

        missing = [r for r in requests if not self.cache.path(chunk_key(self._identity, r)).exists()]
        for s in range(0, len(missing), max(1, self.batch_size)):
            self.pieces.append(Piece("chunks", missing[s].layer, list(missing[s : s + self.batch_size])))
        return [_quiet_noise(self.channels, round(r.duration_s * self.sample_rate)) for r in requests]

    def render_stream(self, **kwargs):
        from .cache import stream_key

        key = stream_key(self._identity, **kwargs)
        if not (self.cache.path(key).exists() and self.cache.path(key + "-seams").exists()):
            kwargs = {k: (list(v) if k == "seeds" else v) for k, v in kwargs.items() if k != "on_progress"}
            self.pieces.append(Piece("stream", kwargs["layer"], kwargs))
        return _quiet_noise(self.channels, round(kwargs["duration_s"] * self.sample_rate)), []


class ClusterBackend(_Described):
    """What the local render sees after the cluster has filled the cache: the backend's description, no model.

    Every piece must be a cache hit; a miss means the cluster did not render it, which is a bug worth a clear error.
    """

    def __init__(self, info: dict[str, Any]):
        super().__init__(info)
        self._describe = info["describe"]
        self._supports = dict(zip(info.get("prompts", []), info.get("supports", [])))
        self._sources_hint = info.get("sources_hint", "")
        self._renderers = dict(zip(info.get("prompts", []), info.get("renderers", [])))

    def renderer(self, prompt: str) -> str:
        return self._renderers.get(prompt, self.name)

    def supports(self, prompt: str) -> bool:
        return self._supports.get(prompt, True)

    def sources_hint(self) -> str:
        return self._sources_hint

    def describe(self) -> dict[str, Any]:
        return self._describe

    def render(self, requests, *, on_progress=None):
        return self._missing()

    def render_stream(self, **kwargs):
        return self._missing()

    def _missing(self):
        raise BackendError("a piece of the render is missing from the cache after the cluster rendered it; "
                           "is --cache-dir on a file system every worker shares?")


def _remote_actor_class():
    import ray

    @ray.remote(max_restarts=0)
    class RenderActor:
        """Loads the backend once; renders pieces through the shared render cache."""

        def __init__(self, model: dict, device: str, choice: dict, cache_dir: str, threads: int | None):
            if threads:
                import torch  # CPU results depend on the thread count: use the count a local render would

                torch.set_num_threads(threads)
            from ..backends import Choice, load_backend
            from ..scene.schema import ModelSettings
            from .cache import CachedBackend, RenderCache

            self.backend = load_backend(ModelSettings(**model), device=device, choice=Choice(**choice))
            self.cached = CachedBackend(self.backend, RenderCache(cache_dir, warn=lambda m: None))

        def info(self, prompts: list[str]) -> dict[str, Any]:
            b = self.backend
            return {"name": b.name, "batch_size": b.batch_size, "steps": b.steps, "identity": self.cached.identity(),
                    "describe": b.describe(), "sources_hint": b.sources_hint(), "prompts": list(prompts),
                    "preferred_window": b.preferred_window,
                    "supports": [bool(b.supports(p)) for p in prompts],
                    "renderers": [b.renderer(p) for p in prompts], "pid": os.getpid()}

        def render(self, piece: Piece) -> dict[str, int]:
            before = self.backend.stats.model_calls
            if piece.kind == "chunks":
                self.cached.render(piece.work)
            else:
                self.cached.render_stream(**piece.work)
            return {"model_calls": self.backend.stats.model_calls - before}

        def stats(self) -> dict[str, int]:
            s = self.backend.stats
            return {"model_calls": s.model_calls, "text_encodes": s.text_encodes, "unet_evals": s.unet_evals,
                    "decode_calls": s.decode_calls}

    return RenderActor


@dataclass
class ClusterReport:
    workers: int
    pieces: int
    retries: int
    model_calls: int
    model_calls_per_layer: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {"executor": "ray", **self.__dict__, "seconds": round(self.seconds, 3)}


class RayExecutor:
    """Actors holding the backend; ``info`` describes it, ``render_pieces`` fills the shared cache."""

    def __init__(self, *, model, device: str, choice, cache_dir: str, workers: int | None = None,
                 address: str | None = None, gpus_per_worker: float | None = None, threads: int | None = None):
        from ..backends import get_spec

        try:
            import ray
        except ImportError:
            raise AmbientgenError('--executor ray needs Ray: pip install "ambientgen[ray]"') from None
        self.ray = ray
        if not ray.is_initialized():
            address = address or os.environ.get("RAY_ADDRESS")
            import logging

            if address and address != "auto":
                _check_reachable(address)
            quiet = {"log_to_driver": False, "logging_level": logging.ERROR, "configure_logging": True}
            try:
                if address:
                    ray.init(address=address, **quiet)
                else:
                    ray.init(num_cpus=workers, include_dashboard=False, **quiet)
            except Exception as exc:  # connection refused, bad address, ...
                raise AmbientgenError(f"ray_address: cannot connect to Ray at {address}: {exc}") from None
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus_per_worker is None:
            gpus_per_worker = 1.0 if gpus and device in ("auto", "cuda") else 0.0
        self.workers = workers or max(1, gpus if gpus_per_worker else int(resources.get("CPU", 1)))
        self.options = {"num_gpus": gpus_per_worker, "num_cpus": 1}
        if threads is None and not get_spec(choice.backend).offline:
            import torch

            threads = torch.get_num_threads()  # what this machine's local render uses: same numerics, same bytes
        self.threads = threads
        self.args = (model.model_dump(), device, {"backend": choice.backend, "reason": choice.reason,
                                                  "automatic": choice.automatic}, str(cache_dir), threads)
        self.Actor = _remote_actor_class()
        self.actors = [self._new_actor() for _ in range(self.workers)]
        self.killed: list[int] = []

    def _new_actor(self):
        return self.Actor.options(**self.options).remote(*self.args)

    def info(self, prompts: list[str]) -> dict[str, Any]:
        try:
            return self.ray.get(self.actors[0].info.remote(prompts))
        except self.ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", exc)
            if isinstance(cause, AmbientgenError):
                raise cause from None
            raise AmbientgenError(f"a Ray worker could not load the backend: {cause}") from None

    def plan_pieces(self, scene, info: dict[str, Any], cache) -> list[Piece]:
        """Every piece of model work the render needs and the cache lacks (by a dry run of the engine)."""
        from .chunk_plan import make_plan
        from .engine import render_layers

        recorder = _Recorder(info, cache)
        plan = make_plan(scene, max_chunk_s=recorder.max_duration_s, window=recorder.preferred_window)
        render_layers(scene, plan, recorder)
        return recorder.pieces

    def render_pieces(self, pieces: list[Piece], *, on_progress: Callable[[int, int], None] | None = None,
                      on_done: Callable[[int], None] | None = None) -> ClusterReport:
        """Render ``pieces`` on the actors, keeping each busy; retry a piece whose actor died."""
        ray = self.ray
        started = time.perf_counter()
        queue = list(range(len(pieces)))
        attempts = [0] * len(pieces)
        running: dict[Any, tuple[int, int]] = {}  # object ref -> (piece index, actor slot)
        free = list(range(len(self.actors)))
        done, retries, calls = 0, 0, 0
        per_layer: dict[str, int] = {}
        while queue or running:
            while queue and free:
                slot, i = free.pop(0), queue.pop(0)
                attempts[i] += 1
                running[self.actors[slot].render.remote(pieces[i])] = (i, slot)
            ready, _ = ray.wait(list(running), num_returns=1)
            ref = ready[0]
            i, slot = running.pop(ref)
            try:
                result = ray.get(ref)
            except ray.exceptions.RayActorError:
                # the worker died (killed, out of memory, node lost): a fresh actor takes its place and the piece
                self.actors[slot] = self._new_actor()
                free.append(slot)
                if attempts[i] >= ATTEMPTS:
                    raise AmbientgenError(f"piece {i + 1} of {len(pieces)} (layer '{pieces[i].layer}') failed on "
                                          f"{ATTEMPTS} workers in a row; giving up") from None
                retries += 1
                queue.insert(0, i)
                continue
            except ray.exceptions.RayTaskError as exc:
                cause = getattr(exc, "cause", None)
                message = str(cause) if isinstance(cause, AmbientgenError) else f"{type(cause).__name__}: {cause}"
                raise AmbientgenError(f"layer '{pieces[i].layer}': {message}") from None
            free.append(slot)
            done += 1
            calls += result["model_calls"]
            per_layer[pieces[i].layer] = per_layer.get(pieces[i].layer, 0) + result["model_calls"]
            if on_progress:
                on_progress(done, len(pieces))
            if on_done:
                on_done(done)
        return ClusterReport(len(self.actors), len(pieces), retries, calls, per_layer, time.perf_counter() - started)

    def kill_one(self) -> None:
        """Kill a worker (for tests of recovery): the next result from it raises RayActorError."""
        self.ray.kill(self.actors[0], no_restart=True)
        self.killed.append(0)

    def shutdown(self) -> None:
        for actor in self.actors:
            try:
                self.ray.kill(actor)
            except Exception:  # already gone
                pass

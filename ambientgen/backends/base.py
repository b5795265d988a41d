"""What a backend is: a declared :class:`BackendSpec` and a :class:`Backend` that renders chunk requests.

A backend module declares, once, everything the rest of AmbientGen needs to
know about it (:class:`BackendSpec`): its name, output rate and channel count,
its longest window, its capabilities (whether it can render a whole layer as one
long latent, whether it renders only some prompts), what it costs to get (an
offline generator, or a download of so many bytes) and its own settings model,
which validates the backend's keys in a scene's ``model:`` section. The
registry (:mod:`ambientgen.backends`) is the only place that looks a backend up
by name; nothing else probes a backend with ``hasattr``.

**The channel contract.** ``render`` returns one ``np.float32`` array of shape
``(channels, samples)`` per request, where ``channels`` is the spec's (1 or 2)
and ``samples == round(duration_s * sample_rate)``. ``render_stream`` (only
where ``spec.latent_stream``) returns ``(channels, samples)`` too.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict

from ..errors import BackendError

ProgressCallback = Callable[[int], None]
"""Called with the number of units (chunks, or denoising steps of a stream) just finished."""


class BackendSettings(BaseModel):
    """Base of a backend's own settings (the keys it reads from a scene's ``model:`` section)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=True)


class NoSettings(BackendSettings):
    """A backend with no settings of its own."""


@dataclass(frozen=True)
class BackendSpec:
    """Everything declared about a backend, available without loading it.

    ``factory(settings, device)`` loads the backend (``settings`` an instance of
    ``settings``); it is called only when the backend is used, so declaring a
    spec imports no model library.
    """

    name: str
    summary: str
    sample_rate: int  # Hz, of what ``render`` returns
    channels: int  # 1 (mono) or 2 (stereo)
    max_window_s: float  # longest chunk one ``render`` request may ask for
    settings: type[BackendSettings]
    factory: Callable[[Any, str], Backend]
    latent_stream: bool = False  # renders a whole layer as one long latent (``render_stream``)
    filters_prompts: bool = False  # renders only some prompts (``supports`` says which)
    offline: bool = False  # needs nothing downloaded
    licence: str = ""
    download_bytes: int | None = None  # size of the default weights, where they must be downloaded
    cpu_s_per_audio_min: float | None = None  # measured CPU compute per minute of one layer (2 cores)
    default_checkpoint: str | None = None
    pipeline_class: str | None = None  # the diffusers pipeline its checkpoints declare (model_index.json)

    def __post_init__(self) -> None:
        if self.channels not in (1, 2):
            raise ValueError(f"backend {self.name}: channels must be 1 or 2, got {self.channels}")


@dataclass(frozen=True)
class ChunkRequest:
    """One chunk of one layer to render (``duration_s`` seconds, from its own ``seed``)."""

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
    unet_evals: int = 0  # denoiser forward passes (one per denoising step per batch)
    decode_calls: int = 0  # decoder passes (per batch)
    per_layer: dict[str, int] = field(default_factory=dict)

    def count(self, layer: str, n: int) -> None:
        """Record ``n`` model calls for ``layer``."""
        self.model_calls += n
        self.per_layer[layer] = self.per_layer.get(layer, 0) + n


class Backend:
    """Base class of every backend: the declared ``spec`` plus the rendering methods.

    Subclasses set ``spec`` and implement :meth:`render` (and
    :meth:`render_stream` when ``spec.latent_stream``). ``batch_size`` is how
    many chunks one model call takes; ``steps`` how many progress units one
    stream reports.
    """

    spec: ClassVar[BackendSpec]
    batch_size: int = 1
    steps: int = 1

    def __init__(self) -> None:
        self.stats = BackendStats()

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def sample_rate(self) -> int:
        return self.spec.sample_rate

    @property
    def channels(self) -> int:
        return self.spec.channels

    @property
    def max_duration_s(self) -> float:
        return self.spec.max_window_s

    @property
    def preferred_window(self) -> tuple[float, float] | None:
        """(window s, overlap s) this backend renders best in, where it differs from the scene defaults
        (10.24 s and 1.5 s); a scene that sets ``chunk_s`` / ``overlap_s`` wins."""
        return None

    def supports(self, prompt: str) -> bool:
        """Whether this backend can render ``prompt`` (always, unless ``spec.filters_prompts``)."""
        return True

    def sources_hint(self) -> str:
        """What this backend can render, for errors about prompts it cannot (``spec.filters_prompts``)."""
        return ""

    def renderer(self, prompt: str) -> str:
        """What renders ``prompt`` (the manifest's ``rendered_by``): the backend's name unless it has several
        generators (the procedural backend names the one it chose)."""
        return self.name

    def identity(self) -> dict[str, Any]:
        """Everything about this backend that changes its audio (the render cache's key)."""
        from .._version import __version__

        return {"name": self.name, "sample_rate": self.sample_rate, "ambientgen": __version__}

    def describe(self) -> dict[str, Any]:
        """What the manifest records about the backend."""
        return {"backend": self.name, "sample_rate": self.sample_rate, "channels": self.channels}

    def render(self, requests: Sequence[ChunkRequest], *, on_progress: ProgressCallback | None = None
               ) -> list[np.ndarray]:
        """One ``(channels, samples)`` float32 array per request, in request order."""
        raise NotImplementedError

    def render_stream(self, *, layer: str, prompt: str, negative_prompt: str, seeds: Sequence[int],
                      duration_s: float, window_s: float, overlap_s: float, loop: bool,
                      on_progress: ProgressCallback | None = None) -> tuple[np.ndarray, list[float]]:
        """A whole layer as one long latent: ``(channels, samples)`` audio and its seam times in seconds."""
        raise BackendError(f"backend {self.name} cannot render a layer as one latent")

    def render_in_batches(self, requests: Sequence[ChunkRequest], *, key: Callable[[ChunkRequest], tuple],
                          render_batch: Callable[..., list[np.ndarray]],
                          on_progress: ProgressCallback | None = None) -> list[np.ndarray]:
        """The batching loop every model backend's :meth:`render` shares.

        Requests are grouped by what conditions them (``key(request)``, e.g. prompt and length, so conditioning is
        computed once per group), rendered ``batch_size`` at a time by ``render_batch(batch, *key)`` (one
        ``(channels, samples)`` array per request), counted per layer, and reported to ``on_progress`` after each
        batch. Results come back in request order; a request longer than the backend's window is refused first.
        """
        groups: dict[tuple, list[int]] = {}
        for i, req in enumerate(requests):
            if req.duration_s > self.max_duration_s + 1e-9:
                raise BackendError(f"chunk of {req.duration_s:g} s exceeds the backend's {self.max_duration_s} s")
            groups.setdefault(key(req), []).append(i)
        results: dict[int, np.ndarray] = {}
        for group, indices in groups.items():
            for start in range(0, len(indices), self.batch_size):
                part = indices[start : start + self.batch_size]
                audio = render_batch([requests[i] for i in part], *group)
                for i, wave in zip(part, audio):
                    results[i] = wave
                    self.stats.count(requests[i].layer, 1)
                if on_progress:
                    on_progress(len(part))
        return [results[i] for i in range(len(requests))]


def as_channels(audio: np.ndarray, *, channels: int, backend: str) -> np.ndarray:
    """``audio`` as float32 ``(channels, samples)``, or a clear error naming the backend that broke the contract."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim != 2 or audio.shape[0] != channels:
        raise BackendError(f"backend {backend}: returned audio of shape {audio.shape}; the contract is "
                           f"({channels}, samples)")
    return audio


def chunk_seed(scene_seed: int, layer_name: str, seed_offset: int, chunk_index: int) -> int:
    """A 63-bit seed for one chunk, derived from (scene seed, layer, chunk index).

    Stable across runs, platforms and Python versions (no ``hash()``), and
    independent of how chunks are batched.
    """
    key = f"{scene_seed}:{layer_name}:{seed_offset}:{chunk_index}".encode()
    return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "little") >> 1

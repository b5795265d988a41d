"""Backends: what renders a layer's sound, and the registry, the one place backends are looked up by name.

================  ==========================================================================================
module            what it offers
================  ==========================================================================================
(this module)     ``register``, ``get_spec``, ``choose_backend`` (``auto``), ``load_backend``
``base``          ``Backend``, ``BackendSpec``, ``ChunkRequest``, the shared batching loop, ``chunk_seed``
``catalogue``     what backends there are, which checkpoints are on this machine, downloading one
``checkpoints``   resolving a checkpoint (hub id or folder, Hugging Face cache) and what it declares
``latent``        one long latent per layer: MultiDiffusion windows along time, decoding with context,
                  per-seed timeline noise
``audioldm2``     AudioLDM2 through diffusers (real ``from_pretrained`` loading, own GPT-2 generation loop)
``stable_audio3`` Stable Audio 3 through diffusers (stereo 44.1 kHz, minute-long windows)
``procedural/``   the offline generators (air, water, fire, creatures, rooms), no download
``recording``     the ``recording`` backend's declaration (the work: :mod:`ambientgen.rendering.recordings`)
================  ==========================================================================================

Each backend module declares a :class:`~ambientgen.backends.base.BackendSpec`;
the built-in ones (``audioldm2``, ``procedural``) are registered here, and a
plug-in (or a test) adds its own with :func:`register`. A scene's
``model.backend`` names a registered backend or ``auto``.

``auto`` (:func:`choose_backend`) tells the truth about what it picks:

- a checkpoint the user named (in the scene or with ``--checkpoint``) means that
  model, never a quiet fallback: Stable Audio 3 when the folder (or cached hub
  id) declares a ``StableAudio3Pipeline`` or holds Stability's original layout,
  else AudioLDM2;
- Stable Audio 3 when its default checkpoint is already on this machine: it is
  natively stereo at 44.1 kHz, needs 8 steps per window against AudioLDM2's 25
  with guidance (two UNet passes each), renders a minute per window against
  10 s, and its licence allows commercial use below USD 1M revenue (AudioLDM2's
  weights are non-commercial);
- AudioLDM2 when its default checkpoint is on this machine;
- otherwise, on a machine with a GPU and network, AudioLDM2 after a download
  whose size is said first (Stable Audio 3 is gated and published in Stability's
  own layout, so it cannot be fetched unattended); on a CPU or offline, the
  procedural backend, with one line on how to get a neural one.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import BackendError, SceneError
from ..units import human_bytes
from .base import Backend, BackendSettings, BackendSpec, BackendStats, ChunkRequest, as_channels, chunk_seed

__all__ = ["Backend", "BackendSettings", "BackendSpec", "BackendStats", "ChunkRequest", "Choice", "as_channels",
           "backend_names", "choose_backend", "chunk_seed", "get_spec", "load_backend", "register", "unregister",
           "unsupported_layers"]

_REGISTRY: dict[str, BackendSpec] = {}
AUTO = "auto"
NEURAL_DEFAULT = "audioldm2"  # what ``auto`` downloads on a GPU machine; validates ``model:`` keys under auto
PREFERRED = ("stable-audio-3", "audioldm2")  # what ``auto`` uses when its default weights are at hand, in order
OFFLINE_DEFAULT = "procedural"  # what ``auto`` uses otherwise


def register(spec: BackendSpec) -> BackendSpec:
    """Add a backend to the registry; scenes can then name it in ``model.backend``.

    Parameters
    ----------
    spec : BackendSpec
        The backend's declaration (its ``factory`` loads it).

    Returns
    -------
    BackendSpec
        ``spec``, so a module can write ``SPEC = register(BackendSpec(...))``.

    Raises
    ------
    ValueError
        The name is ``auto``, empty, or already taken by another spec.
    """
    if spec.name == AUTO or not spec.name:
        raise ValueError(f"a backend cannot be called {spec.name!r}")
    if spec.name in _REGISTRY and _REGISTRY[spec.name] is not spec:
        raise ValueError(f"a backend named {spec.name!r} is already registered")
    _REGISTRY[spec.name] = spec
    return spec


def unregister(name: str) -> None:
    """Remove a backend from the registry (plug-ins and tests)."""
    _REGISTRY.pop(name, None)


def backend_names() -> tuple[str, ...]:
    """Registered backend names, in registration order."""
    return tuple(_REGISTRY)


def get_spec(name: str) -> BackendSpec:
    """The spec of a registered backend; :class:`BackendError` names the known ones otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise BackendError(f"backend: must be one of {', '.join((AUTO, *_REGISTRY))}, got {name!r}") from None


@dataclass(frozen=True)
class Choice:
    """Which backend a render uses and why.

    ``automatic``: chosen by ``auto`` (not named by the user). ``hint``: one line
    for the user (how to get the neural backend, or what is about to be downloaded).
    """

    backend: str
    reason: str
    automatic: bool
    hint: str = ""


def _hub_offline() -> bool:
    from .checkpoints import hub_offline

    return hub_offline()


def _has_accelerator(device: str) -> bool:
    if device == "cpu":
        return False
    if device in ("cuda", "mps"):
        return True
    import torch

    mps = getattr(torch.backends, "mps", None)
    return bool(torch.cuda.is_available() or (mps is not None and mps.is_available()))


def _neural_hint(spec: BackendSpec, checkpoint: str) -> str:
    cost = (f"; on a CPU it takes about {spec.cpu_s_per_audio_min / 60:.0f} min of compute per minute of audio per "
            "layer" if spec.cpu_s_per_audio_min else "")
    size = f" ({human_bytes(spec.download_bytes)})" if spec.download_bytes else ""
    return (f"for the neural {spec.name} backend, download its weights{size} with "
            f"'ambientgen models download {checkpoint}'; auto then uses it{cost}")


def choose_backend(model, *, device: str = "auto") -> Choice:
    """Resolve a scene's ``model`` settings to a backend (see the module docstring for ``auto``'s rules).

    Parameters
    ----------
    model : ModelSettings
        The scene's ``model:`` section.
    device : str
        ``auto``, ``cpu``, ``cuda`` or ``mps``: ``auto`` on a CPU-only machine
        never starts a multi-GB download.
    """
    if model.backend != AUTO:
        get_spec(model.backend)
        return Choice(model.backend, "asked for", automatic=False)
    from .checkpoints import checkpoint_location

    named = (model.model_extra or {}).get("checkpoint")
    if named:  # the user named this model: it is that model or an error, never a procedural render
        backend = checkpoint_backend(named)
        return Choice(backend, f"checkpoint {named} was named ({checkpoint_location(named)})", automatic=False)
    for name in PREFERRED:
        default = get_spec(name).default_checkpoint
        where = checkpoint_location(default)
        if where in ("local folder", "Hugging Face cache"):
            return Choice(name, f"{default} is in the {where}", automatic=True)
    spec = get_spec(NEURAL_DEFAULT)
    checkpoint = spec.default_checkpoint
    hint = _neural_hint(spec, checkpoint)
    if _hub_offline():
        return Choice(OFFLINE_DEFAULT, f"{checkpoint} is not downloaded and HF_HUB_OFFLINE is set", True, hint)
    if not _has_accelerator(device):
        return Choice(OFFLINE_DEFAULT, f"{checkpoint} is not downloaded and this machine has no GPU", True, hint)
    try:
        from huggingface_hub import file_exists

        reachable = file_exists(checkpoint, "model_index.json")
    except Exception:
        reachable = False
    if not reachable:
        return Choice(OFFLINE_DEFAULT, f"{checkpoint} is not downloaded and the hub is unreachable", True, hint)
    size = f" ({human_bytes(spec.download_bytes)})" if spec.download_bytes else ""
    return Choice(NEURAL_DEFAULT, f"{checkpoint} will be downloaded from the hub", True,
                  f"downloading {checkpoint}{size} into the Hugging Face cache first")


def checkpoint_backend(checkpoint: str) -> str:
    """The neural backend that renders a named checkpoint: what its ``model_index.json`` declares (Stability's
    original layout counts as Stable Audio 3); AudioLDM2 when nothing says otherwise."""
    from pathlib import Path

    from .checkpoints import ORIGINAL_LAYOUT, looks_like_path, pipeline_class_of

    declared = pipeline_class_of(checkpoint)
    if declared is None and looks_like_path(checkpoint) and (Path(checkpoint).expanduser() / ORIGINAL_LAYOUT).is_file():
        declared = "StableAudio3Pipeline"
    for name in PREFERRED:
        if declared and declared == get_spec(name).pipeline_class:
            return name
    return NEURAL_DEFAULT


def load_backend(model, *, device: str = "auto", choice: Choice | None = None) -> Backend:
    """Load the backend ``choice`` (default: :func:`choose_backend`) names, with its settings from ``model``.

    Raises
    ------
    BackendError
        The backend cannot be loaded (missing weights, unknown device, ...).
    """
    choice = choice or choose_backend(model, device=device)
    spec = get_spec(choice.backend)
    return spec.factory(model.settings_for(spec.name), device)


def unsupported_layers(scene, backend: Backend, *, strict: bool) -> list[str]:
    """Names of the scene's generated layers (``prompt:``, not ``source:``) ``backend`` cannot render.

    ``strict`` (the user named the backend): any such layer is an error; so is a
    scene none of whose layers can be rendered.
    """
    generated = scene.generated_layers  # recordings (source:) are played by the recording backend
    if not backend.spec.filters_prompts or not generated:
        return []
    skipped = [layer.name for layer in generated if not backend.supports(layer.prompt)]
    if skipped and (strict or len(skipped) == len(generated)):
        listed = ", ".join(f"'{name}'" for name in skipped)
        raise SceneError(f"layers: backend {backend.name} has no generator for layer(s) {listed}; "
                         f"{backend.sources_hint()}")
    return skipped


def _register_builtins() -> None:
    from .audioldm2 import SPEC as AUDIOLDM2
    from .procedural import SPEC as PROCEDURAL
    from .recording import SPEC as RECORDING
    from .stable_audio3 import SPEC as STABLE_AUDIO3

    register(AUDIOLDM2)
    register(PROCEDURAL)
    register(STABLE_AUDIO3)
    register(RECORDING)


_register_builtins()

"""Finding and loading diffusers checkpoints: hub id or local folder, Hugging Face cache, clear errors.

Shared by the neural backends (AudioLDM2, Stable Audio 3). A checkpoint is a
hub id (``owner/name``, looked up in the Hugging Face cache first, then on the
hub unless ``HF_HUB_OFFLINE`` is set; the access token is read the standard way,
``HF_TOKEN`` or ``hf auth login``) or a local diffusers folder. Every failure is
one :class:`~ambientgen.errors.BackendError` line that says what to do.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path

from ..errors import BackendError

DEVICES = ("auto", "cpu", "cuda", "mps")
ORIGINAL_LAYOUT = "model_config.json"  # stable-audio-tools checkpoints: model_config.json + model.safetensors


def resolve_device(device: str) -> str:
    """``auto`` picks CUDA, then Apple MPS, then CPU; an explicit device must exist."""
    import torch

    if device not in DEVICES:
        raise BackendError(f"device: must be one of {', '.join(DEVICES)}, got {device!r}")
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available():
            return "mps"
        return "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise BackendError("device: 'cuda' was asked for but torch sees no CUDA GPU (is a CUDA build installed?)")
    if device == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise BackendError("device: 'mps' was asked for but Apple MPS is not available on this machine")
    return device


def load_on_device(load, checkpoint: str, *, device: str, revision: str | None = None):
    """``load(checkpoint, dtype=, revision=)`` on the resolved device (fp16 on CUDA), progress bars off.

    Returns (pipeline, device)."""
    import torch

    device = resolve_device(device)
    dtype = torch.float16 if device == "cuda" else torch.float32
    pipe = load(checkpoint, dtype=dtype, revision=revision)
    pipe.set_progress_bar_config(disable=True)
    return pipe.to(device), device


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` is set."""
    return os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on")


def looks_like_path(checkpoint: str) -> bool:
    """Hub ids are ``owner/name``; anything on disk, or written like a path, is a local checkpoint."""
    if Path(checkpoint).expanduser().exists():
        return True
    return checkpoint.startswith((".", "/", "~")) or "\\" in checkpoint or checkpoint.count("/") > 1


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""


def _cached_file(checkpoint: str, filename: str) -> Path | None:
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(checkpoint, filename)
    return Path(found) if isinstance(found, str) else None


def checkpoint_location(checkpoint: str) -> str:
    """Where a checkpoint is: ``local folder``, ``missing folder``, ``Hugging Face cache`` or ``not downloaded``."""
    if looks_like_path(checkpoint):
        return "local folder" if Path(checkpoint).expanduser().is_dir() else "missing folder"
    return "Hugging Face cache" if _cached_file(checkpoint, "model_index.json") else "not downloaded"


def pipeline_class_of(checkpoint: str) -> str | None:
    """The diffusers pipeline class a local or cached checkpoint declares (``model_index.json``), else None."""
    if looks_like_path(checkpoint):
        index = Path(checkpoint).expanduser() / "model_index.json"
        index = index if index.is_file() else None
    else:
        index = _cached_file(checkpoint, "model_index.json")
    if index is None:
        return None
    try:
        return str(json.loads(index.read_text(encoding="utf-8")).get("_class_name") or "") or None
    except (OSError, ValueError):
        return None


def _convert_hint(checkpoint: str, model: str, convert_hint: str) -> str:
    return (f"model.checkpoint: '{checkpoint}' is a {model} checkpoint in Stability's original layout "
            f"(model_config.json + model.safetensors), which diffusers cannot load directly; "
            f"{convert_hint.replace('<this>', checkpoint)}")


def check_local_checkpoint(checkpoint: str, *, model: str, pipeline_class: str, components: Sequence[str],
                           convert_hint: str = "") -> Path:
    """The checkpoint folder, after checking it holds a diffusers ``pipeline_class`` with every component."""
    path = Path(checkpoint).expanduser()
    if not path.is_dir():
        raise BackendError(f"model.checkpoint: '{checkpoint}' is not a directory (expected a {model} checkpoint folder)")
    index = path / "model_index.json"
    if not index.is_file():
        if convert_hint and (path / ORIGINAL_LAYOUT).is_file():
            raise BackendError(_convert_hint(checkpoint, model, convert_hint))
        raise BackendError(f"model.checkpoint: '{checkpoint}' has no model_index.json (not a diffusers {model} checkpoint)")
    declared = pipeline_class_of(str(path))
    if declared and declared != pipeline_class:
        raise BackendError(f"model.checkpoint: '{checkpoint}' holds a {declared} checkpoint, not {model} "
                           f"({pipeline_class}); pick the backend that renders it with --backend")
    missing = [c for c in components if not (path / c).is_dir()]
    if missing:
        raise BackendError(f"model.checkpoint: '{checkpoint}' is missing component folder(s): {', '.join(missing)}")
    return path


def _gated(exc: BaseException) -> bool:
    try:
        from huggingface_hub.errors import GatedRepoError
    except ImportError:  # pragma: no cover - older huggingface_hub
        GatedRepoError = ()  # type: ignore[assignment]
    cause: BaseException | None = exc
    while cause is not None:
        if (GatedRepoError and isinstance(cause, GatedRepoError)) or "gated" in str(cause).lower() \
                or " 401" in str(cause) or "401 Client Error" in str(cause):
            return True
        cause = cause.__cause__ or cause.__context__
    return False


def load_diffusers_pipeline(cls, checkpoint: str, *, model: str, pipeline_class: str, components: Sequence[str],
                            dtype, revision: str | None = None, convert_hint: str = ""):
    """Load a diffusers pipeline by hub id or local folder, with one clear error on failure.

    A hub id is looked up in the Hugging Face cache first, then (unless
    ``HF_HUB_OFFLINE``) on the hub with the standard token. A gated repository
    without access, a repository in Stability's original layout, a folder of
    another model and a missing one each get their own line.
    """
    if looks_like_path(checkpoint):
        local = check_local_checkpoint(checkpoint, model=model, pipeline_class=pipeline_class, components=components,
                                       convert_hint=convert_hint)
        try:
            return cls.from_pretrained(str(local), dtype=dtype)
        except Exception as exc:  # corrupt weights, wrong classes, ...
            raise BackendError(f"model.checkpoint: cannot load '{checkpoint}': {type(exc).__name__}: {first_line(exc)}") from None
    declared = pipeline_class_of(checkpoint)
    if declared and declared != pipeline_class:
        raise BackendError(f"model.checkpoint: '{checkpoint}' holds a {declared} checkpoint, not {model} "
                           f"({pipeline_class}); pick the backend that renders it with --backend")
    if convert_hint and declared is None and _cached_file(checkpoint, ORIGINAL_LAYOUT):
        raise BackendError(_convert_hint(checkpoint, model, convert_hint))
    offline = hub_offline()
    errors: list[BaseException] = []
    for local_only in (True,) if offline else (True, False):
        try:
            return cls.from_pretrained(checkpoint, dtype=dtype, revision=revision, local_files_only=local_only)
        except Exception as exc:
            errors.append(exc)
    if any(_gated(e) for e in errors):
        raise BackendError(
            f"model.checkpoint: '{checkpoint}' is gated on the Hugging Face hub: accept its licence at "
            f"https://huggingface.co/{checkpoint}, then log in with 'hf auth login' or set HF_TOKEN to a token "
            "with access")
    from huggingface_hub.constants import HF_HUB_CACHE

    tried = "the local Hugging Face cache" + ("" if offline else " and the hub")
    why = " (HF_HUB_OFFLINE is set)" if offline else " (no network, or no such repository)"
    raise BackendError(
        f"model.checkpoint: cannot load '{checkpoint}' from {tried}{why}; cache is {HF_HUB_CACHE}. "
        f"Download it with 'ambientgen models download {checkpoint}' (where there is network), or point "
        "model.checkpoint at a local checkpoint folder"
    )


def checkpoint_fingerprint(pipeline) -> str:
    """A fingerprint of the loaded checkpoint's files: the hub snapshot's commit hash when it has one, else the
    SHA-256 of every config file and of each weight file's size, first and last MiB."""
    root = Path(str(getattr(pipeline.config, "_name_or_path", "") or getattr(pipeline, "name_or_path", "")))
    if root.parent.name == "snapshots" and len(root.name) == 40:  # huggingface_hub cache: snapshots/<commit>
        return root.name
    digest = hashlib.sha256()
    if root.is_dir():
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            digest.update(path.relative_to(root).as_posix().encode())
            size = path.stat().st_size
            digest.update(str(size).encode())
            with open(path, "rb") as f:
                if path.suffix in (".json", ".txt", ".model") or size <= 2 << 20:
                    digest.update(f.read())
                else:
                    digest.update(f.read(1 << 20))
                    f.seek(-(1 << 20), 2)
                    digest.update(f.read())
    else:
        digest.update(str(root).encode())
    return digest.hexdigest()[:16]

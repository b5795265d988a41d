"""What backends there are, which checkpoints are on this machine, and downloading one.

``ambientgen models`` prints :func:`backend_table` and :func:`cached_checkpoints`;
``ambientgen models download ID`` runs :func:`download`. Checkpoints live in the
Hugging Face cache (``$HF_HUB_CACHE``, default ``~/.cache/huggingface/hub``), where
``from_pretrained`` finds them by hub id, also with ``HF_HUB_OFFLINE=1``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import AmbientgenError
from ..units import human_bytes
from . import backend_names, get_spec


@dataclass(frozen=True)
class CachedCheckpoint:
    """A diffusers checkpoint in the Hugging Face cache: hub id, pipeline class, bytes on disk, snapshot folder."""

    repo_id: str
    pipeline: str
    size_bytes: int
    path: Path


def backend_table() -> list[dict[str, object]]:
    """One row per registered backend: name, rate, channels, window, needs, licence, summary."""
    rows = []
    for name in backend_names():
        spec = get_spec(name)
        needs = "nothing (offline)" if spec.offline else (
            f"weights, {human_bytes(spec.download_bytes)} ({spec.default_checkpoint})" if spec.download_bytes
            else "weights")
        rows.append({"backend": name, "sample_rate": spec.sample_rate, "channels": spec.channels,
                     "window_s": spec.max_window_s, "needs": needs, "licence": spec.licence, "summary": spec.summary,
                     "cpu_s_per_audio_min": spec.cpu_s_per_audio_min})
    return rows


def cached_checkpoints() -> list[CachedCheckpoint]:
    """Diffusers pipelines (any with a ``model_index.json``) in the Hugging Face cache, newest revision each."""
    from huggingface_hub import scan_cache_dir
    from huggingface_hub.errors import CacheNotFound

    try:
        info = scan_cache_dir()
    except CacheNotFound:
        return []
    found = []
    for repo in sorted(info.repos, key=lambda r: r.repo_id):
        if repo.repo_type != "model" or not repo.revisions:
            continue
        newest = max(repo.revisions, key=lambda r: r.last_modified)
        index = newest.snapshot_path / "model_index.json"
        if not index.is_file():
            continue
        try:
            pipeline = json.loads(index.read_text(encoding="utf-8")).get("_class_name", "?")
        except (OSError, ValueError):
            pipeline = "?"
        found.append(CachedCheckpoint(repo.repo_id, pipeline, repo.size_on_disk, newest.snapshot_path))
    return found


def download(repo_id: str, *, progress: bool = True) -> Path:
    """Download a checkpoint into the Hugging Face cache (resuming a partial download); returns its folder.

    The access token is read the standard way (``HF_TOKEN`` or ``hf auth login``).

    Raises
    ------
    AmbientgenError
        Offline, no such repository, access refused (gated), or the download failed.
    """
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise AmbientgenError(f"models download: cannot download {repo_id}: HF_HUB_OFFLINE is set")
    from huggingface_hub import snapshot_download
    from huggingface_hub.utils import disable_progress_bars, enable_progress_bars

    (enable_progress_bars if progress else disable_progress_bars)()
    try:
        return Path(snapshot_download(repo_id))
    except Exception as exc:  # network, 401/403 for gated repositories, 404 for a wrong id
        text = str(exc).strip().splitlines()
        why = text[0][:200] if text else type(exc).__name__
        raise AmbientgenError(f"models download: cannot download {repo_id}: {type(exc).__name__}: {why}") from None

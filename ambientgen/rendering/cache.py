"""Content-addressed render cache: model work is done once, kept across runs, and resumed after a crash.

Every piece of model work (a chunk, or a latent stream of several windows) is
stored under the SHA-256 of everything that changes its audio: the backend's
identity (name, checkpoint and its revision, steps, guidance, scheduler,
device type and dtype), the prompt and negative prompt, the seed(s), the
geometry (duration, window, overlap, loop) and this cache's format version.
A mix-only change (gain, pan, width, loudness, format, fades, a pool layer's
duration) therefore renders nothing again.

Entries are written to a temporary name and renamed (a crash or ``kill -9``
leaves either a whole entry or none), and carry the SHA-256 of their contents:
an entry that fails its checksum is reported, deleted and rendered again.

The cache is capped (``$AMBIENTGEN_CACHE_MAX`` such as ``5GB``, default
:data:`DEFAULT_MAX_BYTES`): reading an entry marks it used (its modification
time), and after a render the least recently used entries are removed until
the cache is under the cap (:meth:`RenderCache.evict`).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..backends.base import Backend, ChunkRequest, ProgressCallback
from ..errors import UsageError
from ..output.files import write_atomic
from ..runtime import Worker

FORMAT_VERSION = 2  # 2: entries are (channels, samples)
DEFAULT_MAX_BYTES = 20 * 1000**3  # 20 GB: about 60 hours of three 48 kHz stereo-placed stems' model output


def parse_bytes(text: str) -> int:
    """``"5GB"``, ``"500 MB"``, ``"2e9"`` -> bytes (decimal units); ValueError naming the value otherwise."""
    import re

    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:E[+-]?[0-9]+)?)\s*([KMGT]?)B?\s*", str(text).upper())
    if not m:
        raise ValueError(f"not a size: {text!r} (use e.g. 5GB or 500MB)")
    return int(float(m.group(1)) * 1000 ** (" KMGT".index(m.group(2)) if m.group(2) else 0))


def default_max_bytes() -> int:
    """``$AMBIENTGEN_CACHE_MAX`` (e.g. ``5GB``), else :data:`DEFAULT_MAX_BYTES`; a UsageError naming the variable
    if it is not a size."""
    value = os.environ.get("AMBIENTGEN_CACHE_MAX")
    try:
        return parse_bytes(value) if value else DEFAULT_MAX_BYTES
    except ValueError as exc:
        raise UsageError("AMBIENTGEN_CACHE_MAX", f"{exc}") from None


def default_cache_dir() -> Path:
    """``$AMBIENTGEN_CACHE``, else ``$XDG_CACHE_HOME/ambientgen``, else ``~/.cache/ambientgen``."""
    if os.environ.get("AMBIENTGEN_CACHE"):
        return Path(os.environ["AMBIENTGEN_CACHE"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ambientgen"


@dataclass
class CacheStats:
    hits: int = 0
    misses: int = 0
    corrupt: int = 0  # entries that failed their checksum (rendered again)
    stored_entries: int = 0
    stored_bytes: int = 0

    def as_dict(self) -> dict[str, int]:
        return dict(self.__dict__)


@dataclass
class CacheUsage:
    entries: int
    bytes: int


class RenderCache:
    """A directory of checksummed ``.npy`` entries keyed by request hashes, capped at ``max_bytes``."""

    def __init__(self, root: str | Path, *, warn=None, max_bytes: int | None = None):
        self.root = Path(root).expanduser()
        self.stats = CacheStats()
        self.writable = True
        self.warn = warn or (lambda message: print(f"warning: {message}", file=sys.stderr))
        self.max_bytes = default_max_bytes() if max_bytes is None else max_bytes

    def _entries(self) -> list[tuple[float, int, Path]]:
        """(last used, size, path) of every entry."""
        out = []
        for path in self.root.glob("??/*.npy"):
            try:
                st = path.stat()
            except OSError:
                continue
            out.append((st.st_mtime, st.st_size, path))
        return out

    def usage(self) -> CacheUsage:
        entries = self._entries()
        return CacheUsage(len(entries), sum(size for _, size, _ in entries))

    @staticmethod
    def _remove(entries, *, keep_bytes: int = 0) -> CacheUsage:
        """Remove ``entries`` (oldest first as given) until at most ``keep_bytes`` of them are left; what went."""
        total = sum(size for _, size, _ in entries)
        gone = CacheUsage(0, 0)
        for _, size, path in entries:
            if total <= keep_bytes:
                break
            try:
                path.unlink()
            except OSError:
                continue
            total -= size
            gone.entries += 1
            gone.bytes += size
        return gone

    def evict(self) -> CacheUsage:
        """Remove the least recently used entries until the cache holds at most ``max_bytes``; returns what went."""
        return self._remove(sorted(self._entries()), keep_bytes=self.max_bytes)

    def clear(self) -> CacheUsage:
        """Remove every entry; returns what went."""
        return self._remove(self._entries())

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.npy"

    def get(self, key: str) -> np.ndarray | None:
        path = self.path(key)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            self.stats.misses += 1
            return None
        except OSError as exc:
            self.warn(f"cache entry {path} cannot be read ({exc.strerror}); rendering it again")
            self.stats.misses += 1
            return None
        digest, _, payload = data.partition(b"\n")
        try:
            ok = digest.decode("ascii") == hashlib.sha256(payload).hexdigest()
            array = np.load(io.BytesIO(payload), allow_pickle=False) if ok else None
        except (UnicodeDecodeError, ValueError, OSError):
            ok, array = False, None
        if not ok or array is None:
            self.warn(f"cache entry {path.name} is corrupt (checksum mismatch); rendering it again")
            self.stats.corrupt += 1
            self.stats.misses += 1
            path.unlink(missing_ok=True)
            return None
        self.stats.hits += 1
        try:
            os.utime(path)  # used now: the last to be evicted
        except OSError:
            pass
        return array

    def put(self, key: str, array: np.ndarray) -> None:
        if not self.writable:
            return
        array = np.ascontiguousarray(array)
        header = io.BytesIO()  # the .npy file np.save writes, as its header and the array's own bytes (no copies)
        np.lib.format.write_array_header_1_0(header, np.lib.format.header_data_from_array_1_0(array))
        payload = [header.getvalue(), memoryview(array.reshape(-1)).cast("B")]
        digest = hashlib.sha256()
        for part in payload:
            digest.update(part)
        data = [digest.hexdigest().encode("ascii") + b"\n", *payload]
        path = self.path(key)
        try:
            write_atomic(path, data)
            self.stats.stored_entries += 1
            self.stats.stored_bytes += sum(len(part) for part in data)
        except OSError as exc:  # a full or read-only cache slows the next run down, nothing more
            self.writable = False
            self.warn(f"cannot write to the cache {self.root} ({exc.strerror}); continuing without it")


def request_key(identity: dict[str, Any], kind: str, **fields: Any) -> str:
    """The SHA-256 (hex) of a canonical JSON of the backend identity and the request's fields."""
    text = json.dumps({"v": FORMAT_VERSION, "backend": identity, "kind": kind, **fields}, sort_keys=True,
                      separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def chunk_key(identity: dict[str, Any], req: ChunkRequest) -> str:
    """The cache key of one chunk rendered by the backend ``identity`` describes."""
    return request_key(identity, "chunk", prompt=req.prompt, negative_prompt=req.negative_prompt, seed=req.seed,
                       duration_s=round(req.duration_s, 6))


def stream_key(identity: dict[str, Any], *, prompt: str, negative_prompt: str, seeds: Sequence[int],
               duration_s: float, window_s: float, overlap_s: float, loop: bool, **_: Any) -> str:
    """The cache key of one latent stream (``render_stream``'s arguments; the layer name does not matter)."""
    return request_key(identity, "stream", prompt=prompt, negative_prompt=negative_prompt, seeds=list(seeds),
                       duration_s=round(duration_s, 6), window_s=round(window_s, 6), overlap_s=round(overlap_s, 6),
                       loop=loop)


class CachedBackend(Backend):
    """Wraps a backend: every chunk and latent stream is looked up first and stored as soon as it is made.

    Chunks are rendered in slices of the backend's batch size and stored after
    each slice (by a background thread, while the next slice renders), so an
    interrupted render keeps everything finished before the interruption.
    ``model_calls`` counts chunks actually rendered (cache misses).
    """

    def __init__(self, backend: Backend, cache: RenderCache):
        self.inner = backend
        self.cache = cache
        self.spec = backend.spec
        self.stats = backend.stats
        self.batch_size = backend.batch_size
        self.steps = backend.steps
        self.identity_ = backend.identity()

    @property
    def preferred_window(self) -> tuple[float, float] | None:
        return self.inner.preferred_window

    def identity(self) -> dict[str, Any]:
        return self.identity_

    def supports(self, prompt: str) -> bool:
        return self.inner.supports(prompt)

    def sources_hint(self) -> str:
        return self.inner.sources_hint()

    def renderer(self, prompt: str) -> str:
        return self.inner.renderer(prompt)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()

    def chunk_key(self, req: ChunkRequest) -> str:
        return chunk_key(self.identity_, req)

    def render(self, requests: Sequence[ChunkRequest], *, on_progress: ProgressCallback | None = None
               ) -> list[np.ndarray]:
        out: list[np.ndarray | None] = []
        missing = []
        for i, req in enumerate(requests):
            found = self.cache.get(self.chunk_key(req))
            out.append(found)
            if found is None:
                missing.append(i)
        if on_progress and len(requests) - len(missing):
            on_progress(len(requests) - len(missing))
        step = max(1, self.batch_size)
        store = Worker(depth=2, name="cache-store") if missing else None  # stores a slice while the next renders
        try:
            for s in range(0, len(missing), step):
                idx = missing[s : s + step]
                rendered = self.inner.render([requests[i] for i in idx], on_progress=on_progress)
                store.submit([(self.cache.put, self.chunk_key(requests[i]), np.asarray(audio, dtype=np.float32))
                              for i, audio in zip(idx, rendered)])
                for i, audio in zip(idx, rendered):
                    out[i] = audio
        finally:  # what was rendered is stored, also when the render is interrupted
            if store is not None:
                store.close()
        return out  # type: ignore[return-value]

    def render_stream(self, *, layer: str, prompt: str, negative_prompt: str, seeds: Sequence[int],
                      duration_s: float, window_s: float, overlap_s: float, loop: bool,
                      on_progress: ProgressCallback | None = None) -> tuple[np.ndarray, list[float]]:
        key = stream_key(self.identity_, prompt=prompt, negative_prompt=negative_prompt, seeds=seeds,
                         duration_s=duration_s, window_s=window_s, overlap_s=overlap_s, loop=loop)
        seams_key = key + "-seams"
        audio, seams = self.cache.get(key), self.cache.get(seams_key)
        if audio is not None and seams is not None:
            if on_progress:
                on_progress(self.steps)
            return audio, [float(t) for t in seams]
        audio, seams = self.inner.render_stream(layer=layer, prompt=prompt, negative_prompt=negative_prompt,
                                                seeds=seeds, duration_s=duration_s, window_s=window_s,
                                                overlap_s=overlap_s, loop=loop, on_progress=on_progress)
        self.cache.put(key, np.asarray(audio, dtype=np.float32))
        self.cache.put(seams_key, np.asarray(seams, dtype=np.float64))
        return audio, seams

"""Where a render's outputs go and how they are written: names in one place, every write atomic.

A render writes a set of files (mix formats, stems, session, manifest, check
report). Each is written under ``NAME.partial`` and renamed only when the whole
set is complete (:func:`atomic_outputs`); on any failure the partial files are
removed and whatever was in the output folder before is left as it was. Single
files (a cache entry, a planned scene) go through :func:`write_atomic`: a
temporary file in the same folder, renamed over the target.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from ..errors import ExportError

MANIFEST = "manifest.json"


def mix_name(scene_name: str, fmt: str) -> str:
    """The mix in one format: ``NAME.wav``, ``NAME.flac``, ..."""
    return f"{scene_name}.{fmt}"


def stem_name(layer: str) -> str:
    """One layer's stem: ``stems/LAYER.wav``."""
    return f"stems/{layer}.wav"


def session_stem_name(layer: str) -> str:
    """A layer's stem before its timeline's level changes, which the REAPER session plays under a volume envelope:
    ``session/LAYER.flac``."""
    return f"session/{layer}.flac"


def session_name(scene_name: str) -> str:
    """The REAPER session: ``NAME.RPP``."""
    return f"{scene_name}.RPP"


def report_names(scene_name: str) -> tuple[str, str]:
    """The check report: ``NAME.check.json`` and its picture ``NAME.check.png``."""
    return f"{scene_name}.check.json", f"{scene_name}.check.png"


def output_names(scene_name: str, formats: Sequence[str], layers: Sequence[str], *, stems: bool, session: bool,
                 report: bool, enveloped: Sequence[str] = ()) -> list[str]:
    """Every file a render writes into its output folder (paths relative to it); ``enveloped``: the layers whose
    level the timeline changes (the session plays them from their own file under an envelope)."""
    names = [mix_name(scene_name, f) for f in formats] + [MANIFEST]
    if stems:
        names += [stem_name(layer) for layer in layers]
        if session:
            names.append(session_name(scene_name))
            names += [session_stem_name(layer) for layer in enveloped]
    if report:
        names += list(report_names(scene_name))
    return names


HASH_BLOCK = 8 << 20  # bytes read and hashed at a time


def sha256_file(path: Path) -> str:
    """SHA-256 (hex) of a file, read into one 8 MiB buffer at a time. Reading and hashing release Python's lock;
    taking it back once per block waits for every other thread's turn, so the blocks are large: hashing a render's
    files while matplotlib loaded took 0.9 s in 1 MiB blocks (0.17 s alone). A memory map hashed in one call was
    as fast, but its pages count as the process's resident memory: 115 MB more at a 5-minute render's peak."""
    digest = hashlib.sha256()
    buffer = bytearray(HASH_BLOCK)
    view = memoryview(buffer)
    with open(path, "rb", buffering=0) as f:
        while size := f.readinto(buffer):
            digest.update(view[:size])
    return digest.hexdigest()


def sha256_files(paths: list[Path]) -> dict[Path, str]:
    """:func:`sha256_file` of each path, two at a time (hashing and reading release the GIL): a render's mix and
    stems are hashed in about half the time."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="sha256") as pool:
        return dict(zip(paths, pool.map(sha256_file, paths)))


def previous_render_files(out_dir: Path) -> list[Path]:
    """The files the render already in ``out_dir`` wrote, as its manifest lists them (plus its check report):
    what ``--overwrite`` replaces. Only paths inside ``out_dir``; nothing if there is no readable manifest."""
    import json

    try:
        old = json.loads((out_dir / MANIFEST).read_text(encoding="utf-8"))
        names = [f["path"] for f in old["files"]] + list(report_names(old["name"]))
    except (OSError, ValueError, KeyError, TypeError):
        return []
    root = out_dir.resolve()
    out = []
    for name in names:
        path = (out_dir / str(name)).resolve()
        if path.is_relative_to(root) and path != root:
            out.append(out_dir / str(name))
    return out


class AtomicOutputs:
    """Collects files written as ``NAME.partial`` and publishes them together; files ``retire``d (a previous
    render's) are removed right after, so the folder holds one render."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.pending: list[tuple[Path, Path]] = []
        self.retired: list[Path] = []
        self.made: list[Path] = []  # folders made for the new files, removed again (if empty) when discarded

    def retire(self, paths: Sequence[Path]) -> None:
        """Remove ``paths`` when the new files are published (those the new render writes again are replaced)."""
        self.retired += list(paths)

    def path(self, relative: str) -> Path:
        """The ``.partial`` path to write ``relative`` to (its folder is created)."""
        final = self.out_dir / relative
        partial = final.with_name(final.name + ".partial")
        self.make_folder(partial.parent)
        self.pending.append((partial, final))
        return partial

    def commit(self) -> None:
        written = {final.resolve() for _, final in self.pending}
        for partial, final in self.pending:
            os.replace(partial, final)
        self.pending.clear()
        for path in self.retired:
            if path.resolve() not in written:
                path.unlink(missing_ok=True)
        self.retired.clear()

    def make_folder(self, folder: Path) -> None:
        """``folder`` and those above it made where missing, and remembered."""
        missing = []
        while not folder.exists() and folder != folder.parent:
            missing.append(folder)
            folder = folder.parent
        for made in reversed(missing):
            made.mkdir(exist_ok=True)
            self.made.append(made)

    def discard(self) -> None:
        for partial, _ in self.pending:
            partial.unlink(missing_ok=True)
        self.pending.clear()
        for folder in reversed(self.made):  # the deepest first; one that holds something else stays
            try:
                folder.rmdir()
            except OSError:
                pass
        self.made.clear()


@contextmanager
def atomic_outputs(out_dir: Path, *, field: str = "output") -> Iterator[AtomicOutputs]:
    """Write a set of files into ``out_dir`` all or nothing; an OSError becomes an :class:`ExportError`."""
    outputs = AtomicOutputs(out_dir)
    try:
        outputs.make_folder(out_dir)
        yield outputs
        outputs.commit()
    except OSError as exc:
        outputs.discard()
        raise ExportError(f"{field}: cannot write to {out_dir}: {exc.strerror or exc}") from None
    except BaseException:
        outputs.discard()
        raise


def _umask() -> int:
    """This process's umask (Linux says it in /proc; elsewhere it is read by setting it, and set back at once)."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: Path, data: bytes | Sequence[bytes | memoryview]) -> None:
    """Write ``data`` (bytes, or parts written one after another) to ``path`` through a temporary file in the same
    folder (a crash leaves old or new, whole).

    Raises OSError; the temporary file is removed on failure.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # what open() would have made (mkstemp's file is the owner's alone)
        with os.fdopen(fd, "wb") as f:
            for part in [data] if isinstance(data, bytes | bytearray | memoryview) else data:
                f.write(part)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

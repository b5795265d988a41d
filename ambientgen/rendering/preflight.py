"""Checks made before any model work: can the outputs be written, is there room, would they replace others?

A render that would fail at its last step (a read-only folder, a full disk,
an earlier render in the way) should fail in its first second, with one line
saying what to do.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..errors import AmbientgenError, UsageError
from ..output.formats import Format
from ..units import human_bytes

BYTES_PER_SAMPLE = {"16": 2, "24": 3, "32f": 4}
COMPRESSED_BYTES_PER_S = {"ogg": 40_000, "opus": 40_000, "mp3": 40_000, "m4a": 40_000}  # generous for 256-320 kbps
FLAC_RATIO = 0.7  # FLAC of noise-like ambience compresses little; estimate high
MARGIN_BYTES = 16 << 20


def estimate_bytes(*, frames: int, formats: list[Format], bit_depth: str, stems: int, sample_rate: int) -> int:
    """About how many bytes a render writes (mix in every format, 24-bit stereo stems), erring high."""
    pcm = frames * 2 * BYTES_PER_SAMPLE[bit_depth]
    total = 0
    for f in formats:
        if f.name == "wav":
            total += pcm
        elif f.name == "flac":
            total += int(pcm * FLAC_RATIO)
        else:
            total += COMPRESSED_BYTES_PER_S[f.name] * frames // sample_rate
    total += stems * frames * 2 * 3
    return total + MARGIN_BYTES


def check_outputs(out_dir: Path, names: list[str], *, needed_bytes: int, overwrite: bool) -> None:
    """Raise a one-line error if ``out_dir`` cannot take the render (nothing is created here)."""
    if out_dir.exists() and not out_dir.is_dir():
        raise UsageError("output", f"'{out_dir}' exists and is not a directory")
    # the folder itself, or the nearest existing folder above it, must let us create files
    probe_dir = out_dir.resolve()
    while not probe_dir.exists():
        probe_dir = probe_dir.parent
    if not probe_dir.is_dir():
        raise UsageError("output", f"'{probe_dir}' is not a directory, so '{out_dir}' cannot be created in it")
    try:
        fd, probe = tempfile.mkstemp(dir=probe_dir, prefix=".ambientgen-probe-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise AmbientgenError(f"output: cannot write to {probe_dir} ({exc.strerror or exc})") from None
    existing = [name for name in names if (out_dir / name).exists()] if out_dir.is_dir() else []
    if existing and not overwrite:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise AmbientgenError(f"output: {out_dir / existing[0]} already exists{more}: pass overwrite=True to replace "
                              "it, or choose another output folder")
    free = shutil.disk_usage(probe_dir).free
    if needed_bytes > free:
        raise AmbientgenError(f"output: not enough disk space in {out_dir}: this render writes about {human_bytes(needed_bytes)}, "
                              f"{human_bytes(free)} is free")

"""Output formats and the loop metadata game engines read.

- WAV (16/24-bit PCM or 32-bit float) carries a RIFF ``smpl`` chunk with one
  forward loop over the whole file (Godot, Unity, Unreal, Wwise), plus ``cue ``
  points with labels at the seams; soundfile cannot write these, so they are
  appended to the finished RIFF here.
- FLAC, Ogg Vorbis and Opus carry ``LOOPSTART`` / ``LOOPLENGTH`` Vorbis comments
  in samples (RPG Maker, SDL_mixer), written with mutagen.
- MP3 pads the start (encoder delay) and cannot loop gaplessly: the manifest says so.
- M4A/AAC is encoded by ffmpeg (from a streamed 24-bit WAV); without ffmpeg the format is refused up front.
"""

from __future__ import annotations

import shutil
import struct
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

BIT_DEPTHS = {"16": "PCM_16", "24": "PCM_24", "32f": "FLOAT"}


@dataclass(frozen=True)
class Format:
    name: str
    container: str
    subtype: str | None  # None: from the bit depth
    loop_tags: str | None  # "smpl", "vorbis" or None
    gapless: bool
    sample_rates: tuple[int, ...] | None = None


FORMATS: dict[str, Format] = {
    "wav": Format("wav", "WAV", None, "smpl", True),
    "flac": Format("flac", "FLAC", None, "vorbis", True),
    "ogg": Format("ogg", "OGG", "VORBIS", "vorbis", True),
    "opus": Format("opus", "OGG", "OPUS", "vorbis", True, (8000, 12000, 16000, 24000, 48000)),
    "mp3": Format("mp3", "MP3", "MPEG_LAYER_III", None, False),
    "m4a": Format("m4a", "M4A", None, None, False),
}


def parse_formats(text: str | list[str], *, sample_rate: int, bit_depth: str = "24") -> list[Format]:
    """Formats from ``"wav,flac,ogg"``; every problem is a :class:`UsageError` naming the option."""
    names = [n.strip().lower() for n in (text.split(",") if isinstance(text, str) else text) if n.strip()]
    if not names:
        raise UsageError("formats", "give at least one format")
    unknown = [n for n in names if n not in FORMATS]
    if unknown:
        raise UsageError("formats", f"must be a comma-separated list of {', '.join(FORMATS)}, got {unknown[0]!r}")
    if bit_depth not in BIT_DEPTHS:
        raise UsageError("bit_depth", f"must be one of {', '.join(BIT_DEPTHS)}, got {bit_depth!r}")
    if "flac" in names and bit_depth == "32f":
        raise UsageError("bit_depth", "FLAC stores 16 or 24-bit integers, not 32f")
    out = []
    for name in dict.fromkeys(names):
        fmt = FORMATS[name]
        if fmt.sample_rates and sample_rate not in fmt.sample_rates:
            raise UsageError("formats", f"{name} needs a sample rate of {', '.join(map(str, fmt.sample_rates))} Hz, "
                             f"got {sample_rate}")
        if name == "m4a" and shutil.which("ffmpeg") is None:
            raise UsageError("formats", "m4a needs ffmpeg, which is not on PATH; install it or use wav, flac, ogg, "
                             "opus or mp3")
        out.append(fmt)
    return out


def subtype(fmt: Format, bit_depth: str) -> str | None:
    return fmt.subtype or BIT_DEPTHS[bit_depth]


def _chunk(tag: bytes, payload: bytes) -> bytes:
    return tag + struct.pack("<I", len(payload)) + payload + (b"\0" if len(payload) % 2 else b"")


def smpl_chunk(*, sample_rate: int, loop_start: int, loop_end: int) -> bytes:
    """A RIFF ``smpl`` chunk (36 + 24 bytes) with one forward loop over [loop_start, loop_end] (inclusive)."""
    header = struct.pack("<9I", 0, 0, round(1e9 / sample_rate), 60, 0, 0, 0, 1, 0)
    loop = struct.pack("<6I", 0, 0, loop_start, loop_end, 0, 0)  # id 0, type 0 = forward, play forever
    return _chunk(b"smpl", header + loop)


def cue_chunks(points: list[tuple[int, str]]) -> bytes:
    """``cue `` points at sample positions, with a ``LIST``/``adtl`` chunk of their labels."""
    if not points:
        return b""
    cues = struct.pack("<I", len(points)) + b"".join(
        struct.pack("<II4sIII", i + 1, pos, b"data", 0, 0, pos) for i, (pos, _) in enumerate(points))
    labels = b"adtl" + b"".join(
        _chunk(b"labl", struct.pack("<I", i + 1) + label.encode("ascii", "replace") + b"\0")
        for i, (_, label) in enumerate(points))
    return _chunk(b"cue ", cues) + _chunk(b"LIST", labels)


def add_wav_loop(path: Path, *, sample_rate: int, frames: int, cues: list[tuple[int, str]] = ()) -> bool:
    """Append ``smpl`` (and ``cue ``) chunks to a finished RIFF/WAVE file; False if it is RF64 (over 4 GB)."""
    with open(path, "r+b") as f:
        if f.read(4) != b"RIFF":
            return False
        extra = smpl_chunk(sample_rate=sample_rate, loop_start=0, loop_end=frames - 1) + cue_chunks(list(cues))
        f.seek(0, 2)
        size = f.tell()
        if size + len(extra) - 8 >= 2**32:
            return False
        if size % 2:  # chunks start on even offsets
            f.write(b"\0")
            size += 1
        f.write(extra)
        f.seek(4)
        f.write(struct.pack("<I", size + len(extra) - 8))
    return True


def add_vorbis_loop(path: Path, fmt: Format, *, frames: int) -> None:
    """``LOOPSTART`` / ``LOOPLENGTH`` comments (in samples) in a FLAC, Ogg Vorbis or Opus file."""
    if fmt.name == "flac":
        from mutagen.flac import FLAC as Tagged
    elif fmt.subtype == "OPUS":
        from mutagen.oggopus import OggOpus as Tagged
    else:
        from mutagen.oggvorbis import OggVorbis as Tagged
    tagged = Tagged(str(path))
    tagged["LOOPSTART"] = "0"
    tagged["LOOPLENGTH"] = str(frames)
    tagged.save()


def read_riff_chunks(path: Path) -> dict[bytes, bytes]:
    """Top-level RIFF chunks of a WAV file by id (for checks and tests; ``data`` is listed empty, not read)."""
    from ..audio.wavdata import riff_chunks

    with open(path, "rb") as f:
        try:
            return riff_chunks(f)[0]
        except ValueError:
            raise ValueError(f"{path} is not a RIFF/WAVE file") from None

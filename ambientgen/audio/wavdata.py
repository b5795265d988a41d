"""WAV sample data read straight from the file and decoded with numpy: the formats the engine writes (16- and 24-bit
PCM, 32-bit float), little-endian RIFF/WAVE.

libsndfile converts a 24-bit file sample by sample (2.1 s of CPU for an hour of stereo at 48 kHz, the largest part
of reading it); numpy decodes a block at a time from a strided view of the bytes (0.6 s). The values are the ones
libsndfile reads as float32, to the bit (tested against it): a 16-bit sample over 2**15, a 24-bit one shifted into
32 bits over 2**31, a float as stored. :meth:`WavData.of` checks the file's own header against what libsndfile
says of it and answers None for anything else (RF64, big-endian, other encodings, a header that disagrees), which
is then read through libsndfile as before.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

# subtype: (bytes per sample, WAVE format tag, the scale libsndfile reads it with as float32)
_DECODED = {"PCM_16": (2, 1, 2.0**-15), "PCM_24": (3, 1, 2.0**-31), "FLOAT": (4, 3, None)}
_EXTENSIBLE = 0xFFFE  # WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the sub-format GUID


# PCM subtypes libsndfile writes from float samples by way of 32-bit integers: the low bits it then drops
PCM_DROPPED = {"PCM_16": 0xFFFF, "PCM_24": 0xFF}


def pcm_words(block: np.ndarray, *, frames_first: bool = False) -> np.ndarray:
    """The 32-bit integers libsndfile makes of float32 samples before it keeps their top 16 or 24 bits: scaled by
    2**31, rounded to nearest even, saturated (tested against libsndfile, to the bit). A 16- or 24-bit file written
    from them gets the same bytes as from the floats, with libsndfile's sample-by-sample conversion replaced by
    numpy's (0.1 s of CPU less per 5 minutes of stereo). ``block``: ``(channels, n)``; ``frames_first``: the
    result laid out ``(n, channels)``, C-contiguous, as a file is written."""
    y = np.empty(block.T.shape if frames_first else block.shape, dtype=np.float32)
    np.multiply(block.T if frames_first else block, np.float32(2.0**31), out=y)
    np.rint(y, out=y)
    np.clip(y, np.float32(-(2.0**31)), np.float32(2147483520.0), out=y)  # the largest float32 under 2**31
    return y.astype(np.int32)


def riff_chunks(f) -> tuple[dict[bytes, bytes], tuple[int, int] | None]:
    """The top-level chunks of the RIFF/WAVE file open in ``f`` (binary, at any position): (their contents by id,
    the ``data`` chunk's sample bytes as (offset, length), not read, or None). Raises ValueError if it is not a
    RIFF/WAVE file."""
    f.seek(0)
    head = f.read(12)
    if len(head) < 12:
        raise ValueError("not a RIFF/WAVE file")
    riff, size, wave = struct.unpack("<4sI4s", head)
    if riff != b"RIFF" or wave != b"WAVE":
        raise ValueError("not a RIFF/WAVE file")
    chunks: dict[bytes, bytes] = {}
    data = None
    end = 8 + size
    while f.tell() < end:
        head = f.read(8)
        if len(head) < 8:
            break
        tag, length = struct.unpack("<4sI", head)
        if tag == b"data":
            chunks[tag] = b""
            data = (f.tell(), length)
            f.seek(length, 1)
        else:
            chunks[tag] = f.read(length)
        if length % 2:
            f.seek(1, 1)
    return chunks, data


class WavData:
    """The samples of a WAV file read ``n`` frames at a time as ``(channels, n)`` float32 (:meth:`read`), from the
    bytes of its ``data`` chunk. Made by :meth:`of`, which says whether a file is one this reads."""

    def __init__(self, f, offset: int, frames: int, channels: int, subtype: str) -> None:
        self._f, self.frames, self.channels, self.subtype = f, frames, channels, subtype
        self._width, _, self._scale = _DECODED[subtype]
        self._left = frames
        self._buf = bytearray()
        f.seek(offset)

    @classmethod
    def of(cls, path: Path, info) -> WavData | None:
        """A reader of ``path`` from its first frame, or None where this module does not decode the file (then read
        it through libsndfile). ``info``: what libsndfile says of it (``sf.info`` or an open ``sf.SoundFile``); its
        format, subtype, channel and frame counts must agree with the file's own header."""
        if info.format not in ("WAV", "WAVEX") or info.subtype not in _DECODED or info.endian not in ("FILE", "LITTLE"):
            return None
        width, tag, _ = _DECODED[info.subtype]
        f = open(path, "rb", buffering=0)  # noqa: SIM115 - kept open by the reader, closed by close()
        try:
            chunks, data = riff_chunks(f)
            fmt = chunks.get(b"fmt ", b"")
            if data is None or len(fmt) < 16:
                raise ValueError("no fmt or data chunk")
            code, channels, _, _, align, bits = struct.unpack("<HHIIHH", fmt[:16])
            if code == _EXTENSIBLE and len(fmt) >= 26:
                code = struct.unpack("<H", fmt[24:26])[0]
            offset, length = data
            frames = info.frames
            if (code, channels, align, bits) != (tag, info.channels, width * info.channels, 8 * width) or \
                    min(length, os.fstat(f.fileno()).st_size - offset) < frames * align:
                raise ValueError("the header disagrees with libsndfile")
        except (OSError, ValueError, struct.error):
            f.close()
            return None
        return cls(f, offset, frames, info.channels, info.subtype)

    def read(self, n: int) -> np.ndarray | None:
        """The next ``min(n, frames left)`` frames as ``(channels, frames)`` float32, C-contiguous; None at the end."""
        n = min(n, self._left)
        if n <= 0:
            return None
        size = n * self.channels * self._width
        if len(self._buf) < size + 1:  # one spare byte: a 24-bit sample is read as the 4 bytes from its first
            self._buf = bytearray(size + 1)
        view = memoryview(self._buf)[:size]
        got = 0
        while got < size:
            k = self._f.readinto(view[got:])
            if not k:
                raise OSError(f"{self._f.name}: the file ended {size - got} bytes early")
            got += k
        self._left -= n
        count = n * self.channels
        out = np.empty((self.channels, n), dtype=np.float32)
        if self.subtype == "PCM_24":
            # each sample's 3 bytes and the next one's first, as a little-endian int32; shifted left by 8, the next
            # sample's byte drops out and the sample sits in the top 24 bits, as libsndfile widens it
            words = np.ndarray((count,), dtype="<i4", buffer=self._buf, strides=(3,))
            samples = np.left_shift(words, 8)
        elif self.subtype == "PCM_16":
            samples = np.frombuffer(self._buf, dtype="<i2", count=count)
        else:
            samples = np.frombuffer(self._buf, dtype="<f4", count=count)
        frames = samples.reshape(n, self.channels).T
        if self._scale is None:
            out[...] = frames
        else:
            np.multiply(frames, np.float32(self._scale), out=out, dtype=np.float32)
        return out

    def close(self) -> None:
        self._f.close()

    def __enter__(self) -> WavData:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

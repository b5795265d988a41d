"""How ``check`` reads a file: its blocks, read ahead of the analysis in a thread; the short stretches the
analysis keeps as the blocks stream past (:class:`Windows`); and the same stretches read alone, by seeking
(:func:`read_spans`), for the second pass around detected splices."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ..audio.wavdata import PCM_DROPPED, WavData, pcm_words


def blocks_ahead(path: Path, block: int):
    """The file's blocks as ``(channels, samples)`` rows (reductions over rows are 10-30x faster), each read and
    laid out in a thread while the one before is analysed (decoding releases the GIL). 8-, 16- and 24-bit samples,
    32-bit floats and what lossy codecs decode are exact in float32, which reads faster; 32-bit integer and 64-bit
    float files are read in float64. The WAVs the engine writes (16-, 24-bit, float) are decoded from their bytes
    with numpy (:class:`~ambientgen.audio.wavdata.WavData`: the same values, 3.5x faster than libsndfile for 24-bit);
    other files through libsndfile."""
    with sf.SoundFile(str(path)) as f, ThreadPoolExecutor(max_workers=1, thread_name_prefix="check-read") as reader:
        dtype = "float64" if f.subtype in ("DOUBLE", "PCM_32") else "float32"
        direct = WavData.of(path, f)

        def read():
            if direct is not None:
                return direct.read(block)
            b = f.read(block, dtype=dtype, always_2d=True)
            return np.ascontiguousarray(b.T) if len(b) else None

        try:
            ahead = reader.submit(read)
            while (b := ahead.result()) is not None:
                ahead = reader.submit(read)
                yield b
        finally:
            if direct is not None:
                ahead.cancel() or ahead.exception()  # the read in flight ends before the file closes
                direct.close()


# WAV subtypes whose samples, written from float32 blocks by libsndfile, read back as :func:`as_read` gives them
WRITTEN_EXACTLY = {**PCM_DROPPED, "FLOAT": None}


def as_read(block: np.ndarray, subtype: str) -> np.ndarray:
    """A float32 block as it reads back (float32) from a WAV that libsndfile wrote it to in ``subtype`` (one of
    :data:`WRITTEN_EXACTLY`): its integer formats keep the top 16 or 24 bits of
    :func:`~ambientgen.audio.wavdata.pcm_words` and read those back divided by 2**31; floats are kept as they are.
    Tested against libsndfile itself, to the bit."""
    if WRITTEN_EXACTLY[subtype] is None:
        return np.array(block, dtype=np.float32)
    v = pcm_words(block)
    v &= ~WRITTEN_EXACTLY[subtype]
    out = v.astype(np.float32)
    out *= np.float32(2.0**-31)
    return out


class Rechunk:
    """Blocks of any size in, blocks of exactly ``size`` samples out (the last one shorter), to ``sink``: what reading
    the file ``size`` samples at a time would give."""

    def __init__(self, size: int, sink):
        self.size, self.sink = size, sink
        self._parts: list[np.ndarray] = []
        self._held = 0

    def add(self, block: np.ndarray) -> None:
        self._parts.append(block)
        self._held += block.shape[1]
        while self._held >= self.size:
            joined = np.concatenate(self._parts, axis=1) if len(self._parts) > 1 else self._parts[0]
            self.sink(np.ascontiguousarray(joined[:, : self.size]))
            rest = joined[:, self.size :]
            self._parts, self._held = ([rest] if rest.shape[1] else []), rest.shape[1]

    def close(self) -> None:
        if self._held:
            self.sink(np.ascontiguousarray(np.concatenate(self._parts, axis=1)))
        self._parts, self._held = [], 0


def channel_mean(block: np.ndarray) -> np.ndarray:
    """The mean of a ``(channels, samples)`` block's rows in float64: ``block.mean(axis=0, dtype=np.float64)`` to the
    bit (the rows summed in order, then divided), without the buffered casting numpy's mean does (3x faster)."""
    out = np.array(block[0], dtype=np.float64)
    for row in block[1:]:
        out += row
    if len(block) > 1:
        out /= len(block)
    return out


class Windows:
    """Stretches ``[start, stop)`` of the mono signal taken as blocks stream past, each handed to ``measure`` at once
    and only its result kept (an hour-long arrangement has thousands of seams)."""

    def __init__(self, spans, measure):
        self.spans = sorted((int(a), int(b), key) for key, a, b in spans)
        self.measure = measure
        self.found: dict[Any, Any] = {}
        self._k = 0
        self._buf = np.zeros(0)
        self._longest = max((b - a for a, b, _ in self.spans), default=0)

    def add(self, mono: np.ndarray, start: int) -> None:
        """The next block of the mono signal, ``mono``, from sample ``start``: every stretch that ends in it is
        measured (from the block itself, or joined to the end of the one before when it begins there)."""
        old, old_start = self._buf, start - len(self._buf)
        end = start + len(mono)
        while self._k < len(self.spans) and self.spans[self._k][1] <= end:
            a, b, key = self.spans[self._k]
            if a >= start:
                self.found[key] = self.measure(mono[a - start : b - start], key)
            elif a >= old_start:
                stretch = old[a - old_start : b - old_start] if b <= start else \
                    np.concatenate([old[a - old_start :], mono[: b - start]])
                self.found[key] = self.measure(stretch, key)
            self._k += 1
        keep = min(len(old) + len(mono), self._longest)  # what a stretch ending in the next block may reach back to
        if keep <= len(mono):
            self._buf = mono[len(mono) - keep :].copy()
        else:
            self._buf = np.concatenate([old[len(old) - (keep - len(mono)) :], mono])


def read_spans(path: Path, spans, measure) -> dict:
    """``measure(mono, key)`` of each stretch ``(key, start, stop)`` that lies within the file, read alone: the
    same samples (channels averaged) as :class:`Windows` takes from the streaming pass."""
    found = {}
    with sf.SoundFile(str(path)) as f:
        for key, a, b in spans:
            if 0 <= a and b <= f.frames:
                f.seek(a)
                found[key] = measure(f.read(b - a, dtype="float64", always_2d=True).mean(axis=1), key)
    return found

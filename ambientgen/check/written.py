"""``check`` of a render's mix fed the blocks as the render writes them: the same report as reading the file back
(its blocks are what the file reads as, to the bit), without reading it, while the writing goes on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from .levels import read_manifest
from .picture import StreamedSpectrogram
from .reading import WRITTEN_EXACTLY, Rechunk, as_read
from .report import Report, StreamingCheck

BLOCK_S = 5  # the check's blocks here, half a file check's: the same report (no analysis depends on the block size;
# tested). Larger blocks cost less CPU per second of audio, smaller ones hold less beside mastering: a cold 10-minute
# render, the length closest to the 600 MB goal, peaked at 598-600 MB with 10 s blocks, 557-566 MB with 5 s and 542 MB
# with 2.5 s; a cold 5-minute render took 10.12 s with 5 s blocks against 10.45 s with 2.5 s (median of four)


class WrittenCheck:
    """A sink for the mix's blocks (``(2, n)`` float32, in order, as they go to a WAV in ``subtype``): each one
    turned into what the file will read back as and fed to a :class:`~ambientgen.check.report.StreamingCheck`, in
    the check's own block size. :meth:`report` judges the written file once its manifest exists."""

    # what it may add to a render's resident memory while fed (measured with 10 s blocks: 75-90 MB in a 5-minute
    # render, most of it what its two analysis threads' heaps keep free between blocks; less with BLOCK_S): mastering
    # holds that much less
    resident_bytes = 96 * 2**20

    def __init__(self, *, sample_rate: int, channels: int, frames: int, subtype: str, seams_s: list[float]):
        self.subtype = subtype
        self.seams_s = list(seams_s)
        self.picture = StreamedSpectrogram(frames, sample_rate)  # the picture's spectrogram, from the same blocks
        self.check = StreamingCheck(sample_rate, channels, frames, seams_s=self.seams_s, block_s=BLOCK_S,
                                    also=self.picture.add)
        self._blocks = Rechunk(self.check.block, self.check.add)
        self._closed = False

    @staticmethod
    def exact(container: str, subtype: str | None) -> bool:
        """Whether a mix written as ``container`` / ``subtype`` can be checked from its blocks (the file reads back
        exactly as :func:`~ambientgen.check.reading.as_read` says): WAV in 16- or 24-bit or float."""
        return container == "WAV" and subtype in WRITTEN_EXACTLY

    def __call__(self, block: np.ndarray) -> None:
        self._blocks.add(as_read(block, self.subtype))

    def close(self, *, quiet: bool = False) -> None:
        """The last block in: wait for the analyses to finish (what one of them raised is raised here, unless
        ``quiet``: the render failed, and that is what is said)."""
        if self._closed:
            return
        self._closed = True
        try:
            try:
                self._blocks.close()
            finally:
                self.check.close()
        except Exception:
            if not quiet:
                raise

    def spectrogram(self) -> tuple | None:
        """The check picture's spectrogram of the written mix (:func:`~ambientgen.check.picture.prepare` takes it),
        once every block is in; None if the blocks were not the whole file."""
        self.close()
        return self.picture.result()

    def report(self, path: str | Path, manifest: dict, preset, *, container: str | None = None) -> Report | None:
        """The report of the written mix at ``path``, judged by ``preset`` against ``manifest`` (None if the manifest
        lists other seams than the ones the blocks were gathered around: then the file is checked by reading it);
        ``container``: the file's, as libsndfile names it (read from ``path`` if not given)."""
        self.close()
        plan = read_manifest(manifest)
        if plan.seams_s != self.seams_s:
            return None
        container = container or sf.info(str(path)).format  # WAV, or RF64 past 4 GB
        return self.check.report(Path(path), container, preset=preset, plan=plan, events_s=plan.events_s)

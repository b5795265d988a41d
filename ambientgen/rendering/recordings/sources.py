"""Recordings as sources: naming them, reading them in pieces, and what their level says about them.

A layer's ``source:`` names files, folders or globs (:func:`expand_source`).
Each file is opened once by :func:`open_source`: its SHA-256 and a level track
(mean power of every :data:`HOP_S` stretch) come from one streaming pass, so a
two-hour file is never held whole; afterwards only the stretches a render uses
are read (:func:`read_stretch`). Every problem a user can cause (a missing file,
a glob that matches nothing, a file that is not audio, a silent file, a rate
under 8 kHz) is one line naming the layer's field and the file.

The level track also says what a recording is: :func:`bed_problem` refuses a
recording that is separate decaying events with silence between (a thunder
recording) as a bed, and :func:`find_events` cuts events out of one long
recording at its onsets.
"""

from __future__ import annotations

import glob
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ...audio.true_peak import CLIP_LEVEL
from ...errors import SceneError

HOP_S = 0.05  # the level track's resolution
MIN_RATE = 8000
CLIP_RUN = 2  # repeated full-scale samples in a row (a flat top of 3) that count as clipping
MAX_MATERIAL_S = 300.0  # of one layer's recordings held in memory (5 min of 48 kHz stereo is 110 MB)
REGION_S = 60.0  # a longer recording is read as stretches this long, spread over it
SILENT_DBFS = -70.0  # a file whose loudest 50 ms is under this is silent
QUIET_DB = 30.0  # a bed's stretch this far under its loud parts (the 90th percentile level) is a silence
MAX_QUIET = 0.15  # a bed quiet for more of its length than this is uneven (its bed is resynthesised)
NO_BED_DBFS = -65.0  # an uneven recording whose floor (10th percentile level) is under this has no bed
EVENT_RISE_DB = 6.0  # an onset: the level rises this much within 100 ms ...
EVENT_OVER_DB = 9.0  # ... to this far over the background (the median of the 10 s around it)
EVENT_MAX_S = 30.0
AUDIO_SUFFIXES = {".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".w64",
                  ".caf", ".au", ".snd"}


def expand_source(entries: list[str], *, where: str) -> list[Path]:
    """The files a ``source:`` names, in order: each entry a file, a folder (its audio files, sorted) or a glob.

    Raises :class:`SceneError` naming ``where`` for a missing file, an empty folder or a glob that matches nothing.
    """
    files: list[Path] = []
    for entry in entries:
        path = Path(entry).expanduser()
        if glob.has_magic(entry):
            found = sorted(Path(p) for p in glob.glob(str(path), recursive=True) if Path(p).is_file())
            if not found:
                raise SceneError(f"{where}: '{entry}' matches no file")
            files += found
        elif path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise SceneError(f"{where}: the folder '{entry}' holds no audio files "
                                 f"({', '.join(sorted(AUDIO_SUFFIXES))})")
            files += found
        elif not path.exists():
            raise SceneError(f"{where}: no such file: {entry}")
        else:
            files.append(path)
    return list(dict.fromkeys(files))


@dataclass
class SourceFile:
    """One recording: what it is (rate, channels, length, SHA-256) and its level track (dBFS per :data:`HOP_S`)."""

    path: Path
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str
    sha256: str
    level_db: np.ndarray
    peak: float
    clipped_runs: int
    first_clip_s: float | None

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    @property
    def hop(self) -> int:
        return max(1, round(HOP_S * self.sample_rate))

    def provenance(self) -> dict[str, Any]:
        """What the manifest records of the file."""
        return {"path": str(self.path), "sha256": self.sha256, "duration_s": round(self.duration_s, 4),
                "sample_rate": self.sample_rate, "channels": self.channels, "format": self.format.lower(),
                "subtype": self.subtype, "peak_dbfs": round(_db(self.peak), 2)}

    def clip_warning(self, layer: str) -> str | None:
        if not self.clipped_runs:
            return None
        return (f"layer '{layer}': {self.path.name} is clipped ({self.clipped_runs} runs of full-scale samples, the "
                f"first at {self.first_clip_s:.2f} s): the distortion plays wherever that stretch is used")


def _db(x: float) -> float:
    return float(20 * np.log10(x)) if x > 0 else float("-inf")


def file_sha256(path: Path, block: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(block):
            digest.update(chunk)
    return digest.hexdigest()


def open_source(path: Path, *, where: str, on_read: Callable[[float, float], None] | None = None) -> SourceFile:
    """Read ``path`` once, streaming: its facts, SHA-256, level track and clipping (``on_read`` gets the seconds
    read so far and the file's length in seconds).

    Raises :class:`SceneError` naming ``where`` when it is not audio soundfile can read, its rate is under 8 kHz,
    it is empty or it is silent.
    """
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception:  # soundfile raises its own LibsndfileError (and RuntimeError on old versions)
        raise SceneError(f"{where}: {path} is not an audio file soundfile can read (WAV, FLAC, Ogg, Opus, MP3, "
                         "AIFF)") from None
    if info.samplerate < MIN_RATE:
        raise SceneError(f"{where}: {path.name} has a sample rate of {info.samplerate} Hz; recordings need at least "
                         f"{MIN_RATE} Hz")
    hop = max(1, round(HOP_S * info.samplerate))
    powers: list[np.ndarray] = []
    peak, runs, first_clip, done = 0.0, 0, None, 0
    rest = np.zeros((0, info.channels), dtype=np.float32)
    try:
        with sf.SoundFile(str(path)) as fh:
            for block in fh.blocks(blocksize=hop * 400, dtype="float32", always_2d=True):
                if not len(block):
                    continue
                peak = max(peak, float(np.max(np.abs(block))))
                # clipped: a flat top at full scale (a float file's samples over 1.0 that still move are only hot)
                flat = np.zeros(len(block), dtype=bool)
                flat[1:] = np.any((np.abs(block[1:]) >= CLIP_LEVEL) & (np.abs(np.diff(block, axis=0)) < 1e-6), axis=1)
                full = flat.astype(np.int8)
                if full.any():
                    edges = np.flatnonzero(np.diff(np.concatenate([[0], full, [0]])))
                    long = [(a, b) for a, b in zip(edges[::2], edges[1::2]) if b - a >= CLIP_RUN]
                    runs += len(long)
                    if long and first_clip is None:
                        first_clip = (done + long[0][0]) / info.samplerate
                data = np.concatenate([rest, block]) if len(rest) else block
                n = len(data) // hop
                powers.append(np.mean(np.square(data[: n * hop], dtype=np.float64).reshape(n, hop, -1), axis=(1, 2)))
                rest = data[n * hop :]
                done += len(block)
                if on_read:
                    on_read(done / info.samplerate, info.frames / info.samplerate)
    except Exception as exc:  # a damaged file fails part-way
        raise SceneError(f"{where}: {path.name} cannot be read to the end ({exc})") from None
    if len(rest):
        powers.append(np.array([np.mean(np.square(rest, dtype=np.float64))]))
    if not done:
        raise SceneError(f"{where}: {path.name} holds no audio (0 samples)")
    level = 10 * np.log10(np.concatenate(powers) + 1e-14)
    if level.max() < SILENT_DBFS:
        raise SceneError(f"{where}: {path.name} is silent (its loudest moment is {level.max():.0f} dBFS)")
    return SourceFile(path, info.samplerate, info.channels, done, info.format, info.subtype, file_sha256(path),
                      level.astype(np.float32), peak, runs, first_clip)


def read_stretch(src: SourceFile, start: int, stop: int) -> np.ndarray:
    """Frames ``[start, stop)`` of a recording as float32 ``(channels, n)``: mono stays mono, stereo stays stereo,
    more channels are folded to two (odd channels left, even right)."""
    import soundfile as sf

    data, _ = sf.read(str(src.path), start=start, stop=stop, dtype="float32", always_2d=True)
    audio = data.T
    if audio.shape[0] > 2:
        audio = np.stack([audio[0::2].mean(axis=0), audio[1::2].mean(axis=0)])
    return np.ascontiguousarray(audio)


def _quiet_share(src: SourceFile) -> tuple[float, float]:
    """The share of ``src`` (0.5 s level) :data:`QUIET_DB` or more under its loud parts (90th percentile), and its
    floor (the 10th percentile level, dBFS)."""
    smooth = _smoothed(src.level_db, max(1, round(0.5 / HOP_S)))
    return float(np.mean(smooth < np.percentile(smooth, 90) - QUIET_DB)), float(np.percentile(smooth, 10))


def is_uneven(src: SourceFile) -> bool:
    """Whether more than :data:`MAX_QUIET` of ``src`` is quiet stretches (lulls, swells): a bed rebuilt from it
    by texture resynthesis fills them from its floor, where excerpts would carry them into the loop."""
    return _quiet_share(src)[0] > MAX_QUIET


def held_regions(files: list[SourceFile]) -> list[tuple[int, int, int]]:
    """(file, start frame, stop frame) of what a layer holds of its recordings: whole files within
    :data:`MAX_MATERIAL_S`, else stretches of :data:`REGION_S` spread evenly over each file, in proportion to its
    length."""
    total = sum(f.duration_s for f in files)
    if total <= MAX_MATERIAL_S:
        return [(k, 0, f.frames) for k, f in enumerate(files)]
    out = []
    for k, f in enumerate(files):
        share = MAX_MATERIAL_S * f.duration_s / total
        count = max(1, round(share / REGION_S))
        size = min(f.frames, round(min(REGION_S, share) * f.sample_rate))
        for j in range(count):
            start = round((f.frames - size) * (j + 0.5) / count) if count > 1 else (f.frames - size) // 2
            out.append((k, start, start + size))
    return out


def read_at(src: SourceFile, start: int, stop: int, sample_rate: int) -> np.ndarray:
    """Frames ``[start, stop)`` of a recording (:func:`read_stretch`) at ``sample_rate``, its DC offset removed."""
    from ..layers import to_output_rate

    audio = read_stretch(src, start, stop)
    return to_output_rate(audio, src.sample_rate, sample_rate, audio.shape[-1] / src.sample_rate, loop=False)


def bed_problem(src: SourceFile, *, min_s: float) -> str | None:
    """Why ``src`` cannot be a bed, or None: shorter than ``min_s`` (two crossfades), or separate sounds with
    silence between (more than :data:`MAX_QUIET` of it quiet, and its floor under :data:`NO_BED_DBFS`: there
    is no bed to continue). A recording with lulls over a floor is a bed (resynthesised from its floor)."""
    if src.duration_s < min_s:
        return (f"{src.path.name} is {src.duration_s:.2f} s long; a bed needs at least {min_s:g} s "
                "(two crossfades of model.overlap_s)")
    quiet, floor = _quiet_share(src)
    if quiet > MAX_QUIET and floor < NO_BED_DBFS:
        return (f"{src.path.name} is separate sounds with silence between ({quiet:.0%} of it is silence, its floor "
                f"{floor:.0f} dBFS), with no bed to continue: use it as role: events")
    return None


def _smoothed(level_db: np.ndarray, n: int) -> np.ndarray:
    """The level track averaged (in power) over ``n`` hops."""
    from scipy.ndimage import uniform_filter1d

    return 10 * np.log10(uniform_filter1d(10 ** (level_db.astype(np.float64) / 10), size=n, mode="nearest") + 1e-14)


def find_events(src: SourceFile, *, limit: int) -> list[tuple[int, int]]:
    """The ``limit`` strongest events of one long recording as ``(start, stop)`` frames, in time order.

    An event starts 100 ms before an onset (the level rises :data:`EVENT_RISE_DB`
    within 100 ms to :data:`EVENT_OVER_DB` over the median of the 10 s around it)
    and ends when it has decayed: back within 3 dB of the quiet floor around it (the
    10th percentile of the 30 s around it), or 35 dB under its own peak, for 300 ms
    (at most :data:`EVENT_MAX_S`), or where a new onset comes after it has died down (0.5 s level within 6 dB of that floor or 24 dB under
    its peak). A recording that
    starts in the middle of a sound has no onset there.
    """
    from scipy.ndimage import median_filter, percentile_filter

    level = src.level_db.astype(np.float64)
    n = len(level)
    background = median_filter(level, size=max(3, round(10.0 / HOP_S)), mode="nearest")
    smooth = _smoothed(level, max(1, round(0.5 / HOP_S)))
    quiet = percentile_filter(smooth[:: 5], 10,
                              size=max(3, round(30.0 / HOP_S / 5)), mode="nearest")
    quiet = np.repeat(quiet, 5)[:n]
    rise = np.full(n, -np.inf)
    rise[2:] = level[2:] - np.minimum(level[:-2], level[1:-1])
    onsets = np.flatnonzero((rise >= EVENT_RISE_DB) & (level - background >= EVENT_OVER_DB))
    hold, cap = max(1, round(0.3 / HOP_S)), round(EVENT_MAX_S / HOP_S)
    found, busy_until = [], -1
    for i in onsets:
        if i < busy_until:
            continue
        peak_at = i + int(np.argmax(level[i : i + round(1.0 / HOP_S)]))
        floor = max(quiet[i] + 3.0, level[peak_at] - 35.0)
        end, below = min(n, i + cap), 0
        for j in range(peak_at, min(n, i + cap)):
            below = below + 1 if level[j] <= floor else 0
            if below >= hold:
                end = j + 1
                break
        for j in onsets[(onsets > peak_at) & (onsets < end)]:  # a new sound after this one has died down
            if smooth[peak_at:j].min() <= max(quiet[i] + 6.0, smooth[peak_at] - 24.0):
                end = int(j) - 2
                break
        found.append((float(level[peak_at] - background[i]), max(0, i - 2), end))
        busy_until = end
    strongest = sorted(found, reverse=True)[:limit]
    hop = src.hop
    return [(a * hop, min(src.frames, b * hop)) for _, a, b in sorted(strongest, key=lambda e: e[1])]

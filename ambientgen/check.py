"""``ambientgen check``: is this file clean, on target and loopable? One streaming pass, bounded memory.

The file is read block by block once. That pass feeds the loudness meter
(integrated, short-term, range), the sample and 4x-oversampled true peak,
clipping, DC offset and silent-gap detectors, and a compact feature track
(log-band fluctuations every 25 ms) used to find repetition. Seams (from a
manifest), the loop point and a few hundred ordinary moments are then scored
with :mod:`ambientgen.analysis` from short segments read by seeking. A verdict
is given for a delivery preset.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
from scipy.ndimage import uniform_filter1d

from .analysis import SIDE_S, discontinuity, percentile_rank, prepare
from .bands import band_db, hz_bin_edges
from .errors import AmbientgenError
from .loudness import oversampled_abs_peaks
from .meter import LoudnessMeter
from .mix import gain_to_db


@dataclass(frozen=True)
class Preset:
    name: str
    target_lufs: float | None
    tolerance_lu: float
    true_peak_max_dbtp: float
    loop: bool = True


PRESETS = {
    "ebu-r128": Preset("ebu-r128", -23.0, 1.0, -1.0),
    "atsc-a85": Preset("atsc-a85", -24.0, 2.0, -2.0),
    "streaming": Preset("streaming", -14.0, 1.0, -1.0),
    "podcast": Preset("podcast", -16.0, 1.0, -1.0),
    "sleep": Preset("sleep", -27.0, 2.0, -1.0),
    "game-loop": Preset("game-loop", None, 0.0, -1.0),
    "quality": Preset("quality", None, 0.0, 0.0, loop=False),  # clipping, gaps, DC and repetition only
}
FEATURE_HOP_S = 0.025
REPEAT_MIN_S = 5.0
REPEAT_WITHIN_S = 60.0
GAP_MIN_S = 0.02
GAP_DBFS = -60.0
CLIP_LEVEL = 0.999
LEVEL_S = 1.0  # level jumps are judged over 1 s either side (shorter windows see every bird call as a jump)


@dataclass
class Report:
    path: str
    preset: str
    sample_rate: int
    channels: int
    duration_s: float
    integrated_lufs: float
    loudness_range_lu: float
    sample_peak_dbfs: float
    true_peak_dbtp: float
    clipped_samples: int
    dc_offset: list[float]
    gaps_s: list[list[float]]
    loop: dict[str, Any] | None
    seams: list[dict[str, Any]]
    repetition: dict[str, Any] | None
    short_term_lufs: list[float] = field(repr=False)
    failures: list[str] = field(default_factory=list)
    seams_source: str = "manifest"  # or "detected" (no manifest given: splice points found by detect_seams)

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["verdicts"] = {name: not verdict(self, p) for name, p in PRESETS.items()}
        return data


class _Pass:
    """Everything gathered in the one streaming pass."""

    def __init__(self, sample_rate: int, channels: int):
        self.sr, self.channels = sample_rate, channels
        self.meter = LoudnessMeter(sample_rate, channels)
        self.peak = 0.0
        self.true_peak = 0.0
        self.clipped = 0
        self.sums = np.zeros(channels)
        self.n = 0
        self.hop = max(1, round(FEATURE_HOP_S * sample_rate))
        self.n_fft = 1 << max(6, int(math.log2(2 * self.hop)))
        self.edges = hz_bin_edges(self.n_fft, sample_rate, 32)
        self.features: list[np.ndarray] = []
        self.frame_db: list[np.ndarray] = []
        self.tail = np.zeros(0)

    def add(self, block: np.ndarray) -> None:  # block: (channels, samples)
        self.meter.add(block)
        self.peak = max(self.peak, float(np.max(np.abs(block))) if block.size else 0.0)
        self.true_peak = max(self.true_peak, float(oversampled_abs_peaks(block).max()) if block.size else 0.0)
        self.clipped += int(np.sum(np.abs(block) >= CLIP_LEVEL))
        self.sums += block.sum(axis=1)
        self.n += block.shape[1]
        mono = np.concatenate([self.tail, block.mean(axis=0)])
        frames = (len(mono) - self.n_fft) // self.hop + 1 if len(mono) >= self.n_fft else 0
        if frames > 0:
            idx = np.arange(self.n_fft)[None, :] + self.hop * np.arange(frames)[:, None]
            seg = mono[idx]
            self.features.append(band_db(seg, self.edges).astype(np.float32))
            rms = np.sqrt(np.mean(mono[idx[:, : self.hop]] ** 2, axis=1))
            self.frame_db.append(20 * np.log10(rms + 1e-12))
            self.tail = mono[frames * self.hop :]
        else:
            self.tail = mono


def _gaps(frame_db: np.ndarray, hop_s: float) -> list[list[float]]:
    """Stretches of at least GAP_MIN_S under GAP_DBFS and 40 dB under the median level."""
    if not len(frame_db):
        return []
    quiet = (frame_db < GAP_DBFS) & (frame_db < np.median(frame_db) - 40)
    gaps, start = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if (i - start) * hop_s >= GAP_MIN_S:
                gaps.append([round(start * hop_s, 3), round(i * hop_s, 3)])
            start = None
    return gaps


def find_repetition(features: np.ndarray, hop_s: float, *, min_s: float = REPEAT_MIN_S,
                    within_s: float = REPEAT_WITHIN_S, threshold: float = 0.8) -> dict[str, Any] | None:
    """The longest stretch that recurs within ``within_s`` of itself (None if none reaches ``min_s``).

    Log-band energies minus their 1 s moving average are the texture's fine
    detail: random in a natural recording, identical where a stretch repeats.
    Along each lag, the correlation of those details, smoothed over 0.5 s, is
    high exactly where a copy sits.
    """
    n = len(features)
    if n < 2 * int(min_s / hop_s):
        return None
    detail = features - uniform_filter1d(features, size=max(3, int(1.0 / hop_s)), axis=0)
    detail -= detail.mean(axis=1, keepdims=True)
    detail /= np.linalg.norm(detail, axis=1, keepdims=True) + 1e-9
    best = None
    smooth = max(1, int(0.5 / hop_s))
    for lag in range(int(min_s / hop_s), min(n, int(within_s / hop_s) + 1)):
        corr = np.einsum("ij,ij->i", detail[:-lag], detail[lag:])
        hits = uniform_filter1d(corr, size=smooth) > threshold
        if not hits.any():
            continue
        edges = np.flatnonzero(np.diff(np.concatenate([[0], hits.astype(np.int8), [0]])))
        starts, ends = edges[::2], edges[1::2]
        k = int(np.argmax(ends - starts))
        length = (ends[k] - starts[k]) * hop_s
        if length >= min_s and (best is None or length > best["length_s"]):
            best = {"length_s": round(length, 2), "first_s": round(starts[k] * hop_s, 2),
                    "again_s": round((starts[k] + lag) * hop_s, 2), "lag_s": round(lag * hop_s, 2)}
    return best


DETECT_SIDE_S = 1.0  # seam detection compares the 1 s before each moment with the 1 s after it
DETECT_CONTRAST = 1.5  # within-side standard deviations a band must move, on average (clean recordings: <= 1.2)


def detect_seams(features: np.ndarray, hop_s: float, *, max_seams: int = 20, min_gap_s: float = 2.0,
                 contrast: float = DETECT_CONTRAST) -> list[float]:
    """Times (s) where the file looks spliced: a steady texture before, a different steady texture after.

    For every frame, each of the 32 log bands is compared between the second
    before and the second after: the difference of the means in units of the
    pooled within-side standard deviation (a t-like contrast), averaged over
    bands. A splice between two different recordings (or the same one at
    another level) moves every band at once between two steady sides; a natural
    onset (a thunderclap, a bird) moves some bands and leaves a decaying, unsteady
    side, so its contrast stays lower. Local maxima over ``contrast``, at least
    ``min_gap_s`` apart, strongest first.
    """
    w = max(2, int(round(DETECT_SIDE_S / hop_s)))
    n = len(features)
    if n < 2 * w + 1:
        return []
    x = features.astype(np.float64)
    c1 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x, axis=0)])
    c2 = np.concatenate([np.zeros((1, x.shape[1])), np.cumsum(x**2, axis=0)])
    i = np.arange(w, n - w + 1)
    mean_b, mean_a = (c1[i] - c1[i - w]) / w, (c1[i + w] - c1[i]) / w
    var_b = np.maximum((c2[i] - c2[i - w]) / w - mean_b**2, 0.0)
    var_a = np.maximum((c2[i + w] - c2[i]) / w - mean_a**2, 0.0)
    t = np.abs(mean_a - mean_b) / np.sqrt((var_a + var_b) / 2 + 0.25)  # 0.25 dB^2 floor: silence is not steady
    score = t.mean(axis=1)
    order = np.argsort(score)[::-1]
    found: list[int] = []
    gap = int(round(min_gap_s / hop_s))
    for k in order:
        if score[k] < contrast or len(found) >= max_seams:
            break
        if all(abs(k - f) >= gap for f in found):
            found.append(int(k))
    return sorted(round(float(i[k]) * hop_s, 3) for k in found)


def _read(f: sf.SoundFile, start: int, frames: int) -> np.ndarray:
    f.seek(max(0, start))
    return f.read(frames, dtype="float64", always_2d=True).mean(axis=1)


def _level_change(seg: np.ndarray, half: int) -> float:
    before, after = seg[:half], seg[half:]
    return 10 * math.log10((np.mean(after**2) + 1e-20) / (np.mean(before**2) + 1e-20))


def _score_positions(path: Path, positions: list[int], *, ordinary: int, seed: int = 0) -> dict[str, Any]:
    """Discontinuity scores and 1 s level changes at ``positions``, the wrap, and random ordinary moments."""
    with sf.SoundFile(str(path)) as f:
        sr, n = f.samplerate, f.frames
        side = round(SIDE_S * sr) + 2
        half = min(round(LEVEL_S * sr), n // 2)
        rng = np.random.default_rng(seed)
        normal = rng.integers(half, max(half + 1, n - half), size=ordinary)
        scores, levels = [], []
        for pos in list(positions) + normal.tolist():
            seg = _read(f, pos - side, 2 * side)
            scores.append(discontinuity(prepare(seg, sr), side) if len(seg) == 2 * side else float("nan"))
        for pos in normal.tolist():
            levels.append(abs(_level_change(_read(f, pos - half, 2 * half), half)))
        wrapped = np.concatenate([_read(f, n - side, side), _read(f, 0, side)])
        wrap = discontinuity(prepare(wrapped, sr), side) if len(wrapped) == 2 * side else float("nan")
        wrap_level = _level_change(np.concatenate([_read(f, n - half, half), _read(f, 0, half)]), half)
    return {"seams": scores[: len(positions)], "ordinary": [s for s in scores[len(positions) :] if not math.isnan(s)],
            "ordinary_levels": levels, "wrap": wrap, "wrapped": wrapped, "side": side, "wrap_level": wrap_level}


def scene_preset(target_lufs: float, ceiling_dbtp: float, *, loop: bool) -> Preset:
    """The preset a render is judged by: its own loudness target (±1 LU) and true-peak ceiling."""
    return Preset("scene", target_lufs, 1.0, ceiling_dbtp, loop)


def check_file(path: str | Path, *, preset: str | Preset = "ebu-r128", seams_s: list[float] | None = None,
               block_s: float = 10.0) -> Report:
    """Analyse an audio file; ``seams_s`` (e.g. from a manifest) are scored as seams.

    Without ``seams_s`` (None), splice points are detected (:func:`detect_seams`)
    and scored the same way; they are reported, not failed on.
    """
    path = Path(path)
    if isinstance(preset, str) and preset not in PRESETS:
        raise AmbientgenError(f"--preset: must be one of {', '.join(PRESETS)}, got {preset!r}")
    if not path.is_file():
        raise AmbientgenError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        raise AmbientgenError(f"{path}: not an audio file soundfile can read (WAV, FLAC, Ogg, MP3)") from None
    sr, channels = info.samplerate, info.channels
    gathered = _Pass(sr, channels)
    for block in sf.blocks(str(path), blocksize=max(1, round(block_s * sr)), dtype="float64", always_2d=True):
        gathered.add(block.T)
    if gathered.n == 0:
        raise AmbientgenError(f"{path}: the file holds no audio")
    hop_s = gathered.hop / sr
    features = np.concatenate(gathered.features) if gathered.features else np.zeros((0, 1), dtype=np.float32)
    frame_db = np.concatenate(gathered.frame_db) if gathered.frame_db else np.zeros(0)
    p = PRESETS[preset] if isinstance(preset, str) else preset
    detected = seams_s is None  # no manifest: look for splices ourselves
    if detected:
        seams_s = detect_seams(features, hop_s)
    seam_positions = [round(t * sr) for t in (seams_s or []) if 0 < t < gathered.n / sr]
    scored = _score_positions(path, seam_positions, ordinary=300)
    ordinary = scored["ordinary"]
    seams = [{"time_s": round(pos / sr, 3), "score": round(s, 2), "rank": round(percentile_rank(s, ordinary), 3),
              "source": "detected" if detected else "manifest"}
             for pos, s in zip(seam_positions, scored["seams"]) if not math.isnan(s)]
    loop = None
    if p.loop and not math.isnan(scored["wrap"]):
        from .analysis import NOISE_PEAK_DB, _click_db

        side, wrapped = scored["side"], scored["wrapped"]
        click = _click_db(wrapped[:side], wrapped[: side + 49], side, max(2, round(0.001 * sr))) - NOISE_PEAK_DB
        level = scored["wrap_level"]
        loop = {"score": round(scored["wrap"], 2), "rank": round(percentile_rank(scored["wrap"], ordinary), 3),
                "level_jump_db": round(level, 2),
                "level_jump_rank": round(percentile_rank(abs(level), scored["ordinary_levels"]), 3),
                "click_db": round(max(0.0, click), 1)}
    report = Report(
        path=str(path), preset=p.name, sample_rate=sr, channels=channels, duration_s=gathered.n / sr,
        integrated_lufs=round(gathered.meter.integrated_lufs, 2), loudness_range_lu=round(gathered.meter.loudness_range_lu, 2),
        sample_peak_dbfs=round(gain_to_db(gathered.peak), 2), true_peak_dbtp=round(gain_to_db(gathered.true_peak), 2),
        clipped_samples=gathered.clipped, dc_offset=[round(float(v), 6) for v in gathered.sums / gathered.n],
        gaps_s=_gaps(frame_db, hop_s), loop=loop, seams=seams,
        repetition=find_repetition(features, hop_s),
        short_term_lufs=[round(float(v), 2) for v in gathered.meter.short_term_lufs()[::10]],
    )
    report.seams_source = "detected" if detected else "manifest"
    report.failures = verdict(report, p)
    return report


def verdict(r: Report, p: Preset) -> list[str]:
    """Reasons the file fails the preset (empty: it passes)."""
    out = []
    if p.target_lufs is not None and not abs(r.integrated_lufs - p.target_lufs) <= p.tolerance_lu:
        out.append(f"loudness {r.integrated_lufs:.1f} LUFS is outside {p.target_lufs:g} ± {p.tolerance_lu:g} LU")
    if p.true_peak_max_dbtp < 0 and r.true_peak_dbtp > p.true_peak_max_dbtp:
        out.append(f"true peak {r.true_peak_dbtp:.1f} dBTP is above {p.true_peak_max_dbtp:g} dBTP")
    if r.clipped_samples:
        out.append(f"{r.clipped_samples} clipped samples (|x| >= {CLIP_LEVEL})")
    if any(abs(v) > 0.01 for v in r.dc_offset):
        out.append(f"DC offset {max(r.dc_offset, key=abs):+.3f}")
    if r.gaps_s:
        out.append(f"{len(r.gaps_s)} silent gap(s), first at {r.gaps_s[0][0]:.2f} s")
    if r.repetition:
        rep = r.repetition
        out.append(f"a {rep['length_s']:.1f} s stretch at {rep['first_s']:.1f} s recurs at {rep['again_s']:.1f} s")
    if r.loop is not None:
        if r.loop["click_db"] > 6:
            out.append(f"click at the loop point ({r.loop['click_db']:.0f} dB over ordinary peaks)")
        jump = abs(r.loop["level_jump_db"]) > 2 and r.loop["level_jump_rank"] > 0.95
        if jump:
            out.append(f"level jump of {r.loop['level_jump_db']:+.1f} dB at the loop point")
        if r.loop["rank"] > 0.99 and not (r.loop["click_db"] > 6 or jump):
            out.append(f"the loop point stands out (rank {r.loop['rank']:.2f} among ordinary moments)")
    return out

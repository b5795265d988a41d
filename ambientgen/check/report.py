"""``ambientgen check``: is this file clean, on target and loopable? One streaming pass, bounded memory.

The file is read block by block, in order (never by seeking: libsndfile's
seeks in Ogg Vorbis and MP3 are inexact). That pass feeds the loudness meter
(integrated, short-term, range), the sample and 4x-oversampled true peak,
clipping, DC offset and silent-gap detectors, the band track of
:class:`~ambientgen.audio.bands.BandTrack` (32 log bands every 25 ms: repetition,
splice detection and the seam measure's texture/level components), and keeps
the short segments the seam measure's click component needs around the seams,
the loop point and a few hundred ordinary moments. Seams (from a manifest, or
detected) and the loop point are ranked among those ordinary moments by the
one seam measure of :mod:`ambientgen.audio.seams`. A verdict is given for a
delivery preset.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf

from ..audio.bands import BandTrack
from ..audio.clicks import MAX_CLICKS, ClickFinder
from ..audio.loudness import LoudnessMeter
from ..audio.placement import gain_to_db
from ..audio.repetition import REPEAT_FRAME_HOPS, REPEAT_MIN_S, REPEAT_WITHIN_S, RepetitionFinder
from ..audio.seams import (
    APART_S,
    CLICK_SIDE_S,
    KEEP_AWAY_S,
    SCALES_S,
    SEARCH_S,
    Curves,
    CurveStream,
    Ranker,
    click_db,
    ordinary_positions,
    percentile_rank,
    wrap_length,
)
from ..audio.true_peak import CLIP_LEVEL, TruePeakMeter
from ..errors import AmbientgenError, UsageError
from ..progress import ProgressEvent, ProgressFn
from ..runtime import Worker, own_threads, steady_memory
from .levels import gaps, level_jumps, outside, read_manifest, unplanned
from .reading import Windows, blocks_ahead, channel_mean, read_spans
from .splices import DETECT_CONTRAST, DETECT_GAP_S, DETECT_MAX, DETECT_SIDE_S, pick_seams


@dataclass(frozen=True)
class Preset:
    name: str
    target_lufs: float | None
    tolerance_lu: float
    true_peak_max_dbtp: float
    loop: bool = True
    fades: tuple[float, float] = (0.0, 0.0)  # shares of the file at its start and end that may fade from/to silence


PRESETS = {
    "ebu-r128": Preset("ebu-r128", -23.0, 1.0, -1.0),
    "atsc-a85": Preset("atsc-a85", -24.0, 2.0, -2.0),
    "streaming": Preset("streaming", -14.0, 1.0, -1.0),
    "podcast": Preset("podcast", -16.0, 1.0, -1.0),
    # render --preset sleep: faded in (at most 2 %) and out (at most 10 %), so no loop
    "sleep": Preset("sleep", -27.0, 2.0, -1.0, loop=False, fades=(0.02, 0.10)),
    "game-loop": Preset("game-loop", None, 0.0, -1.0),
    "quality": Preset("quality", None, 0.0, 0.0, loop=False),  # clipping, gaps, DC and repetition only
}
FEATURE_HOP_S = 0.025
MAX_CLIP_RUNS = 100


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
    seams_source: str = "manifest"  # or "detected" (no manifest: splices found, ambientgen.check.splices)
    unexplained_splices_s: list[float] = field(default_factory=list)  # detected, but no listed seam or event
    container: str = ""  # libsndfile's major format: WAV, FLAC, OGG, MP3 ...
    clipping_s: list[list[float]] = field(default_factory=list)  # [start, end] of clipped runs (first 100)
    clicks_s: list[float] = field(default_factory=list)  # times of clicks anywhere in the file (first 100)
    level_jumps: list[dict[str, float]] = field(default_factory=list)  # sudden 1 s level changes (see level_jumps)
    level_jumps_judged: bool = False  # True with a manifest: the jumps listed are the unplanned ones, and fail

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["passed"] = self.passed
        data["verdicts"] = {name: not verdict(self, p) for name, p in PRESETS.items()}
        return data


def _clicks(positions, side: int, sample_rate: int) -> Windows:
    """The click measure of ``[p - side, p + side)`` at each position ``p``."""
    return Windows([(p, p - side, p + side) for p in set(positions)], lambda x, _: click_db(x, sample_rate))


class _Pass:
    """Everything gathered in the one streaming pass."""

    def __init__(self, sample_rate: int, channels: int, *, positions=(), edge: int = 0, also=None):
        self.sr, self.channels = sample_rate, channels
        self.meter = LoudnessMeter(sample_rate, channels)
        self.peak = 0.0
        self.true_peak = TruePeakMeter()  # only stretches that could raise it are oversampled
        self.clipped = 0
        self.clip_runs: list[list[int]] = []  # [start, end) samples of runs of clipping (the first MAX_CLIP_RUNS)
        self.sums = np.zeros(channels)
        self.n = 0
        self.track = BandTrack(sample_rate)  # drained into the curves as it goes
        hop_s = self.track.hop / sample_rate
        w = max(2, int(round(DETECT_SIDE_S / hop_s)))
        self.curves = CurveStream(self.track.hop, self.track.n_fft, sample_rate, positions, contrast_frames=w,
                                  contrast_min=DETECT_CONTRAST, keep=DETECT_MAX * 2 * int(round(DETECT_GAP_S / hop_s)) + 1)
        self.repeat_track = BandTrack(sample_rate, frame_hops=REPEAT_FRAME_HOPS)  # drained into the finder
        self.repetition = RepetitionFinder(self.repeat_track.hop / sample_rate, min_s=REPEAT_MIN_S,
                                           within_s=REPEAT_WITHIN_S)
        self.hop = self.track.hop
        self.levels: list[np.ndarray] = []  # RMS (dBFS, float32: 0.6 MB an hour) of hop-long stretches: gaps
        self._level_tail = np.zeros(0)
        self.segments = _clicks(positions, round(CLICK_SIDE_S * sample_rate), sample_rate)
        self.also = also  # also(mono, start) for each block of the mono mix, in the clicks' thread
        self.clicks = ClickFinder()
        self.edge = edge  # samples kept from the start and the end: the loop point
        self.head = np.zeros(0)
        self._ends: list[np.ndarray] = []
        self._spectra = Worker(depth=3, name="check-spectra")
        self._clicks = Worker(depth=3, name="check-clicks")

    def add(self, block: np.ndarray) -> None:  # block: (channels, samples), float32 or float64
        """One block of the file. The analyses of the mono mix run in two more threads, each a few blocks behind
        this one at its own pace: the band tracks (seams, splices, repetition) in one, clicks in the other; this
        one meters, peaks and levels the block (numpy and scipy release the GIL in their loops). Each analysis
        still sees every block in order, so the report equals a single-threaded pass. The mono mix and every sum
        are taken in double precision (a float32 block of 16- or 24-bit audio holds its samples exactly)."""
        mono = channel_mean(block)
        self._spectra.submit([(self._add_spectra, mono)])
        self._clicks.submit([(self._add_clicks, mono, self.n)])
        self._add_main(block, mono)
        self.n += block.shape[1]

    def _add_spectra(self, mono: np.ndarray) -> None:
        mono = mono.astype(np.float32)  # what both band tracks take (once, not once each)
        self.track.add(mono)
        self.curves.add(self.track.drain())
        self.repeat_track.add(mono)
        self.repetition.add(self.repeat_track.drain())

    def _add_clicks(self, mono: np.ndarray, at: int) -> None:
        self.clicks.add(mono)
        self.segments.add(mono, at)
        if self.also is not None:
            self.also(mono, at)

    def _add_main(self, block: np.ndarray, mono: np.ndarray) -> None:
        self.meter.add(block)
        level = np.abs(block).max(axis=0)  # per sample, over the channels
        self.peak = max(self.peak, float(level.max()) if block.size else 0.0)
        self.true_peak.add(block, level)
        hot = np.flatnonzero(level >= CLIP_LEVEL)
        self.clipped += int(np.count_nonzero(np.abs(block[:, hot]) >= CLIP_LEVEL)) if len(hot) else 0
        if len(hot) and len(self.clip_runs) < MAX_CLIP_RUNS:
            breaks = np.flatnonzero(np.diff(hot) > round(0.01 * self.sr))  # runs: clipped samples 10 ms apart
            for a, b in zip(np.concatenate([[0], breaks + 1]), np.concatenate([breaks, [len(hot) - 1]])):
                start, end = self.n + int(hot[a]), self.n + int(hot[b]) + 1
                if self.clip_runs and start - self.clip_runs[-1][1] <= round(0.01 * self.sr):
                    self.clip_runs[-1][1] = end
                elif len(self.clip_runs) < MAX_CLIP_RUNS:
                    self.clip_runs.append([start, end])
        self.sums += block.sum(axis=1, dtype=np.float64)
        x = np.concatenate([self._level_tail, mono]) if len(self._level_tail) else mono  # no copy of a whole block
        k = len(x) // self.hop
        if k:
            rms = np.sqrt(np.mean(x[: k * self.hop].reshape(k, self.hop) ** 2, axis=1))
            self.levels.append((20 * np.log10(rms + 1e-12)).astype(np.float32))
        self._level_tail = x[k * self.hop :].copy()  # a few samples, not a view that keeps the block
        if len(self.head) < self.edge:
            self.head = np.concatenate([self.head, mono[: self.edge - len(self.head)]])
        if self.edge:  # the last blocks that hold the last edge samples
            self._ends.append(mono)
            while len(self._ends) > 1 and sum(map(len, self._ends)) - len(self._ends[0]) >= self.edge:
                self._ends.pop(0)

    @property
    def end(self) -> np.ndarray:
        """The last :attr:`edge` samples of the mono mix so far."""
        return np.concatenate(self._ends)[-self.edge :] if self._ends else np.zeros(0)

    def close(self) -> None:
        """Wait for the mono analyses to finish every block (raising what one of them raised)."""
        try:
            self._spectra.close()
        finally:
            self._clicks.close()


def scene_preset(target_lufs: float, ceiling_dbtp: float, *, loop: bool) -> Preset:
    """The preset a render is judged by: its own loudness target (±1 LU) and true-peak ceiling."""
    return Preset("scene", target_lufs, 1.0, ceiling_dbtp, loop)


def _second_pass(path: Path, positions: list[int], side: int, sample_rate: int):
    """Around ``positions`` (splices detected after the first pass): their click measure, and their components and
    level step from the band track rebuilt over a few seconds around each (framed as the whole file's track, so the
    values are the first pass's). Only those stretches are read (a seek each), not the file again. Returns
    (clicks, values, levels) by position."""
    track = BandTrack(sample_rate)
    probe = CurveStream(track.hop, track.n_fft, sample_rate)
    reach = probe.context + 2  # frames either side of a boundary its values read (and a spare)

    def local(x: np.ndarray, key):
        start, q = key
        stream = CurveStream(track.hop, track.n_fft, sample_rate, [q - start])
        stream.add(BandTrack.of(x, sample_rate).features())
        stream.finish()
        return stream.values.get(q - start), stream.levels.get(q - start)

    spans = []
    for q in positions:
        i = probe.index(q)
        start = max(0, i - reach) * track.hop
        spans.append(((start, q), start, (i + reach) * track.hop + track.n_fft))
    clicks = read_spans(path, [(p, p - side, p + side) for p in set(positions)], lambda x, _: click_db(x, sample_rate))
    found = {key[1]: v for key, v in read_spans(path, spans, local).items()}
    return clicks, {q: v[0] for q, v in found.items() if v[0] is not None}, \
        {q: v[1] for q, v in found.items() if v[1] is not None}


def check_file(path: str | Path, *, preset: str | Preset = "ebu-r128", seams_s: list[float] | None = None,
               events_s: list[float] = (), manifest: str | Path | dict[str, Any] | None = None,
               block_s: float = 10.0, on_progress: ProgressFn | None = None) -> Report:
    """Analyse an audio file; ``seams_s`` (or a render's ``manifest``'s seams) are ranked as seams.

    With a manifest, silence inside the render's own fades (a fade-in, a sleep timer's fade-out) is intended and
    not reported as a gap. Without seams (None, no manifest), splice points are detected
    (:func:`ambientgen.check.splices.detect_seams`) and ranked the same way; they are reported, not
    failed on. With them, detected splices that no listed seam (nor an event
    onset in ``events_s`` or the manifest) explains are reported as
    ``unexplained_splices_s``. ``on_progress`` receives ``check`` events in
    seconds of audio read.
    """
    steady_memory()
    with own_threads():
        return _check_file(path, preset=preset, seams_s=seams_s, events_s=events_s,
                           manifest=read_manifest(manifest) if manifest is not None else None, block_s=block_s,
                           on_progress=on_progress)


def _check_file(path, *, preset, seams_s, events_s, manifest, block_s, on_progress) -> Report:
    plan = manifest
    if plan is not None:
        seams_s = plan.seams_s if seams_s is None else seams_s
        events_s = list(events_s) + plan.events_s
    path = Path(path)
    if isinstance(preset, str) and preset not in PRESETS:
        raise UsageError("preset", f"must be one of {', '.join(PRESETS)}, got {preset!r}")
    if not path.is_file():
        raise AmbientgenError(f"{path}: no such file")
    try:
        info = sf.info(str(path))
    except (sf.LibsndfileError, RuntimeError):
        raise AmbientgenError(f"{path}: not an audio file soundfile can read (WAV, FLAC, Ogg, MP3)") from None
    check = StreamingCheck(info.samplerate, info.channels, info.frames, seams_s=seams_s, block_s=block_s)
    total_s = max(1, round(max(0, info.frames) / info.samplerate))
    try:
        for b in blocks_ahead(path, check.block):
            check.add(b)
            if on_progress:
                on_progress(ProgressEvent("check", None, min(total_s, round(check.n / info.samplerate)), total_s,
                                          "s of audio"))
    finally:
        check.close()
    return check.report(path, info.format, preset=preset, plan=plan, events_s=events_s)


class StreamingCheck:
    """The check of one file, fed its blocks in order (``(channels, samples)``, as :func:`blocks_ahead` reads them:
    ``block`` samples each, the last one shorter), then judged by :meth:`report`. :func:`check_file` feeds it the
    file; a render feeds it the mix as it writes it (:class:`WrittenCheck`), which is the same thing."""

    def __init__(self, sample_rate: int, channels: int, frames: int, *, seams_s: list[float] | None,
                 block_s: float = 10.0, also=None):
        sr = self.sr = sample_rate
        self.channels = channels
        self.detected = seams_s is None  # no manifest: look for splices ourselves
        expected = max(0, frames)
        self.side = round(CLICK_SIDE_S * sr)
        self.block = max(1, round(block_s * sr))
        self.margin = round((max(SCALES_S) + SEARCH_S) * sr) + BandTrack(sr).n_fft
        self.listed = [round(t * sr) for t in (seams_s or []) if 0 < t < expected / sr]
        self.normal = ordinary_positions(expected, sr, margin=self.margin, count=300, avoid=self.listed)
        self.edge = wrap_length(expected, sr)
        self.gathered = _Pass(sr, channels, positions=self.listed + self.normal, edge=self.edge, also=also)

    @property
    def n(self) -> int:
        return self.gathered.n

    def add(self, block: np.ndarray) -> None:
        self.gathered.add(block)

    def close(self) -> None:
        """Wait for the analyses to finish every block (raising what one of them raised)."""
        self.gathered.close()

    def report(self, path: Path, container: str, *, preset, plan, events_s) -> Report:
        """The report of the file at ``path`` (``container``: its format, "WAV"), judged by ``preset``, against
        ``plan`` (what a manifest intends, or None) with ``events_s`` onsets."""
        gathered, sr, channels, margin, side = self.gathered, self.sr, self.channels, self.margin, self.side
        detected, listed, normal, edge = self.detected, self.listed, self.normal, self.edge
        if gathered.n == 0:
            raise AmbientgenError(f"{path}: the file holds no audio")
        n = gathered.n
        stream = gathered.curves
        stream.finish()
        hop_s = gathered.track.hop / sr
        frame_db = np.concatenate(gathered.levels) if gathered.levels else np.zeros(0)
        p = PRESETS[preset] if isinstance(preset, str) else preset
        splices = pick_seams(stream.candidates, hop_s)
        quiet = plan.quiet if plan else []
        if p.fades != (0.0, 0.0):  # the preset's own fades: silence there is intended
            quiet = quiet + [(0.0, p.fades[0] * n / sr), (n / sr * (1 - p.fades[1]), n / sr)]
        segments, values, levels = gathered.segments.found, stream.values, stream.levels
        if detected:
            positions = [round(t * sr) for t in splices]
            more = _second_pass(path, positions, side, sr)
            segments, values, levels = {**segments, **more[0]}, {**values, **more[1]}, {**levels, **more[2]}
        else:
            positions = listed

        def components(q: int) -> np.ndarray | None:
            if not margin <= q <= n - margin or q not in values or segments.get(q) is None:
                return None
            return np.append(values[q], segments[q])

        normal = [q for q in normal if margin <= q <= n - margin]
        measured = [(q, c) for q, c in ((q, components(q)) for q in normal) if c is not None]
        seams, loop = [], None
        if len(measured) >= 10:
            ranker = Ranker(np.array([c for _, c in measured]), [q for q, _ in measured], apart=round(APART_S * sr))
            for pos in positions:
                c = components(pos)
                if c is not None:
                    rank, _ = ranker.rank(c)
                    seams.append({"time_s": round(pos / sr, 3), "rank": round(rank, 3),
                                  "level_db": round(levels[pos], 2), "click_db": round(float(c[-1]), 1),
                                  "source": "detected" if detected else "manifest"})
            if p.loop and n >= 2 * edge > 0:
                wrapped = np.concatenate([gathered.end[-edge:], gathered.head[:edge]])
                wc = Curves.of(BandTrack.of(wrapped, sr))
                click = click_db(wrapped[edge - side : edge + side], sr)
                rank, _ = ranker.rank(np.append(wc.at(edge), click))
                level = wc.level_db(edge)
                ordinary_levels = [abs(levels[q]) for q in normal if q in levels]
                loop = {"rank": round(rank, 3), "level_jump_db": round(level, 2),
                        "level_jump_rank": round(percentile_rank(abs(level), ordinary_levels), 3),
                        "click_db": round(float(click), 1)}
        explained = [t / sr for t in positions] + list(events_s)
        unexplained = [] if detected else [t for t in splices if all(abs(t - e) > KEEP_AWAY_S for e in explained)]
        report = Report(
            path=str(path), preset=p.name, sample_rate=sr, channels=channels, duration_s=n / sr,
            integrated_lufs=round(gathered.meter.integrated_lufs, 2),
            loudness_range_lu=round(gathered.meter.loudness_range_lu, 2),
            sample_peak_dbfs=round(gain_to_db(gathered.peak), 2),
            true_peak_dbtp=round(gain_to_db(gathered.true_peak.value), 2),
            clipped_samples=gathered.clipped, dc_offset=[round(float(v), 6) for v in gathered.sums / n],
            gaps_s=outside(gaps(frame_db, hop_s, planned=plan and plan.planned), quiet),
            loop=loop, seams=seams,
            repetition=gathered.repetition.result(),
            short_term_lufs=[round(float(v), 2) for v in gathered.meter.short_term_lufs()[::10]],
            unexplained_splices_s=unexplained,
            clipping_s=[[round(a / sr, 3), round(b / sr, 3)] for a, b in gathered.clip_runs],
            clicks_s=[round(t / sr, 4) for t in gathered.clicks.times],
        )
        jumps = level_jumps(frame_db, hop_s, planned=plan and plan.planned,
                            changes=plan.changes + plan.quiet if plan else ())
        if plan is not None:  # judged against the plan: only jumps nothing planned explains
            report.level_jumps = unplanned(jumps, plan.changes + [(a, b) for a, b in plan.quiet])
            report.level_jumps_judged = True
        else:
            report.level_jumps = jumps
        report.seams_source = "detected" if detected else "manifest"
        report.container = container
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
        where = f", first at {r.clipping_s[0][0]:.2f} s" if r.clipping_s else ""
        runs = f" in {len(r.clipping_s)}{'+' if len(r.clipping_s) >= MAX_CLIP_RUNS else ''} places" \
            if len(r.clipping_s) > 1 else ""
        out.append(f"{r.clipped_samples} clipped samples (|x| >= {CLIP_LEVEL}){runs}{where}")
    if r.clicks_s:
        out.append(f"{len(r.clicks_s)}{'+' if len(r.clicks_s) >= MAX_CLICKS else ''} click(s), first at "
                   f"{r.clicks_s[0]:.3f} s")
    if any(abs(v) > 0.01 for v in r.dc_offset):
        out.append(f"DC offset {max(r.dc_offset, key=abs):+.3f}")
    if r.gaps_s:
        out.append(f"{len(r.gaps_s)} silent gap(s), first at {r.gaps_s[0][0]:.2f} s")
    if r.level_jumps_judged and r.level_jumps:
        j = r.level_jumps[0]
        out.append(f"{len(r.level_jumps)} sudden level change(s) the plan does not explain, first {j['step_db']:+.1f} dB "
                   f"at {j['time_s']:.1f} s")
    if r.repetition:
        rep = r.repetition
        out.append(f"a {rep['length_s']:.1f} s stretch at {rep['first_s']:.1f} s recurs at {rep['again_s']:.1f} s")
    if p.loop and r.container == "MP3":
        out.append("MP3 cannot loop gaplessly (encoder delay and padding): deliver loops as WAV, FLAC or Ogg")
    elif r.loop is not None:
        if r.loop["click_db"] > 6:
            out.append(f"click at the loop point ({r.loop['click_db']:.0f} dB over ordinary peaks)")
        jump = abs(r.loop["level_jump_db"]) > 2 and r.loop["level_jump_rank"] > 0.95
        if jump:
            out.append(f"level jump of {r.loop['level_jump_db']:+.1f} dB at the loop point")
        if r.loop["rank"] > 0.99 and not (r.loop["click_db"] > 6 or jump):
            out.append(f"the loop point stands out (rank {r.loop['rank']:.2f} among ordinary moments)")
    return out

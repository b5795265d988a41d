"""Streaming assembly: the mix mastered in two passes and written as it comes, in bounded memory.

The mix (:class:`ambientgen.audio.streams.Mix`) is generated block by block, never
held whole. Mastering (:func:`assemble`):

1. **Analysis pass**: the mix is generated block by block and fed to the
   streaming BS.1770-4 meter (:mod:`ambientgen.audio.loudness`) and to the
   streaming true-peak meter (:class:`~ambientgen.audio.true_peak.TruePeakMeter`:
   the exact 4x-oversampled peak of the whole mix, oversampling only the
   stretches whose sample peak could raise it, a few percent of the audio).
2. If gain alone keeps the true peak under the ceiling, the output is the mix
   times one gain: its loudness is the measured loudness plus that gain, exactly,
   and its true peak the measured one times that gain.
3. Otherwise a look-ahead true-peak limiter runs on each block with enough
   context around it to equal a whole-track limiter; one extra analysis pass
   measures what limiting cost, and the gain is corrected for it.
4. **Write pass**: blocks are generated again, mastered and written to every
   output (mix formats and stems) as they come. When the limiter ran, each
   written block's true peak is measured there (4x oversampled, with context),
   so the reported true peak is the file's own figure, never a bound.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..audio.loudness import LoudnessMeter
from ..audio.placement import db_to_gain, gain_to_db
from ..audio.streams import Mix, render_block
from ..audio.true_peak import TruePeakMeter, limiter_gain, true_peak_above
from ..runtime import MEMORY_GOAL, Worker, release, resident_bytes

BLOCK = 1 << 18  # samples per block (5.5 s at 48 kHz; a stereo float32 block is 2 MB)
HOLD_MARGIN = 100 * 2**20  # what mastering adds to the resident size it starts at (70 MB in a 5-minute render)


Sink = Callable[[np.ndarray], None]  # receives (2, n) mastered blocks in order


@dataclass
class MasterReport:
    input_lufs: float
    gain_db: float
    integrated_lufs: float
    sample_peak_dbfs: float
    true_peak_dbtp: float
    true_peak_exact: bool  # always True: measured, never a bound (kept for the manifest's readers)
    limiter_reduction_db: float
    limited: bool
    layer_lufs: dict[str, float]
    timings: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return {k: (round(v, 3) if isinstance(v, float) else v) for k, v in self.__dict__.items()}


@dataclass
class _Limiter:
    """The look-ahead true-peak limiter applied block by block with context (equals a whole-track run)."""

    mix: Mix
    sample_rate: int
    ceiling_dbtp: float
    lookahead_s: float = 0.005
    release_s: float = 0.08

    def __post_init__(self) -> None:
        la = max(1, round(self.lookahead_s * self.sample_rate))
        self.margin = 2 * la + max(la, round(self.release_s * self.sample_rate)) + 128
        self.reduction = 0.0

    def block(self, start: int, n: int, gain: float, *, true_peak_floor: float | None = None
              ) -> tuple[np.ndarray, np.ndarray, float | None]:
        """(limited block, the limiter's gain curve, its true peak or ``true_peak_floor``, whichever is larger, when a
        floor is given) for ``[start, start + n)`` at input gain ``gain``.

        The true peak is measured on the limited output itself (4x oversampled,
        with 64 samples of context on each side, inside the margin where the
        limiter's curve is exact), so it is the written file's, not a bound;
        only the stretches that could pass the floor are oversampled.
        """
        m = self.margin
        ext = self.mix.block(start - m, n + 2 * m) * gain
        full = limiter_gain(ext, self.sample_rate, ceiling_dbtp=self.ceiling_dbtp, lookahead_s=self.lookahead_s,
                            release_s=self.release_s)
        curve = full[m : m + n]
        self.reduction = max(self.reduction, -gain_to_db(float(curve.min())))
        peak = None
        if true_peak_floor is not None:
            c = 64
            peak = true_peak_above(ext[:, m - c : m + n + c] * full[m - c : m + n + c], true_peak_floor,
                                   within=(c, c + n))
        return ext[:, m : m + n] * curve, curve, peak


def assemble(mix: Mix, *, sample_rate: int, target_lufs: float, ceiling_dbtp: float, sinks: Sequence[Sink] = (),
             stem_sinks: Sequence[Sink] = (), layer_names: Sequence[str] = (), block: int = BLOCK,
             more_stems: Sequence[tuple[Any, Sink]] = (),
             on_progress: Callable[[str, int, int], None] | None = None, limiter_margin_db: float = 0.1
             ) -> MasterReport:
    """Master ``mix`` to ``target_lufs`` under ``ceiling_dbtp`` and stream it into ``sinks`` (and stems).

    Stems receive each layer times the master gain (before the limiter, with the
    master fades), clipped to +-1; so do ``more_stems``, (layer stream, sink) pairs of other views of layers (a
    layer without its timeline's level curve, for the REAPER session). Returns the measured figures.

    The analysis pass and the write pass each place the layers in stereo; a mono layer's decorrelated side (a
    filter, 0.3 s of CPU per 5 minutes of layer) is computed in the first and held for the second for as many
    layers as fit under :data:`~ambientgen.runtime.MEMORY_GOAL` with :data:`HOLD_MARGIN` to spare, and what the
    sinks say they hold while fed (a sink's ``resident_bytes``: a check of the mix as it is written) (the bytes
    written are the same either way).
    """
    resident = resident_bytes()
    fed = sum(getattr(sink, "resident_bytes", 0) for sink in (*sinks, *stem_sinks))
    mix.hold_sides(0 if resident is None else MEMORY_GOAL - HOLD_MARGIN - fed - resident)
    try:
        return _assemble(mix, sample_rate=sample_rate, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp,
                         sinks=sinks, stem_sinks=stem_sinks, layer_names=layer_names, block=block,
                         more_stems=more_stems, on_progress=on_progress, limiter_margin_db=limiter_margin_db)
    finally:
        mix.hold_sides(0)


def _assemble(mix: Mix, *, sample_rate: int, target_lufs: float, ceiling_dbtp: float, sinks: Sequence[Sink],
              stem_sinks: Sequence[Sink], layer_names: Sequence[str], block: int,
              more_stems: Sequence[tuple[Any, Sink]], on_progress: Callable[[str, int, int], None] | None,
              limiter_margin_db: float) -> MasterReport:
    import time

    total = mix.total
    block = max(1, block)
    starts = list(range(0, total, block))
    want_stems = bool(stem_sinks)
    timings: dict[str, float] = {}

    def progress(stage: str, k: int) -> None:
        if on_progress:
            on_progress(stage, min(total, (k + 1) * block), total)

    # 1. analysis pass
    t0 = time.perf_counter()
    # two threads meter the mix and the layers (for the stems' loudness), stereo meters dealt to them in turn, and
    # measure the mix's true peak, while this one generates
    meters = [LoudnessMeter(sample_rate, 2) for _ in range(1 + (len(mix.layers) if want_stems else 0))]
    input_tp = TruePeakMeter()  # the unlimited mix's true peak, exactly (oversampling only what could raise it)
    workers = [Worker(), Worker()]
    try:
        for k, s in enumerate(starts):
            n = min(block, total - s)
            bufs = [np.zeros((2, n), dtype=np.float32) for _ in mix.layers] if want_stems else None
            out = mix.block(s, n, stems=bufs)
            jobs: list[list] = [[], []]
            for i, (m, signal) in enumerate(zip(meters, [out, *(bufs or ())])):
                jobs[i % 2].append((m.add, signal))
            jobs[len(meters) % 2].append((input_tp.add, out))
            for worker, calls in zip(workers, jobs):
                worker.submit(calls)
            progress("analyse", k)
    finally:
        for worker in workers:
            worker.close()
    meter, layer_meters = meters[0], meters[1:]
    measured = meter.integrated_lufs
    timings["analyse_s"] = time.perf_counter() - t0
    if not math.isfinite(measured) or measured < -70.0:
        raise ValueError(f"the mix is silent (integrated loudness {measured:.1f} LUFS): nothing to normalize")
    gain_db = target_lufs - measured
    gain = db_to_gain(gain_db)

    # 2. the limiter is needed only if the mix's true peak, at this gain, passes the ceiling
    input_peak = input_tp.value
    limited = input_peak * gain > db_to_gain(ceiling_dbtp)
    limiter = _Limiter(mix, sample_rate, ceiling_dbtp - limiter_margin_db) if limited else None

    # 3. limiting costs loudness: measure what it cost and correct the gain (a pass or two suffice)
    if limiter is not None:
        t0 = time.perf_counter()
        for _ in range(4):
            check = LoudnessMeter(sample_rate, 2)
            for k, s in enumerate(starts):
                check.add(limiter.block(s, min(block, total - s), gain)[0])
                progress("limit", k)
            miss = target_lufs - check.integrated_lufs
            if abs(miss) <= 0.02:
                break
            gain_db += miss
            gain = db_to_gain(gain_db)
        timings["limit_s"] = time.perf_counter() - t0

    # 4. write pass
    t0 = time.perf_counter()
    release()  # what the analysis threads' heaps keep free goes back before the writing (and a check) start
    if limiter is not None:
        limiter.reduction = 0.0  # report what the final pass did
    out_meter = LoudnessMeter(sample_rate, 2) if limiter is not None else None
    sample_peak = 0.0
    limited_tp = 0.0
    workers = [Worker(), Worker()]  # the mix's files in one, the stems' in the other: encoding is most of writing
    try:
        for k, s in enumerate(starts):
            n = min(block, total - s)
            bufs = [np.zeros((2, n), dtype=np.float32) for _ in mix.layers] if want_stems else None
            if limiter is None:
                out = mix.block(s, n, stems=bufs)
                out *= np.float32(gain)
            else:
                out, _, limited_tp = limiter.block(s, n, gain, true_peak_floor=limited_tp)
                if bufs is not None:
                    mix.block(s, n, stems=bufs)
            calls = [(sink, out) for sink in sinks] + ([(out_meter.add, out)] if out_meter is not None else [])
            stem_calls = []
            for sink, b in zip(stem_sinks, bufs or ()):
                b *= gain
                np.clip(b, -1.0, 1.0, out=b)
                stem_calls.append((sink, b))
            for stream, sink in more_stems:
                b = render_block(stream, s, n, total=total, loop=mix.loop)
                env = mix.envelope(s, n)
                b *= np.float32(gain) if env is None else env * np.float32(gain)
                np.clip(b, -1.0, 1.0, out=b)
                stem_calls.append((sink, b))
            workers[0].submit(calls)
            if stem_calls:
                workers[1].submit(stem_calls)
            sample_peak = max(sample_peak, float(np.abs(out).max()) if n else 0.0)
            progress("write", k)
    finally:
        try:
            workers[0].close()
        finally:
            workers[1].close()
    timings["write_s"] = time.perf_counter() - t0

    if limiter is None:
        integrated = measured + gain_db  # the output is the measured mix times one gain
        tp = input_peak * gain
    else:  # measured on every limited block as it was written
        integrated = out_meter.integrated_lufs
        tp = limited_tp
    layer_lufs = {name: lm.integrated_lufs + gain_db for name, lm in zip(layer_names, layer_meters)}
    return MasterReport(measured, gain_db, integrated, gain_to_db(sample_peak), gain_to_db(tp), True,
                        limiter.reduction if limiter else 0.0, limited, layer_lufs, timings)

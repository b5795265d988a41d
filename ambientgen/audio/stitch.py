"""Joining pieces: level-matched equal-power crossfades, and loop closure.

Audio is ``(..., samples)``. Independent renders overlap with uncorrelated
material, where an equal-power fade (sin/cos, gains squared summing to 1)
keeps the level constant through each seam; when the two pieces correlate
(two excerpts of one recording from nearby positions, a model whose seeds
barely change its output), the fade is divided by :func:`fade_norm` of their
measured correlation, so the level stays constant there too (for identical
pieces it becomes an equal-gain fade).

Whether a crossfaded seam is heard depends far more on the level step between
the two pieces than on where the fade sits (measured on real recordings, see
the README's seam table). So every join is **level-matched**: the two pieces'
levels are measured over the fade, each is brought half-way to the other (they
meet at the same level across the fade) and returns to its own level over
:data:`RETURN_S` seconds on either side, a ramp in dB far slower than natural
level movement. :func:`seam_gains` computes the pair of gains;
:func:`level_envelope` draws a piece's gain curve; consecutive chunks
(:func:`stitch_chunks`), pool excerpts (:class:`ambientgen.audio.streams.PoolStream`)
and the loop point (:func:`close_loop`) all use them.
"""

from __future__ import annotations

import itertools
import math

import numpy as np


def equal_power_fades(n: int) -> tuple[np.ndarray, np.ndarray]:
    """(fade_in, fade_out) of ``n`` samples with ``fade_in**2 + fade_out**2 == 1``."""
    t = (np.arange(n, dtype=np.float64) + 0.5) / n
    return np.sin(t * np.pi / 2).astype(np.float32), np.cos(t * np.pi / 2).astype(np.float32)


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    """Normalized correlation (lag 0) of two pieces over their overlap, clipped to [-0.5, 0.95] (0 if either is
    silent)."""
    a64, b64 = a.astype(np.float64).ravel(), b.astype(np.float64).ravel()
    den = np.sqrt(np.dot(a64, a64) * np.dot(b64, b64))
    return float(np.clip(np.dot(a64, b64) / den, -0.5, 0.95)) if den > 1e-20 else 0.0


def fade_norm(fade_in: np.ndarray, fade_out: np.ndarray, rho: float) -> np.ndarray:
    """The divisor that keeps an equal-power fade at constant power when the two pieces correlate by ``rho``:
    ``sqrt(in**2 + out**2 + 2 rho in out)`` (1 for uncorrelated pieces; for identical ones the fade becomes
    equal-gain)."""
    return np.sqrt(1.0 + 2.0 * rho * fade_in * fade_out).astype(np.float32)


RETURN_S = 4.0  # a level-matched piece returns to its own level over this long (at most half its solo part)
MAX_MATCH_DB = 12.0  # a larger step is not a level difference but a different sound: matched only this far


def power(piece: np.ndarray) -> float:
    """Mean power over every channel and sample."""
    return float(np.mean(np.square(piece, dtype=np.float64))) if piece.size else 0.0


def seam_gains(power_out: float, power_in: float) -> tuple[float, float]:
    """dB gains (outgoing piece, incoming piece) that bring both to their mean level across a fade.

    ``power_out`` and ``power_in`` are the pieces' mean powers over the fade. A
    near-silent side (under 1e-10) is left alone: there is nothing to match.
    """
    if power_out < 1e-10 or power_in < 1e-10:
        return 0.0, 0.0
    step = float(np.clip(10 * np.log10(power_in / power_out), -MAX_MATCH_DB, MAX_MATCH_DB))
    return step / 2, -step / 2


def envelope_spans(n: int, *, head: int, tail: int, gain_in_db: float, gain_out_db: float, ramp: int
                   ) -> list[tuple[int, int]]:
    """The sample ranges of an ``n``-sample piece where :func:`level_envelope` is not exactly 1 (its head and tail
    regions; merged where they meet). Everywhere else the curve is 0 dB, so nothing needs computing there."""
    spans = []
    if gain_in_db:
        spans.append((0, min(n, head + ramp)))
    if gain_out_db:
        spans.append((max(0, n - tail - ramp), n))
    if len(spans) == 2 and spans[1][0] <= spans[0][1]:
        spans = [(0, n)]
    return [(a, b) for a, b in spans if b > a]


def level_envelope(n: int, *, head: int, tail: int, gain_in_db: float, gain_out_db: float, ramp: int,
                   offset: int = 0, count: int | None = None) -> np.ndarray:
    """A piece's linear gain curve over its samples ``[offset, offset + count)`` (default: all ``n``).

    The piece fades in over its first ``head`` samples at ``gain_in_db`` and out
    over its last ``tail`` samples at ``gain_out_db``; between, each gain ramps
    (linearly in dB) to 0 dB over ``ramp`` samples. Computed only where it is not 1 (:func:`envelope_spans`),
    and there a stretch at a time: where the level is held (the fades), one value; only the ramps are curves.
    """
    count = n - offset if count is None else count
    out = np.ones(count, dtype=np.float32)
    for lo, hi, gain in _envelope_pieces(n, head=head, tail=tail, gain_in_db=gain_in_db, gain_out_db=gain_out_db,
                                         ramp=ramp, lo=offset, hi=offset + count):
        out[lo - offset : hi - offset] = gain
    return out


def _envelope_pieces(n: int, *, head: int, tail: int, gain_in_db: float, gain_out_db: float, ramp: int, lo: int,
                     hi: int):
    """:func:`level_envelope` over ``[lo, hi)`` where it is not 1, as ``(start, end, gain)``: ``gain`` one
    ``np.float32`` where the level is held, an array of them along a ramp (the same numbers as one array over
    the whole stretch: each value is ``exp`` of the same dB)."""
    ramps = ([(head, head + ramp)] if gain_in_db else []) + ([(n - tail - ramp, n - tail)] if gain_out_db else [])
    for a, b in envelope_spans(n, head=head, tail=tail, gain_in_db=gain_in_db, gain_out_db=gain_out_db, ramp=ramp):
        a, b = max(a, lo), min(b, hi)
        if a >= b:
            continue
        db = np.zeros(b - a)
        if gain_in_db:
            _add_ramp(db, a, gain_in_db, ramp, held_until=head)
        if gain_out_db:
            _add_ramp(db, a, gain_out_db, ramp, held_from=n - tail)
        cuts = sorted({a, b, *(c for r in ramps for c in r if a < c < b)})
        for start, end in itertools.pairwise(cuts):
            piece = db[start - a : end - a]
            if any(r0 < end and start < r1 for r0, r1 in ramps):  # on a ramp: a curve
                yield start, end, np.exp(piece * (math.log(10) / 20)).astype(np.float32)
            else:  # held: one value
                yield start, end, np.exp(piece[:1] * (math.log(10) / 20)).astype(np.float32)[0]


def _add_ramp(db: np.ndarray, lo: int, gain_db: float, ramp: int, *, held_until: int | None = None,
              held_from: int | None = None) -> None:
    """Add to ``db`` (samples ``lo ..``) a gain held at ``gain_db`` before ``held_until`` (or from ``held_from``)
    that ramps linearly to 0 dB over ``ramp`` samples after it (before it); 0 dB beyond the ramp."""
    t0, t1 = lo, lo + len(db)
    if held_until is not None:  # held, then falling to 0 over [held_until, held_until + ramp)
        hold = (t0, min(t1, held_until))
        slope = (max(t0, held_until), min(t1, held_until + ramp))
    else:  # rising from 0 over [held_from - ramp, held_from), then held
        hold = (max(t0, held_from), t1)
        slope = (max(t0, held_from - ramp), min(t1, held_from))
    if hold[1] > hold[0]:
        db[hold[0] - lo : hold[1] - lo] += gain_db
    if ramp and slope[1] > slope[0]:
        t = np.arange(slope[0], slope[1], dtype=np.float64)
        share = 1 - (t - held_until) / ramp if held_until is not None else 1 - (held_from - t) / ramp
        db[slope[0] - lo : slope[1] - lo] += gain_db * share


def apply_level_envelope(piece: np.ndarray, *, head: int, tail: int, gain_in_db: float, gain_out_db: float,
                         ramp: int) -> None:
    """``piece *= level_envelope(...)`` in place, touching only the samples where the curve is not 1 (and where
    it is held, multiplying by one number)."""
    n = piece.shape[-1]
    for lo, hi, gain in _envelope_pieces(n, head=head, tail=tail, gain_in_db=gain_in_db, gain_out_db=gain_out_db,
                                         ramp=ramp, lo=0, hi=n):
        piece[..., lo:hi] *= gain


def return_ramp(solo: int, sample_rate: int) -> int:
    """The level-return ramp for a piece whose unfaded middle is ``solo`` samples: :data:`RETURN_S`, at most half."""
    return max(0, min(round(RETURN_S * sample_rate), solo // 2))


def stitch_chunks(chunks: list[np.ndarray], *, overlap: int, sample_rate: int | None = None) -> np.ndarray:
    """Concatenate chunks that overlap by ``overlap`` samples, crossfading each whole overlap.

    Every chunk must be the same length, longer than ``overlap``. The result is
    ``len(chunks) * (length - overlap) + overlap`` samples long. With
    ``sample_rate``, each seam is level-matched (see the module doc); without,
    it is a plain equal-power fade.
    """
    if not chunks:
        raise ValueError("stitch_chunks needs at least one chunk")
    length = chunks[0].shape[-1]
    if any(c.shape != chunks[0].shape for c in chunks):
        raise ValueError("stitch_chunks needs chunks of equal shape")
    if not 0 <= overlap < length:
        raise ValueError(f"overlap must be in [0, {length}), got {overlap}")
    hop = length - overlap
    out = np.zeros(chunks[0].shape[:-1] + (len(chunks) * hop + overlap,), dtype=np.float32)
    fade_in, fade_out = equal_power_fades(overlap) if overlap else (None, None)
    gains = [(0.0, 0.0)] * (len(chunks) + 1)  # gains[k]: (chunk k - 1 out, chunk k in)
    if sample_rate and overlap:
        gains = [(0.0, 0.0)] + [seam_gains(power(chunks[k - 1][..., -overlap:]), power(chunks[k][..., :overlap]))
                                for k in range(1, len(chunks))] + [(0.0, 0.0)]
    ramp = return_ramp(length - 2 * overlap, sample_rate) if sample_rate else 0
    before = None  # the previous piece's fade-out stretch, level-matched but not yet faded
    for k, chunk in enumerate(chunks):  # one piece at a time: no copy of every chunk beside the chunks
        piece = chunk.astype(np.float32, copy=True)
        if gains[k][1] or gains[k + 1][0]:
            apply_level_envelope(piece, head=overlap, tail=overlap, gain_in_db=gains[k][1],
                                 gain_out_db=gains[k + 1][0], ramp=ramp)
        if overlap and k > 0:
            norm = fade_norm(fade_in, fade_out, correlation(before, piece[..., :overlap]))
            piece[..., :overlap] *= fade_in / norm
            out[..., k * hop : k * hop + overlap] /= norm  # the previous piece's fade-out, added already
        if overlap and k < len(chunks) - 1:
            before = piece[..., -overlap:].copy()
            piece[..., -overlap:] *= fade_out
        out[..., k * hop : k * hop + length] += piece
    return out


def close_loop(audio: np.ndarray, *, length: int, overlap: int, sample_rate: int | None = None,
               in_place: bool = False) -> np.ndarray:
    """Cut ``length`` samples that loop seamlessly: the material after ``length`` fades into the start.

    ``audio`` needs at least ``length + overlap`` samples. Sample ``length - 1``
    is followed in the source by sample ``length``, which is what the loop's
    first sample mostly is, so playing the result end to start is continuous.
    With ``sample_rate`` the join is level-matched: the loop's last seconds ramp
    to the gain the continuation fades out at, and its first seconds return from
    the gain the start fades in at. ``in_place`` (``audio`` float32): the loop is made in ``audio``'s own samples
    and returned as a view of them, without a copy of the whole (the same numbers).
    """
    if audio.shape[-1] < length + overlap:
        raise ValueError(f"close_loop needs {length + overlap} samples, got {audio.shape[-1]}")
    if in_place and audio.dtype != np.float32:
        raise ValueError(f"close_loop in place needs float32 audio, got {audio.dtype}")
    out = audio[..., :length] if in_place else audio[..., :length].astype(np.float32, copy=True)
    if overlap:
        fade_in, fade_out = equal_power_fades(overlap)
        tail = audio[..., length : length + overlap].astype(np.float32, copy=True)
        if sample_rate:
            g_out, g_in = seam_gains(power(tail), power(out[..., :overlap]))
            ramp = return_ramp(length - overlap, sample_rate)
            # the continuation (after the end) fades out at g_out, so the loop's end ramps up to it ...
            apply_level_envelope(out[..., length - ramp :], head=0, tail=0, gain_in_db=0.0, gain_out_db=g_out,
                                 ramp=ramp)
            tail *= np.float32(10 ** (g_out / 20))
            # ... and the start fades in at g_in and returns to its own level
            apply_level_envelope(out, head=overlap, tail=0, gain_in_db=g_in, gain_out_db=0.0, ramp=ramp)
        norm = fade_norm(fade_in, fade_out, correlation(tail, out[..., :overlap]))
        out[..., :overlap] = (out[..., :overlap] * fade_in + tail * fade_out) / norm
    return out

"""A layer following its timeline: level, brightness and width curves, absent stretches skipped, events thinned.

The curves come from breakpoints (``[[t, value], ...]``, as :func:`ambientgen.scene.timeline.lanes` makes them and a
manifest records them): values hold between equal breakpoints and glide along a raised cosine between different
ones (level in dB, from -60 dB where a side is off). :class:`TimelineStream` wraps any layer stream:

- **absent stretches are not rendered**: the inner layer is rendered for the layer's audible time only and
  played on its own clock, which stands still while the layer is off (so no model time is spent on silence, and
  the layer resumes where it left off, without a seam);
- **level**: a gain curve, at a 10 ms control rate (:data:`CONTROL_S`), linearly interpolated;
- **brightness**: ``lp + b (x - lp)`` with ``lp`` a one-pole low-pass at :data:`BRIGHT_HZ`: a gentle high shelf
  (``b = 0.5`` is -6 dB above it, ``b = 0`` the low-pass), run with :data:`WARM` samples of context so any block
  equals the whole-track filter;
- **width**: the side signal scaled by the new width over the layer's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OFF_DB = -60.0  # where a glide into or out of "off" starts or ends
BRIGHT_HZ = 500.0
WARM = 4096  # samples of context before a block for the brightness filter (its state decays to 1e-50 in them)
CONTROL_S = 0.01  # control rate of the curves: a value every 10 ms, linearly interpolated


def lane_values(lane: list[list], t_s: np.ndarray, *, off: float | None = None) -> np.ndarray:
    """A lane's value at each time in ``t_s`` (seconds); ``None`` values (off) read as ``off``."""
    times = np.array([k[0] for k in lane], dtype=np.float64)
    values = np.array([off if k[1] is None else k[1] for k in lane], dtype=np.float64)
    t = np.clip(np.asarray(t_s, dtype=np.float64), times[0], times[-1])
    i = np.clip(np.searchsorted(times, t, side="right") - 1, 0, len(times) - 2) if len(times) > 1 else \
        np.zeros(t.shape, dtype=np.int64)
    if len(times) == 1:
        return np.full(t.shape, values[0])
    t0, t1 = times[i], times[i + 1]
    span = np.where(t1 > t0, t1 - t0, 1.0)
    x = np.clip((t - t0) / span, 0.0, 1.0)
    return values[i] + (values[i + 1] - values[i]) * (0.5 - 0.5 * np.cos(np.pi * x))


def level_gain(lane: list[list], t_s: np.ndarray) -> np.ndarray:
    """Linear gain of a level lane (dB relative to the layer; off is silence, glides pass through -60 dB)."""
    db = lane_values(lane, t_s, off=OFF_DB)
    gain = 10 ** (db / 20)
    for a, b in silent_spans(lane):
        gain[(t_s >= a) & (t_s <= b)] = 0.0
    return gain


def silent_spans(lane: list[list]) -> list[tuple[float, float]]:
    """Stretches (s) where a level lane holds the layer off."""
    return [(a[0], b[0]) for a, b in zip(lane, lane[1:]) if a[1] is None and b[1] is None and b[0] > a[0]]


def audible_spans(lane: list[list] | None, total: int, sample_rate: int) -> list[tuple[int, int]]:
    """``[a, b)`` sample stretches where a layer sounds (everything but where its level lane holds it off)."""
    if lane is None:
        return [(0, total)]
    out, pos = [], 0
    for a, b in silent_spans(lane):
        a_n, b_n = round(a * sample_rate), round(b * sample_rate)
        if a_n > pos:
            out.append((pos, a_n))
        pos = max(pos, b_n)
    if pos < total:
        out.append((pos, total))
    return [(a, min(b, total)) for a, b in out if min(b, total) > a]


def _control(lane: list[list], start: int, n: int, sample_rate: int, fn) -> np.ndarray:
    """``fn(lane, seconds)`` at knots every :data:`CONTROL_S` over ``[start, start + n)``, linearly interpolated."""
    step = max(1, round(CONTROL_S * sample_rate))
    k0 = start - start % step
    knots = k0 + step * np.arange((start + n - k0) // step + 2)
    values = fn(lane, knots / sample_rate)
    return np.interp(np.arange(start, start + n), knots, values).astype(np.float32)


def thin_events(events, lane_density: list[list] | None, lane_level: list[list] | None, sample_rate: int,
                rng: np.random.Generator, most: float):
    """The events to keep when a schedule made at the highest density ``most`` is thinned to the density lane:
    each is kept with probability density(t) / most (none where the layer is off)."""
    keep = []
    for e in events:
        t = np.array([e.start / sample_rate])
        p = 1.0 if lane_density is None else float(lane_values(lane_density, t)[0]) / most
        if lane_level is not None and level_gain(lane_level, t)[0] == 0.0:
            p = 0.0
        if rng.random() < p:
            keep.append(e)
    return keep


@dataclass
class TimelineStream:
    """A layer stream following its timeline lanes (see the module's text).

    ``inner`` is rendered for ``inner_total`` samples (the layer's audible time, or the whole track); ``spans``
    are the scene's ``[a, b)`` stretches where it sounds, played from the inner clock in order.
    """

    name: str
    inner: object
    inner_total: int
    inner_loop: bool
    total: int
    loop: bool
    sample_rate: int
    lanes: dict[str, list]
    base_width: float
    spans: list[tuple[int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.spans:
            self.spans = [(0, self.total)]
        self.offsets = np.cumsum([0] + [b - a for a, b in self.spans[:-1]]).tolist()
        from scipy.signal import lfilter_zi

        a = float(np.exp(-2 * np.pi * BRIGHT_HZ / self.sample_rate))
        self._lp = ([1.0 - a], [1.0, -a])
        self._zi = lfilter_zi(*self._lp)

    def inner_time(self, t: int) -> int | None:
        """Where the inner clock stands at scene sample ``t`` (None while the layer is absent)."""
        for (a, b), off in zip(self.spans, self.offsets):
            if a <= t < b:
                return off + t - a
        return None

    def scene_time(self, inner: int) -> int:
        """The scene sample where inner sample ``inner`` plays."""
        for (a, b), off in zip(self.spans, self.offsets):
            if off <= inner < off + b - a:
                return a + inner - off
        return self.spans[-1][1]

    def _mapped(self, start: int, n: int) -> np.ndarray:
        """``[start, start + n)`` of the inner layer on the scene's clock (wrapped on a loop, silent where absent)."""
        from .streams import _wrapped, render_block

        out = np.zeros((2, n), dtype=np.float32)
        for t, at, take in _wrapped(self.total, self.loop, start, n):
            for (a, b), off in zip(self.spans, self.offsets):
                lo, hi = max(a, t), min(b, t + take)
                if lo < hi:
                    render_block(self.inner, off + lo - a, hi - lo, total=self.inner_total, loop=self.inner_loop,
                                 out=out[:, at + lo - t : at + hi - t])
        return out

    def _curve(self, prop: str, start: int, n: int) -> np.ndarray | None:
        lane = self.lanes.get(prop)
        if lane is None:
            return None
        fn = level_gain if prop == "level" else lane_values
        return _control(lane, start, n, self.sample_rate, fn)

    def add_to(self, out: np.ndarray, start: int, *, level: bool = True) -> None:
        """Add ``[start, start + n)``; ``level=False`` leaves out the level curve (but not the absent stretches)."""
        n = out.shape[1]
        gain = self._curve("level", start, n)
        if gain is not None and not gain.any():
            return  # absent here: nothing rendered
        if not level and gain is not None:
            gain = None
        bright = self._curve("brightness", start - WARM, n + WARM) if "brightness" in self.lanes else None
        if bright is not None and bright.min() >= 1.0:
            bright = None
        if bright is None:
            x = self._mapped(start, n)
        else:
            from scipy.signal import lfilter

            ext = self._mapped(start - WARM, n + WARM)
            lp = lfilter(*self._lp, ext, axis=-1, zi=self._zi[None, :] * ext[:, :1])[0]
            x = (lp + bright * (ext - lp))[:, WARM:].astype(np.float32)
        width = self._curve("width", start, n)
        if width is not None and self.base_width > 0:
            factor = width / np.float32(self.base_width)
            if np.any(factor != 1.0):
                mid, side = (x[0] + x[1]) * 0.5, (x[0] - x[1]) * 0.5 * factor
                x = np.stack([mid + side, mid - side])
        if gain is not None:
            x *= gain
        out += x


@dataclass
class Unlevelled:
    """A :class:`TimelineStream` without its level curve: what a REAPER track plays under the same curve as a
    volume envelope (so a mixer can reshape it there)."""

    stream: TimelineStream

    @property
    def name(self) -> str:
        return self.stream.name

    def add_to(self, out: np.ndarray, start: int) -> None:
        self.stream.add_to(out, start, level=False)


def envelope_points(lane: list[list], *, step_s: float = 1.0, tolerance_db: float = 0.05
                    ) -> list[tuple[float, float]]:
    """A level lane as (seconds, linear gain) points that linear interpolation follows to within ``tolerance_db``
    (where the layer is louder than -60 dB): every breakpoint, and along each glide as few points as that allows,
    at most ``step_s`` (or a 64th of the glide) apart (a DAW's volume envelope)."""
    points: list[tuple[float, float]] = []
    for (t0, v0), (t1, v1) in zip(lane, lane[1:]):
        points.append((float(t0), float(level_gain(lane, np.array([t0]))[0])))
        if v0 == v1 or t1 <= t0:
            continue
        fine = np.linspace(t0, t1, max(2, min(200_000, int(np.ceil((t1 - t0) / 0.01)))) + 1)
        gains = level_gain(lane, fine)
        per_step = max(1, int(round(max(step_s, (t1 - t0) / 64) / (fine[1] - fine[0]))))
        i = 0
        while i < len(fine) - 1:
            j = min(len(fine) - 1, i + per_step)
            while j > i + 1:  # the longest segment from i that a straight line follows closely enough
                line = np.interp(fine[i : j + 1], [fine[i], fine[j]], [gains[i], gains[j]])
                true = gains[i : j + 1]
                loud = true > 1e-3
                if not loud.any() or np.abs(20 * np.log10(np.maximum(line[loud], 1e-9) / true[loud])).max() \
                        <= tolerance_db:
                    break
                j = i + (j - i) // 2
            if j < len(fine) - 1:
                points.append((float(fine[j]), float(gains[j])))
            i = j
    t_end = lane[-1][0]
    points.append((float(t_end), float(level_gain(lane, np.array([t_end]))[0])))
    return points

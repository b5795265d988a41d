"""A scene's timeline: moments that change layers over the duration (a storm that arrives and passes, dusk into night).

A timeline is a list of **moments**. Each moment starts ``at`` a time (``20m``, ``90s``, or a share of the duration,
``"40%"``) and moves the layers it names, ``over`` a transition (a time or a share; 30 s unless given; a moment at
0 sets the start), to new values::

    timeline:
      - at: 0
        set: {thunder: {level: off}, rain: {level: -10, brightness: 0.4}}
      - at: 8m
        over: 3m
        note: the storm arrives
        set: {thunder: {level: 0, density: 2}, rain: {level: 0, brightness: 1}}

What a moment can set, per layer (each relative to what the layer itself says):

``level``       dB added to the layer's ``gain_db`` (-60 to +12), or ``off``: the layer is absent (not rendered there)
``density``     events layers: a multiple of the layer's event rate (0 to 8; 0 = no events)
``brightness``  1 = as rendered; lower darkens (a gentle high shelf above 500 Hz: 0.5 = -6 dB, 0 = a low-pass)
``width``       stereo width (0 to 1), replacing the layer's ``width``

Between moments values hold; a transition is a raised-cosine glide (level in dB). :meth:`lanes` turns a timeline into
plain breakpoints per layer and property, which the manifest records and :mod:`ambientgen.audio.timeline` evaluates.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from .durations import parse_duration

DEFAULT_OVER_S = 30.0
PROPERTIES = ("level", "density", "brightness", "width")
DEFAULTS = {"level": 0.0, "density": 1.0, "brightness": 1.0}  # width: the layer's own


class Change(BaseModel):
    """What one moment sets for one layer (unset values keep gliding from what they were)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    level: float | Literal["off"] | None = None
    density: float | None = Field(None, ge=0.0, le=8.0)
    brightness: float | None = Field(None, ge=0.0, le=1.0)
    width: float | None = Field(None, ge=0.0, le=1.0)

    @field_validator("level", mode="before")
    @classmethod
    def _level(cls, value: Any) -> Any:
        if value is False or isinstance(value, str) and value.strip().lower() in ("off", "none", "absent", "silent"):
            return "off"  # YAML reads a bare off as false
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"must be dB (-60 to 12) or 'off', got {value!r}")
        if not -60.0 <= value <= 12.0:
            raise ValueError(f"must be dB from -60 to 12 (or 'off'), got {value!r}")
        return float(value)

    @model_validator(mode="after")
    def _something(self) -> Change:
        if all(getattr(self, p) is None for p in PROPERTIES):
            raise ValueError(f"must set at least one of {', '.join(PROPERTIES)}")
        return self

    def given(self) -> dict[str, Any]:
        return {p: getattr(self, p) for p in PROPERTIES if getattr(self, p) is not None}


def _time_or_share(value: Any) -> float | str:
    """Seconds (from a number or a duration string), or a share of the duration kept as ``"NN%"``."""
    if isinstance(value, str) and value.strip().endswith("%"):
        text = value.strip()[:-1].strip()
        if not re.fullmatch(r"\d+(\.\d+)?", text) or float(text) > 100:
            raise ValueError(f"a share of the duration must be 0% to 100%, got {value!r}")
        return f"{float(text):g}%"
    if value in (0, 0.0, "0", "0s", "0m"):
        return 0.0
    return parse_duration(value)


class Moment(BaseModel):
    """One moment of a timeline: from ``at``, over ``over`` seconds, the named layers move to new values."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    at: float | str
    over: float | str | None = None
    note: str | None = Field(None, max_length=200)
    set: dict[str, Change] = Field(min_length=1)

    @field_validator("at", mode="before")
    @classmethod
    def _at(cls, value: Any) -> float | str:
        return _time_or_share(value)

    @field_validator("over", mode="before")
    @classmethod
    def _over(cls, value: Any) -> float | None:
        if value is None:
            return None
        return _time_or_share(value)

    def start_s(self, duration: float) -> float:
        """When the moment starts, in seconds of a scene lasting ``duration``."""
        if isinstance(self.at, str):
            return float(self.at[:-1]) / 100.0 * duration
        return float(self.at)

    def over_s(self, duration: float) -> float:
        """How long its transition lasts: ``over``, else 30 s (0 at the very start), never past the end."""
        start = self.start_s(duration)
        if isinstance(self.over, str):
            return float(self.over[:-1]) / 100.0 * duration
        if self.over is not None:
            return self.over
        return 0.0 if start == 0 else min(DEFAULT_OVER_S, max(0.0, duration - start))


def timeline_problems(moments: list[Moment], *, duration: float, layers: dict[str, str],
                      widths: dict[str, float]) -> list[str]:
    """Every problem of a timeline at once, one line each: ``layers`` maps names to roles (bed/events), ``widths``
    names to the layer's own width."""
    out = []
    spans: dict[str, list[tuple[float, float, int]]] = {}
    for i, m in enumerate(moments):
        where = f"timeline[{i}]"
        start, over = m.start_s(duration), m.over_s(duration)
        if start > duration + 1e-9:
            out.append(f"{where}.at: must be within the duration ({duration:g} s), got {start:g} s")
        elif start + over > duration + 1e-9:
            out.append(f"{where}.over: the transition must end by the end of the scene ({duration:g} s), got "
                       f"{start:g} + {over:g} s")
        for name, change in m.set.items():
            if name not in layers:
                close = difflib.get_close_matches(name, list(layers), n=1, cutoff=0.6)
                hint = f" (did you mean '{close[0]}'?)" if close else f" (layers: {', '.join(layers)})"
                out.append(f"{where}.set.{name}: no layer of that name{hint}")
                continue
            if change.density is not None and layers[name] != "events":
                out.append(f"{where}.set.{name}.density: only an events layer has a density, '{name}' is a bed")
            if change.width is not None and widths[name] == 0 and change.width > 0:
                out.append(f"{where}.set.{name}.width: the layer's width is 0 (mono): give it a width to widen")
            for a, b, j in spans.get(name, []):
                if start < b - 1e-9 and a < start + over - 1e-9 or (start == a and over == b - a == 0):
                    out.append(f"{where}: its transition for '{name}' ({start:g}-{start + over:g} s) overlaps "
                               f"timeline[{j}]'s ({a:g}-{b:g} s)")
                    break
            spans.setdefault(name, []).append((start, start + over, i))
    return out


def lanes(moments: list[Moment], *, duration: float, layers: dict[str, float]) -> dict[str, dict[str, list]]:
    """Breakpoints per layer and property: ``{layer: {property: [[t, value], ...]}}`` from 0 to ``duration``.

    Between two breakpoints the value glides (raised cosine) or holds (equal values). ``level`` values are dB
    relative to the layer's gain, ``None`` for off. Only layers and properties the timeline changes are listed.
    ``layers`` maps each layer name to its own width (the start value of ``width``).
    """
    order = sorted(range(len(moments)), key=lambda i: (moments[i].start_s(duration), i))
    out: dict[str, dict[str, list]] = {}
    for i in order:
        m = moments[i]
        start, over = m.start_s(duration), m.over_s(duration)
        for name, change in m.set.items():
            for prop, value in change.given().items():
                value = None if value == "off" else value
                lane = out.setdefault(name, {}).setdefault(prop, [[0.0, DEFAULTS.get(prop, layers.get(name))]])
                last = lane[-1][1]
                if start <= 0:
                    lane[:] = [[0.0, value]]
                    continue
                lane.append([round(start, 6), last])
                lane.append([round(start + over, 6), value])
    for props in out.values():
        for prop, lane in props.items():
            if lane[-1][0] < duration:
                lane.append([float(duration), lane[-1][1]])
            props[prop] = _merged(lane)
    return out


def _merged(lane: list[list]) -> list[list]:
    """Breakpoints with repeats at one time reduced to the first and the last (a step stays a step)."""
    out: list[list] = []
    for t, v in lane:
        if len(out) >= 2 and out[-1][0] == t and out[-2][0] == t:
            out[-1] = [t, v]
        elif out and out[-1] == [t, v]:
            continue
        else:
            out.append([t, v])
    return out


def closes(lane_set: dict[str, dict[str, list]]) -> list[str]:
    """What ends in another state than it starts (empty: the timeline closes, the scene can still loop)."""
    out = []
    for name, props in lane_set.items():
        level = props.get("level")
        silent_at_both = level is not None and level[0][1] is None and level[-1][1] is None
        for prop, lane in props.items():
            if prop != "level" and silent_at_both:  # what an absent layer would sound like does not matter
                continue
            if lane[0][1] != lane[-1][1]:
                first, last = ("off" if v is None else f"{v:g}" for v in (lane[0][1], lane[-1][1]))
                out.append(f"{name} {prop} {first} -> {last}")
    return out


def describe(moments: list[Moment], *, duration: float) -> list[dict[str, Any]]:
    """One row per moment, in time order: start, transition, note and what it sets (for ``plan`` and the studio)."""
    rows = []
    for m in sorted(moments, key=lambda m: m.start_s(duration)):
        sets = []
        for name, change in m.set.items():
            parts = []
            for prop, value in change.given().items():
                if prop == "level":
                    parts.append("off" if value == "off" else f"{value:+g} dB")
                else:
                    parts.append(f"{prop} {value:g}")
            sets.append(f"{name} {', '.join(parts)}")
        rows.append({"at_s": round(m.start_s(duration), 3), "over_s": round(m.over_s(duration), 3),
                     "note": m.note or "", "sets": "; ".join(sets)})
    return rows

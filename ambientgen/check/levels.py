"""The level track of a file judged against what its render meant: silent gaps and sudden level changes, and what a
render's manifest intends (its seams, events, fades and timeline), for :mod:`ambientgen.check.report`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import AmbientgenError

GAP_MIN_S = 0.02
GAP_DBFS = -60.0
LEVEL_S = 1.0  # level jumps are judged over 1 s either side (shorter windows see every bird call as a jump)


def gaps(frame_db: np.ndarray, hop_s: float, *, planned=None) -> list[list[float]]:
    """Stretches of at least GAP_MIN_S under GAP_DBFS and 40 dB under the median level (with a plan,
    ``planned(t)`` in dB: 40 dB under the median level the plan means there)."""
    if not len(frame_db):
        return []
    relative = frame_db
    if planned is not None:
        relative = frame_db - planned(np.arange(len(frame_db)) * hop_s).astype(np.float32)
    quiet = (frame_db < GAP_DBFS) & (relative < np.median(relative) - 40)
    gaps, start = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if (i - start) * hop_s >= GAP_MIN_S:
                gaps.append([round(start * hop_s, 3), round(i * hop_s, 3)])
            start = None
    return gaps


def seam_times(per_layer) -> list[float]:
    """Every layer's seam times (seconds) as one sorted list, each once, the loop point (0) left out."""
    return sorted({t for seams in per_layer for t in seams if t > 0})


def manifest_times(manifest: dict[str, Any]) -> tuple[list[float], list[float]]:
    """(seam times, event onset times) in seconds that a render's manifest lists."""
    seams = seam_times(layer["seams_s"] for layer in manifest["layers"])
    events = sorted({e["start_s"] for layer in manifest["layers"] for e in layer.get("events") or ()})
    return seams, events


@dataclass
class Intended:
    """What a render's manifest says is meant to be heard: its seams, event onsets, the stretches where silence is
    intended (fades, every layer off in the timeline), the stretches where the level is meant to change (events
    sounding, timeline transitions, fades) and the mix's planned level over time."""

    seams_s: list[float]
    events_s: list[float]
    quiet: list[tuple[float, float]]
    changes: list[tuple[float, float]]
    lanes: dict[str, dict[str, list]] = field(default_factory=dict)
    layer_power: dict[str, float] = field(default_factory=dict)

    @property
    def planned(self):
        """:meth:`planned_db` where the timeline changes some layer's level, else None."""
        return self.planned_db if any("level" in v for v in self.lanes.values()) else None

    def planned_db(self, t_s: np.ndarray) -> np.ndarray | None:
        """The mix's planned level (dB, relative to its mean) at ``t_s``: each layer's nominal power times its
        timeline gain squared; None without a timeline that changes levels."""
        from ..audio.timeline import level_gain

        levelled = {k: v["level"] for k, v in self.lanes.items() if "level" in v}
        if not levelled:
            return None
        total = np.zeros(len(t_s))
        for name, power in self.layer_power.items():
            if name in levelled:
                g2 = level_gain(levelled[name], t_s) ** 2
                total += power * g2 / max(float(g2.mean()), 1e-12)  # the stem's power was measured with the curve
            else:
                total += power
        db = 10 * np.log10(total + 1e-20)
        return db - 10 * np.log10(max(float(total.mean()), 1e-20))


def intended(manifest: dict[str, Any]) -> Intended:
    """What ``manifest`` (a render's, as a dict) intends (see :class:`Intended`)."""
    from ..audio.timeline import silent_spans

    end = manifest["duration_s"]
    fade_in, fade_out = manifest.get("fade_in_s") or 0.0, manifest.get("fade_out_s") or 0.0
    seams, events = manifest_times(manifest)
    quiet = [(0.0, fade_in), (end - fade_out, end)]
    changes = [(0.0, fade_in + LEVEL_S), (end - fade_out - LEVEL_S, end)]
    for layer in manifest["layers"]:
        lengths = layer.get("variation_s") or []
        for e in layer.get("events") or ():
            length = lengths[e["variation"]] if e.get("variation", 0) < len(lengths) else 10.0
            changes.append((e["start_s"], e["start_s"] + length))
    timeline = manifest.get("timeline") or {}
    lanes = timeline.get("lanes") or {}
    for m in timeline.get("moments") or ():
        changes.append((m["at_s"], m["at_s"] + m["over_s"]))
    names = [layer.get("name", "") for layer in manifest["layers"]]
    if names and all("level" in lanes.get(n, {}) for n in names):  # silent where every layer is off at once
        spans = [silent_spans(lanes[n]["level"]) for n in names]
        for a, b in spans[0]:
            for other in spans[1:]:
                a, b = max([a] + [x for x, y in other if x < b and y > a][:1]), \
                    min([b] + [y for x, y in other if x < b and y > a][:1])
            if b > a:
                quiet.append((a, b))
    power = {layer.get("name", ""): 10 ** ((layer.get("integrated_lufs") or -70.0) / 10)
             for layer in manifest["layers"]}
    for f in manifest.get("files", ()):
        if f.get("kind") == "stem" and f.get("layer") in power and f.get("integrated_lufs") is not None:
            power[f["layer"]] = 10 ** (f["integrated_lufs"] / 10)
    return Intended(seams, events, [q for q in quiet if q[1] > q[0]], changes, lanes, power)


def read_manifest(manifest: str | Path | dict[str, Any]) -> Intended:
    """What a manifest given as a path or a dict intends; a one-line error if it is not one."""
    import json

    try:
        data = manifest if isinstance(manifest, dict) else json.loads(Path(manifest).read_text(encoding="utf-8"))
        return intended(data)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AmbientgenError(f"manifest: {manifest} is not an AmbientGen manifest ({type(exc).__name__})") from None


def outside(gaps: list[list[float]], quiet: list[tuple[float, float]]) -> list[list[float]]:
    """The gaps not inside an intended quiet stretch (a fade's silence is no gap)."""
    return [g for g in gaps if not any(b > a and a - 0.01 <= g[0] and g[1] <= b + 0.01 for a, b in quiet)]


JUMP_DB = 10.0  # a change of the 1 s level this sudden, that nothing planned explains, is a level jump ...
JUMP_OVER_ORDINARY = 5.0  # ... when it is also this many times the material's ordinary step there (the 90th
# percentile of the steps outside planned changes nearby: birdsong 3.9 dB, a campfire 2.5, a steady storm 1.7)


def level_jumps(frame_db: np.ndarray, hop_s: float, *, planned=None,
                changes: list[tuple[float, float]] = ()) -> list[dict[str, float]]:
    """Sudden changes of level: where the mean power of the second after a moment differs from the second before by
    :data:`JUMP_DB` or more, and by :data:`JUMP_OVER_ORDINARY` times the material's ordinary step around it (measured
    outside the planned ``changes``), once the plan's own level (``planned(t)``, dB) is taken out; the largest per
    2 s."""
    w = max(1, round(LEVEL_S / hop_s))
    if len(frame_db) < 2 * w + 1:
        return []
    power = 10 ** (frame_db.astype(np.float64) / 10)
    if planned is not None:
        t = np.arange(len(frame_db)) * hop_s
        power = power / 10 ** (planned(t) / 10)
    c = np.concatenate([[0.0], np.cumsum(power)])
    k = np.arange(w, len(frame_db) - w + 1)
    before = (c[k] - c[k - w]) / w
    after = (c[k + w] - c[k]) / w
    step = 10 * np.log10((after + 1e-12) / (before + 1e-12))
    at = k * hop_s
    calm = np.ones(len(step), dtype=bool)
    for a, b in changes:
        calm &= ~((at >= a - LEVEL_S) & (at <= b + LEVEL_S))
    # the material's ordinary step around each moment: the 90th percentile per 30 s, the largest of it within a
    # minute either side (birdsong early in a scene does not excuse a dropout in the steady night after it)
    block = max(1, round(30.0 / hop_s))
    per_block = []
    for b0 in range(0, len(step), block):
        seg, ok = np.abs(step[b0 : b0 + block]), calm[b0 : b0 + block]
        per_block.append(float(np.percentile(seg[ok] if ok.sum() >= 10 else seg, 90.0)))
    per_block = np.array(per_block)
    near = np.array([per_block[max(0, i - 2) : i + 3].max() for i in range(len(per_block))])
    ordinary = near[np.arange(len(step)) // block]
    big = np.flatnonzero(np.abs(step) >= np.maximum(JUMP_DB, JUMP_OVER_ORDINARY * ordinary))
    out: list[dict[str, float]] = []
    for i in big:
        at = round(float(k[i] * hop_s), 3)
        if out and at - out[-1]["time_s"] < 2 * LEVEL_S:
            if abs(step[i]) > abs(out[-1]["step_db"]):
                out[-1] = {"time_s": at, "step_db": round(float(step[i]), 1)}
            continue
        out.append({"time_s": at, "step_db": round(float(step[i]), 1)})
    return out


def unplanned(jumps: list[dict[str, float]], changes: list[tuple[float, float]]) -> list[dict[str, float]]:
    """The jumps no planned change (an event sounding, a transition, a fade) explains (within LEVEL_S)."""
    return [j for j in jumps if not any(a - LEVEL_S <= j["time_s"] <= b + LEVEL_S for a, b in changes)]

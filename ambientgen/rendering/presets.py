"""Render presets: recipes that set several options at once. ``sleep``: a long track for a phone at bedtime.

``sleep`` is the same delivery as ``check --preset sleep`` (:data:`ambientgen.check.report.PRESETS`: its loudness
target and true-peak ceiling, not a loop), made as a recipe:

- **8 hours** unless a duration is given;
- **one compressed file** a phone plays (MP3), no stems, no REAPER session;
- a **gentle fade-in** (a minute, at most 2 % of the track);
- a **wind-down** over the last part: from 75 % to 90 % of the track, events thin out to a third and soften, beds
  settle 4 dB and darken (timeline moments added to the scene's own, for every layer whose own timeline leaves that
  stretch alone);
- then a **long fade** to silence (15 minutes, at most 10 % of the track).

Options given explicitly (a duration, formats, stems, a loudness target, fades) win over the recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import UsageError
from ..scene.schema import Scene, scene_from_dict

PRESETS = ("sleep",)


@dataclass(frozen=True)
class Recipe:
    """What a render preset sets where the caller did not."""

    name: str
    duration: str
    formats: str
    stems: bool
    session: bool
    lufs: float
    ceiling_dbtp: float
    fade_shares: tuple[float, float]  # the longest fades, as shares of the track (the check preset's)


def recipe(name: str | None) -> Recipe | None:
    """The recipe of a render preset (None for none); an unknown name is a usage error naming ``preset``."""
    if name is None:
        return None
    if name not in PRESETS:
        raise UsageError("preset", f"must be one of {', '.join(PRESETS)}, got {name!r}")
    from ..check.report import PRESETS as CHECK_PRESETS

    check = CHECK_PRESETS[name]  # one meaning for "sleep": check's target and ceiling
    return Recipe(name, "8h", "mp3", False, False, check.target_lufs, check.true_peak_max_dbtp, check.fades)


FADE_IN_S, FADE_OUT_S = 60.0, 900.0  # at most these, and at most the check preset's shares of the track
WIND_DOWN = ("75%", "15%")
WIND_DOWN_BED = {"level": -4.0, "brightness": 0.6}
WIND_DOWN_EVENTS = {"level": -6.0, "density": 0.33}


def apply_recipe(scene: Scene, rec: Recipe, *, fade_in_given: bool, fade_out_given: bool) -> tuple[Scene, list[str]]:
    """The scene made into ``rec``'s delivery: fades (unless given), wind-down moments, true-peak ceiling; with notes
    on what was left as the scene had it."""
    data = scene.model_dump(mode="json", exclude_unset=True)
    d = scene.duration
    notes = []
    if not fade_in_given:
        data["fade_in"] = round(min(FADE_IN_S, rec.fade_shares[0] * d), 3)
    if not fade_out_given:
        data["fade_out"] = round(min(FADE_OUT_S, rec.fade_shares[1] * d), 3)
    data["true_peak_dbtp"] = rec.ceiling_dbtp
    start, length = (float(x[:-1]) / 100 * d for x in WIND_DOWN)
    busy = {name for m in scene.timeline for name in m.set
            if m.start_s(d) < start + length and start < m.start_s(d) + max(m.over_s(d), 1e-9)}
    sets: dict[str, Any] = {}
    for layer in scene.layers:
        if layer.name in busy:
            notes.append(f"sleep: '{layer.name}' keeps its own timeline through the wind-down")
            continue
        sets[layer.name] = dict(WIND_DOWN_EVENTS if layer.role == "events" else WIND_DOWN_BED)
    if sets:
        data["timeline"] = list(data.get("timeline", [])) + [
            {"at": WIND_DOWN[0], "over": WIND_DOWN[1], "note": "sleep: winding down", "set": sets}]
    try:
        return scene_from_dict(data), notes
    except Exception as exc:  # a scene too short for the recipe's fades: said as the recipe's problem
        from ..errors import SceneError

        if isinstance(exc, SceneError):
            raise UsageError("preset", f"sleep cannot shape this scene: {exc}") from None
        raise

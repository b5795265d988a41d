"""Scenes: the schema and its validation (reading and writing scene files: :mod:`ambientgen.scene.files`).

A scene is validated completely before any model work: every problem is
collected and reported at once, each naming the field, the rule and the value;
unknown keys are rejected with a suggestion of the nearest valid key.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import SceneError
from .durations import _duration_or_zero, parse_duration
from .timeline import Moment, closes, describe, lanes, timeline_problems

DEFAULT_VARIETY = 36  # chunks rendered for a bed layer's pool
SAMPLE_RATES = (16000, 22050, 32000, 44100, 48000, 88200, 96000)
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"

Duration = Annotated[float, Field(description="seconds, or a string such as '10m' or '1h30m'")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class ModelSettings(_Strict):
    """How layers are rendered: the backend, the windowing every backend shares, and the backend's own keys.

    Keys other than the fields below (``checkpoint``, ``steps``, ``guidance``,
    ...) belong to backends and are validated by their settings models
    (:attr:`BackendSpec.settings <ambientgen.backends.base.BackendSpec>`): by the
    named backend's (with ``auto``, the neural default's, since that is what
    ``auto`` loads when it can) where it has the key, else by the backend that
    declares it; a key no backend declares is an error.
    :meth:`settings_for` gives one backend's settings typed, with defaults.
    """

    model_config = ConfigDict(extra="allow", validate_assignment=True)

    backend: str = "auto"
    negative_prompt: str = "Low quality."
    chunk_s: float = Field(10.24, gt=1.0, le=60.0)
    overlap_s: float = Field(1.5, ge=0.05, le=10.0)
    continuity: Literal["auto", "latent", "crossfade"] = "auto"
    variety: int = Field(DEFAULT_VARIETY, ge=2, le=400)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, value: str) -> str:
        from ..backends import AUTO, backend_names

        if value != AUTO and value not in backend_names():
            raise ValueError(f"must be one of {', '.join((AUTO, *backend_names()))}, got {value!r}")
        return value

    @model_validator(mode="after")
    def _backend_keys(self) -> ModelSettings:
        if self.overlap_s * 2 > self.chunk_s:
            raise ValueError(
                f"overlap_s must be at most half of chunk_s ({self.chunk_s / 2:g}), got {self.overlap_s:g}"
            )
        from ..backends import backend_names, get_spec

        primary = self._settings_backend()
        self.settings_for(primary)  # a ValidationError locates each bad value at model.<key>
        known = get_spec(primary).settings.model_fields
        for key, value in (self.model_extra or {}).items():
            if key not in known:  # another backend's setting (kept for when that one renders), or unknown
                owner = next((n for n in backend_names() if key in get_spec(n).settings.model_fields), primary)
                get_spec(owner).settings.model_validate({key: value})
        return self

    def _settings_backend(self) -> str:
        from ..backends import AUTO, NEURAL_DEFAULT

        return NEURAL_DEFAULT if self.backend == AUTO else self.backend

    def settings_for(self, backend: str) -> Any:
        """The backend's own settings from this section, with its defaults where unset.

        Keys that belong to other backends are ignored here, so one scene can
        carry settings for the neural backend and still render offline.
        """
        from ..backends import get_spec

        settings = get_spec(backend).settings
        return settings.model_validate({k: v for k, v in (self.model_extra or {}).items()
                                        if k in settings.model_fields})


class Events(_Strict):
    """How often an event layer sounds: ``per_minute`` on average, or a ``wait`` range between event starts."""

    per_minute: float | None = Field(None, gt=0.0, le=60.0)
    wait: list[float] | None = Field(None, min_length=2, max_length=2)
    variations: int = Field(6, ge=1, le=32)
    gain_jitter_db: float = Field(3.0, ge=0.0, le=24.0)
    pan_jitter: float = Field(0.3, ge=0.0, le=1.0)

    @field_validator("wait", mode="before")
    @classmethod
    def _parse_wait(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [parse_duration(v) for v in value]
        return value

    @model_validator(mode="after")
    def _one_density(self) -> Events:
        if self.per_minute is not None and self.wait is not None:
            raise ValueError("give per_minute or wait, not both")
        if self.wait is not None and self.wait[0] > self.wait[1]:
            raise ValueError(f"wait must be [min, max] with min <= max, got [{self.wait[0]:g}, {self.wait[1]:g}]")
        return self

    def wait_range_s(self) -> tuple[float, float]:
        """(min, max) seconds between event starts; ``per_minute`` p means waits of 0.5-1.5 x 60/p."""
        if self.wait is not None:
            return self.wait[0], self.wait[1]
        mean = 60.0 / (self.per_minute if self.per_minute is not None else 1.0)
        return 0.5 * mean, 1.5 * mean


class Animate(_Strict):
    """Slow seeded gain drift: ``depth_db`` peak to peak over a main ``period`` (like myNoise's Animate)."""

    depth_db: float = Field(6.0, gt=0.0, le=24.0)
    period: float = Field(300.0)

    @field_validator("period", mode="before")
    @classmethod
    def _parse_period(cls, value: Any) -> float:
        seconds = parse_duration(value)
        if seconds < 10:
            raise ValueError(f"must be at least 10 s, got {value!r}")
        return seconds


class Layer(_Strict):
    """One sound source, rendered as one stem: a ``prompt`` a backend renders, or a ``source`` recording (a file,
    a list of files, or globs) that the ``recording`` backend plays (:mod:`ambientgen.backends.recording`)."""

    name: str = Field(pattern=NAME_PATTERN)
    prompt: str | None = Field(None, min_length=1, max_length=500)
    source: list[str] | None = Field(None, min_length=1, max_length=256)
    negative_prompt: str | None = None
    gain_db: float = Field(0.0, ge=-60.0, le=12.0)
    pan: float = Field(0.0, ge=-1.0, le=1.0)
    width: float = Field(0.5, ge=0.0, le=1.0)
    seed_offset: int = Field(0, ge=0, le=2**31)
    continuity: Literal["auto", "latent", "crossfade"] | None = None
    role: Literal["bed", "events"] = "bed"
    variety: int | None = Field(None, ge=2, le=400)
    events: Events | None = None
    animate: Animate | None = None
    mute: bool = False  # kept in the scene, left out of the render (the studio's mute button)

    @field_validator("source", mode="before")
    @classmethod
    def _source_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and any(isinstance(v, str) and not v.strip() for v in value):
            raise ValueError("must name files, got a blank entry")
        return value

    @model_validator(mode="after")
    def _role_settings(self) -> Layer:
        if (self.prompt is None) == (self.source is None):
            raise ValueError("give prompt (a sound to generate) or source (a recording to play), "
                             + ("not both" if self.prompt is not None else "got neither"))
        if self.events is not None and self.role != "events":
            raise ValueError("events settings need role: events")
        if self.role == "events" and self.events is None:
            self.__dict__["events"] = Events()
        return self

    @field_validator("prompt")
    @classmethod
    def _prompt_not_blank(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()


class Scene(_Strict):
    """A validated scene: what to render and how to deliver it."""

    name: str = Field(pattern=NAME_PATTERN)
    description: str = ""
    duration: Duration = 300.0
    seed: int = Field(0, ge=0, le=2**32 - 1)
    sample_rate: int = 48000
    loop: bool = True
    target_lufs: float = Field(-23.0, ge=-50.0, le=-5.0)
    true_peak_dbtp: float = Field(-1.0, ge=-20.0, le=0.0)
    fade_in: float = 0.0
    fade_out: float = 0.0
    model: ModelSettings = Field(default_factory=ModelSettings)
    layers: list[Layer] = Field(min_length=1, max_length=16)
    timeline: list[Moment] = Field(default_factory=list, max_length=200)

    @field_validator("duration", mode="before")
    @classmethod
    def _parse_duration(cls, value: Any) -> float:
        return parse_duration(value)

    @field_validator("fade_in", "fade_out", mode="before")
    @classmethod
    def _parse_fade(cls, value: Any) -> float:
        return _duration_or_zero(value)

    @field_validator("sample_rate")
    @classmethod
    def _known_rate(cls, value: int) -> int:
        if value not in SAMPLE_RATES:
            raise ValueError(f"must be one of {', '.join(map(str, SAMPLE_RATES))}, got {value}")
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Scene:
        names = [layer.name for layer in self.layers]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"layer names must be unique, repeated: {', '.join(dupes)}")
        if self.fade_in + self.fade_out > self.duration:
            raise ValueError(f"fade_in + fade_out must fit in the duration ({self.duration:g} s), "
                             f"got {self.fade_in:g} + {self.fade_out:g} s")
        if self.loop and self.duration < 2 * self.model.overlap_s:
            raise ValueError(
                f"a looping scene must last at least twice model.overlap_s ({2 * self.model.overlap_s:g} s), "
                f"got duration {self.duration:g} s"
            )
        problems = timeline_problems(self.timeline, duration=self.duration,
                                     layers={la.name: la.role for la in self.layers},
                                     widths={la.name: la.width for la in self.layers})
        if problems:
            raise ValueError(_MANY + "\n".join(problems))
        return self

    @property
    def generated_layers(self) -> list[Layer]:
        """The layers a backend renders from a prompt (not recordings)."""
        return [layer for layer in self.layers if layer.source is None]

    @property
    def loopable(self) -> bool:
        """Whether the delivered track loops: ``loop``, no fade (a fade-in or sleep-timer fade-out breaks it) and a
        timeline that ends where it began."""
        return self.loop and not (self.fade_in or self.fade_out) and not self.timeline_changes()

    def lanes(self) -> dict[str, dict[str, list]]:
        """The timeline as breakpoints per layer and property (:func:`ambientgen.scene.timeline.lanes`)."""
        return lanes(self.timeline, duration=self.duration, layers={la.name: la.width for la in self.layers})

    def moments(self) -> list[dict[str, Any]]:
        """The timeline's moments in time order, in seconds, with what each sets (``plan``'s table, the manifest)."""
        return describe(self.timeline, duration=self.duration)

    def timeline_changes(self) -> list[str]:
        """What the timeline ends with differently from how it starts (``"rain level -10 -> 0"``); empty when it
        closes."""
        return closes(self.lanes()) if self.timeline else []

    def keep_layers(self, names: list[str] | set[str]) -> Scene:
        """This scene with only the named layers (and the timeline's settings for them; moments left with nothing
        to set go)."""
        keep = set(names)
        moments = []
        for m in self.timeline:
            sets = {k: v for k, v in m.set.items() if k in keep}
            if sets:
                moments.append(m.model_copy(update={"set": sets}))
        return self.model_copy(update={"layers": [la for la in self.layers if la.name in keep],
                                       "timeline": moments})

    def to_dict(self) -> dict[str, Any]:
        """Plain data that :func:`scene_from_dict` reads back to an equal scene."""
        return self.model_dump(mode="json")


_MANY = "several problems:\n"  # a cross-check that found several, one line each (split by scene_from_dict)


def _loc(loc: tuple[Any, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "scene"


def _model_for(loc: tuple[Any, ...]) -> type[BaseModel] | None:
    from .timeline import Change

    model: Any = Scene
    for part in loc[:-1]:
        if isinstance(part, int) or model is None:
            continue
        if model == "changes":  # timeline[i].set.<layer>: the key is a layer name, its value a Change
            model = Change
            continue
        nested = {Scene: {"model": ModelSettings, "layers": Layer, "timeline": Moment},
                  Layer: {"events": Events, "animate": Animate}, Moment: {"set": "changes"}}
        model = nested.get(model, {}).get(part)
    return model if model != "changes" else None


def _unknown_model_key(where: str, key: str, common: list[str]) -> str:
    from ..backends import backend_names, get_spec

    valid = sorted(set(common) | {k for name in backend_names() for k in get_spec(name).settings.model_fields})
    close = difflib.get_close_matches(key, valid, n=1, cutoff=0.6)
    hint = f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(valid)})"
    return f"{where}: unknown key{hint}"


def _describe(err: dict[str, Any]) -> str:
    loc = tuple(err["loc"])
    kind = err["type"]
    value = err.get("input")
    where = _loc(loc)
    if kind == "extra_forbidden":
        model = _model_for(loc)
        valid = sorted(model.model_fields) if model else []
        if model is ModelSettings:
            return _unknown_model_key(where, str(loc[-1]), valid)
        close = difflib.get_close_matches(str(loc[-1]), valid, n=1, cutoff=0.6)
        hint = f" (did you mean '{close[0]}'?)" if close else f" (valid keys: {', '.join(valid)})"
        return f"{where}: unknown key{hint}"
    if kind == "missing":
        return f"{where}: required field is missing"
    msg = err["msg"]
    msg = msg.removeprefix("Value error, ")
    if kind == "string_pattern_mismatch":
        msg = "must be 1-64 letters, digits, '_' or '-' (no spaces), starting with a letter or digit"
    elif kind == "literal_error":
        msg = msg.replace("Input should be", "must be")
    else:
        msg = msg.replace("Input should be", "must be").replace("String should", "must")
        msg = msg.replace("List should", "must")
    if kind == "value_error":  # our own validators already quote the value
        return f"{where}: {msg}"
    if kind == "too_short" and isinstance(value, list):
        return f"{where}: must list at least {err['ctx']['min_length']} item(s), got none"
    if kind == "too_long" and isinstance(value, list):
        return f"{where}: must list at most {err['ctx']['max_length']} items, got {len(value)}"
    shown = value if not isinstance(value, (dict, list)) else type(value).__name__
    return f"{where}: {msg}, got {shown!r}"


def scene_from_dict(data: Any, *, source: str | None = None) -> Scene:
    """Validate plain data (a mapping, as read from YAML or JSON) as a scene.

    Parameters
    ----------
    data : dict
        Scene fields; durations may be seconds or strings such as ``"10m"``.
    source : str, optional
        Where the data came from, for error messages (a file name).

    Returns
    -------
    Scene

    Raises
    ------
    SceneError
        Listing every problem at once, each naming the field (``layers[0].gain_db``), the rule and the value.
    """
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise SceneError(f"a scene must be a mapping of keys to values, got {kind}", source=source)
    try:
        return Scene.model_validate(data)
    except ValidationError as exc:
        problems = []
        for e in exc.errors(include_url=False):
            text = e["msg"].removeprefix("Value error, ")
            problems += text.removeprefix(_MANY).split("\n") if text.startswith(_MANY) else [_describe(e)]
        raise SceneError(problems, source=source) from None

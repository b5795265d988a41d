"""Step 1 of a render and the checks that need no model: the scene to render from what was given (a scene, a
plan, a YAML file or a sentence, planned for the backend that will render it), overrides applied, and
``ambientgen validate`` (:func:`validate_scene`). :mod:`ambientgen.rendering.pipeline` runs the render itself."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..backends import Backend, Choice, choose_backend, get_spec, load_backend, unsupported_layers
from ..errors import SceneError, UsageError
from ..scene.files import load_scene
from ..scene.schema import Scene, scene_from_dict

log = logging.getLogger("ambientgen")

MessageFn = Callable[[str, str], None]
"""Receives (level, text): level is ``info``, ``hint`` or ``warning``."""

DEVICES = ("auto", "cpu", "cuda", "mps")
RECORDINGS_ONLY = Choice("recording", "every layer plays a recording (source:)", automatic=False)
# overrides: render() keyword -> scene field
OVERRIDES = {
    "duration": "duration", "seed": "seed", "lufs": "target_lufs", "fade_in": "fade_in", "fade_out": "fade_out",
    "backend": "model.backend", "checkpoint": "model.checkpoint", "steps": "model.steps", "variety": "model.variety",
}


def default_message(level: str, text: str) -> None:
    (log.warning if level == "warning" else log.info)(text)


def is_description(argument: str) -> bool:
    """A render argument is a description unless it looks like a path (an existing file, .yaml/.yml, a slash); an
    empty one is an empty description (answered as such, not as a missing file)."""
    text = argument.strip()
    return not text or not (Path(text).exists() or text.lower().endswith((".yaml", ".yml")) or "/" in text or "\\" in text)


def plan_target(*, backend: str | Backend | None = None, checkpoint: str | None = None, device: str = "auto"):
    """The backend a description will render with, as the planner sees it (:class:`~ambientgen.planner.compose.PlanTarget`).

    ``auto`` is resolved as a render resolves it; a backend that renders only some sounds (the procedural one)
    is loaded to answer which (it is cheap); a neural one is not loaded.
    """
    from pydantic import ValidationError

    from ..backends import choose_backend, get_spec, load_backend
    from ..planner.compose import PlanTarget
    from ..scene.schema import ModelSettings

    check_device(device)
    if isinstance(backend, Backend):
        be = backend
    else:
        given = {k: v for k, v in {"backend": backend, "checkpoint": checkpoint}.items() if v is not None}
        try:
            model = ModelSettings(**given)
        except ValidationError as exc:  # one line naming the field
            err = exc.errors()[0]
            raise UsageError(f"model.{err['loc'][0]}", err["msg"].removeprefix("Value error, ")) from None
        choice = choose_backend(model, device=device)
        if not get_spec(choice.backend).filters_prompts:
            return PlanTarget(choice.backend)
        be = load_backend(model, device=device, choice=choice)
    if not be.spec.filters_prompts:
        return PlanTarget(be.name)
    return PlanTarget(be.name, True, be.supports, be.renderer)


def plan_description(description: str, *, backend: str | Backend | None = None, checkpoint: str | None = None,
                     device: str = "auto"):
    """Plan a scene from one sentence for the backend that will render it (:func:`ambientgen.planner.compose.plan`).

    Raises
    ------
    AmbientgenError
        The sentence is empty, names nothing known, or nothing in it can be rendered by that backend.
    """
    from ..planner.compose import plan

    return plan(description, backend=plan_target(backend=backend, checkpoint=checkpoint, device=device))


@dataclass
class Validation:
    """What ``ambientgen validate`` found: the scene, the backend it would render with and what renders each layer
    (``"left out: ..."`` for a layer that backend cannot render), and the warnings."""

    scene: Scene
    choice: Choice
    renders: dict[str, str]
    warnings: list[str]


def validate_scene(scene: Scene | str | Path, *, device: str = "auto", backend: str | None = None) -> Validation:
    """Check a scene against the backend it would render with, loading no model (``ambientgen validate``).

    ``backend`` overrides the scene's ``model.backend``, as ``render --backend`` does.

    Raises
    ------
    SceneError
        The scene file is invalid, or the backend it names cannot render one of its layers.
    UsageError
        ``backend`` or ``device`` is not one there is.
    """
    from ..planner.beds import one_event_beds

    check_device(device)
    from .recordings.layers import open_layer_sources

    sc = with_overrides(scene if isinstance(scene, Scene) else load_scene(scene), backend=backend)
    unmuted(sc)  # every layer muted: the error a render would give
    recordings = open_layer_sources(sc)
    warnings = [w for found in recordings.values() for w in found.warnings]
    choice = choose_backend(sc.model, device=device) if sc.generated_layers else RECORDINGS_ONLY
    renders = {layer.name: choice.backend for layer in sc.generated_layers}
    if sc.generated_layers and get_spec(choice.backend).filters_prompts:  # such a backend is cheap to load
        be = load_backend(sc.model, device=device, choice=choice)
        skipped = unsupported_layers(sc, be, strict=not choice.automatic)
        renders = {layer.name: ("left out: no generator for its prompt" if layer.name in skipped else
                                f"{be.name}: {be.renderer(layer.prompt)}") for layer in sc.generated_layers}
        warnings += [f"layer '{name}' will be left out: the {be.name} backend has no generator for its prompt "
                     f"({be.sources_hint()})" for name in skipped]
    renders = {layer.name: "muted: left out of the render" if layer.mute else
               recordings[layer.name].describe() if layer.source else renders[layer.name] for layer in sc.layers}
    return Validation(sc, choice, renders, warnings + one_event_beds(sc))


def resolve_scene(scene: Any, *, say: MessageFn = default_message, device: str = "auto",
                  loaded: Backend | None = None, **overrides: Any) -> tuple[Scene, Any]:
    """Step 1: the scene to render and, when it came from a sentence, its plan.

    Parameters
    ----------
    scene : Scene, ScenePlan, path or str
        A scene, a plan (:func:`plan_description`), a YAML file, or a description (planned for the backend that
        will render it; see :func:`is_description`).
    **overrides
        :data:`OVERRIDES` keywords; ``None`` keeps the scene's value.

    Raises
    ------
    SceneError
        The scene file is invalid.
    UsageError
        An override is invalid (the message names the field, e.g. ``duration``).
    """
    from ..planner.compose import ScenePlan

    planned = None
    if isinstance(scene, Scene):
        sc = scene
    elif isinstance(scene, ScenePlan):
        planned, sc = scene, scene.scene()
    elif isinstance(scene, Path) or not is_description(str(scene)):
        sc = load_scene(scene)
    else:
        planned = plan_description(str(scene), backend=loaded or overrides.get("backend"),
                                   checkpoint=overrides.get("checkpoint"), device=device)
        for warning in planned.warnings:
            say("warning", warning)
        sc = planned.scene()
        layers = ", ".join(f"{pl.name} ({pl.role}{', ' + pl.renders_with if pl.renders_with else ''})"
                           for pl in planned.layers)
        say("info", f"planning from the description '{str(scene).strip()}' (not a file): {layers}")
    return with_overrides(sc, **overrides), planned


def with_overrides(scene: Scene, **overrides: Any) -> Scene:
    """A new, validated scene with :data:`OVERRIDES` applied (``None`` keeps the scene's value).

    Raises :class:`UsageError` naming each overridden field that is invalid.
    """
    unknown = sorted(set(overrides) - set(OVERRIDES))
    if unknown:
        raise TypeError(f"unknown override(s): {', '.join(unknown)}")
    given = {OVERRIDES[k]: v for k, v in overrides.items() if v is not None}
    if not given:
        return scene
    data = scene.model_dump(mode="json", exclude_unset=True)  # what the scene set stays "set" (see make_plan)
    for key, value in given.items():
        section, _, name = key.rpartition(".")
        (data.setdefault(section, {}) if section else data)[name] = value
    try:
        return scene_from_dict(data)
    except SceneError as exc:
        raise UsageError.from_scene(exc) from None


def check_device(device: str) -> None:
    if device not in DEVICES:
        raise UsageError("device", f"must be one of {', '.join(DEVICES)}, got {device!r}")


def unmuted(sc: Scene):
    """(the scene without its muted layers, the muted layers); every layer muted is an error."""
    muted = [layer for layer in sc.layers if layer.mute]
    if not muted:
        return sc, []
    if len(muted) == len(sc.layers):
        raise SceneError("layers: every layer is muted (mute: true); unmute one to render")
    return sc.keep_layers([layer.name for layer in sc.layers if not layer.mute]), muted

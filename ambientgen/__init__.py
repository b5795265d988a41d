"""AmbientGen: long, seamless, loopable ambient soundscapes from a scene file or one sentence.

Public API::

    import ambientgen

    result = ambientgen.render("scenes/forest.yaml", "out/", duration="1m")
    print(result.manifest["integrated_lufs"], result.passed)

    scene = ambientgen.plan_scene("rain on a tin roof with distant thunder")
    result = ambientgen.render(scene, "out/storm", overwrite=True)

    report = ambientgen.check_file("out/forest.wav")

    result = ambientgen.loop("field/rain.wav", "out/rain", duration="1h")  # a recording as an hour-long loop

:func:`render` is the same pipeline as ``ambientgen render`` (preflight, render
cache, overwrite protection, check report); see :mod:`ambientgen.rendering.pipeline`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .errors import AmbientgenError, BackendError, ExportError, SceneError, UsageError
from .progress import ProgressEvent

# the rest is imported when first used (PEP 562): ``ambientgen check`` then loads no backend and no renderer
# (a second less before a check starts), and ``import ambientgen`` stays quick
if TYPE_CHECKING:
    from .backends import Backend, BackendSpec, register
    from .rendering.pipeline import RenderInterrupted, RenderResult, render
    from .rendering.prepare import Validation, validate_scene
    from .rendering.recordings.loop import loop, loop_scene
    from .scene.files import load_scene
    from .scene.schema import Layer, ModelSettings, Scene, scene_from_dict


def __getattr__(name: str):
    if name in ("Backend", "BackendSpec", "register"):
        from . import backends as module
    elif name in ("RenderInterrupted", "RenderResult", "render"):
        from .rendering import pipeline as module
    elif name in ("Validation", "validate_scene"):
        from .rendering import prepare as module
    elif name in ("loop", "loop_scene"):
        from .rendering.recordings import loop as module
    elif name == "load_scene":
        from .scene import files as module
    elif name in ("Layer", "ModelSettings", "Scene", "scene_from_dict"):
        from .scene import schema as module
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(module, name)
    globals()[name] = value  # found once
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AmbientgenError",
    "Backend",
    "BackendError",
    "BackendSpec",
    "ExportError",
    "Layer",
    "ModelSettings",
    "ProgressEvent",
    "RenderInterrupted",
    "RenderResult",
    "Scene",
    "SceneError",
    "UsageError",
    "Validation",
    "__version__",
    "check_file",
    "load_scene",
    "loop",
    "loop_scene",
    "plan_scene",
    "register",
    "render",
    "scene_from_dict",
    "validate_scene",
]


def plan_scene(description: str, *, duration: float | str = "10m", seed: int = 0, name: str | None = None,
               backend: str | None = None, device: str = "auto") -> Scene:
    """Plan a scene from one sentence for the backend that will render it: one layer per sound source, beds and
    events, levels and pans (as ``ambientgen plan``; its notes are logged as warnings).

    Parameters
    ----------
    description : str
        What it should sound like, e.g. ``"a quiet cabin by the lake at dawn"``.
    duration : float or str
        Seconds, or a string such as ``"10m"`` or ``"1h30m"``.
    seed : int
        The scene's seed.
    name : str, optional
        The scene's name (default: from the description).
    backend : str, optional
        Plan for this backend (default ``auto``: the one a render would use). For the procedural backend the
        plan holds only sounds it has generators for; the others are left out with a logged note.
    device : str
        What ``auto`` chooses for: ``auto``, ``cpu``, ``cuda`` or ``mps``.

    Raises
    ------
    SceneError
        Nothing in the description is a known sound source, or the duration is invalid.
    AmbientgenError
        Nothing in it can be rendered by that backend.
    """
    import logging

    from .rendering.prepare import plan_description

    planned = plan_description(description, backend=backend, device=device)
    for note in planned.warnings:
        logging.getLogger("ambientgen").warning(note)
    return planned.scene(name=name, duration=duration, seed=seed)


def check_file(path, *, preset: str = "ebu-r128", seams_s: list[float] | None = None, manifest=None):
    """Judge an audio file (loudness, peaks, clipping, gaps, repetition, seams, loop point) against a preset.

    Parameters
    ----------
    path : str or Path
        A WAV, FLAC, Ogg, Opus or MP3 file.
    preset : str
        ``ebu-r128``, ``atsc-a85``, ``streaming``, ``podcast``, ``sleep``, ``game-loop`` or ``quality``.
    seams_s : list of float, optional
        Seam times (s) to rank; without them (and without a manifest), splice points are detected.
    manifest : str, Path or dict, optional
        A render's ``manifest.json`` (as ``ambientgen check --manifest``): its seams are ranked, and detected
        splices that neither its seams nor its event onsets explain are reported.

    Returns
    -------
    ambientgen.check.report.Report
        ``passed`` and ``failures`` give the verdict.
    """
    from .check.report import check_file as _check

    return _check(path, preset=preset, seams_s=seams_s, manifest=manifest)

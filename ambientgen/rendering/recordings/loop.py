"""One recording into a long seamless loop: a one-layer scene rendered through the pipeline (``ambientgen loop``).

:func:`loop_scene` builds the scene (one ``source:`` layer, played by the
``recording`` backend); :func:`loop` renders it with everything
:func:`ambientgen.render` does: preflight, overwrite protection, the mix with
loop metadata, stem, session, manifest (with the files' provenance and how
soon any stretch of the source recurs) and the check report.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ...errors import UsageError
from ...scene.schema import Scene, SceneError, scene_from_dict


def loop_scene(source: str | Path | list[str | Path], *, duration: float | str = "10m", seed: int = 0,
               name: str | None = None, lufs: float | None = None, width: float = 0.5) -> Scene:
    """A looping one-layer scene that plays ``source`` (a file, a folder, a glob, or a list of them).

    Raises
    ------
    UsageError
        The duration, loudness target or width is invalid (one line naming it).
    """
    entries = source if isinstance(source, list) else [source]
    paths = [str(Path(e).expanduser().absolute()) for e in entries]
    stem = Path(str(entries[0])).stem if entries else "loop"
    label = re.sub(r"[^A-Za-z0-9_-]", "-", stem).strip("-_")[:64] or "loop"
    data: dict[str, Any] = {"name": name or label, "duration": duration, "seed": seed, "loop": True,
                            "layers": [{"name": label, "source": paths, "width": width}]}
    if lufs is not None:
        data["target_lufs"] = lufs
    try:
        return scene_from_dict(data)
    except SceneError as exc:
        raise UsageError.from_scene(exc, rename={"layers[0].width": "width"}) from None


def loop(source: str | Path | list[str | Path], output: str | Path = "out", *, duration: float | str = "10m",
         seed: int = 0, name: str | None = None, lufs: float | None = None, width: float = 0.5,
         **render_options: Any):
    """Turn a recording into a long seamless loop in ``output`` (as ``ambientgen loop``).

    Parameters
    ----------
    source : str, Path or list
        The recording: a file (WAV, FLAC, Ogg, Opus, MP3, AIFF), a folder, a glob, or a list of them.
    duration : float or str
        Length of the loop: seconds, or a string such as ``"10m"`` or ``"1h"``.
    seed, name, lufs, width
        The scene's seed, name (default: the file's), loudness target and stereo width.
    **render_options
        Anything :func:`ambientgen.render` takes (``formats``, ``overwrite``, ``stems``, ``on_progress`` ...).

    Returns
    -------
    RenderResult
        Its manifest's layer records the source files (path, SHA-256, rate, length) and
        ``pool.min_source_recurrence_s``.
    """
    from ..pipeline import render

    scene = loop_scene(source, duration=duration, seed=seed, name=name, lufs=lufs, width=width)
    return render(scene, output, **render_options)

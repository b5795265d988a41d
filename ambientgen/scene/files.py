"""Scene files: finding them (a path, or a bundled scene by name), reading YAML into a validated
:class:`~ambientgen.scene.schema.Scene`, and writing one back.

A scene file's relative ``source:`` paths are relative to the file's folder; a
missing file names the close ones beside it and the bundled scenes.
"""

from __future__ import annotations

import difflib
import re
from pathlib import Path

import yaml

from ..errors import SceneError
from .schema import Scene, scene_from_dict


def bundled_scenes() -> dict[str, Path]:
    """The scenes installed with the package (``ambientgen/data/scenes``), by name (file stem)."""
    from importlib import resources

    folder = Path(str(resources.files("ambientgen").joinpath("data/scenes")))
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def resolve_scene_path(path: str | Path) -> Path:
    """``path`` itself if it exists; otherwise the bundled scene it names (``scenes/forest.yaml`` or
    ``forest.yaml`` from any folder, as after ``pip install``), or ``path`` unchanged."""
    path = Path(path)
    if path.exists() or path.suffix.lower() not in (".yaml", ".yml"):
        return path
    if path.parent.name in ("", "scenes") and len(path.parts) <= 2:
        return bundled_scenes().get(path.stem, path)
    return path


def load_scene(path: str | Path) -> Scene:
    """Read and validate a YAML scene file (a missing ``name`` comes from the file name).

    Parameters
    ----------
    path : str or Path
        The scene file. ``scenes/NAME.yaml`` (or ``NAME.yaml``) that does not exist
        here is the bundled scene of that name (see ``ambientgen scenes``).

    Returns
    -------
    Scene

    Raises
    ------
    SceneError
        The file is missing, unreadable, not YAML, or not a valid scene (every problem listed).
    """
    source = str(path)
    path = resolve_scene_path(path)
    if path.is_dir():
        raise SceneError("is a directory, not a scene file", source=source)
    if not path.exists():
        raise SceneError("no such scene file" + _close_scene_files(path), source=source)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise SceneError("is not a UTF-8 text file", source=source) from None
    except OSError as exc:
        raise SceneError(f"cannot be read ({exc.strerror})", source=source) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SceneError(f"YAML syntax error{where}: {problem}", source=source) from None
    if isinstance(data, dict) and "name" not in data:
        data = {"name": re.sub(r"[^A-Za-z0-9_-]", "-", path.stem)[:64] or "scene", **data}
    if isinstance(data, dict):
        _sources_from(data, path.resolve().parent)
    return scene_from_dict(data, source=source)


def _sources_from(data: dict, folder: Path) -> None:
    """Make the scene's relative ``source:`` paths relative to ``folder`` (the scene file's), in place."""
    for layer in data.get("layers") or []:
        if not isinstance(layer, dict):
            continue
        src = layer.get("source")
        items = [src] if isinstance(src, str) else src if isinstance(src, list) else []
        fixed = [str(folder / Path(v).expanduser()) if isinstance(v, str) and v.strip()
                 and not Path(v).expanduser().is_absolute() else v for v in items]
        if fixed:
            layer["source"] = fixed


def _close_scene_files(path: Path) -> str:
    """`` (did you mean ...?)`` naming scene files in the same folder (or bundled scenes) whose names are close,
    and where to find the bundled scenes."""
    folder = path.parent if path.parent.is_dir() else None
    names = sorted(p.name for p in folder.glob("*.y*ml")) if folder is not None else []
    close = [str(folder / n) for n in difflib.get_close_matches(path.name, names, n=3, cutoff=0.75)]
    if not close:
        bundled = [f"scenes/{n}.yaml" for n in difflib.get_close_matches(path.stem, list(bundled_scenes()), n=3,
                                                                             cutoff=0.75)]
        close = bundled
    hint = f" (did you mean {' or '.join(close)}?)" if close else ""
    return hint + "; `ambientgen scenes` lists the bundled scenes"


def dump_scene(scene: Scene) -> str:
    """YAML text of a scene (keys in schema order)."""
    return yaml.safe_dump(scene.to_dict(), sort_keys=False, allow_unicode=True)

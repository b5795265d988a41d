"""What the studio has open: the scene being edited, the render folder it plays, and the export in progress.

Everything here goes through the public library API, as a notebook would.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

import ambientgen
from ambientgen import AmbientgenError, ProgressEvent, Scene, SceneError

MANIFEST = "manifest.json"
# how far through a render each stage starts (the render stage spreads over the layers)
STAGE_START = {"load": 0.0, "render": 0.03, "analyse": 0.75, "limit": 0.82, "write": 0.86, "check": 0.94}


@dataclass
class Job:
    """An export running in a background thread, as the page polls it (``GET /api/job``)."""

    layers: list[str]
    state: str = "idle"  # idle, running, done, failed
    stage: str = ""
    layer: str | None = None
    done: int = 0
    total: int = 0
    unit: str = ""
    fraction: float = 0.0
    started: float = 0.0
    seconds: float = 0.0
    error: str | None = None
    model_calls_run: int | None = None
    messages: list[str] = field(default_factory=list)

    def progress(self, event: ProgressEvent) -> None:
        self.stage, self.layer, self.done, self.total, self.unit = (event.stage, event.layer, event.done,
                                                                    event.total, event.unit)
        part = event.done / event.total if event.total else 0.0
        stages = list(STAGE_START)
        start = STAGE_START.get(event.stage, self.fraction)
        if event.stage == "render":
            share = (STAGE_START["analyse"] - start) / max(1, len(self.layers))
            k = self.layers.index(event.layer) if event.layer in self.layers else 0
            start, width = start + k * share, share
        else:
            nxt = stages[stages.index(event.stage) + 1] if event.stage in stages[:-1] else None
            width = (STAGE_START[nxt] if nxt else 1.0) - start
        self.fraction = max(self.fraction, min(1.0, start + width * part))

    def as_dict(self) -> dict[str, Any]:
        elapsed = (time.monotonic() - self.started) if self.state == "running" else self.seconds
        eta = elapsed * (1 - self.fraction) / self.fraction if self.state == "running" and self.fraction > 0.02 \
            else None
        return {"state": self.state, "stage": self.stage, "layer": self.layer, "done": self.done,
                "total": self.total, "unit": self.unit, "fraction": round(self.fraction, 4),
                "elapsed_s": round(elapsed, 1), "eta_s": None if eta is None else round(eta, 1),
                "error": self.error, "model_calls_run": self.model_calls_run, "messages": self.messages[-20:]}


BIT_DEPTHS = {"PCM_16": "16", "PCM_24": "24", "FLOAT": "32f"}


def export_options(manifest: dict[str, Any] | None) -> dict[str, Any]:
    """The deliverables an earlier render wrote (mix formats, bit depth, stems, session, report), so Export
    writes the same set again; defaults with no earlier render."""
    if manifest is None:
        return {}
    files = manifest.get("files", [])
    mixes = [f for f in files if f.get("kind") == "mix"]
    options: dict[str, Any] = {"stems": any(f.get("kind") == "stem" for f in files),
                               "session": any(f.get("kind") == "session" for f in files)}
    if mixes:
        options["formats"] = list(dict.fromkeys(f["format"] for f in mixes))
        depth = next((BIT_DEPTHS[f["subtype"]] for f in mixes if f.get("subtype") in BIT_DEPTHS), None)
        if depth:
            options["bit_depth"] = depth
    return options


def scene_of_render(manifest: dict[str, Any]) -> Scene:
    """The scene a render folder was made from: the manifest's scene with its muted layers put back."""
    data = dict(manifest["scene"])
    data["layers"] = list(data["layers"]) + list(manifest.get("muted_layers", []))
    # the manifest lists every field; a field at its default counts as not set (as in a scene file that leaves it
    # out), so a backend's preferred window still applies where the scene set none
    full = ambientgen.scene_from_dict(data)
    return ambientgen.scene_from_dict(full.model_dump(mode="json", exclude_defaults=True) | {"name": full.name})


def _read_json(path: Path) -> dict[str, Any] | None:
    """A render's JSON file (manifest, check report), or None when it is missing or unreadable."""
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def scene_data(scene: Scene) -> dict[str, Any]:
    """What the scene sets (defaults left out, as in its file): edits add keys, so a render of the saved or
    exported scene plans exactly as the file would (a backend's preferred window applies where no window is set)."""
    return scene.model_dump(mode="json", exclude_unset=True)


def scene_yaml(scene: Scene) -> str:
    """The scene as a YAML preset: what it sets, keys in schema order."""
    return yaml.safe_dump(scene_data(scene), sort_keys=False, allow_unicode=True)


class StudioSession:
    """The studio's state: the scene (as edited and saved), its render folder and the export job.

    Parameters
    ----------
    scene : Scene
        The scene being edited.
    output : Path
        Its render folder: the studio plays the stems there and Export re-renders into it.
    scene_path : Path, optional
        Where Save writes by default (the scene file the studio opened, or ``<output>/<name>.yaml``).
    """

    def __init__(self, scene: Scene, output: Path, scene_path: Path | None = None):
        self.scene = scene
        self.output = Path(output)
        self.scene_path = scene_path or self.output / f"{scene.name}.yaml"
        self.token = secrets.token_urlsafe(24)
        self.job = Job([layer.name for layer in scene.layers])
        self.lock = threading.Lock()
        self.saved: set[Path] = set()  # files this session wrote (Save may replace them without asking)
        self.thread: threading.Thread | None = None

    # ---- reading ------------------------------------------------------------------------------------
    @property
    def manifest(self) -> dict[str, Any] | None:
        return _read_json(self.output / MANIFEST)

    def state(self) -> dict[str, Any]:
        """What the page shows: the scene, its render (manifest and check report) and the job."""
        manifest = self.manifest  # read once: an hour's manifest lists thousands of excerpts
        rendered = report = None
        if manifest is not None:
            report = _read_json(self.output / f"{manifest['name']}.check.json")
            try:
                rendered = scene_of_render(manifest).to_dict()
            except SceneError:
                rendered = None
        return {"scene": scene_data(self.scene), "values": self.scene.to_dict(), "scene_path": str(self.scene_path),
                "output": str(self.output), "manifest": manifest, "report": report, "rendered_scene": rendered,
                "job": self.job.as_dict()}

    def file(self, relative: str) -> Path:
        """A file of the render folder, or :class:`PermissionError` / :class:`FileNotFoundError` (never outside it)."""
        root = self.output.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or any(part.startswith(".") for part in Path(relative).parts):
            raise PermissionError(relative)
        if not path.is_file():
            raise FileNotFoundError(relative)
        return path

    # ---- editing ------------------------------------------------------------------------------------
    def edited(self, data: Any) -> Scene:
        """A scene from the page's edits, validated by the same schema as scene files (SceneError: one line)."""
        if not isinstance(data, dict):
            raise SceneError("a scene must be a mapping of keys to values", source="studio")
        return ambientgen.scene_from_dict(data)

    def save(self, data: Any, path: str | None = None, *, overwrite: bool = False) -> Path:
        """Write the edited scene as YAML (atomically). A file this session did not write needs ``overwrite``."""
        scene = self.edited(data)
        target = Path(path).expanduser() if path else self.scene_path
        if target.suffix.lower() not in (".yaml", ".yml"):
            raise AmbientgenError(f"path: a scene file ends in .yaml or .yml, got '{target.name}'")
        if target.exists() and not overwrite and target.resolve() not in self.saved:
            raise AmbientgenError(f"path: '{target}' exists; replace it? (overwrite: true)")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        tmp.write_text(scene_yaml(scene))
        tmp.replace(target)
        self.saved.add(target.resolve())
        self.scene = scene
        return target

    # ---- exporting ----------------------------------------------------------------------------------
    def export(self, data: Any | None = None, *, wait: bool = False) -> Job:
        """Re-render the (edited) scene into the render folder through :func:`ambientgen.render`, in a thread.

        Raises SceneError for an invalid scene and AmbientgenError when an export is already running.
        """
        scene = self.edited(data) if data is not None else self.scene
        with self.lock:
            if self.job.state == "running":
                raise AmbientgenError("export: one is already running; wait for it to finish")
            self.scene = scene
            self.job = Job([layer.name for layer in scene.layers if not layer.mute], state="running",
                           started=time.monotonic())
            job = self.job
        self.thread = threading.Thread(target=self._run, args=(scene, job), name="ambientgen-export", daemon=True)
        self.thread.start()
        if wait:
            self.thread.join()
        return job

    def _run(self, scene: Scene, job: Job) -> None:
        def say(level: str, text: str) -> None:
            job.messages.append(f"{level}: {text}" if level != "info" else text)

        try:
            options = export_options(self.manifest)
            result = ambientgen.render(scene, self.output, overwrite=True, on_progress=job.progress, on_message=say,
                                       **options)
            job.model_calls_run = sum(int(layer.get("rendered_now") or 0) for layer in result.manifest["layers"])
            job.fraction, job.state = 1.0, "done"
        except AmbientgenError as exc:
            job.error, job.state = str(exc), "failed"
        except Exception as exc:  # noqa: BLE001 - shown on the page as one line; the server stays up
            job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
        job.seconds = time.monotonic() - job.started


def open_session(target: str | None, *, output: str | None = None) -> StudioSession:
    """A session for a scene file, a render folder (holding ``manifest.json``) or a description.

    With no render in the output folder yet, the first export is started at once (the page shows its progress).
    """
    if target is None:
        target = "."
    path = Path(target).expanduser()
    if path.is_dir():
        if not (path / MANIFEST).is_file():
            raise AmbientgenError(f"'{target}' is a folder without a render ({MANIFEST}); give a scene file, a render "
                                  "folder or a description")
        manifest = _read_json(path / MANIFEST)
        if manifest is None:
            raise AmbientgenError(f"'{path / MANIFEST}' cannot be read as a render's manifest")
        session = StudioSession(scene_of_render(manifest), Path(output) if output else path)
        return session
    if path.suffix.lower() in (".yaml", ".yml") or path.exists() or "/" in target:
        scene = ambientgen.load_scene(path)
        session = StudioSession(scene, Path(output) if output else Path("out") / scene.name, scene_path=path)
    else:
        scene = ambientgen.plan_scene(target)
        session = StudioSession(scene, Path(output) if output else Path("out") / scene.name)
    if session.manifest is None:
        session.export()
    return session

"""What a plan is: the backend it is made for, its layers (each with the words that produced it and what
renders it), and how it becomes a table, a scene and a commented scene file.

:func:`ambientgen.planner.compose.plan` makes one from a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from ..scene.schema import Scene, scene_from_dict
from .ontology import ontology


@dataclass(frozen=True)
class PlanTarget:
    """The backend a plan is made for (the planner does not import backends).

    ``filters`` is true for a backend that renders only some sounds; ``supports``
    and ``renderer`` answer for one prompt, as the backend's own methods do.
    """

    name: str
    filters: bool = False
    supports: Callable[[str], bool] = lambda prompt: True
    renderer: Callable[[str], str] | None = None


@dataclass
class PlannedLayer:
    name: str
    source: str | None  # None: a phrase the ontology does not know
    role: str
    prompt: str
    gain_db: float
    pan: float
    width: float
    per_minute: float | None
    words: str  # the user's words that produced it
    implied_by: str | None = None  # the environment that implied it
    merged: list[str] = field(default_factory=list)
    renders_with: str | None = None  # when planned against a backend: "procedural: rain intensity=heavy ..."
    own_prompt: bool = False  # the prompt is the source's own for the backend (not restyled)
    nearest: str | None = None  # a compound's first half's source ("car wash": traffic), for offline backends

    def explain(self) -> dict[str, Any]:
        out = {"layer": self.name, "source": self.source or "(unknown: your words)", "from": self.words}
        if self.renders_with:
            out["renders_with"] = self.renders_with
        if self.implied_by:
            out["implied_by"] = self.implied_by
        if self.merged:
            out["merged"] = self.merged
        return out


@dataclass
class ScenePlan:
    description: str
    layers: list[PlannedLayer]
    warnings: list[str]
    time_of_day: str | None
    backend: str | None = None  # the backend it was planned for
    left_out: list[str] = field(default_factory=list)  # what was asked for and will not render, and why
    timeline: list[dict[str, Any]] = field(default_factory=list)  # moments read from the sentence (shares of time)

    def moments(self, duration: float | str = "10m") -> list[dict[str, Any]]:
        """The timeline as table rows (start and transition in seconds of ``duration``, note, what it sets)."""
        from ..scene.schema import parse_duration
        from ..scene.timeline import describe

        seconds = parse_duration(duration)
        return describe(self.scene(duration=seconds).timeline, duration=seconds) if self.timeline else []

    def rows(self) -> list[dict[str, str]]:
        """The plan table (what ``ambientgen plan`` and ``render "DESCRIPTION"`` print): one row per layer."""
        sc = self.scene()
        out = []
        for layer, planned in zip(sc.layers, self.layers):
            rate = f"{layer.events.per_minute:g}" if layer.events and layer.events.per_minute else ""
            origin = planned.words + (f" (implied by {planned.implied_by})" if planned.implied_by else "")
            renders = (planned.renders_with or "").removeprefix(f"{self.backend}: ")
            out.append({"layer": layer.name, "role": layer.role, "renders with": renders,
                        "prompt": layer.prompt, "gain dB": f"{layer.gain_db:g}", "pan": f"{layer.pan:+.2f}",
                        "events/min": rate, "from your words": origin})
        return out

    def explain(self) -> list[dict[str, Any]]:
        return [layer.explain() for layer in self.layers]

    def scene_text(self, scene: Scene) -> str:
        """The scene as YAML (only what differs from the defaults), headed by how each layer was planned."""
        lines = [f"# planned by `ambientgen plan` from: {self.description}"]
        for layer in self.layers:
            origin = f"from '{layer.words}'" + (f", implied by {layer.implied_by}" if layer.implied_by else "")
            merged = f"; merged: {', '.join(layer.merged)}" if layer.merged else ""
            lines.append(f"#   {layer.name}: {origin}{merged}")
        if self.backend:
            lines.append(f"# planned for the {self.backend} backend")
        lines += [f"# note: {w}" for w in self.warnings]
        body = yaml.safe_dump(scene.model_dump(mode="json", exclude_defaults=True), sort_keys=False,
                              allow_unicode=True)
        return "\n".join(lines) + "\n" + body

    def scene(self, *, name: str | None = None, duration: float | str = "10m", seed: int = 0) -> Scene:
        """A scene that ``render`` accepts unchanged."""
        layers = []
        for layer in self.layers:
            entry: dict[str, Any] = {"name": layer.name, "prompt": layer.prompt, "gain_db": round(layer.gain_db, 1),
                                     "pan": round(layer.pan, 2), "width": layer.width}
            if layer.role == "events":
                entry["role"] = "events"
                entry["events"] = {"per_minute": round(layer.per_minute or 1.0, 3)}
            layers.append(entry)
        model = {"negative_prompt": ontology().negative_prompt}
        if self.backend:  # what it was planned for renders it: validate and render judge it for that backend
            model["backend"] = self.backend
        data = {"name": name or _slug(self.description), "description": self.description, "duration": duration,
                "seed": seed, "model": model, "layers": layers}
        if self.timeline:
            data["timeline"] = self.timeline
        return scene_from_dict(data)


def _slug(text: str) -> str:
    """A file-name-safe scene name from the first words of the description (whole words, at most 40 chars)."""
    slug = ""
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(slug) + len(word) + 1 > 40:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or "scene"

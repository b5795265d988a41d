"""Offline procedural backend: synthesized rain, wind, water, fire, insects, birds, owls, bells, dogs, a kitchen,
typing and footsteps (no model, no download).

In the spirit of Andy Farnell's *Designing Sound*: each source is noise,
filters and stochastic events. A layer's prompt is matched to a generator by
whole-word keywords (``SOURCES``, first match wins, so "sea breeze" is wind and "ocean
waves" are waves); modifiers in the prompt (heavy/light, tin roof/window/leaves,
distant) set its parameters. Output is 48 kHz mono, deterministic per seed.
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from ...errors import BackendError
from ..base import Backend, BackendSpec, ChunkRequest, NoSettings, ProgressCallback
from . import air, creatures, fire, metal, people, rooms, water
from .dsp import finish

SAMPLE_RATE = 48000
# bump whenever a generator's sound changes: it is part of the render cache's key, so cached chunks of an older
# generator are never mixed with new ones
# 12: a stream's babble at a fast FFT length and its parts levelled once, noises that are summed made in one inverse
# FFT, the wind's slow curves at a control rate, a distant source filtered in one pass (the same sounds, faster);
# 11: noise made in one single-precision FFT with the band as its spectrum, a stream's babble at 16 kHz, slow curves
# at a control rate (the same sounds, other bits); 10: owls, footsteps; 9: flutter drawn at a control rate, FFTs
# by scipy (the same sound, other bits); 8: bells, chimes, ...
GENERATORS_VERSION = 12
# chunks (s) and the fade that joins them (s): a 3 s fade hides the change between two independent chunks better
# than 1.5 s (seam rank 0.53 -> 0.44 by the seam measure, 0.45 -> 0.36 by a 0.5 s log-mel judge, on real
# recordings: benchmarks/compare_seams.py); 12 s chunks keep the hop (9 s) and so the chunk count of the scene
# default (10.24 s, 1.5 s: 8.74 s), so a 5-minute layer is still one stream of chunks, not a pool
WINDOW = (12.0, 3.0)
DISTANT_HZ = 2500.0  # a distant source's first-order low-pass: air absorbs its highs


@dataclass(frozen=True)
class Source:
    """A generator and the whole words that choose it; ``unless`` words mean the prompt is another thing
    ("wind chimes" are not wind, "car horns in traffic" are not traffic, "radiator pipes ticking" not a clock)."""

    name: str
    keywords: tuple[str, ...]
    generate: Callable[..., np.ndarray]
    params: Callable[[str], dict[str, Any]] = lambda prompt: {}
    unless: tuple[str, ...] = ()


# endings a keyword may take (crackl-e, crackl-ing, bird-s, gust-y); nothing else may follow it, so "sea" never
# matches "seagulls", "fire" never "firefly", "rain" never "rainforest", "wind" never "windmill"
_ENDINGS = r"(?:e|s|es|ed|er|ers|ing|ings|y|ly|ies)?"


def _has(prompt: str, *words: str) -> bool:
    """Whether ``prompt`` contains one of ``words`` as a whole word (with a common ending)."""
    return any(re.search(rf"\b{w}{_ENDINGS}\b", prompt) for w in words)


def _rain_params(prompt: str) -> dict[str, Any]:
    if _has(prompt, "heavy", "pour", "torrential", "downpour", "storm", "lashing"):
        intensity = "heavy"
    elif _has(prompt, "light", "gentle", "soft", "drizzl", "distant", "faint"):
        intensity = "light"
    else:
        intensity = "medium"
    if _has(prompt, "tin", "roof", "rooftop", "metal", "metallic", "corrugated", "car"):
        surface = "roof"
    elif _has(prompt, "window", "glass", "pane"):
        surface = "window"
    elif _has(prompt, "leaves", "leaf", "forest", "tent", "umbrella", "canopy"):
        surface = "leaves"
    else:
        surface = "ground"
    return {"intensity": intensity, "surface": surface}


def _hum_params(prompt: str) -> dict[str, Any]:
    if _has(prompt, "air condition", "air conditioner", "air conditioning", "ventilation", "hvac", "vent"):
        return {"kind": "air conditioner"}
    if _has(prompt, "fridge", "refrigerator"):
        return {"kind": "fridge"}
    if _has(prompt, "server", "computer", "data center"):
        return {"kind": "servers"}
    return {"kind": "fan"}


SOURCES: tuple[Source, ...] = (
    Source("thunder", ("thunder", "thunderstorm", "thunderclap", "lightning"), air.thunder,
           lambda p: {"distance": "close" if _has(p, "close", "near", "nearby", "overhead", "crack") else "distant"}),
    Source("drips", ("drip", "dripping", "gutter"), water.drips),
    Source("rain", ("rain", "raindrop", "rainfall", "rainstorm", "drizzl", "downpour", "shower", "hail",
                    "hailstone"), water.rain, _rain_params),
    Source("waterfall", ("waterfall", "cascade", "fountain"), water.waterfall),
    Source("stream", ("stream", "river", "brook", "creek", "trickl", "babbl", "rapids", "bubbl"), water.stream),
    Source("crickets", ("cricket", "katydid"), creatures.crickets),
    Source("cicadas", ("cicada",), creatures.cicadas),
    Source("frogs", ("frog", "toad", "croak", "bullfrog", "peeper"), creatures.frogs,
           lambda p: {"kind": "bullfrog" if _has(p, "bullfrog", "toad") else "treefrog"}),
    Source("birds", ("bird", "songbird", "birdsong", "dawn chorus", "warbl", "robin", "sparrow", "finch"),
           creatures.birds),
    Source("gulls", ("gull", "seagull", "gulls"), creatures.gulls),
    Source("owls", ("owl", "owls", "hoot", "hooting"), creatures.owls, unless=("horn", "car", "train", "ship")),
    Source("fire", ("fire", "campfire", "fireplace", "ember", "crackl", "bonfire", "hearth", "flame"), fire.fire,
           lambda p: {"size": "embers" if _has(p, "ember") else
                      "fireplace" if _has(p, "fireplace", "hearth", "stove") else "campfire"}),
    Source("wind chimes", ("wind chime", "chime", "chimes", "windchime"), metal.wind_chimes,
           unless=("church", "clock", "door")),
    Source("bells", ("bell", "church bell", "bells", "toll", "peal", "carillon", "belfry", "bell tower",
                     "clock tower"), metal.bells, unless=("bicycle", "door", "phone", "telephone", "jingle", "cow", "sleigh")),
    Source("kitchen", ("kitchen", "dish", "dishes", "plate", "plates", "cutlery", "crockery",
                       "pots and pans", "washing up", "glasses"), metal.kitchen,
           unless=("fridge", "refrigerator", "humming", "kettle")),
    Source("typing", ("typing", "keyboard", "typewriter", "keystroke"), people.typing, unless=("piano", "music")),
    Source("footsteps", ("footstep", "footsteps", "foot steps", "walking", "steps"), people.footsteps,
           unless=("horse", "hooves", "snow", "gravel")),
    Source("dogs", ("dog", "bark", "barking", "puppy", "hound", "woof"), creatures.dogs, unless=("tree", "bark of")),
    Source("cafe", ("café", "cafe", "coffee shop", "restaurant", "diner", "chatter", "crowd", "conversation",
                    "voices", "people talking", "pub", "market", "murmur"), rooms.cafe, unless=("brook", "stream")),
    Source("clock", ("clock", "ticking", "tick-tock", "tick tock"), rooms.clock, unless=("radiator", "pipe")),
    Source("pages", ("page", "book page", "paper rustling"), rooms.pages),
    Source("room tone", ("room tone", "quiet room", "silent room", "silence"), rooms.room_tone),
    Source("hum", ("fan", "air condition", "air conditioner", "air conditioning", "hum", "humming", "ventilation",
                   "hvac", "refrigerator", "fridge", "server room", "servers"), air.hum, _hum_params),
    Source("train", ("train", "train carriage", "railway", "rail", "clickety-clack", "subway", "metro"), air.train,
           unless=("horn", "whistle", "station")),
    Source("traffic", ("traffic", "cars", "highway", "road", "street"), air.traffic,
           lambda p: {"distance": "distant" if is_distant(p) else
                      "close" if _has(p, "close", "near", "nearby", "roadside", "kerb", "curb") else "street"},
           unless=("horn",)),
    Source("noise", ("white noise", "pink noise", "brown noise", "brownian noise"), air.noise,
           lambda p: {"color": next(c for c in ("white", "pink", "brown") if c in p)}),
    Source("wind", ("wind", "breeze", "gust", "gale", "blowing"), air.wind,
           lambda p: {"strength": "strong" if _has(p, "strong", "howl", "gust", "gale", "storm") else "gentle",
                      "howl": _has(p, "howl", "mountain", "gale", "whistl"),
                      "trees": _has(p, "tree", "leaves", "leaf", "forest", "branch", "woods", "foliage")},
           unless=("chime", "horn", "instrument")),
    Source("waves", ("wave", "ocean", "sea", "seashore", "surf", "shore", "beach", "tide", "swell"), water.waves),
)


def match_source(prompt: str) -> tuple[Source, dict[str, Any]] | None:
    """The generator and parameters for a prompt, or ``None`` when no generator fits."""
    text = prompt.lower()
    for source in SOURCES:
        if any(_has(text, re.escape(k)) for k in source.keywords) and not any(
                _has(text, re.escape(w)) for w in source.unless):
            return source, source.params(text)
    return None


def _generator_name(source: Source, params: dict[str, Any], prompt: str) -> str:
    """A generator and the parameters that differ from its defaults, as the manifest names them ("distant" once:
    as a parameter where the generator has one, else as the air absorption every distant prompt gets)."""
    defaults = {k: p.default for k, p in inspect.signature(source.generate).parameters.items()
                if p.kind is p.KEYWORD_ONLY}
    shown = {k: v for k, v in sorted(params.items()) if defaults.get(k) != v}
    distant = is_distant(prompt) and "distant" not in shown.values()
    return source.name + "".join(f" {k}={v}" for k, v in shown.items()) + (" distant" if distant else "")


def is_distant(prompt: str) -> bool:
    return _has(prompt.lower(), "distant", "far", "faraway", "far-off", "far away")


class ProceduralBackend(Backend):
    """Renders chunk requests by synthesis: 48 kHz mono, any prompt a generator matches."""

    batch_size = 8  # chunks handed to one render call, generated on a thread per core

    def __init__(self) -> None:
        super().__init__()
        self.sources: dict[str, str] = {}

    @classmethod
    def from_settings(cls, settings: NoSettings, device: str) -> ProceduralBackend:
        """The procedural backend has no settings and runs on the CPU whatever ``device`` says."""
        return cls()

    @property
    def preferred_window(self) -> tuple[float, float]:
        return WINDOW

    def supports(self, prompt: str) -> bool:
        return match_source(prompt) is not None

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "generators": GENERATORS_VERSION}

    def sources_hint(self) -> str:
        return f"its sources are {', '.join(s.name for s in SOURCES)}"

    def renderer(self, prompt: str) -> str:
        """The generator (and its parameters) that renders ``prompt``, as the manifest names it."""
        found = match_source(prompt)
        if found is None:
            return "none"
        return _generator_name(*found, prompt)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "sources": dict(self.sources)}

    def render(self, requests: Sequence[ChunkRequest], *, on_progress: ProgressCallback | None = None
               ) -> list[np.ndarray]:
        """Each request's chunk, generated on a thread per core: the generators spend their time in numpy and
        scipy, which release the GIL, and each chunk has its own seeded generator, so the audio is the same
        whatever the number of threads."""
        jobs = []
        for req in requests:
            found = match_source(req.prompt)
            if found is None:
                raise BackendError(f"layer '{req.layer}': no procedural generator for prompt {req.prompt!r}")
            self.sources[req.layer] = _generator_name(*found, req.prompt)
            jobs.append((req, *found))
        out = []
        with ThreadPoolExecutor(max_workers=min(len(jobs), _threads()) or 1) as pool:
            for req, chunk in zip(requests, pool.map(lambda job: self._generate(*job), jobs)):
                out.append(chunk)
                self.stats.count(req.layer, 1)
                if on_progress:
                    on_progress(1)
        return out

    def _generate(self, req: ChunkRequest, source: Source, params: dict[str, Any]) -> np.ndarray:
        n = round(req.duration_s * self.sample_rate)
        audio = source.generate(np.random.default_rng(req.seed), n, self.sample_rate, **params)
        if is_distant(req.prompt):  # air absorbs highs over distance
            audio = finish(audio, self.sample_rate, high=DISTANT_HZ)
        return audio.astype(np.float32)[None, :]


def _threads() -> int:
    """The cores this process may use (at most 4: beyond that memory, not time, is what grows)."""
    try:
        return max(1, min(4, len(os.sched_getaffinity(0))))
    except AttributeError:  # not on Linux
        return max(1, min(4, os.cpu_count() or 1))


SPEC = BackendSpec(
    name="procedural",
    summary="built-in synthesis (noise, filters, stochastic events): offline, 48 kHz mono, no download",
    sample_rate=SAMPLE_RATE,
    channels=1,
    max_window_s=60.0,
    settings=NoSettings,
    factory=ProceduralBackend.from_settings,
    filters_prompts=True,
    offline=True,
    licence="Apache-2.0 (part of AmbientGen)",
)
ProceduralBackend.spec = SPEC

"""The scene planner: one sentence becomes a layered scene, deterministically and explainably.

"rain on a tin roof with distant thunder and crickets" becomes three layers:
rain (bed, prompt "field recording of rain on a tin roof"), thunder (events,
"distant", quieter, ~0.8 per minute) and crickets (bed). AudioLDM2 renders two
or three elements per prompt at best, so every sound source is its own layer.

How (the ontology is data, ``ambientgen/data/ontology.yaml``, loaded by :mod:`ambientgen.ontology`):

1. The sentence is split into phrases at commas, "and", "with", "plus", and
   each phrase again at "in", "on", "at", "under", "by", "near", "inside", ...
   (the part after "on"/"under"/"against" may be a surface: "on a tin roof").
2. In each phrase the longest known names are found (sources first, then
   environments), accepting plurals and near-miss spellings of words of five
   letters or more. Modifiers around them set the prompt and the mix:
   distance (distant, far, close), intensity (light, heavy, torrential, busy),
   frequency (occasional, rare, frequent), time of day (dawn, night).
3. An environment ("in a forest", "a quiet cabin") adds the layers it implies,
   unless the sentence already names them. A phrase that names nothing known
   becomes a layer of its own with the user's words as the prompt, and a
   warning says so: intent is never dropped silently.
4. Time of day shapes what a place implies (no songbirds at night); "after a
   storm" is its aftermath (dripping water), not the storm. An unknown phrase
   keeps its distance and intensity words (a "distant" one is quieter) and is a
   sparse event when it names an animal or a vehicle.
5. Planned against a backend (``plan(text, backend=PlanTarget(...))``): a
   backend that renders only some sounds (the procedural one) gets only layers
   it renders — a source the ontology marks ``offline: none`` or a phrase no
   generator matches is left out with a note that says why, a stand-in
   generator (``near X``) is noted — and every layer says what renders it.
6. Prompts in the rendering backend's style: the ontology's prompts are
   written for AudioLDM2 ("field recording of a babbling stream"); a backend
   with a ``prompt_styles`` entry (Stable Audio 3: Freesound-like tags, the
   sound first: "babbling stream, field recording") gets every prompt
   rewritten by that template, and a source's own ``prompts:`` entry for the
   backend replaces its prompt outright.
7. At most :data:`MAX_LAYERS` layers: implied layers go first, then extra
   named layers are merged into the layer before them (or, for a backend with
   one generator per layer, left out), said in a warning.

Every layer records which words produced it (``Plan.explain``).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import yaml

from .errors import AmbientgenError
from .ontology import Ontology, Source, ontology, singular
from .scene import Scene, scene_from_dict

MAX_LAYERS = 6
SPLIT = re.compile(r"\s*(?:,|;|\band\b|\bwith\b|\bplus\b|&|\bwhile\b|\bas well as\b|\balong with\b)\s*")
PREPOSITIONS = ("inside", "in", "on", "at", "under", "by", "near", "over", "through", "against", "beside", "outside",
                "from", "during", "across", "around", "of", "after")
SURFACE_PREPOSITIONS = ("on", "against", "under")
STOPWORDS = {"a", "an", "the", "some", "of", "to", "my", "our", "its", "their", "lots", "lot", "bit", "little",
             "sound", "sounds", "noise", "noises", "ambience", "ambient", "atmosphere", "background", "soundscape",
             "recording", "field", "audio", "very", "really", "just", "there", "is", "are", "being", "that", "this",
             "few", "many", "several", "all", "night's", "day's", "somewhere"}
DISTANCE = {"distant": -6.0, "far": -6.0, "faraway": -6.0, "far-off": -6.0, "remote": -6.0, "close": 3.0,
            "nearby": 2.0, "near": 2.0, "closeby": 2.0}
INTENSITY = {"light": -3.0, "gentle": -3.0, "soft": -3.0, "quiet": -3.0, "calm": -3.0, "faint": -5.0, "slight": -3.0,
             "steady": 0.0, "heavy": 2.0, "torrential": 3.0, "pouring": 2.0, "strong": 2.0, "loud": 2.0,
             "busy": 1.0, "roaring": 2.0, "raging": 3.0, "crackling": 0.0, "babbling": 0.0, "rolling": 0.0}
FREQUENCY = {"occasional": 0.5, "occasionally": 0.5, "sporadic": 0.5, "rare": 0.25, "rarely": 0.25,
             "infrequent": 0.4, "frequent": 2.0, "frequently": 2.0, "constant": 3.0, "regular": 1.5}
TIME_OF_DAY = {"dawn": "dawn", "sunrise": "dawn", "morning": "dawn", "daybreak": "dawn", "night": "night",
               "nighttime": "night", "midnight": "night", "evening": "night", "dusk": "night", "twilight": "night"}
SURFACES = {("tin", "roof"): "on a tin roof", ("metal", "roof"): "on a metal roof", ("roof",): "on a roof",
            ("window",): "on a window", ("windows",): "on a window", ("glass",): "on glass",
            ("leaves",): "on leaves", ("tent",): "on a tent", ("umbrella",): "on an umbrella",
            ("car", "roof"): "on a car roof", ("pavement",): "on pavement", ("skylight",): "on a skylight"}
SURFACE_SOURCES = {"rain", "hail", "drips"}
# what is heard after it is over ("after a storm", "after the rain"): the source or place -> its aftermath
AFTERMATH = {"rain": "drips", "storm": "drips", "thunder": "drips", "hail": "drips", "howling-wind": "wind"}
# sources of daytime that a place implies, and what a night replaces them with
DAYTIME_ONLY = {"songbirds", "dawn-chorus", "rooster", "crows", "woodpecker", "children-playing", "cicadas",
                "construction", "market"}
# words of unknown phrases that make them sparse events: animals and vehicles
EVENT_NOUNS = {"camel", "elephant", "lion", "tiger", "monkey", "goat", "sheep", "donkey", "pig", "deer", "bear",
               "coyote", "hyena", "seal", "dolphin", "animal", "truck", "bus", "motorcycle", "motorbike", "helicopter",
               "tractor", "scooter", "tram", "jet", "aircraft", "bicycle", "carriage", "cart", "horn", "bell", "door"}
FREQUENCY_DEFAULT = 1.0  # events per minute of an unknown phrase that names an animal or a vehicle


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
        data = {"name": name or _slug(self.description), "description": self.description, "duration": duration,
                "seed": seed, "model": {"negative_prompt": ontology().negative_prompt}, "layers": layers}
        return scene_from_dict(data)


def _slug(text: str) -> str:
    """A file-name-safe scene name from the first words of the description (whole words, at most 40 chars)."""
    slug = ""
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(slug) + len(word) + 1 > 40:
            break
        slug = f"{slug}-{word}" if slug else word
    return slug or "scene"


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9é'\-]+", text.lower())


def _match(tokens: list[str], onto: Ontology) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, name) of the longest known names in ``tokens``, left to right."""
    found, i = [], 0
    norm = [singular(t.replace("é", "e")) for t in tokens]
    while i < len(tokens):
        for n in range(min(4, len(tokens) - i), 0, -1):
            key = tuple(norm[i : i + n])
            hit = onto.phrases.get(key)
            if " " in norm[i]:  # a protected phrase ("footsteps in snow")
                hit = onto.phrases.get(tuple(norm[i].split()))
            elif hit is None and n == 1 and len(norm[i]) >= 5 and norm[i] not in STOPWORDS and \
                    not _is_modifier(norm[i]):
                close = [c for c in difflib.get_close_matches(norm[i], onto.vocabulary, n=3, cutoff=0.8)
                         if c[0] == norm[i][0]]
                hit = onto.phrases.get((close[0],)) if close else None
            if hit is not None:
                found.append((i, i + n, hit[0], hit[1]))
                i += n
                break
        else:
            i += 1
    return found


def _is_modifier(word: str) -> bool:
    return word in DISTANCE or word in INTENSITY or word in FREQUENCY or word in TIME_OF_DAY


def _protect(words: list[str]) -> list[str]:
    """Known names that contain a preposition ("footsteps in snow", "inside a car") become one token."""
    protected = sorted((k for k in ontology().phrases if len(k) > 1 and any(w in PREPOSITIONS for w in k)),
                       key=len, reverse=True)
    norm = [singular(w) for w in words]
    out, i = [], 0
    while i < len(words):
        for key in protected:
            if tuple(norm[i : i + len(key)]) == key:
                out.append(" ".join(key))
                i += len(key)
                break
        else:
            out.append(words[i])
            i += 1
    return out


def _fragments(description: str) -> list[tuple[str, str | None]]:
    """(phrase, the preposition that introduced it) pieces of the sentence, in order."""
    pieces = []
    for clause in SPLIT.split(description.lower()):
        words = _protect(_tokens(clause))
        current, prep = [], None
        for w in words:
            if w in PREPOSITIONS and current:
                pieces.append(("|".join(current), prep))
                current, prep = [], w
            elif w in PREPOSITIONS:
                prep = w
            else:
                current.append(w)
        if current:
            pieces.append(("|".join(current), prep))
    return pieces


def plan(description: str, *, backend: PlanTarget | None = None) -> ScenePlan:
    """Plan the layers of a scene from one sentence (same sentence, same plan).

    With ``backend``, the plan holds only layers that backend renders (see the
    module docstring, step 5) and each layer says what renders it.
    """
    text = " ".join(description.split())
    if not re.search(r"[a-zA-Z]", text):
        raise AmbientgenError("description: empty; describe the sounds you want, e.g. 'rain on a tin roof with "
                              "distant thunder and crickets'")
    onto = ontology()
    style = backend.name if backend is not None else None
    warnings: list[str] = []
    named: list[PlannedLayer] = []
    implied_envs: list[tuple[str, str]] = []
    unknown: list[str] = []
    time_of_day = None
    last_surface_target: PlannedLayer | None = None
    for joined, prep in _fragments(text):
        tokens = joined.split("|")
        phrase = " ".join(tokens)
        matches = _match(tokens, onto)
        used = set()
        for start, end, _, _ in matches:
            used.update(range(start, end))
        mods = [t for i, t in enumerate(tokens) if i not in used and _is_modifier(t)]
        for t in mods:
            if t in TIME_OF_DAY:
                time_of_day = TIME_OF_DAY[t]
        surface = None
        if prep in SURFACE_PREPOSITIONS:
            for key in sorted(SURFACES, key=len, reverse=True):
                if all(k in tokens for k in key):
                    surface = SURFACES[key]
                    break
        if surface and last_surface_target is not None:
            last_surface_target.prompt = last_surface_target.prompt.replace(" {where}", "") \
                if "{where}" in last_surface_target.prompt else last_surface_target.prompt
            _apply_surface(last_surface_target, surface, phrase)
            continue
        leftovers = [t for i, t in enumerate(tokens) if i not in used and not _is_modifier(t)
                     and t not in STOPWORDS and not t.isdigit()]
        if prep == "after":  # "after a storm", "after the rain": its aftermath, not the thing itself
            after = [(s, e, "source", AFTERMATH.get(name, name)) for s, e, kind, name in matches
                     if AFTERMATH.get(name) or kind == "source"]
            if after != [(s, e, k, n) for s, e, k, n in matches]:
                warnings.append(f"'after {phrase}': it is over; planned as what is left of it "
                                f"({', '.join(sorted({n for *_, n in after}))})")
            matches = after
        sources = [(s, e, name) for s, e, kind, name in matches if kind == "source"]
        has_source = any(kind == "source" for _, _, kind, _ in matches)
        for s, e, kind, name in matches:
            if kind == "env" and not has_source:  # its modifiers and other words (busy, Tokyo) go to its layers
                implied_envs.append((name, " ".join(tokens[s:e]), mods, leftovers))
        if not matches:
            if leftovers:
                unknown.append((phrase, mods, leftovers))
            continue
        for k, (s, e, name) in enumerate(sources):
            layer = _layer(onto.sources[name], mods, " ".join(tokens[s:e]) if not mods else
                           " ".join(mods + [" ".join(tokens[s:e])]), style)
            if k == 0 and leftovers:
                layer.prompt += ", " + " ".join(leftovers)
                layer.words += " (+ " + " ".join(leftovers) + ")"
            if k == 0:  # a place named in the same phrase ("city traffic", "forest birds") qualifies the source
                places = [" ".join(tokens[a:b]) for a, b, kind, _ in matches if kind == "env"]
                if places:
                    layer.words += " (in " + ", ".join(places) + ")"
            named.append(layer)
            if name in SURFACE_SOURCES:
                last_surface_target = layer
    if not named and not implied_envs:
        raise AmbientgenError(
            f"description: no sound or place I know in {description.strip()!r}; name sounds such as rain, wind, "
            "birds, a crackling fire, waves, a café or a forest (see ambientgen/data/ontology.yaml)")
    layers = _dedupe(named, warnings)
    present = {layer.source for layer in layers}
    implied: list[PlannedLayer] = []
    for env, words, mods, context in implied_envs:
        first = True
        for name in onto.environments[env].implies:
            if name not in present:
                layer = _layer(onto.sources[name], mods, " ".join(mods + [words]), style)
                layer.implied_by = env
                if first and context:
                    layer.prompt += ", " + " ".join(context)
                    layer.words += " (+ " + " ".join(context) + ")"
                first = False
                implied.append(layer)
                present.add(name)
    if time_of_day == "dawn":  # at dawn the birds a place implies sing the dawn chorus
        for k, layer in enumerate(implied):
            if layer.source == "songbirds":
                chorus = _layer(onto.sources["dawn-chorus"], [], layer.words + " at dawn", style)
                chorus.implied_by = layer.implied_by
                implied[k] = chorus
                present.add("dawn-chorus")
    if time_of_day == "night":  # a place's daytime sounds do not belong to its night
        for layer in [la for la in implied if la.source in DAYTIME_ONLY]:
            implied.remove(layer)
            warnings.append(f"left out '{layer.name}' (implied by {layer.implied_by}): not heard at night")
            present.discard(layer.source)
    if time_of_day == "dawn" and not present & {"songbirds", "dawn-chorus"}:
        extra = _layer(onto.sources["dawn-chorus"], [], "dawn", style)
        extra.implied_by = "dawn"
        implied.insert(0, extra)  # the user named the time of day: before layers a place implies
    if time_of_day == "night" and not present & {"crickets", "cicadas", "frogs", "owls"} and \
            not present & {"traffic", "crowd-murmur", "train-interior", "spaceship-hum", "airplane-cabin"}:
        extra = _layer(onto.sources["crickets"], [], "night", style)
        extra.implied_by = "night"
        implied.insert(0, extra)
    layers += [_unknown_layer(phrase, mods, words) for phrase, mods, words in unknown]
    left_out: list[str] = []
    if backend is not None:
        layers = _fit(layers, backend, warnings, left_out)
        implied = _fit(implied, backend, warnings, left_out)
    for layer in layers:
        if layer.source is None:
            warnings.append(f"'{layer.words}' is not in the sound ontology: it gets a layer of its own with your "
                            "words as the prompt")
    if backend is not None and not layers and not implied:
        raise AmbientgenError(
            f"description: nothing in {description.strip()!r} can be rendered by the {backend.name} backend ("
            + "; ".join(left_out) + "); a neural backend (stable-audio-3, audioldm2) renders any sound")
    layers = _cap(layers, implied, warnings, merge=backend is None or not backend.filters)
    _finish(layers)
    template = onto.prompt_styles.get(style) if style else None
    for layer in layers:
        if template and not layer.own_prompt:
            layer.prompt = styled_prompt(layer.prompt, template)
    return ScenePlan(text, layers, warnings, time_of_day, backend.name if backend else None, left_out)


def _unknown_layer(phrase: str, mods: list[str], words: list[str]) -> PlannedLayer:
    """A phrase the ontology does not know: its words are the prompt; distance and intensity words set the gain,
    and a phrase that names an animal or a vehicle is a sparse event (about one a minute)."""
    gain = -8.0 + sum(DISTANCE.get(m, 0.0) + INTENSITY.get(m, 0.0) for m in mods)
    event = any(singular(w) in EVENT_NOUNS for w in words)
    rate = FREQUENCY_DEFAULT
    for m in mods:
        rate *= FREQUENCY.get(m, 1.0)
    return PlannedLayer(_name_for(phrase), None, "events" if event else "bed", f"field recording of {phrase}", gain,
                        0.0, 0.4 if event else 0.5, rate if event else None, phrase)



def _fit(layers: list[PlannedLayer], target: PlanTarget, warnings: list[str], left_out: list[str]
         ) -> list[PlannedLayer]:
    """The layers ``target`` renders, each saying what renders it; the others left out with the reason."""
    kept = []
    onto = ontology()
    for layer in layers:
        if not target.filters:
            layer.renders_with = target.name
            kept.append(layer)
            continue
        src = onto.sources.get(layer.source) if layer.source else None
        prompt = layer.prompt.replace("{where}", "")
        if (src is not None and src.offline == "none") or not target.supports(prompt):
            what = f"no {src.name} generator" if src else "no generator for it (not a sound the ontology knows)"
            why = f"'{layer.words}': the {target.name} backend has {what}; left out"
            left_out.append(why)
            warnings.append(why + " (a neural backend renders it)")
            continue
        layer.renders_with = f"{target.name}: {target.renderer(prompt)}" if target.renderer else target.name
        if src is not None and src.offline.startswith("near "):
            warnings.append(f"'{layer.words}': the {target.name} backend has no {src.name} generator; the nearest, "
                            f"{src.offline[5:]}, stands in")
        kept.append(layer)
    return kept


def _layer(src: Source, mods: list[str], words: str, backend: str | None = None) -> PlannedLayer:
    adj = [m for m in mods if m in DISTANCE or m in INTENSITY]
    gain = src.gain + sum(DISTANCE.get(m, 0.0) for m in adj) + sum(INTENSITY.get(m, 0.0) for m in adj)
    own = src.prompts.get(backend) if backend else None
    prompt = (own or src.prompt).replace("{adj}", "".join(m + " " for m in adj))
    prompt = re.sub(r"\b(a|an) (\w)", lambda m: ("an " if m.group(2) in "aeiou" else "a ") + m.group(2), prompt)
    rate = None
    if src.role == "events":
        rate = src.rate
        for m in mods:
            rate *= FREQUENCY.get(m, 1.0)
    return PlannedLayer(src.name, src.name, src.role, prompt, gain, 0.0, src.width, rate, words,
                        own_prompt=own is not None)


RECORDING = re.compile(r"^(?:(field|close|underwater) )?recording of (?:(?:a|an|the) )?(.+)$")
RECORDING_TAGS = {"field": "field recording", "close": "close-up recording", "underwater": "underwater recording",
                  None: "recording"}


def styled_prompt(prompt: str, style: str) -> str:
    """An ontology-style prompt ("field recording of a babbling stream") rewritten by a backend's style template,
    e.g. ``"{sound}, {recording}"`` -> "babbling stream, field recording". A prompt not in the ontology's style is
    kept as it is."""
    m = RECORDING.match(prompt)
    return style.format(sound=m.group(2), recording=RECORDING_TAGS[m.group(1)]) if m else prompt


def _apply_surface(layer: PlannedLayer, surface: str, phrase: str) -> None:
    layer.prompt = layer.prompt.replace("{where}", " " + surface) if "{where}" in layer.prompt else \
        f"{layer.prompt} {surface}"
    layer.words += f" {surface.split(' ', 1)[0]} {phrase}"


def _name_for(phrase: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")[:40] or "layer"


def _dedupe(layers: list[PlannedLayer], warnings: list[str]) -> list[PlannedLayer]:
    """One layer per source: a source named twice keeps its first mention (the second's words are noted)."""
    out: dict[str, PlannedLayer] = {}
    for layer in layers:
        if layer.source in out:
            out[layer.source].words += f"; {layer.words}"
        else:
            out[layer.source] = layer
    return list(out.values())


def _cap(named: list[PlannedLayer], implied: list[PlannedLayer], warnings: list[str], *, merge: bool = True
         ) -> list[PlannedLayer]:
    room = MAX_LAYERS - len(named)
    kept_implied = implied[: max(0, room)]
    for layer in implied[max(0, room) :]:
        warnings.append(f"left out '{layer.name}' (implied by {layer.implied_by}): at most {MAX_LAYERS} layers")
    layers = named + kept_implied
    while len(layers) > MAX_LAYERS:  # more named sources than layers: merge the extra into a kept one of its role
        extra = layers.pop(MAX_LAYERS)
        if not merge:  # one generator per layer: a merged prompt would render only its first source
            warnings.append(f"left out '{extra.name}': at most {MAX_LAYERS} layers")
            continue
        same = [layer for layer in layers[:MAX_LAYERS] if layer.role == extra.role]
        target = same[-1] if same else layers[MAX_LAYERS - 1]
        target.prompt += " and " + extra.prompt.removeprefix("field recording of ")
        target.merged.append(extra.name)
        warnings.append(f"merged '{extra.name}' into '{target.name}': at most {MAX_LAYERS} layers")
    return layers


PANS = (0.0, -0.35, 0.35, -0.2, 0.2, -0.5, 0.5)


def _finish(layers: list[PlannedLayer]) -> None:
    """Prompts completed, names unique, pans spread: beds sharing a band and all events move off centre."""
    seen_bands: dict[str, int] = {}
    events = 0
    names: set[str] = set()
    onto = ontology()
    for layer in layers:
        layer.prompt = layer.prompt.replace("{where}", "").replace("  ", " ").strip()
        base, k = layer.name, 2
        while layer.name in names:
            layer.name, k = f"{base}-{k}", k + 1
        names.add(layer.name)
        band = onto.sources[layer.source].band if layer.source else "mid"
        if layer.role == "events":
            events += 1
            layer.pan = PANS[events % len(PANS)] or 0.3
        else:
            n = seen_bands.get(band, 0)
            layer.pan = PANS[n % len(PANS)] * 0.7
            seen_bands[band] = n + 1


SPARSE_EVENTS_PER_MINUTE = 2.0  # sources planned at most this often are single events (drips, at 6, can be a bed)


def one_event_beds(scene: Scene) -> list[str]:
    """Warnings for bed layers whose prompt names only sparse one-event sources (thunder, a dog bark, a siren).

    A bed is rendered in chunks that are crossfaded or arranged as excerpts; a
    source that is one decaying event (a thunderclap with its tail) is cut
    mid-decay at every seam, which no join hides. Such a layer should be
    ``role: events``.
    """
    out = []
    for layer in scene.layers:
        if layer.role != "bed" or not layer.prompt:
            continue
        sources = ontology().sources
        try:
            planned = plan(layer.prompt).layers
        except AmbientgenError:  # a prompt naming no known sound: nothing to say about it
            continue
        named = [sources[pl.source] for pl in planned if pl.implied_by is None and pl.source]
        if named and all(s.role == "events" and s.rate <= SPARSE_EVENTS_PER_MINUTE for s in named):
            what = " and ".join(s.name for s in named)
            out.append(f"layer '{layer.name}': {what} is a sound of separate events, not a continuous bed: as a "
                       f"bed it is cut mid-decay at every seam; use role: events")
    return out

"""The scene planner: one sentence becomes a layered scene, deterministically and explainably.

"rain on a tin roof with distant thunder and crickets" becomes three layers:
rain (bed, prompt "field recording of rain on a tin roof"), thunder (events,
"distant", quieter, ~0.8 per minute) and crickets (bed). AudioLDM2 renders two
or three elements per prompt at best, so every sound source is its own layer.

How (the ontology is data, ``ambientgen/data/ontology.yaml``, loaded by :mod:`ambientgen.planner.ontology`):

1-2. The sentence is read into phrases, the known names in each (whole
   words only, plurals and near-miss spellings accepted) and the modifier
   words around them (:mod:`ambientgen.planner.phrases`): distance (distant, far,
   close), intensity (light, heavy, torrential, busy), frequency (occasional,
   rare, frequent), time of day (dawn, night) set the prompt and the mix.
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

Every layer records which words produced it (``ScenePlan.explain``).
"""

from __future__ import annotations

import re

from ..errors import AmbientgenError
from .change import GLOBAL, Reading, Step, read_changes, timeline_for
from .lexicon import kind_of, known, names_a_thing
from .ontology import Source, ontology
from .phrases import (
    DISTANCE,
    FREQUENCY,
    INDOORS,
    INTENSITY,
    STOPWORDS,
    SURFACE_PREPOSITIONS,
    SURFACES,
    TIME_OF_DAY,
    fragments,
    is_modifier,
    match,
    negations,
    tokens,
)
from .scene_plan import PlannedLayer, PlanTarget, ScenePlan
from .unknown import WHEN_WORDS, unknown_layer, without_compounds

MAX_LAYERS = 6
SURFACE_SOURCES = {"rain", "hail", "drips"}
# what is heard after it is over ("after a storm", "after the rain"): the source or place -> its aftermath
AFTERMATH = {"rain": "drips", "storm": "drips", "thunder": "drips", "hail": "drips", "howling-wind": "wind"}
# sources of daytime that a place implies, and what a night replaces them with
DAYTIME_ONLY = {"songbirds", "dawn-chorus", "rooster", "crows", "woodpecker", "children-playing", "cicadas",
                "construction", "market"}


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
    text, absent = negations(text)  # "no birds": never planned, never implied
    reading = read_changes(text)
    if reading.steps or reading.toward:
        text = _with_aftermath(reading, onto)
    style = backend.name if backend is not None else None
    warnings: list[str] = []
    named: list[PlannedLayer] = []
    implied_envs: list[tuple[str, str]] = []
    unknown: list[str] = []
    context: list[str] = []
    nearest: dict[str, str | None] = {}  # compound phrase -> the source its first half names
    time_of_day = None
    last_surface_target: PlannedLayer | None = None
    for joined, prep in fragments(text):
        tokens = joined.split("|")
        phrase = " ".join(tokens)
        matches = without_compounds(match(tokens, onto), tokens, nearest)
        used = set()
        for start, end, _, _ in matches:
            used.update(range(start, end))
        mods = [t for i, t in enumerate(tokens) if i not in used and is_modifier(t)]
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
        leftovers = [t for i, t in enumerate(tokens) if i not in used and not is_modifier(t)
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
            if leftovers and any(names_a_thing(w) and w not in WHEN_WORDS for w in leftovers):
                unknown.append((phrase, mods, leftovers))
            elif leftovers:  # "on a foggy night": no thing named, how it is: said with the place
                context.append(f"{prep + ' ' if prep else ''}{phrase}")
            continue
        for k, (s, e, name) in enumerate(sources):
            layer = _layer(onto.sources[name], mods, " ".join(tokens[s:e]) if not mods else
                           " ".join(mods + [" ".join(tokens[s:e])]), style)
            if k == 0:
                _qualify(layer, leftovers)
            if k == 0:  # a place named in the same phrase ("city traffic", "forest birds") qualifies the source
                places = [" ".join(tokens[a:b]) for a, b, kind, _ in matches if kind == "env"]
                if places:
                    layer.words += " (in " + ", ".join(places) + ")"
            named.append(layer)
            if name in SURFACE_SOURCES:
                last_surface_target = layer
    renders_text = backend is None or not backend.filters
    readable = any(known(w) for _, _, words in unknown for w in words)  # some English, not only strange strings
    stands_in = any(nearest.get(phrase) for phrase, _, _ in unknown)  # a compound an offline backend approximates
    if not named and not implied_envs and unknown and readable and not renders_text and not stands_in:
        raise AmbientgenError(
            f"description: nothing in {description.strip()!r} can be rendered by the {backend.name} backend ("
            + ", ".join(f"'{phrase}'" for phrase, _, _ in unknown) + " need a neural backend: --backend "
            "stable-audio-3 or audioldm2)")
    if not named and not implied_envs and not (unknown and (renders_text and readable or stands_in)):
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
                if first:
                    _qualify(layer, context)
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
    if time_of_day == "dawn" and not present & {"songbirds", "dawn-chorus"} and not present & INDOORS and \
            not any((k := kind_of(words)) is not None and k.name == "place" for _, _, words in unknown):
        extra = _layer(onto.sources["dawn-chorus"], [], "dawn", style)
        extra.implied_by = "dawn"
        implied.insert(0, extra)  # the user named the time of day: before layers a place implies
    if time_of_day == "night" and not present & {"crickets", "cicadas", "frogs", "owls"} and not unknown and \
            not present & INDOORS:
        extra = _layer(onto.sources["crickets"], [], "night", style)
        extra.implied_by = "night"
        implied.insert(0, extra)
    strangers = [unknown_layer(phrase, mods, words) for phrase, mods, words in unknown]
    for layer in strangers:
        layer.nearest = nearest.get(layer.words)
    for layer in strangers:  # the scene's context ("on a foggy night") goes with the place it describes
        if context and layer.name.endswith("-ambience"):
            layer.prompt += " " + " ".join(context)
            layer.words += " (+ " + "; ".join(context) + ")"
            context = []
    layers += strangers
    for group in (layers, implied):
        for layer in [la for la in group if la.source in absent]:
            group.remove(layer)
            warnings.append(f"left out '{layer.name}': the description says '{absent[layer.source]}'")
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
    moments = _timeline(reading, layers, onto, warnings) if reading.steps or reading.toward else []
    return ScenePlan(" ".join(description.split()), layers, warnings, time_of_day, backend.name if backend else None,
                     left_out, moments)


def _with_aftermath(reading: Reading, onto) -> str:
    """The sentence the planner reads: without its change words, plus what is left when a sound with an aftermath
    stops ("the rain stops": dripping water comes in as it does)."""
    text = reading.text
    present = {name for _, _, _, name in match(tokens(text), onto)}
    added: list[tuple[int, str]] = []
    for i, step in enumerate(reading.steps):
        if step.kind not in ("stop", "recede"):
            continue
        for _, _, kind, name in match(tokens(step.subject), onto):
            after = AFTERMATH.get(name) if kind == "source" or name == "storm" else None
            if after == "drips" and after not in present:
                present.add(after)
                added.append((i, after))
    for k, (i, after) in enumerate(added):
        reading.steps.insert(i + 1 + k, Step("enter", "come in", after, True))
        text += ", " + onto.sources[after].words[0]
    return text


def _timeline(reading: Reading, layers: list[PlannedLayer], onto, warnings: list[str]) -> list[dict]:
    """The steps of change applied to the planned layers (whose names are final) as timeline moments."""
    previous: list[str] = []
    for step in reading.steps:
        named = []
        for _, _, kind, name in match(tokens(step.subject), onto):
            for layer in layers:
                hit = layer.source == name if kind == "source" else \
                    layer.implied_by == name or layer.source in onto.environments[name].implies
                if hit or (kind == "source" and name in layer.merged):
                    named.append(layer.name)
        if not named and step.kind in GLOBAL:
            named = [layer.name for layer in layers]
        elif not named:  # "rages", "then passes": what the previous change was about, else the whole scene
            named = previous or [layer.name for layer in layers]
            if step.subject and not set(tokens(step.subject)) <= STOPWORDS | {"it", "they", "and", "that"}:
                warnings.append(f"'{step.subject} {step.words}': no planned layer is '{step.subject}'; the change "
                                f"applies to {', '.join(named)}")
        step.layers = list(dict.fromkeys(named))
        previous = step.layers
    toward = []
    if reading.toward:
        tod = TIME_OF_DAY.get(reading.toward)
        toward = [layer.name for layer in layers if layer.implied_by == tod]
    moments, more = timeline_for(reading.steps, {la.name: la.role for la in layers}, toward_layers=toward)
    warnings += more
    return moments


def _qualify(layer: PlannedLayer, words: list[str]) -> None:
    """The user's other words in the phrase ("cozy", "softly") qualify the layer: noted among the words it came from,
    and added to the prompt unless the prompt already says them ("softly hissing embers")."""
    if not words:
        return
    layer.words += " (+ " + " ".join(words) + ")"
    extra = [w for w in words if not re.search(rf"\b{re.escape(w)}\b", layer.prompt)]
    if extra:
        layer.prompt += ", " + " ".join(extra)


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
        near = getattr(layer, "nearest", None)
        if src is None and near and not target.supports(prompt) and onto.sources[near].offline != "none":
            stand_in = _layer(onto.sources[near], [], layer.words, target.name)
            if target.supports(stand_in.prompt.replace("{where}", "")):
                warnings.append(f"'{layer.words}': the {target.name} backend has no generator for it; the nearest, "
                                f"{near}, stands in (a neural backend renders '{layer.words}' itself)")
                layer, src, prompt = stand_in, onto.sources[near], stand_in.prompt.replace("{where}", "")
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
    template = own or src.prompt
    said = [m for m in adj if not re.search(rf"\b{re.escape(m)}\b", template)]  # never "rolling rolling thunder"
    prompt = template.replace("{adj}", "".join(m + " " for m in said))
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

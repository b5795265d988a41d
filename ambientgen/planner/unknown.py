"""Phrases the ontology does not know: compound nouns ("car wash") and the layers unknown phrases become, in the
sentence's own words, with a role, level and width from the kind of sound their head names
(:mod:`ambientgen.planner.lexicon`). :mod:`ambientgen.planner.compose` calls these."""

from __future__ import annotations

import re

from .lexicon import SOUND_WORDS, is_noun, is_plural, kind_of
from .ontology import singular
from .phrases import DISTANCE, FREQUENCY, INTENSITY, STOPWORDS, is_modifier
from .scene_plan import PlannedLayer

# words of unknown phrases that make them sparse events: animals and vehicles
EVENT_NOUNS = {"camel", "elephant", "lion", "tiger", "monkey", "goat", "sheep", "donkey", "pig", "deer", "bear",
               "coyote", "hyena", "seal", "dolphin", "animal", "truck", "bus", "motorcycle", "motorbike", "helicopter",
               "tractor", "scooter", "tram", "jet", "aircraft", "bicycle", "carriage", "cart", "horn", "bell", "door"}
FREQUENCY_DEFAULT = 1.0  # events per minute of an unknown phrase that names an animal or a vehicle
FILLERS = {"full", "filled", "packed", "lots", "plenty", "kind", "sort"}  # not part of what a phrase names
WHEN_WORDS = {"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday", "weekend", "weekday",
              "christmas", "halloween", "winter", "spring", "summer", "autumn", "fall", "season", "hour", "day",
              "today", "tonight", "afternoon", "noon"}  # when, not what: said with the place


def unknown_layer(phrase: str, mods: list[str], words: list[str]) -> PlannedLayer:
    """A phrase the ontology does not know: its words are the prompt. What kind of sound its head noun names
    (:func:`ambientgen.planner.lexicon.kind_of`) sets the role, level and width: a place becomes its ambience, a
    machine a bed, a tool or a single animal's call sparse events (many animals: a chorus, a bed); distance and
    intensity words move the level."""
    kind = kind_of(words)
    event = any(singular(w) in EVENT_NOUNS for w in words)
    role, gain, width = ("events", -8.0, 0.4) if event else ("bed", -8.0, 0.5)
    if kind is not None:
        role, gain, width = kind.role, kind.gain, kind.width
        if kind.name == "call" and is_plural(words[-1]):  # "full of budgies": a chorus of them
            role = "bed"
    gain += sum(DISTANCE.get(m, 0.0) + INTENSITY.get(m, 0.0) for m in mods)
    rate = FREQUENCY_DEFAULT
    for m in mods:
        rate *= FREQUENCY.get(m, 1.0)
    said = " ".join(m for m in mods if m in DISTANCE or m in INTENSITY)
    bare = [t for t in phrase.split() if t not in STOPWORDS and t not in FILLERS] or phrase.split()
    thing = " ".join(([said] if said and said not in bare else []) + bare)
    if kind is not None and kind.name == "place":
        return PlannedLayer(name_for(" ".join(bare)) + "-ambience", None, "bed",
                            f"ambient field recording of {_article(thing, words[-1])}{thing}", gain, 0.0, width, None,
                            phrase)
    return PlannedLayer(name_for(" ".join(bare)), None, role, f"field recording of {_article(thing, words[-1])}{thing}",
                        gain,
                        0.0, width, rate if role == "events" else None, phrase)


def _article(thing: str, head: str) -> str:
    """"a " / "an " before a singular noun phrase, nothing before a plural or a mass noun."""
    if is_plural(head) or head.endswith("ing"):
        return ""
    return "an " if thing[:1] in "aeiou" else "a "


def without_compounds(matches, tokens: list[str], nearest: dict[str, str | None]):
    """Known names that are only the first half of a compound ("car wash", "clock tower", "coffee grinder", "church
    organ", "wind chimes") are not that name: the phrase is the compound, headed by its last word, a noun that names
    a kind of sound (:mod:`ambientgen.planner.lexicon`). ``nearest`` records the name each compound had, for a
    backend that cannot render the compound itself."""
    matched = {i for s, e, _, _ in matches for i in range(s, e)}
    out = []
    for s, e, kind, name in matches:
        nxt = tokens[e] if e < len(tokens) else None
        if nxt is not None and e == s + 1 and e == len(tokens) - 1 and e not in matched and nxt not in SOUND_WORDS \
                and not is_modifier(nxt) and nxt not in STOPWORDS and is_noun(nxt) and kind_of([nxt]) is not None:
            nearest[" ".join(tokens)] = name if kind == "source" else None  # the offline fallback
            continue
        out.append((s, e, kind, name))
    return out


def name_for(phrase: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", phrase.lower()).strip("-")[:40] or "layer"

"""English beyond the ontology: parts of speech and lemmas (lemminflect), and what kind of sound an unknown noun names.

The planner knows sounds and places by name (:mod:`ambientgen.planner.ontology`); for everything else it needs to
know which words are nouns (a phrase that names something), what a word's lemma is ("budgies" -> "budgie"), and what
kind of sound a noun names (a machine hums: a bed; a tool strikes: events; a place has an ambience). Parts of speech
and lemmas come from **lemminflect**, a maintained English lemmatiser and inflector whose dictionary ships inside its
wheel (no download, no network: the tests run offline) and that depends on numpy only; NLTK's WordNet and spaCy's
models are downloaded separately, which a planner that must work offline cannot rely on. The kinds of sound are this
project's data (``ambientgen/data/kinds.yaml``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

# words that name the sound of what comes before them ("bird song", "dog barking"): not the head of a compound
SOUND_WORDS = {"song", "songs", "call", "calls", "sound", "sounds", "noise", "noises", "chorus", "cry", "cries",
               "chatter", "murmur", "hum", "humming", "roar", "roaring", "patter", "pattering", "rumble", "crackle",
               "crackling", "chirping", "chirp", "chirps", "singing", "drone", "whir", "whirr", "buzz", "buzzing",
               "rustle", "rustling", "splash", "splashing", "dripping", "drops", "gusts", "gust", "storm"}


@lru_cache(maxsize=4096)
def parts(word: str) -> frozenset[str]:
    """The parts of speech lemminflect's dictionary gives ``word`` (``NOUN``, ``VERB``, ``ADJ``...); empty when it
    does not know the word."""
    import lemminflect

    return frozenset(lemminflect.getAllLemmas(word))


def is_noun(word: str) -> bool:
    return "NOUN" in parts(word) or "PROPN" in parts(word)


def names_a_thing(word: str) -> bool:
    """Whether ``word`` can name something that sounds: a noun, or a word the dictionary does not know ("foghorn")
    that looks like one (letters, a vowel); not an adjective, verb or adverb alone."""
    if is_noun(word) or word in SOUND_WORDS:
        return True
    if word.endswith("ing") and "VERB" in parts(word):  # an activity heard: sanding, hammering, typing
        return True
    return not parts(word) and word.isalpha() and len(word) >= 3 and any(v in word for v in "aeiouy")


def known(word: str) -> bool:
    """Whether ``word`` is an English word lemminflect knows."""
    return bool(parts(word))


@lru_cache(maxsize=4096)
def lemma(word: str) -> str:
    """The noun lemma of ``word`` ("budgies" -> "budgie", "geese" -> "goose"), else the word."""
    import lemminflect

    found = lemminflect.getAllLemmas(word).get("NOUN")
    return found[0] if found else word


def is_plural(word: str) -> bool:
    return is_noun(word) and lemma(word) != word


@dataclass(frozen=True)
class Kind:
    name: str
    role: str
    gain: float
    width: float


def bundled_yaml(name: str):
    """``ambientgen/data/NAME`` parsed: by libyaml where PyYAML has it (the ontology in 14 ms, not 115 ms: every
    render and plan reads it), else by PyYAML's own parser (the same data)."""
    text = resources.files("ambientgen").joinpath(f"data/{name}").read_text(encoding="utf-8")
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader


@lru_cache(maxsize=1)
def kinds() -> tuple[dict[str, Kind], list[tuple[str, Kind]]]:
    """(kind by word, [(word, kind)] longest first for suffixes) from ``data/kinds.yaml``; the first kind listing a
    word wins, places last."""
    data = bundled_yaml("kinds.yaml")
    by_word: dict[str, Kind] = {}
    order = sorted(data["kinds"], key=lambda k: k == "place")  # a "mill" grinds before it is a place
    for name in order:
        spec = data["kinds"][name]
        kind = Kind(name, spec["role"], float(spec["gain"]), float(spec["width"]))
        for w in spec["words"]:
            by_word.setdefault(w, kind)
    return by_word, sorted(by_word.items(), key=lambda kv: -len(kv[0]))


def kind_of(words: list[str]) -> Kind | None:
    """The kind of sound a phrase names, by its head: the last word with a kind (as written or by lemma), or a
    compound ending in one ("foghorn": a horn)."""
    by_word, by_suffix = kinds()
    for w in reversed(words):
        for form in (w, lemma(w)):
            if form in by_word:
                return by_word[form]
        for suffix, kind in by_suffix:
            if len(w) > len(suffix) + 2 and w.endswith(suffix):
                return kind
    return None

"""The planner's ontology: the sound sources and places it knows, loaded from ``ambientgen/data/ontology.yaml``.

A source is one sound (one layer): the words that name it, its role (a bed or sparse events), its prompt for the
neural backends, its place in the mix (gain, width, band) and what the offline procedural backend renders it with
(a generator, ``near X`` for a stand-in, or ``none``: neural backends only). An environment is a place and the
sources it implies. Words are matched singular and without accents, so "cafés" finds "cafe".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from .lexicon import bundled_yaml


@dataclass(frozen=True)
class Source:
    name: str
    words: tuple[str, ...]
    role: str
    prompt: str
    gain: float
    width: float
    band: str
    rate: float = 0.0
    offline: str = "none"  # what the procedural backend renders it with: a generator, "near X" or "none"
    prompts: dict[str, str] = field(default_factory=dict)  # backend name -> its own prompt template for this source


@dataclass(frozen=True)
class Environment:
    name: str
    words: tuple[str, ...]
    implies: tuple[str, ...]


@dataclass(frozen=True)
class Ontology:
    sources: dict[str, Source]
    environments: dict[str, Environment]
    negative_prompt: str
    phrases: dict[tuple[str, ...], tuple[str, str]]  # normalized word tuple -> ("source" | "env", name)
    vocabulary: tuple[str, ...]  # single words of five letters or more, for near-miss spellings
    prompt_styles: dict[str, str] = field(default_factory=dict)  # backend name -> "{sound}, {recording}" template


def singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("ches", "shes", "sses", "xes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


def _norm(words: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(singular(w.replace("é", "e")) for w in words)


@lru_cache(maxsize=1)
def ontology() -> Ontology:
    """The bundled ontology (``ambientgen/data/ontology.yaml``), validated once."""
    data = bundled_yaml("ontology.yaml")
    sources = {s["name"]: Source(s["name"], tuple(s["words"]), s["role"], s["prompt"], float(s["gain"]),
                                 float(s["width"]), s["band"], float(s.get("rate", 0.0)), str(s["offline"]),
                                 dict(s.get("prompts", {})))
               for s in data["sources"]}
    envs = {e["name"]: Environment(e["name"], tuple(e["words"]), tuple(e["implies"])) for e in data["environments"]}
    phrases: dict[tuple[str, ...], tuple[str, str]] = {}
    for env in envs.values():
        for w in env.words:
            phrases[_norm(tuple(w.split()))] = ("env", env.name)
    for src in sources.values():  # a source name wins over an environment of the same words
        for w in src.words:
            phrases[_norm(tuple(w.split()))] = ("source", src.name)
    vocabulary = tuple(sorted({k[0] for k in phrases if len(k) == 1 and len(k[0]) >= 5}))
    return Ontology(sources, envs, data["negative_prompt"], phrases, vocabulary, dict(data.get("prompt_styles", {})))

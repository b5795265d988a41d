"""What a scene file's bed layers say about themselves: a bed whose prompt names only sparse one-event sources
(thunder, a dog's bark) is cut mid-decay at every seam, and :func:`one_event_beds` says so before a render.

Planning a prompt may need the English dictionary (:mod:`ambientgen.planner.lexicon`), whose loading costs half a
second; a prompt that cannot name such a source is not planned at all (:func:`may_name_sparse_events`)."""

from __future__ import annotations

import difflib
import re
from functools import lru_cache

from ..errors import AmbientgenError
from ..scene.schema import Scene
from .compose import AFTERMATH, plan
from .ontology import ontology, singular
from .phrases import tokens

SPARSE_EVENTS_PER_MINUTE = 2.0  # sources planned at most this often are single events (drips, at 6, can be a bed)
NEAR_MISS = 0.8  # the planner's cutoff for a misspelt name (:func:`ambientgen.planner.phrases.match`)


def one_event_beds(scene: Scene) -> list[str]:
    """Warnings for bed layers whose prompt names only sparse one-event sources (thunder, a dog bark, a siren).

    A bed is rendered in chunks that are crossfaded or arranged as excerpts; a
    source that is one decaying event (a thunderclap with its tail) is cut
    mid-decay at every seam, which no join hides. Such a layer should be
    ``role: events``.
    """
    out = []
    for layer in scene.layers:
        if layer.role != "bed" or not layer.prompt or not may_name_sparse_events(layer.prompt):
            continue
        named = sparse_sources_named(layer.prompt)
        if named:
            out.append(f"layer '{layer.name}': {' and '.join(named)} is a sound of separate events, not a continuous "
                       f"bed: as a bed it is cut mid-decay at every seam; use role: events")
    return out


def sparse_sources_named(prompt: str) -> list[str]:
    """The sources ``prompt`` names when every one of them is a sparse one-event source (planned in full), else
    nothing."""
    try:
        planned = plan(prompt).layers
    except AmbientgenError:  # a prompt naming no known sound: nothing to say about it
        return []
    named = [pl.source for pl in planned if pl.implied_by is None and pl.source]
    return named if named and all(_sparse(name) for name in named) else []


def may_name_sparse_events(prompt: str) -> bool:
    """False only when planning ``prompt`` cannot name a sparse one-event source: none of its names' words is among
    the prompt's (as written, singular, or split at hyphens and apostrophes) and no word is a near-miss spelling of one.
    The planner names a source only from its names or a near miss, or as an aftermath ("after the rain": drips),
    and no aftermath is such a source; so a prompt for which this is False draws no warning from
    :func:`one_event_beds`, planned or not."""
    if any(_sparse(name) for name in AFTERMATH.values()):  # none is now: an aftermath could name what is not said
        return True
    words = {w for t in tokens(prompt.replace("é", "e")) for w in (t, *re.split(r"['\-]", t)) if w}
    words |= {singular(w) for w in words}
    phrases, single = _sparse_phrases()
    if any(set(key) <= words for key in phrases):
        return True
    return any(w[0] == s[0] and difflib.SequenceMatcher(None, w, s).ratio() >= NEAR_MISS
               for w in words if len(w) >= 5 for s in single)


def _sparse(name: str) -> bool:
    s = ontology().sources[name]
    return s.role == "events" and s.rate <= SPARSE_EVENTS_PER_MINUTE


@lru_cache(maxsize=1)
def _sparse_phrases() -> tuple[list[tuple[str, ...]], list[str]]:
    """(every name of a sparse one-event source, as the ontology's word tuples; its one-word names)."""
    keys = [key for key, (kind, name) in ontology().phrases.items() if kind == "source" and _sparse(name)]
    return keys, sorted({key[0] for key in keys if len(key) == 1})

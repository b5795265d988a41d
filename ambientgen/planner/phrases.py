"""Reading a description: phrases, the known names in them, and the modifier words around them.

The planner's first two steps (:mod:`ambientgen.planner.compose` does the rest):

1. The sentence is split into phrases at commas, "and", "with", "plus", and
   each phrase again at "in", "on", "at", "under", "by", "near", "inside", ...
   (the part after "on"/"under"/"against" may be a surface: "on a tin roof").
   A known name that holds a preposition ("footsteps in snow", "inside a car")
   stays one piece.
2. In each phrase the longest known names are found (sources and
   environments of the ontology), accepting plurals and near-miss spellings of
   words of five letters or more. Names match whole words only: "seagulls" is
   never "sea", "rainforest" never "rain".

The modifier tables say what a word around a name does: distance and intensity
set the gain in dB, frequency scales an event's rate, time of day shapes what a
place implies.
"""

from __future__ import annotations

import difflib
import re

from .ontology import Ontology, ontology, singular

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


def tokens(text: str) -> list[str]:
    return re.findall(r"[a-z0-9é'\-]+", text.lower())


def match(tokens: list[str], onto: Ontology) -> list[tuple[int, int, str, str]]:
    """(start, end, kind, name) of the longest known names in ``tokens``, left to right."""
    from .lexicon import known

    found, i = [], 0
    norm = [singular(t.replace("é", "e")) for t in tokens]
    while i < len(tokens):
        for n in range(min(4, len(tokens) - i), 0, -1):
            key = tuple(norm[i : i + n])
            hit = onto.phrases.get(key)
            if " " in norm[i]:  # a protected phrase ("footsteps in snow")
                hit = onto.phrases.get(tuple(norm[i].split()))
            elif hit is None and n == 1 and len(norm[i]) >= 5 and norm[i] not in STOPWORDS and \
                    not is_modifier(norm[i]):
                # a near-miss spelling ("thundr") only: an English word is never read as another ("house" is not
                # "horses", "planet" not "plane", "ringing" not "rigging"); the dictionary is asked only when a
                # name is that close (loading it costs half a second)
                close = [c for c in difflib.get_close_matches(norm[i], onto.vocabulary, n=3, cutoff=0.8)
                         if c[0] == norm[i][0]]
                if close and not known(norm[i]) and not known(tokens[i]):
                    hit = onto.phrases.get((close[0],))
            if hit is not None:
                found.append((i, i + n, hit[0], hit[1]))
                i += n
                break
        else:
            i += 1
    return found


def is_modifier(word: str) -> bool:
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


# sources that say a scene is indoors or in a town: dawn brings no birdsong and night no crickets there
INDOORS = frozenset({"traffic", "crowd-murmur", "train-interior", "spaceship-hum", "airplane-cabin", "room-tone",
                     "air-conditioner", "refrigerator", "fan", "kitchen-clatter", "machinery", "hospital-monitor",
                     "server-room", "keyboard-typing", "washing-machine", "bus-interior", "car-interior"})

NEGATION = re.compile(r"\b(?:no|without|not any|never any|minus)\s+([a-zé' \-]+?)"
                      r"(?=\s*(?:[,;.!]|\band\b|\bwith\b|\bbut\b|\bor\b|\bjust\b|\bonly\b|$))", re.IGNORECASE)


def negations(description: str) -> tuple[str, dict[str, str]]:
    """The description without what it says is absent ("the sea, no gulls", "a forest without birds"), and each
    ontology source those words name (-> the user's words), so a place never implies it back."""
    onto = ontology()
    absent: dict[str, str] = {}
    for m in NEGATION.finditer(description):
        for _, _, kind, name in match(tokens(m.group(1)), onto):
            names = onto.environments[name].implies if kind == "env" else [name]
            for n in names:
                absent.setdefault(n, m.group(0).strip())
    return NEGATION.sub(" ", description), absent


def fragments(description: str) -> list[tuple[str, str | None]]:
    """(phrase, the preposition that introduced it) pieces of the sentence, in order."""
    pieces = []
    for clause in SPLIT.split(description.lower()):
        words = _protect(tokens(clause))
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

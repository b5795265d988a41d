"""Reading change over time from a sentence: "a thunderstorm rolls in, rages, then passes and the rain stops".

:func:`read_changes` finds the words that say a sound changes (``rolls in``, ``rages``, ``fades out``, ``starts``,
``easing off``, ``quieter as you fall asleep``), what each applies to (the sound words before it in its clause; none:
the previous change's, or, for words about the whole scene, every layer), and whether it follows the previous change
(``then``, a comma, ``and``) or happens with it (``as``, ``while``). It returns the sentence without those words (so
the planner reads only the sounds and places) and the steps. :func:`timeline_for` lays the steps out over the
duration, as shares of it (a plan does not know the duration it will render at), and writes the moments.

=========  =========================================================  ==========================================
kind       words                                                      what it does
=========  =========================================================  ==========================================
approach   rolls in, approaches, arrives, draws near, gathers         from distant (-18 dB, dark; events off) to full
enter      starts, begins, comes in, fades in, wakes up, joins        from absent to full
build      builds, grows, swells, picks up, intensifies, louder       from -12 dB to full
peak       rages, peaks, at its height, pours                         +3 dB, events twice as often
recede     passes, moves away, recedes, moves on, drifts away         events stop, beds to -12 dB and darker
stop       stops, ends, fades out, fades away, dies away, ceases      to absent
ease       eases, easing off, dies down, subsides, calms, softens     beds -10 dB, events rarer and softer
wind-down  quieter as you fall asleep, winding down, as you drift     every layer -10 dB and darker, events thinned
=========  =========================================================  ==========================================

"toward(s) / until / by <time of day>" (toward morning) makes the change last until near the end, and the layers that
time of day brings (a dawn chorus) come in over the last part.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

KINDS: dict[str, tuple[str, ...]] = {
    "approach": ("rolls in", "roll in", "rolling in", "approaches", "approach", "approaching", "arrives", "arrive",
                 "arriving", "draws near", "gathers", "comes closer"),
    "enter": ("starts", "start", "starting", "begins", "begin", "beginning", "comes in", "come in", "coming in",
              "fades in", "fade in", "fading in", "wakes up", "wake up", "waking up", "joins", "join", "emerges",
              "emerge", "take over", "takes over", "starts up", "start up", "appear", "appears"),
    "build": ("builds", "build", "building", "grows", "grow", "growing", "swells", "swell", "swelling", "picks up",
              "pick up", "picking up", "intensifies", "intensify", "intensifying", "gets louder", "get louder",
              "getting louder", "louder and louder", "gets heavier", "getting heavier"),
    "peak": ("rages", "rage", "raging on", "peaks", "peak", "at its height", "at its peak", "pours down"),
    "recede": ("passes", "pass", "passing", "moves away", "move away", "moving away", "recedes", "recede",
               "receding", "moves on", "drifts away", "drift away", "rolls away", "roll away", "rolls off"),
    "stop": ("stops", "stop", "stopping", "ends", "end", "ending", "fades out", "fade out", "fading out",
             "fades away", "fade away", "fading away", "dies away", "die away", "dying away", "ceases", "cease",
             "falls silent", "fall silent", "goes quiet", "go quiet", "is gone", "are gone", "dies out", "die out"),
    "ease": ("eases off", "ease off", "easing off", "eases", "ease", "easing", "dies down", "die down",
             "dying down", "subsides", "subside", "subsiding", "calms down", "calms", "calm down", "softens",
             "soften", "softening", "lets up", "let up", "letting up", "thins out", "thin out", "gets lighter",
             "getting lighter", "tapers off", "taper off", "tapering off"),
    "wind-down": ("quieter as you fall asleep", "quieter as you drift off", "as you fall asleep",
                  "as you drift off", "as you drift off to sleep", "as you sleep", "winding down", "winds down",
                  "wind down", "getting quieter", "gets quieter", "quieter and quieter", "growing quieter",
                  "quieter over time", "fading toward sleep"),
}
SEQUENCE = ("then", "later", "afterwards", "after that", "and then", "until finally", "finally", "eventually",
            "before", "soon")
TOGETHER = ("as", "while", "whilst", "and as", "as soon as")
TOWARD = re.compile(r"\b(?:toward|towards|until|till|by|into)\s+(morning|dawn|daybreak|sunrise|night|dusk|evening|"
                    r"nightfall)\b")
TURNING = re.compile(r"\b(?:turning|turns|turn|fading|fades|changing|changes|giving way|gives way)\s+(?:in)?to\s+"
                     r"(morning|dawn|daybreak|sunrise|night|dusk|evening|nightfall)\b")
GLOBAL = {"wind-down"}
SCENE_WORDS = {"everything", "it all", "all of it", "the whole scene", "the scene", "it", "the sounds", "all"}


@dataclass
class Step:
    kind: str
    words: str  # the change words as written
    subject: str  # the words before them in their clause ("" when none)
    together: bool  # happens with the previous step (as, while), not after it
    layers: list[str] = field(default_factory=list)  # filled by the planner: the layer names it applies to


@dataclass
class Reading:
    text: str  # the sentence without its change words, for the planner
    steps: list[Step]
    toward: str | None = None  # "toward morning": the time of day the scene moves toward


def _pattern() -> re.Pattern:
    phrases = sorted(((p, k) for k, ps in KINDS.items() for p in ps), key=lambda x: -len(x[0]))
    return re.compile(r"\b(" + "|".join(re.escape(p) for p, _ in phrases) + r")\b")


_VERBS = _pattern()
_KIND = {p: k for k, ps in KINDS.items() for p in ps}
_BREAK = re.compile(r"\s*(?:,|;|:|\.|\bthen\b|\band then\b|\bas\b|\bwhile\b|\bwhilst\b|\bbefore\b|\bafter that\b|"
                    r"\bfinally\b|\beventually\b|\blater\b|\bsoon\b)\s*")


def read_changes(description: str) -> Reading:
    """The steps of change in ``description`` and the sentence without their words (see the module's text)."""
    text = " ".join(description.split())
    lower = text.lower()
    toward = None
    m = TOWARD.search(lower) or TURNING.search(lower)
    if m:
        toward = m.group(1)
    steps: list[Step] = []
    keep = []  # spans of the sentence that stay for the planner
    pos = 0
    for v in _VERBS.finditer(lower):
        phrase = v.group(1)
        # a one-word "start", "end", "peak", "ease", "pass" is often a noun or another verb: only after a subject
        # or a sequence word, never right after an article
        before = lower[: v.start()].rstrip()
        if re.search(r"\b(a|an|the|of|to|its|their|my)$", before):
            continue
        if phrase in ("as you sleep", "as you fall asleep") and _VERBS.search(lower[v.end():v.end() + 1]):
            continue
        clause_start = max((b.end() for b in _BREAK.finditer(lower, 0, v.start())), default=0)
        clause_start = max(clause_start, pos)
        subject = re.sub(r"^(?:and|then|but|so|that)\s+", "", lower[clause_start : v.start()].strip(" ,;:"))
        connector = lower[max(0, clause_start - 12) : clause_start]
        together = bool(re.search(r"\b(as|while|whilst)\s*$", connector.strip() + " ")) or \
            re.search(r"\b(as|while|whilst)\b", connector) is not None
        if not steps:
            together = False
        kind = _KIND[phrase]
        steps.append(Step(kind, text[v.start() : v.end()], subject, together))
        keep.append((pos, v.start()))
        pos = v.end()
    keep.append((pos, len(text)))
    cleaned = " , ".join(text[a:b] for a, b in keep)
    cleaned = re.sub(r"\b(?:then|and then|afterwards|after that|finally|eventually|later|until finally)\b", " ",
                     cleaned, flags=re.I)
    cleaned = TURNING.sub(r", \1", cleaned.lower()) if TURNING.search(cleaned.lower()) else cleaned
    cleaned = TOWARD.sub(r", \1", cleaned) if toward else cleaned
    cleaned = re.sub(r"\b(?:as|while|whilst)\s*(?=,|$)", " ", cleaned)
    cleaned = re.sub(r"(^|[,:;])\s*(?:as|while|whilst)\b", r"\1 ", cleaned)
    cleaned = re.sub(r"\s*(?:,\s*)+", ", ", cleaned).strip(" ,")
    return Reading(cleaned, steps, toward)


# What a step sets: per role, the values it moves to, and the values the layer starts from (for its first step)
TARGET = {
    "approach": ({"level": 0.0, "brightness": 1.0}, {"level": 0.0, "brightness": 1.0}),
    "enter": ({"level": 0.0}, {"level": 0.0}),
    "build": ({"level": 0.0}, {"level": 0.0, "density": 1.0}),
    "peak": ({"level": 3.0}, {"level": 3.0, "density": 2.0}),
    "recede": ({"level": -12.0, "brightness": 0.45}, {"level": "off"}),
    "stop": ({"level": "off"}, {"level": "off"}),
    "ease": ({"level": -10.0, "brightness": 0.6}, {"level": -4.0, "density": 0.4}),
    "wind-down": ({"level": -10.0, "brightness": 0.5}, {"level": -6.0, "density": 0.3}),
}
START = {  # a layer whose first change is this starts so (bed, events)
    "approach": ({"level": -18.0, "brightness": 0.4}, {"level": "off"}),
    "enter": ({"level": "off"}, {"level": "off"}),
    "build": ({"level": -12.0}, {"level": -6.0, "density": 0.5}),
}


def timeline_for(steps: list[Step], roles: dict[str, str], *, toward_layers: list[str] = ()) -> tuple[list[dict],
                                                                                                         list[str]]:
    """(moments, warnings): the steps laid out over the duration as shares of it. Sequential steps share the
    duration between 10 % and 90 % (each glides over most of its slot); steps ``together`` share their slot.
    ``toward_layers`` (brought by the time of day the scene moves toward) come in over the last part."""
    slots: list[list[Step]] = []
    for s in steps:
        if s.layers:
            if s.together and slots:
                slots[-1].append(s)
            else:
                slots.append([s])
    warnings: list[str] = []
    if not slots and not toward_layers:
        return [], warnings
    k = len(slots)
    width = 80.0 / max(k, 1)
    start: dict[str, dict] = {}
    moments = []
    for i, slot in enumerate(slots):
        at = 10.0 + i * width
        over = width * (0.85 if k > 1 else 0.75)
        if toward_layers and k == 1:
            over = 80.0
        if k == 1 and all(s.kind == "wind-down" for s in slot):  # falling asleep: the last part of the track
            at, over = 40.0, 50.0
        sets: dict[str, dict] = {}
        for s in slot:
            for name in s.layers:
                events = roles.get(name) == "events"
                target = dict(TARGET[s.kind][1 if events else 0])
                if name not in start and s.kind in START:
                    start[name] = dict(START[s.kind][1 if events else 0])
                elif name not in start:
                    start[name] = {}
                if not events:
                    target.pop("density", None)
                sets.setdefault(name, {}).update(target)
        note = "; ".join(dict.fromkeys(f"{s.subject} {s.words}".strip() for s in slot))
        moments.append({"at": f"{at:g}%", "over": f"{over:g}%", "note": note, "set": sets})
    if toward_layers:
        for name in toward_layers:
            start[name] = {"level": "off"}
        moments.append({"at": "60%", "over": "35%", "note": "toward the new time of day",
                        "set": {name: {"level": 0.0} for name in toward_layers}})
    first = {name: values for name, values in start.items() if values}
    # never a silent start: if every layer would start absent, the first to come in starts quiet instead
    if first and all(first.get(n, {}).get("level") == "off" for n in roles):
        name = next(iter(first))
        first[name]["level"] = -20.0
        warnings.append(f"timeline: '{name}' starts quiet rather than absent, so the scene does not open in silence")
    if first:
        moments.insert(0, {"at": 0, "note": "the start", "set": first})
    return moments, warnings

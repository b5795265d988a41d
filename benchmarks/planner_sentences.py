"""The planner on 150 everyday descriptions from many domains (issue 39): what it reads right, implies, misreads.

    python benchmarks/planner_sentences.py [--show-misses]

Each sentence of ``benchmarks/planner_sentences.yaml`` (written before this round's places and generators, with
the sources it names, the sources the place it names implies, and readings that would be wrong) is planned for a
neural backend (AudioLDM2: any text renders) and for the offline procedural backend. Reported: refusals; explicit
recall (of the sources the sentences name, the share planned); implied recall (of the places' groups, the share
met by a planned layer); forbidden readings (sentences planned with a wrong source); and offline, the sentences
that plan at all and the layers a stand-in renders. Appends the table to ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ambientgen.errors import AmbientgenError  # noqa: E402
from ambientgen.planner.compose import PlanTarget, plan  # noqa: E402
from ambientgen.rendering.prepare import plan_target  # noqa: E402


def matches(item: str | list, layers) -> bool:
    """Whether a planned layer is ``item``: an ontology source, ``~word`` (a layer whose name or prompt holds the
    word), or a list of either (any one)."""
    if isinstance(item, list):
        return any(matches(i, layers) for i in item)
    if item.startswith("~"):
        word = item[1:].lower()
        return any(word in f"{la.name} {la.prompt}".lower().replace("-", " ") for la in layers)
    return any(la.source == item for la in layers)


def measure(sentences: list[dict], target: PlanTarget) -> dict:
    out = {"refused": [], "explicit": [0, 0], "implied": [0, 0], "forbidden": [], "misses": [], "stand_ins": 0,
           "layers": 0}
    for s in sentences:
        try:
            planned = plan(s["text"], backend=target)
        except AmbientgenError as exc:
            out["refused"].append((s["text"], str(exc)))
            out["explicit"][1] += len(s.get("expect", []))
            out["implied"][1] += len(s.get("implied", []))
            continue
        layers = planned.layers
        out["layers"] += len(layers)
        out["stand_ins"] += sum(1 for la in layers if la.renders_with and "stands in" in " ".join(planned.warnings)
                                and la.nearest)
        for key in ("explicit", "implied"):
            for item in s.get("expect" if key == "explicit" else "implied", []):
                ok = matches(item, layers)
                out[key][0] += ok
                out[key][1] += 1
                if not ok:
                    out["misses"].append((key, s["text"], item, [la.source or la.name for la in layers]))
        wrong = [f for f in s.get("forbid", []) if matches(f, layers)]
        if wrong:
            out["forbidden"].append((s["text"], wrong))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--show-misses", action="store_true")
    args = ap.parse_args()
    sentences = yaml.safe_load((ROOT / "benchmarks" / "planner_sentences.yaml").read_text())["sentences"]
    rows = []
    for label, target in (("neural (audioldm2)", PlanTarget("audioldm2")),
                          ("offline (procedural)", plan_target(backend="procedural"))):
        m = measure(sentences, target)
        pct = lambda a: f"{a[0]}/{a[1]} ({100 * a[0] / max(1, a[1]):.0f} %)"
        rows.append(f"| {label} | {len(sentences) - len(m['refused'])}/{len(sentences)} | {pct(m['explicit'])} | "
                    f"{pct(m['implied'])} | {len(m['forbidden'])} | {m['layers']} |")
        if args.show_misses:
            print(f"## {label}")
            for text, why in m["refused"]:
                print(f"refused: {text!r}: {why}")
            for key, text, item, got in m["misses"]:
                print(f"missed {key}: {text!r}: {item} (planned {got})")
            for text, wrong in m["forbidden"]:
                print(f"FORBIDDEN: {text!r}: {wrong}")
    table = "\n".join(["| target | planned | explicit recall | implied recall | forbidden readings | layers |",
                       "|---|---|---|---|---|---|", *rows])
    print(table)
    with open(ROOT / "benchmarks" / "RESULTS.md", "a") as fh:
        fh.write(f"\n## planner_sentences.py, {datetime.date.today()}: {len(sentences)} descriptions\n\n{table}\n")


if __name__ == "__main__":
    main()

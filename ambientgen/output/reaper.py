"""REAPER session (``.RPP``, plain text): one track per stem, looping items, the mix set up.

Stems are printed (each carries its layer's gain, pan and width and the master
gain), as is usual for stem deliveries: summed at unity they are the mix before
the limiter. So every track sits at unity gain and centre pan, and opening the
session plays the mix; the scene's gains and pans are recorded in the manifest.

A layer whose level a timeline changes plays from its stem *without* that curve (``session/LAYER.flac``) under a
track volume envelope carrying it (a point at each moment and every second along each glide), so the session
still plays the mix and a mixer can reshape the timeline by moving points.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..rendering.chunk_plan import Plan


def _guid(*parts: str) -> str:
    return "{" + str(uuid.uuid5(uuid.NAMESPACE_URL, "ambientgen:" + ":".join(parts))).upper() + "}"


def _envelope(name: str, scene: str, lane: list[list]) -> list[str]:
    """A track volume envelope (``VOLENV2``: amplitude, 1 = 0 dB) following a timeline level lane."""
    from ..audio.timeline import envelope_points

    lines = ["    <VOLENV2", f"      EGUID {_guid(scene, name, 'volume')}", "      ACT 1 -1", "      VIS 1 1 1",
             "      LANEHEIGHT 0 0", "      ARM 0", "      DEFSHAPE 0 -1 -1"]
    lines += [f"      PT {t:.6f} {g:.8f} 0" for t, g in envelope_points(lane)]
    return lines + ["    >"]


def reaper_session(plan: Plan, stem_paths: dict[str, str], *, sample_rate: int, frames: int,
                   envelopes: dict[str, list[list]] | None = None) -> str:
    """The text of a REAPER project playing the stems from 0, looped over the whole length; a layer in
    ``envelopes`` (its timeline level lane) gets a track volume envelope (its file is then its stem without it)."""
    length = frames / sample_rate
    lines = [
        '<REAPER_PROJECT 0.1 "6.0/ambientgen" 0',
        f"  SAMPLERATE {sample_rate} 0 0",
        f"  LOOP {1 if plan.loop else 0}",
        f"  SELECTION 0 {length:.9f}",
    ]
    for layer in plan.layers:
        rel = stem_paths.get(layer.name)
        if rel is None:
            continue
        lines += [
            f"  <TRACK {_guid(plan.scene.name, layer.name)}",
            f'    NAME "{layer.name}"',
            "    VOLPAN 1 0 -1 -1 1",
            *(_envelope(layer.name, plan.scene.name, envelopes[layer.name]) if layer.name in (envelopes or {}) else ()),
            "    <ITEM",
            "      POSITION 0",
            f"      LENGTH {length:.9f}",
            f"      LOOP {1 if plan.loop else 0}",
            f'      NAME "{Path(rel).name}"',
            f"      IGUID {_guid(plan.scene.name, layer.name, 'item')}",
            f"      <SOURCE {'FLAC' if rel.endswith('.flac') else 'WAVE'}",
            f'        FILE "{rel}"',
            "      >",
            "    >",
            "  >",
        ]
    lines.append(">")
    return "\n".join(lines) + "\n"


def write_reaper_session(path: Path, plan: Plan, stem_paths: dict[str, str], *, sample_rate: int,
                         frames: int, envelopes: dict[str, list[list]] | None = None) -> None:
    path.write_text(reaper_session(plan, stem_paths, sample_rate=sample_rate, frames=frames, envelopes=envelopes),
                    encoding="utf-8")


def parse_reaper_session(text: str) -> dict:
    """Read back what :func:`reaper_session` writes: sample rate, loop, and per track name, file, gain, pan."""
    rate = re.search(r"^\s*SAMPLERATE (\d+)", text, re.M)
    tracks = []
    for block in re.findall(r"<TRACK.*?\n  >", text, re.S):
        volpan = re.search(r"VOLPAN (\S+) (\S+)", block)
        tracks.append({
            "name": re.search(r'NAME "([^"]*)"', block).group(1),
            "file": re.search(r'FILE "([^"]*)"', block).group(1),
            "gain": float(volpan.group(1)),
            "pan": float(volpan.group(2)),
            "length_s": float(re.search(r"LENGTH (\S+)", block).group(1)),
            "loop": re.search(r"^\s*LOOP (\d)", block, re.M).group(1) == "1",
            "envelope": [(float(t), float(g)) for t, g in re.findall(r"^\s*PT (\S+) (\S+)", block, re.M)],
        })
    return {"sample_rate": int(rate.group(1)) if rate else None, "tracks": tracks}

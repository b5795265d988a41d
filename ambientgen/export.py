"""Writing deliverables: mix, stems and manifest, all atomically.

Every file is written under a ``.partial`` name and renamed only when all of a
render's files are complete; on any failure the partial files are removed and
whatever was in the output directory before is left as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from . import __version__
from .errors import ExportError
from .formats import Format, add_vorbis_loop, add_wav_loop, parse_formats, write_encoded
from .loudness import integrated_lufs

if TYPE_CHECKING:
    from .backends.base import Backend
    from .engine import MixResult, Plan

STEM_FORMAT = ("WAV", "PCM_24")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class AtomicOutputs:
    """Collects files written as ``NAME.partial`` and publishes them together."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.pending: list[tuple[Path, Path]] = []

    def path(self, relative: str) -> Path:
        final = self.out_dir / relative
        partial = final.with_name(final.name + ".partial")
        partial.parent.mkdir(parents=True, exist_ok=True)
        self.pending.append((partial, final))
        return partial

    def commit(self) -> None:
        for partial, final in self.pending:
            os.replace(partial, final)
        self.pending.clear()

    def discard(self) -> None:
        for partial, _ in self.pending:
            partial.unlink(missing_ok=True)
        self.pending.clear()


@contextmanager
def atomic_outputs(out_dir: Path):
    outputs = AtomicOutputs(out_dir)
    try:
        yield outputs
        outputs.commit()
    except OSError as exc:
        outputs.discard()
        raise ExportError(f"cannot write to {out_dir}: {exc.strerror or exc}") from None
    except BaseException:
        outputs.discard()
        raise


def write_audio(path: Path, audio: np.ndarray, sample_rate: int, *, container: str, subtype: str) -> None:
    """Write ``(channels, samples)`` audio (soundfile wants frames first)."""
    with sf.SoundFile(path, "w", samplerate=sample_rate, channels=audio.shape[0], format=container,
                      subtype=subtype) as f:
        block = sample_rate * 10
        for start in range(0, audio.shape[1], block):
            f.write(audio[:, start : start + block].T)


def _file_entry(out_dir: Path, final: Path, partial: Path, kind: str, layer: str | None = None) -> dict[str, Any]:
    info = sf.info(str(partial))
    entry = {
        "path": final.relative_to(out_dir).as_posix(),
        "kind": kind,
        "format": info.format.lower(),
        "subtype": info.subtype,
        "sample_rate": info.samplerate,
        "channels": info.channels,
        "frames": info.frames,
        "duration_s": info.frames / info.samplerate,
        "sha256": sha256_file(partial),
    }
    if layer:
        entry["layer"] = layer
    return entry


def _loop_entry(fmt: Format, written: bool, frames: int) -> dict[str, Any]:
    if not fmt.gapless:
        return {"loopable": False, "why": f"{fmt.name} pads the start with encoder delay: it cannot loop gaplessly"}
    meta = {"smpl": "WAV smpl chunk", "vorbis": "LOOPSTART/LOOPLENGTH comments"}.get(fmt.loop_tags or "")
    if fmt.loop_tags == "smpl" and not written:
        return {"loopable": True, "start": 0, "length": frames, "metadata": None,
                "why": "the file is RF64 (over 4 GB), which has no smpl chunk"}
    return {"loopable": True, "start": 0, "length": frames, "metadata": meta}


def _cue_points(mixed: MixResult) -> list[tuple[int, str]]:
    sr = mixed.sample_rate
    points = {}
    for res in mixed.layers:
        for t in res.seams_s:
            if t > 0:
                points.setdefault(round(t * sr), f"seam {res.plan.name} {t:.2f}s")
    return sorted(points.items())


def export_render(plan: Plan, mixed: MixResult, backend: Backend, out_dir: Path, *, fmt: str | list[str] = "wav",
                  bit_depth: str = "24", stems: bool = True, session: bool = True, render_s: float = 0.0,
                  notes: dict[str, Any] | None = None) -> dict[str, Any]:
    """Write the mix (one file per format), stems, a REAPER session and ``manifest.json``; returns the manifest."""
    from .session import write_reaper_session

    scene = plan.scene
    sr = mixed.sample_rate
    formats = parse_formats(fmt, sample_rate=sr, bit_depth=bit_depth)
    frames = mixed.mix.shape[1]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ExportError(f"cannot create output directory {out_dir}: {exc.strerror or exc}") from None
    files = []
    cues = _cue_points(mixed)
    with atomic_outputs(out_dir) as outputs:
        for f in formats:
            name = f"{scene.name}.{f.name}"
            partial = outputs.path(name)
            write_encoded(partial, mixed.mix, sr, f, bit_depth)
            written = False
            if plan.loop and f.loop_tags == "smpl":
                written = add_wav_loop(partial, sample_rate=sr, frames=frames, cues=cues)
            elif plan.loop and f.loop_tags == "vorbis":
                add_vorbis_loop(partial, f, frames=frames)
            entry = _file_entry(out_dir, out_dir / name, partial, "mix")
            entry["integrated_lufs"] = round(mixed.loudness.integrated_lufs, 3)
            if plan.loop:
                entry["loop"] = _loop_entry(f, written or f.loop_tags != "smpl", frames)
            files.append(entry)
        stem_paths = {}
        if stems:
            for name, audio in mixed.stems.items():
                rel = f"stems/{name}.wav"
                partial = outputs.path(rel)
                write_audio(partial, np.clip(audio, -1.0, 1.0), sr, container=STEM_FORMAT[0], subtype=STEM_FORMAT[1])
                if plan.loop:
                    add_wav_loop(partial, sample_rate=sr, frames=frames)
                entry = _file_entry(out_dir, out_dir / rel, partial, "stem", name)
                entry["integrated_lufs"] = round(integrated_lufs(audio, sr), 3)
                files.append(entry)
                stem_paths[name] = rel
            if session:
                rel = f"{scene.name}.RPP"
                write_reaper_session(outputs.path(rel), plan, stem_paths, sample_rate=sr, frames=frames)
                files.append({"path": rel, "kind": "session", "format": "reaper",
                              "sha256": sha256_file(outputs.pending[-1][0])})
        manifest = build_manifest(plan, mixed, backend, files, stem_paths, render_s=render_s)
        manifest.update(notes or {})
        with open(outputs.path("manifest.json"), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2)
            fh.write("\n")
    return manifest


def build_manifest(plan: Plan, mixed: MixResult, backend: Backend, files: list[dict[str, Any]],
                   stem_paths: dict[str, str], *, render_s: float) -> dict[str, Any]:
    scene = plan.scene
    report = mixed.loudness
    n = mixed.mix.shape[1]
    layers = []
    for res in mixed.layers:
        lp = res.plan
        layers.append({
            "name": lp.name,
            "prompt": lp.prompt,
            "negative_prompt": lp.negative_prompt,
            "gain_db": lp.gain_db,
            "pan": lp.pan,
            "width": lp.width,
            "seeds": list(lp.seeds),
            "chunk_s": lp.chunk_s,
            "overlap_s": lp.overlap_s,
            "seams_s": res.seams_s,
            "continuity": res.method,
            "seam_report": res.seam_report,
            "model_calls": res.model_calls,
            "stem": stem_paths.get(lp.name),
        })
    stats = backend.stats
    return {
        "ambientgen_version": __version__,
        "name": scene.name,
        "scene": scene.to_dict(),
        "backend": backend.describe(),
        "duration_s": n / mixed.sample_rate,
        "frames": n,
        "sample_rate": mixed.sample_rate,
        "channels": int(mixed.mix.shape[0]),
        "loop": plan.loop,
        "loop_start_frame": 0 if plan.loop else None,
        "loop_end_frame": n if plan.loop else None,
        "target_lufs": scene.target_lufs,
        "true_peak_dbtp": scene.true_peak_dbtp,
        "integrated_lufs": round(report.integrated_lufs, 3),
        "measured_true_peak_dbtp": round(report.true_peak_dbtp, 3),
        "sample_peak_dbfs": round(report.sample_peak_dbfs, 3),
        "master_gain_db": round(report.gain_db, 3),
        "limiter_reduction_db": round(report.limiter_reduction_db, 3),
        "stems_note": "stems carry each layer's gain, pan and the master gain; they sum to the mix before the limiter",
        "layers": layers,
        "stats": {
            "model_calls": stats.model_calls,
            "text_encodes": stats.text_encodes,
            "unet_evals": stats.unet_evals,
            "decode_calls": stats.decode_calls,
            "render_s": round(render_s, 3),
        },
        "files": files,
    }

"""Writing deliverables: mix, stems and manifest, all atomically, streamed block by block.

Every file is written under a ``.partial`` name and renamed only when all of a
render's files are complete; on any failure the partial files are removed and
whatever was in the output directory before is left as it was. The audio
arrives from :func:`ambientgen.output.master.assemble` in blocks, so an hour costs
no more memory than a minute.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import soundfile as sf

from .._version import __version__
from ..audio.wavdata import PCM_DROPPED, pcm_words
from ..errors import AmbientgenError, ExportError
from ..progress import ProgressEvent
from .files import (
    MANIFEST,
    atomic_outputs,
    mix_name,
    previous_render_files,
    session_name,
    session_stem_name,
    sha256_file,
    sha256_files,
    stem_name,
)
from .formats import Format, add_vorbis_loop, add_wav_loop, parse_formats, subtype

if TYPE_CHECKING:
    from ..backends.base import Backend
    from ..rendering.chunk_plan import Plan
    from ..rendering.engine import LayerOutput
    from .master import MasterReport

STEM_FORMAT = ("WAV", "PCM_24")


def _file_entry(out_dir: Path, final: Path, partial: Path, kind: str, layer: str | None = None, *,
                sha256: str) -> dict[str, Any]:
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
        "sha256": sha256,
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


MAX_CUES = 256  # seam markers in the WAV (DAWs show each one); the manifest lists every seam


def _cue_points(layers: list[LayerOutput], sample_rate: int) -> list[tuple[int, str]]:
    points = {}
    for res in layers:
        for t in res.seams_s:
            if t > 0:
                points.setdefault(round(t * sample_rate), f"seam {res.plan.name} {t:.2f}s")
    return sorted(points.items()) if len(points) <= MAX_CUES else []


class _SoundFileSink:
    """Receives ``(channels, n)`` blocks and writes them with soundfile (frames first). A 16- or 24-bit WAV is
    given the 32-bit integers libsndfile would make of the floats (:func:`~ambientgen.audio.wavdata.pcm_words`:
    the same bytes, the conversion in numpy)."""

    def __init__(self, path: Path, sample_rate: int, *, container: str, subtype: str):
        self.file = sf.SoundFile(path, "w", samplerate=sample_rate, channels=2, format=container, subtype=subtype)
        self._words = container == "WAV" and subtype in PCM_DROPPED

    def __call__(self, block: np.ndarray) -> None:
        self.file.write(pcm_words(block, frames_first=True) if self._words else block.T)

    def close(self) -> None:
        self.file.close()


class _M4aSink(_SoundFileSink):
    """AAC through ffmpeg: the blocks go to a 24-bit WAV beside the output, encoded when closed."""

    def __init__(self, path: Path, sample_rate: int):
        self.target = path
        self.temp = path.with_name(path.name + ".wav")
        super().__init__(self.temp, sample_rate, container="WAV", subtype="PCM_24")

    def close(self) -> None:
        import shutil
        import subprocess

        super().close()
        try:
            subprocess.run([shutil.which("ffmpeg") or "ffmpeg", "-v", "error", "-y", "-i", str(self.temp), "-c:a",
                            "aac", "-b:a", "256k", "-f", "ipod", str(self.target)], check=True, capture_output=True)
        except (OSError, subprocess.CalledProcessError) as exc:
            raise ExportError(f"ffmpeg could not encode m4a: {getattr(exc, 'stderr', b'') or exc}") from None
        finally:
            self.temp.unlink(missing_ok=True)


def close_all(sinks: list[_SoundFileSink]) -> None:
    """Close every sink, side by side (libsndfile syncs a file to disk as it closes it: 50-90 ms each, which
    overlap), each one whatever the others do; the first error is raised once all are closed."""
    from concurrent.futures import ThreadPoolExecutor

    if not sinks:
        return
    with ThreadPoolExecutor(max_workers=len(sinks), thread_name_prefix="close") as pool:
        done = [pool.submit(sink.close) for sink in sinks]
    for future in done:
        future.result()


def _sink(path: Path, fmt: Format, sample_rate: int, bit_depth: str) -> _SoundFileSink:
    if fmt.name == "m4a":
        return _M4aSink(path, sample_rate)
    return _SoundFileSink(path, sample_rate, container=fmt.container, subtype=subtype(fmt, bit_depth))


def export_render(plan: Plan, layers: list[LayerOutput], backend: Backend, out_dir: Path, *,
                  fmt: str | list[str] = "wav", bit_depth: str = "24", stems: bool = True, session: bool = True,
                  render_s: float = 0.0, notes: dict[str, Any] | None = None, on_progress=None,
                  watch=None, on_written=None, on_closed=None) -> dict[str, Any]:
    """Master the rendered layers and write the mix (one file per format), stems, a REAPER session and
    ``manifest.json``, all or nothing; returns the manifest. ``watch``, a callable, receives every block of the mix
    as it is written (``(2, n)`` float32, in order; :class:`~ambientgen.check.written.WrittenCheck`);
    ``on_written()`` is called once the last block is mastered, before the files are closed, hashed and listed
    (what follows the export can start then: a render loads matplotlib for its picture); ``on_closed(draft, mix)``
    once every audio file is complete, before they are hashed: ``draft`` is the manifest but for the files' hashes
    and the session's entry, ``mix`` the first mix file as written, not yet in its place (a render makes its check
    report and picture while the files are hashed).

    Raises
    ------
    ExportError
        An output cannot be written (nothing is left half-written).
    AmbientgenError
        The mix cannot be mastered (it is silent).
    """
    from ..audio.streams import Mix
    from .master import assemble
    from .reaper import write_reaper_session

    scene = plan.scene
    sr = scene.sample_rate
    loopable = scene.loopable
    formats = parse_formats(fmt, sample_rate=sr, bit_depth=bit_depth)
    total = plan.frames
    files = []
    mix = Mix([layer.stream for layer in layers], total, scene.loop, round(scene.fade_in * sr),
              round(scene.fade_out * sr))

    def progress(stage: str, done: int, of: int) -> None:
        if on_progress:
            on_progress(ProgressEvent(stage, None, round(done / sr), round(of / sr), "s of audio"))

    started = time.perf_counter()
    with atomic_outputs(out_dir) as outputs:
        # a previous render here (only with overwrite: preflight refused otherwise) is replaced as a whole: what
        # its manifest lists and this render does not write again goes when the new files are published
        outputs.retire(previous_render_files(out_dir))
        mix_paths = [(f, mix_name(scene.name, f.name), outputs.path(mix_name(scene.name, f.name))) for f in formats]
        stem_paths = {layer.plan.name: stem_name(layer.plan.name) for layer in layers} if stems else {}
        stem_partials = {name: outputs.path(rel) for name, rel in stem_paths.items()}
        # the session plays a layer whose level the timeline changes from its stem without that curve, under the
        # curve as a volume envelope (a mixer reshapes it there)
        enveloped = {layer.plan.name: layer for layer in layers
                     if stems and session and "level" in (layer.plan.timeline or {})}
        session_paths = {name: session_stem_name(name) for name in enveloped}
        session_partials = {name: outputs.path(rel) for name, rel in session_paths.items()}
        sinks: list[_SoundFileSink] = []
        stem_sinks: list[_SoundFileSink] = []
        session_sinks: list[_SoundFileSink] = []
        more: list[tuple[Any, _SoundFileSink]] = []
        try:
            for f, _, partial in mix_paths:
                sinks.append(_sink(partial, f, sr, bit_depth))
            for p in stem_partials.values():
                stem_sinks.append(_SoundFileSink(p, sr, container=STEM_FORMAT[0], subtype=STEM_FORMAT[1]))
            for name, layer in enveloped.items():
                from ..audio.timeline import Unlevelled

                session_sinks.append(_SoundFileSink(session_partials[name], sr, container="FLAC", subtype="PCM_24"))
                more.append((Unlevelled(layer.stream), session_sinks[-1]))
            try:
                report = assemble(mix, sample_rate=sr, target_lufs=scene.target_lufs,
                                  ceiling_dbtp=scene.true_peak_dbtp, sinks=sinks + ([watch] if watch else []),
                                  stem_sinks=stem_sinks,
                                  layer_names=list(stem_paths), on_progress=progress, more_stems=more)
            except ValueError as exc:
                raise AmbientgenError(f"cannot master the mix: {exc}") from None
            del mix, more  # written: this function's hold on the layers' audio goes (a caller done with it frees it)
            if on_written is not None:
                on_written()
        finally:
            close_all(sinks + stem_sinks + session_sinks)
        assemble_s = time.perf_counter() - started
        cues = _cue_points(layers, sr)
        written = {}  # each mix file: whether its loop metadata went in
        for f, name, partial in mix_paths:
            written[name] = False
            if loopable and f.loop_tags == "smpl":
                written[name] = add_wav_loop(partial, sample_rate=sr, frames=total, cues=cues)
            elif loopable and f.loop_tags == "vorbis":
                add_vorbis_loop(partial, f, frames=total)
        for partial in stem_partials.values() if loopable else ():
            add_wav_loop(partial, sample_rate=sr, frames=total)
        for f, name, partial in mix_paths:
            entry = _file_entry(out_dir, out_dir / name, partial, "mix", sha256="")
            entry["integrated_lufs"] = round(report.integrated_lufs, 3)
            entry["loop"] = _loop_entry(f, written[name] or f.loop_tags != "smpl", total) if loopable else \
                {"loopable": False, "why": _not_loopable_why(scene)}
            files.append(entry)
        for name, rel in stem_paths.items():
            entry = _file_entry(out_dir, out_dir / rel, stem_partials[name], "stem", name, sha256="")
            entry["integrated_lufs"] = round(report.layer_lufs.get(name, float("nan")), 3)
            files.append(entry)
        for name, rel in session_paths.items():
            files.append(_file_entry(out_dir, out_dir / rel, session_partials[name], "session-stem", name, sha256=""))
        if on_closed is not None:
            on_closed(build_manifest(plan, layers, report, backend, [dict(e) for e in files], stem_paths,
                                     render_s=render_s, assemble_s=assemble_s) | (notes or {}), mix_paths[0][2])
        # every file complete: hashed side by side
        partials = [p for _, _, p in mix_paths] + [*stem_partials.values(), *session_partials.values()]
        digests = sha256_files(partials)
        for entry, partial in zip(files, partials, strict=True):
            entry["sha256"] = digests[partial]
        if stems and session:
            rel = session_name(scene.name)
            write_reaper_session(outputs.path(rel), plan, {**stem_paths, **session_paths}, sample_rate=sr,
                                 frames=total, envelopes={name: layer.plan.timeline["level"]
                                                          for name, layer in enveloped.items()})
            files.append({"path": rel, "kind": "session", "format": "reaper",
                          "sha256": sha256_file(outputs.pending[-1][0])})
        manifest = build_manifest(plan, layers, report, backend, files, stem_paths, render_s=render_s,
                                  assemble_s=assemble_s)
        manifest.update(notes or {})
        with open(outputs.path(MANIFEST), "w", encoding="utf-8") as fh:
            json.dump(manifest, fh, indent=2)
            fh.write("\n")
    return manifest


def _not_loopable_why(scene) -> str:
    if not scene.loop:
        return "the scene sets loop: false"
    if scene.fade_in or scene.fade_out:
        return "a fade-in or fade-out (sleep timer) makes the track start or end in silence"
    return "the timeline ends elsewhere than it starts (" + "; ".join(scene.timeline_changes()) + ")"


def _timeline_entry(scene) -> dict[str, Any] | None:
    """What the manifest says of the timeline: its moments (in seconds) and each layer's breakpoints."""
    if not scene.timeline:
        return None
    return {"moments": scene.moments(), "lanes": scene.lanes(),
            "closes": not scene.timeline_changes()}


def build_manifest(plan: Plan, layers: list[LayerOutput], report: MasterReport, backend: Backend,
                   files: list[dict[str, Any]], stem_paths: dict[str, str], *, render_s: float,
                   assemble_s: float = 0.0) -> dict[str, Any]:
    scene = plan.scene
    sr = scene.sample_rate
    n = plan.frames
    loopable = scene.loopable
    entries = []
    for res in layers:
        lp = res.plan
        entry = {
            "name": lp.name,
            "prompt": lp.prompt if lp.source is None else None,
            "source": list(lp.source) if lp.source is not None else None,
            "negative_prompt": lp.negative_prompt if lp.source is None else None,
            "role": "events" if lp.kind == "events" else "bed",
            "kind": lp.kind,
            "rendered_by": backend.renderer(lp.prompt) if lp.source is None else "recording",
            "gain_db": lp.gain_db,
            "pan": lp.pan,
            "width": lp.width,
            "seeds": list(lp.seeds) if lp.source is None else [],
            "chunk_s": lp.chunk_s,
            "overlap_s": lp.overlap_s,
            "seams_s": res.seams_s,
            "continuity": res.method,
            "seam_report": res.seam_report,
            "model_calls": res.model_calls,
            "rendered_now": res.model_calls if res.rendered is None else res.rendered,
            "naive_model_calls": plan.consecutive_chunks(lp) if lp.source is None else 0,
            "animate": lp.animate.model_dump() if lp.animate else None,
            "timeline": lp.timeline,
            "stem": stem_paths.get(lp.name),
        }
        entry.update({k: v for k, v in res.details.items() if k != "kind"})
        entries.append(entry)
    stats = backend.stats
    return {
        "ambientgen_version": __version__,
        "name": scene.name,
        "scene": scene.to_dict(),
        "backend": backend.describe(),
        "duration_s": n / sr,
        "frames": n,
        "sample_rate": sr,
        "channels": 2,
        "loop": loopable,
        "loop_start_frame": 0 if loopable else None,
        "loop_end_frame": n if loopable else None,
        "loop_note": None if loopable else _not_loopable_why(scene),
        "timeline": _timeline_entry(scene),
        "fade_in_s": scene.fade_in,
        "fade_out_s": scene.fade_out,
        "target_lufs": scene.target_lufs,
        "true_peak_dbtp": scene.true_peak_dbtp,
        "integrated_lufs": round(report.integrated_lufs, 3),
        "measured_true_peak_dbtp": round(report.true_peak_dbtp, 3),
        "true_peak_exact": report.true_peak_exact,
        "sample_peak_dbfs": round(report.sample_peak_dbfs, 3),
        "master_gain_db": round(report.gain_db, 3),
        "limiter_reduction_db": round(report.limiter_reduction_db, 3),
        "stems_note": "stems carry each layer's gain, pan, timeline and the master gain; they sum to the mix before the "
                      "limiter" + ("; session/ holds the layers whose level the timeline changes without that curve, "
                                   "which the REAPER session applies as volume envelopes" if any(
                                       f["kind"] == "session-stem" for f in files) else ""),
        "layers": entries,
        "stats": {
            "model_calls": sum(res.model_calls for res in layers),
            "model_calls_per_layer": {res.plan.name: res.model_calls for res in layers},
            "rendered_now": sum(res.model_calls if res.rendered is None else res.rendered for res in layers),
            "text_encodes": stats.text_encodes,
            "unet_evals": stats.unet_evals,
            "decode_calls": stats.decode_calls,
            "render_s": round(render_s, 3),
            "assemble_s": round(assemble_s, 3),
            "assemble_timings_s": {k: round(v, 3) for k, v in report.timings.items()},
        },
        "files": files,
    }


"""One render pipeline for the library and the command line.

:func:`render` is what ``ambientgen render`` runs and what ``ambientgen.render``
is; its body reads as the steps of a render:

1. **scene**: a :class:`~ambientgen.scene.schema.Scene`, a YAML file, or a sentence
   (planned by :mod:`ambientgen.planner.compose`), with overrides applied
   (:mod:`ambientgen.rendering.prepare`, which also holds ``validate``);
2. **validate and preflight**: formats, options, and the output folder
   (writable, room enough, nothing replaced unasked), before any model work;
3. **backend**: chosen (``auto``'s rules in :mod:`ambientgen.backends`) and
   loaded, locally or as Ray workers;
4. **plan**: what each layer renders (:mod:`ambientgen.rendering.chunk_plan`);
5. **model work**: every chunk or latent through the render cache, here or on
   Ray (:mod:`ambientgen.rendering.ray`), then the layers stitched and placed
   (:mod:`ambientgen.rendering.engine`);
6. **master and export**: loudness, true peak, the mix in every format,
   stems, session and manifest, all or nothing (:mod:`ambientgen.output.export`);
7. **check report**: the mix judged by its own scene's targets
   (:mod:`ambientgen.check.report`), written as JSON and a picture.

Messages for the user (which backend and why, planner warnings, hints) go to
``on_message(level, text)``; by default to the ``ambientgen`` logger.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..backends import Backend, Choice, choose_backend, load_backend, unsupported_layers
from ..errors import AmbientgenError, UsageError
from ..output.files import MANIFEST, output_names, report_names
from ..progress import ProgressEvent, ProgressFn
from ..runtime import own_threads, release, steady_memory
from ..scene.schema import Scene
from .prepare import RECORDINGS_ONLY, MessageFn, check_device, default_message, resolve_scene, unmuted

EXECUTORS = ("local", "ray")


class RenderInterrupted(KeyboardInterrupt):
    """A render stopped by Ctrl-C; ``message`` says what was kept (nothing is written half-way)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


@dataclass
class RenderResult:
    """What a render produced.

    Attributes
    ----------
    output : Path
        The output folder.
    files : list of Path
        Every file written (mix formats, stems, session, manifest, check report).
    manifest : dict
        The manifest (also written as ``manifest.json``).
    report : ambientgen.check.report.Report or None
        The check report of the mix (None with ``report=False``).
    scene : Scene
        The scene as rendered (after planning and overrides).
    choice : Choice
        Which backend rendered it and why.
    seconds : float
        Wall time of the whole render.
    """

    output: Path
    files: list[Path]
    manifest: dict[str, Any]
    report: Any
    scene: Scene
    choice: Choice
    seconds: float
    messages: list[tuple[str, str]] = field(default_factory=list)

    @property
    def mix_path(self) -> Path:
        """The first mix file."""
        return self.output / next(f["path"] for f in self.manifest["files"] if f["kind"] == "mix")

    def audio(self, layer: str | None = None) -> np.ndarray:
        """The mix (or one layer's stem) read back as float32 ``(channels, samples)`` at the scene's rate.

        Meant for short renders in notebooks: an hour of stereo is 1.4 GB as float32.
        """
        import soundfile as sf

        if layer is None:
            path = self.mix_path
        else:
            stem = next((f for f in self.manifest["files"] if f.get("layer") == layer), None)
            if stem is None:
                raise AmbientgenError(f"layer: no stem for {layer!r} in this render (stems: "
                                      f"{', '.join(f['layer'] for f in self.manifest['files'] if 'layer' in f)})")
            path = self.output / stem["path"]
        data, _ = sf.read(str(path), dtype="float32", always_2d=True)
        return np.ascontiguousarray(data.T)

    @property
    def passed(self) -> bool | None:
        """Whether the mix passed its check report (None when no report was written)."""
        return None if self.report is None else self.report.passed


def _check_options(*, device: str, executor: str, cache: bool | str | Path, workers: int | None,
                   worker_threads: int | None) -> None:
    check_device(device)
    if executor not in EXECUTORS:
        raise UsageError("executor", f"must be one of {', '.join(EXECUTORS)}, got {executor!r}")
    if executor == "ray" and cache is False:
        raise UsageError("cache", "the ray executor passes results through the render cache; it cannot be off")
    if workers is not None and workers < 1:
        raise UsageError("workers", f"must be at least 1, got {workers}")
    if worker_threads is not None and worker_threads < 1:
        raise UsageError("worker_threads", f"must be at least 1, got {worker_threads}")
    if isinstance(cache, (str, Path)):
        root = Path(cache).expanduser()
        if root.exists() and not root.is_dir():
            raise UsageError("cache_dir", f"'{cache}' exists and is not a directory")


def render(scene: Scene | str | Path, output: str | Path = "out", *,
           duration: float | str | None = None, seed: int | None = None, backend: str | Backend | None = None,
           checkpoint: str | None = None, steps: int | None = None, lufs: float | None = None,
           variety: int | None = None, fade_in: float | str | None = None, fade_out: float | str | None = None,
           device: str = "auto", formats: str | list[str] | None = None, bit_depth: str = "24",
           stems: bool | None = None, session: bool | None = None, report: bool = True, cache: Any = True,
           overwrite: bool = False, preset: str | None = None,
           executor: str = "local", ray_address: str | None = None, workers: int | None = None,
           worker_threads: int | None = None, on_progress: ProgressFn | None = None,
           on_message: MessageFn | None = None) -> RenderResult:
    """Render a scene (or a one-sentence description) into ``output``: mix, stems, session, manifest, check report.

    Parameters
    ----------
    scene : Scene, path or str
        A :class:`Scene`, a YAML scene file, or a description such as
        ``"rain on a tin roof with distant thunder"`` (planned into layers first).
    output : str or Path
        Output folder (created if missing). An earlier render's files there are
        an error unless ``overwrite``.
    duration, seed, checkpoint, steps, lufs, variety, fade_in, fade_out
        Override the scene's fields (``None`` keeps them). Durations are seconds
        or strings such as ``"10m"``; ``lufs`` is the integrated loudness target.
    backend : str or Backend
        A registered backend name (or ``auto``) overriding the scene's, or an
        already loaded :class:`~ambientgen.backends.Backend` to render with.
    device : str
        ``auto`` (CUDA, then MPS, then CPU), ``cpu``, ``cuda`` or ``mps``.
    formats : str or list of str
        Mix formats: ``wav``, ``flac``, ``ogg``, ``opus``, ``mp3``, ``m4a`` (comma-separated or a list); default
        ``wav`` (the preset's with ``preset``).
    bit_depth : str
        WAV/FLAC sample format: ``16``, ``24`` or ``32f``.
    stems, session, report : bool
        Write per-layer stems, the REAPER session (needs stems), the check report (JSON and PNG). Stems and
        session default to True (to the preset's with ``preset``).
    cache : bool, str, Path or RenderCache
        The render cache: ``True`` (``$AMBIENTGEN_CACHE`` or ``~/.cache/ambientgen``), a folder, an open
        :class:`~ambientgen.rendering.cache.RenderCache` (its ``stats`` count hits and misses), or ``False``.
    overwrite : bool
        Replace the files of an earlier render in ``output``.
    preset : str, optional
        ``sleep``: 8 hours, one MP3, no stems or session, a gentle fade-in, a wind-down and a long fade
        (:mod:`ambientgen.rendering.presets`); options given explicitly win.
    executor : str
        ``local`` or ``ray`` (model work spread over Ray workers; byte-identical results).
    ray_address, workers, worker_threads
        Ray cluster address, worker count, PyTorch threads per worker.
    on_progress : callable
        Receives :class:`~ambientgen.progress.ProgressEvent` values.
    on_message : callable
        Receives ``(level, text)`` messages; default: the ``ambientgen`` logger.

    Returns
    -------
    RenderResult
        The files, manifest, check report and backend choice.

    Raises
    ------
    SceneError
        The scene is invalid.
    UsageError
        An option is invalid (the message names the parameter).
    BackendError
        The backend cannot be loaded or cannot render the scene.
    AmbientgenError
        The output cannot be written (it exists, no room, not writable).
    RenderInterrupted
        Ctrl-C: nothing was written; finished model work is kept in the cache.
    """
    started = time.perf_counter()
    steady_memory()  # as the CLI does: the same memory and speed from the library
    messages: list[tuple[str, str]] = []

    def say(level: str, text: str) -> None:
        messages.append((level, text))
        (on_message or default_message)(level, text)

    loaded = backend if isinstance(backend, Backend) else None
    from .presets import apply_recipe, recipe

    rec = recipe(preset)
    if rec is not None:
        duration = rec.duration if duration is None else duration
        lufs = rec.lufs if lufs is None else lufs
    formats = formats if formats is not None else (rec.formats if rec else "wav")
    stems = stems if stems is not None else (rec.stems if rec else True)
    session = session if session is not None else (rec.session if rec else True)
    # 1. scene
    sc, planned = resolve_scene(scene, say=say, device=device, loaded=loaded, duration=duration, seed=seed, lufs=lufs,
                                fade_in=fade_in,
                                fade_out=fade_out, backend=None if loaded else backend, checkpoint=checkpoint,
                                steps=steps, variety=variety)
    if rec is not None:
        sc, notes = apply_recipe(sc, rec, fade_in_given=fade_in is not None, fade_out_given=fade_out is not None)
        for note in notes:
            say("info", note)
    sc, muted = unmuted(sc)
    for layer in muted:
        say("info", f"layer '{layer.name}' is muted (mute: true): left out of this render")
    # 2. validate and preflight
    from ..planner.beds import one_event_beds

    for warning in one_event_beds(sc):
        say("warning", warning)
    from .recordings.layers import find_layer_sources, open_layer_sources

    find_layer_sources(sc)  # a missing recording is said first, before the output folder or a long read
    output = Path(output)
    fmts = _preflight(sc, output, device=device, executor=executor, cache=cache, workers=workers,
                      worker_threads=worker_threads, formats=formats, bit_depth=bit_depth, stems=stems,
                      session=session, report=report, overwrite=overwrite)
    recordings = open_layer_sources(sc, on_progress=on_progress)  # every recording read and checked first
    store = _open_cache(cache, say)
    cluster = None
    with own_threads():  # BLAS on one thread: the generators and the export already keep every core busy
        try:
            # 3. backend
            choice, be, cluster, info = _backend(sc, loaded, device=device, executor=executor, store=store,
                                                 ray_address=ray_address, workers=workers,
                                                 worker_threads=worker_threads, on_progress=on_progress, say=say)
            skipped = unsupported_layers(sc, be, strict=not choice.automatic)
            for name in skipped:
                say("warning", f"layer '{name}' left out: the {be.name} backend has no generator for its prompt")
            if skipped:
                sc = sc.keep_layers([la.name for la in sc.layers if la.name not in skipped])
            # 4. plan
            from .chunk_plan import make_plan

            plan = make_plan(sc, max_chunk_s=be.max_duration_s, window=be.preferred_window)
            notes = _notes(choice, be, skipped, planned)
            notes["muted_layers"] = [layer.model_dump(mode="json") for layer in muted]
            # 5. model work (on Ray: fills the cache first), then layers stitched and placed
            if cluster is not None:
                notes["cluster"] = _render_on_cluster(cluster, sc, info, store, on_progress)
            layers, render_s = _render_layers(plan, be, store, on_progress, recordings, lambda m: say("warning", m))
            if store is not None:  # kept under its cap: the least recently used entries go (this render's are fresh)
                gone = store.evict()
                notes["cache"] = {"dir": str(store.root), **store.stats.as_dict(), "size_bytes": store.usage().bytes,
                                  "max_bytes": store.max_bytes, "evicted_entries": gone.entries,
                                  "evicted_bytes": gone.bytes}
            # 6. master and export
            from ..output.export import export_render
            from .check_report import EarlyCheck, written_check

            watch = written_check(plan, layers, fmts[0], bit_depth) if report else None
            early = EarlyCheck(output, watch) if watch is not None else None
            try:
                manifest = export_render(plan, layers, be, output, fmt=[f.name for f in fmts], bit_depth=bit_depth,
                                         stems=stems, session=session, render_s=render_s, notes=notes,
                                         on_progress=on_progress, watch=watch,
                                         on_written=_on_written(layers, recordings, report),
                                         on_closed=early.start if early is not None else None)
            except BaseException:
                if early is not None:
                    early.cancel()
                if watch is not None:
                    watch.close(quiet=True)
                raise
            del layers, recordings  # written, and let go in _on_written: the check below has what it needs

        except KeyboardInterrupt:
            raise RenderInterrupted(_interrupted(store)) from None
        finally:
            if cluster is not None:
                cluster.shutdown()
    # 7. check report (made while the export hashed its files, when the mix was checked as it was written)
    check = early.finish() if report and early is not None else None
    if report and check is None:
        from .check_report import check_report

        check = check_report(output, manifest, on_progress, watch if early is None else None)
    files = [output / f["path"] for f in manifest["files"]] + [output / MANIFEST]
    if check is not None:
        files += [output / name for name in report_names(sc.name)]
    return RenderResult(output=output, files=files, manifest=manifest, report=check, scene=sc, choice=choice,
                        seconds=time.perf_counter() - started, messages=messages)


def _preflight(sc: Scene, output: Path, *, device, executor, cache, workers, worker_threads, formats, bit_depth,
               stems, session, report, overwrite):
    """Step 2: every option checked and the output folder probed, before any model work."""
    from ..output.formats import parse_formats
    from .chunk_plan import scene_frames
    from .preflight import check_outputs, estimate_bytes

    _check_options(device=device, executor=executor, cache=cache, workers=workers, worker_threads=worker_threads)
    fmts = parse_formats(formats, sample_rate=sc.sample_rate, bit_depth=bit_depth)
    layers = [layer.name for layer in sc.layers]
    enveloped = [name for name, lanes in (sc.lanes() if sc.timeline else {}).items() if "level" in lanes]
    names = output_names(sc.name, [f.name for f in fmts], layers, stems=stems, session=session, report=report,
                         enveloped=enveloped)
    check_outputs(output, names, overwrite=overwrite,
                  needed_bytes=estimate_bytes(frames=scene_frames(sc), formats=fmts, bit_depth=bit_depth,
                                              stems=(len(layers) + (len(enveloped) if session else 0)) if stems else 0,
                                              sample_rate=sc.sample_rate))
    return fmts


def _open_cache(cache, say: MessageFn):
    from .cache import RenderCache, default_cache_dir

    if cache is False or isinstance(cache, RenderCache):
        return cache or None

    return RenderCache(default_cache_dir() if cache is True else Path(cache), warn=lambda m: say("warning", m))


def _backend(sc: Scene, loaded: Backend | None, *, device, executor, store, ray_address, workers, worker_threads,
             on_progress, say):
    """Step 3: (choice, backend, Ray executor or None, the workers' description or None)."""
    if loaded is not None:
        return Choice(loaded.name, "given as a loaded backend", automatic=False), loaded, None, None
    if not sc.generated_layers:  # recordings only: no model is chosen, loaded or downloaded
        return RECORDINGS_ONLY, load_backend(sc.model, choice=RECORDINGS_ONLY), None, None
    choice = choose_backend(sc.model, device=device)
    if choice.automatic:
        say("info", f"backend: {choice.backend} ({choice.reason})")
    if choice.hint:
        say("hint", choice.hint)
    if on_progress:
        on_progress(ProgressEvent("load", None, 0, 0, choice.backend))
    if executor == "ray":
        from .ray import ClusterBackend, RayExecutor

        cluster = RayExecutor(model=sc.model, device=device, choice=choice, cache_dir=str(store.root),
                              workers=workers, address=ray_address, threads=worker_threads)
        try:
            info = cluster.info([layer.prompt for layer in sc.generated_layers])
        except BaseException:
            cluster.shutdown()
            raise
        return choice, ClusterBackend(info), cluster, info
    return choice, load_backend(sc.model, device=device, choice=choice), None, None


def _notes(choice: Choice, be: Backend, skipped: list[str], planned) -> dict[str, Any]:
    notes: dict[str, Any] = {
        "backend_choice": {"backend": be.name, "reason": choice.reason, "automatic": choice.automatic},
        "skipped_layers": skipped,
    }
    if planned is not None:
        notes["plan"] = {"description": planned.description, "layers": planned.explain(),
                         "warnings": planned.warnings}
    return notes


def _render_on_cluster(cluster, sc: Scene, info, store, on_progress: ProgressFn | None) -> dict[str, Any]:
    pieces = cluster.plan_pieces(sc.model_copy(update={"layers": sc.generated_layers}), info, store)
    label = f"ray: {cluster.workers} workers"
    done = (lambda d, total: on_progress(ProgressEvent("render", label, d, total, "pieces"))) if on_progress else None
    return cluster.render_pieces(pieces, on_progress=done).as_dict()


def _render_layers(plan, be: Backend, store, on_progress: ProgressFn | None, recordings=None, warn=None):
    from .engine import render_layers

    started = time.perf_counter()
    if store is not None and plan.scene.generated_layers:
        from .cache import CachedBackend

        be = CachedBackend(be, store)
    layers = render_layers(plan.scene, plan, be, on_progress=on_progress, recordings=recordings, warn=warn)
    return layers, time.perf_counter() - started


def _interrupted(store) -> str:
    if store is not None and store.stats.stored_bytes:
        return (f"interrupted; no output was written; {store.stats.stored_entries} rendered pieces kept in the "
                f"cache ({store.root}): run the same command again to resume")
    return "interrupted; no output was written; nothing rendered was kept" + ("" if store else " (cache off)")


def _on_written(layers, recordings, report: bool):
    """What the export calls once the mix is mastered and written: the layers' audio and the recordings let go and
    the freed heap returned (the export's own hold on them is gone by then; a 10-minute render went from 535 to
    196 MB resident, where its tail, which loads matplotlib and draws the check's picture while the files are
    hashed, had peaked at 600-620 MB), and matplotlib starts loading for the picture."""

    def written() -> None:
        for layer in layers:
            layer.stream = None
        if recordings:
            recordings.clear()
        release()
        if report:
            from ..check.picture import load_soon

            load_soon()

    return written

"""The ``ambientgen`` command line: parse, call the library, print, exit code.

Heavy imports (torch, diffusers) happen inside commands so ``--help`` is instant.
Errors a user can cause print one red line on stderr: exit 1 for bad input,
2 for bad usage (options); never a traceback.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..errors import AmbientgenError, SceneError, UsageError
from .console import count, err, out, print_plan, print_report, print_summary, print_table, progress_bars, say
from .fields import for_cli, usage_line

app = typer.Typer(
    name="ambientgen",
    help="Long, seamless, loopable ambient soundscapes from a scene file or a description.",
    rich_markup_mode="markdown",  # a docstring's wrapped lines are one paragraph, as in the source
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        from .._version import __version__

        out.print(f"ambientgen {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="print the version and exit")] = False) -> None:
    """Long, seamless, loopable ambient soundscapes from a scene file."""

EXIT_CHECK_FAILED = 3  # render and loop: every file was written, but the render's own check failed

def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", soft_wrap=True, markup=True)
    return typer.Exit(code)


@contextmanager
def _errors(given: frozenset[str] = frozenset()):
    """Library errors as one red line: exit 2 for a bad option value, 1 for anything else."""
    try:
        yield
    except UsageError as exc:
        raise _fail(usage_line(exc, given), 2) from None
    except AmbientgenError as exc:
        raise _fail(for_cli(str(exc), given), 1) from None


def _quiet_libraries() -> None:
    """Keep Hugging Face's own progress bars and advisory logs off our stderr."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")


@app.command()
def plan(
    description: Annotated[str, typer.Argument(help="what it should sound like, in quotes")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the scene file here")] = None,
    duration: Annotated[str, typer.Option(help="the scene's duration: seconds, 10m, 1h30m")] = "10m",
    seed: Annotated[int, typer.Option(help="the scene's seed")] = 0,
    backend: Annotated[Optional[str], typer.Option(
        help="plan for this backend (default auto: the one a render would use): audioldm2, stable-audio-3 or "
             "procedural, or a plug-in")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps (what auto chooses for)")] = "auto",
) -> None:
    """Plan a scene from one sentence: print its layers and what renders each (-o writes the scene file).

    The plan is made for the backend that would render it (--backend, or what auto chooses): the procedural
    backend gets only layers it has generators for, and what it cannot render is left out with the reason."""
    from ..output.files import write_atomic
    from ..rendering.prepare import plan_description

    with _errors(frozenset({"duration", "device"} | ({"model.backend"} if backend else set()))):
        planned = plan_description(description, backend=backend, device=device)
        try:
            sc = planned.scene(duration=duration, seed=seed)
        except SceneError as exc:
            raise UsageError.from_scene(exc) from None
        if output is not None:
            if output.is_dir():
                raise UsageError("output", f"'{output}' is a directory; give a file name such as scene.yaml")
            try:
                write_atomic(output, planned.scene_text(sc).encode("utf-8"))
            except OSError as exc:
                raise AmbientgenError(f"output: cannot write {output} ({exc.strerror})") from None
    print_plan(planned, sc.name, sc.duration)
    if output is not None:
        out.print(f"wrote {output}: render it with  ambientgen render {output}")


cache_app = typer.Typer(help="The render cache: how big it is, and clearing it.", no_args_is_help=True)
app.add_typer(cache_app, name="cache")


def _cache_store(cache_dir: Optional[Path]):
    from ..rendering.cache import RenderCache, default_cache_dir

    return RenderCache(cache_dir or default_cache_dir())


@cache_app.command("info")
def cache_info(cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="the cache folder")] = None
               ) -> None:
    """Where the cache is, how many entries it holds and how big it is, against its cap."""
    from ..units import human_bytes

    with _errors():
        store = _cache_store(cache_dir)
        usage = store.usage()
    size = f"{human_bytes(usage.bytes)} of {human_bytes(store.max_bytes)}"
    out.print(f"{store.root}: {count(usage.entries, 'entry', 'entries')}, {size} "
              "(cap: $AMBIENTGEN_CACHE_MAX; least recently used entries are removed after a render)")


@cache_app.command("clear")
def cache_clear(cache_dir: Annotated[Optional[Path], typer.Option("--cache-dir", help="the cache folder")] = None
                ) -> None:
    """Remove every cached model output (the next renders compute them again)."""
    from ..units import human_bytes

    with _errors():
        store = _cache_store(cache_dir)
        gone = store.clear()
    out.print(f"{store.root}: removed {count(gone.entries, 'entry', 'entries')} ({human_bytes(gone.bytes)})")


@app.command()
def scenes() -> None:
    """List the bundled scenes: render one with  ambientgen render scenes/NAME.yaml"""
    from rich.table import Table

    from ..scene.files import bundled_scenes, load_scene

    table = Table(title="bundled scenes (ambientgen render scenes/NAME.yaml)")
    for column in ("name", "duration", "layers", "description"):
        table.add_column(column)
    for name, path in bundled_scenes().items():
        sc = load_scene(path)
        layers = ", ".join(f"{la.name}{' (events)' if la.role == 'events' else ''}" for la in sc.layers)
        table.add_row(name, f"{sc.duration:g} s", layers, sc.description or "")
    print_table(table)
    out.print(f"files: {next(iter(bundled_scenes().values())).parent}")


@app.command()
def validate(
    scene: Annotated[Path, typer.Argument(help="scene file (YAML)")],
    backend: Annotated[Optional[str], typer.Option(
        help="check against this backend instead of the scene's (as render --backend): auto, audioldm2, "
             "stable-audio-3, procedural, or a plug-in")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps (what auto chooses for)")] = "auto",
) -> None:
    """Check a scene file against the backend it would render with, and list every problem; no model is loaded."""
    from ..rendering.prepare import validate_scene

    with _errors(frozenset({"device"} | ({"model.backend"} if backend else set()))):
        found = validate_scene(scene, device=device, backend=backend)
    for warning in found.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    sc = found.scene
    out.print(f"{scene}: ok — '{sc.name}', {sc.duration:g} s, {count(len(sc.layers), 'layer')}, backend "
              f"{found.choice.backend} ({found.choice.reason})")
    for name, what in found.renders.items():
        out.print(f"  {name}: {what}")


@app.command()
def render(
    scene: Annotated[str, typer.Argument(help="scene file (YAML), or a description in quotes: \"rain on a tin roof\"")],
    output: Annotated[Path, typer.Option("--output", "-o", help="output directory")] = Path("out"),
    duration: Annotated[Optional[str], typer.Option(help="override duration: seconds, 10m, 1h30m")] = None,
    seed: Annotated[Optional[int], typer.Option(help="override the scene seed")] = None,
    backend: Annotated[Optional[str], typer.Option(help="auto (default), audioldm2, stable-audio-3 or procedural")] = None,
    checkpoint: Annotated[Optional[str], typer.Option(help="hub id or local folder of an AudioLDM2 or Stable Audio 3 checkpoint")] = None,
    steps: Annotated[Optional[int], typer.Option(help="denoising steps per chunk")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps")] = "auto",
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="mix formats, comma-separated: wav (default), flac, ogg, opus, mp3, m4a")] = None,
    preset: Annotated[Optional[str], typer.Option(help="sleep: 8 h, one MP3, fade in, wind down, long fade out (options "
                                                       "given win)")] = None,
    bit_depth: Annotated[str, typer.Option("--bit-depth", help="WAV/FLAC sample format: 16, 24 or 32f")] = "24",
    no_stems: Annotated[bool, typer.Option("--no-stems", help="do not write per-layer stems")] = False,
    no_session: Annotated[bool, typer.Option("--no-session", help="do not write the REAPER session")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="do not write the check report and picture")] = False,
    lufs: Annotated[Optional[float], typer.Option(help="override the integrated loudness target (LUFS)")] = None,
    variety: Annotated[Optional[int], typer.Option(help="chunks rendered per bed layer's pool (default 36)")] = None,
    fade_in: Annotated[Optional[str], typer.Option("--fade-in", help="fade in over this long (e.g. 10s)")] = None,
    fade_out: Annotated[Optional[str], typer.Option(
        "--fade-out", help="sleep timer: the last stretch fades to silence (e.g. 10m); the track no longer loops")
                        ] = None,
    cache_dir: Annotated[Optional[Path], typer.Option(
        "--cache-dir", help="render cache folder (default: $AMBIENTGEN_CACHE or ~/.cache/ambientgen)")] = None,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="render everything; read and write no cache")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace the outputs of an earlier render")] = False,
    executor: Annotated[str, typer.Option(help="local (default) or ray: spread the model work over Ray workers")
                        ] = "local",
    ray_address: Annotated[Optional[str], typer.Option(
        "--ray-address", help="Ray cluster to join (default: $RAY_ADDRESS, else a local Ray is started)")] = None,
    workers: Annotated[Optional[int], typer.Option(help="Ray workers (default: one per GPU, else one per CPU)")
                       ] = None,
    worker_threads: Annotated[Optional[int], typer.Option(
        "--worker-threads", help="PyTorch threads per Ray worker (default: as a local render, for identical bytes)")
                              ] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Render a scene file, or a description (planned first), to a loopable mix, stems and manifest.json."""
    from ..rendering.pipeline import RenderInterrupted
    from ..rendering.pipeline import render as run

    _quiet_libraries()
    options = {"duration": duration, "seed": seed, "target_lufs": lufs, "model.steps": steps, "fade_out": fade_out,
               "model.checkpoint": checkpoint, "model.backend": backend, "model.variety": variety, "fade_in": fade_in}
    with _errors(frozenset(k for k, v in options.items() if v is not None)), progress_bars(quiet) as on_progress:
        from ..rendering.prepare import is_description, plan_description

        if is_description(scene):  # planned for the backend that will render it, and the plan shown
            planned = plan_description(scene, backend=backend, checkpoint=checkpoint, device=device)
            print_plan(planned, planned.scene().name, duration or "10m")
            scene = planned
        try:
            result = run(scene, output, duration=duration, seed=seed, backend=backend, checkpoint=checkpoint,
                         steps=steps, lufs=lufs, variety=variety, fade_in=fade_in, fade_out=fade_out, device=device,
                         formats=fmt, bit_depth=bit_depth, stems=False if no_stems else None,
                         session=False if no_session else None, preset=preset,
                         report=not no_report, cache=False if no_cache else (cache_dir or True), overwrite=overwrite,
                         executor=executor, ray_address=ray_address, workers=workers, worker_threads=worker_threads,
                         on_progress=on_progress, on_message=say)
        except RenderInterrupted as exc:
            raise _fail(exc.message, 130) from None
    print_summary(result, command="render")
    if result.report is not None and not result.report.passed:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def loop(
    source: Annotated[list[str], typer.Argument(help="the recording: a file (WAV, FLAC, Ogg, Opus, MP3, AIFF), folder "
                                                     "or glob; several are played as one")],
    output: Annotated[Path, typer.Option("--output", "-o", help="output directory")] = Path("out"),
    duration: Annotated[str, typer.Option(help="length of the loop: seconds, 10m, 1h")] = "10m",
    seed: Annotated[int, typer.Option(help="seed of the arrangement")] = 0,
    lufs: Annotated[Optional[float], typer.Option(help="integrated loudness target (LUFS, default -23)")] = None,
    width: Annotated[float, typer.Option(help="stereo width 0..1 (a mono recording is widened; 0.5 keeps a stereo "
                                              "one's image)")] = 0.5,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="mix formats, comma-separated: wav (default), flac, ogg, opus, mp3, m4a")] = None,
    preset: Annotated[Optional[str], typer.Option(help="sleep: 8 h, one MP3, fade in, wind down, long fade out (options "
                                                       "given win)")] = None,
    bit_depth: Annotated[str, typer.Option("--bit-depth", help="WAV/FLAC sample format: 16, 24 or 32f")] = "24",
    no_stems: Annotated[bool, typer.Option("--no-stems", help="do not write the stem")] = False,
    no_report: Annotated[bool, typer.Option("--no-report", help="do not write the check report and picture")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="replace the outputs of an earlier render")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="no progress bars")] = False,
) -> None:
    """Turn a recording into a long seamless loop, with loop metadata, manifest and check report.

    Excerpts are cut where the recording is steady and arranged so that no stretch comes back soon, joined by
    level-matched crossfades; a recording too short or too uneven for that is resynthesised (grains of its steady
    bed, its transients scattered over them)."""
    from ..rendering.recordings.loop import loop as run

    with _errors(frozenset({"duration", "target_lufs"})), progress_bars(quiet) as on_progress:
        try:
            result = run(source, output, duration=duration, seed=seed, lufs=lufs, width=width, formats=fmt,
                         bit_depth=bit_depth, stems=not no_stems, session=not no_stems, report=not no_report,
                         cache=False, overwrite=overwrite, on_progress=on_progress, on_message=say)
        except SceneError as exc:  # the one layer's field is the command's argument
            raise AmbientgenError("; ".join(p.removeprefix("layers[0].source: ") for p in exc.problems)) from None
    layer = result.manifest["layers"][0]
    pool, texture = layer.get("pool"), layer.get("texture")
    details = []
    if texture:
        details.append(f"  {texture['material_s']:.1f} s of recording resynthesised ({texture['why']}): "
                       f"{texture['grains']} grains of its bed, {texture['events']} of its "
                       f"{texture['transients']} transients scattered; nothing of it replays whole")
    if pool:
        recur = pool["min_source_recurrence_s"]
        details.append(f"  {pool['material_s']:.1f} s of recording in {pool['excerpts']} excerpts; a stretch of it "
                       f"recurs after {'never' if recur is None else f'{recur:g} s'} at the soonest "
                       f"(rule {pool['recurrence_rule_s']:g} s)")
    print_summary(result, command="loop", details=details)
    if result.report is not None and not result.report.passed:
        raise typer.Exit(EXIT_CHECK_FAILED)


@app.command()
def studio(
    target: Annotated[Optional[str], typer.Argument(help="a scene file, a render folder, or a description")] = None,
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="render folder (default out/NAME, or the "
                                                                          "render folder given)")] = None,
    host: Annotated[str, typer.Option(help="address to bind (loopback unless --allow-remote)")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port", min=1, max=65535)] = 8765,
    no_browser: Annotated[bool, typer.Option("--no-browser", help="print the URL, do not open a browser")] = False,
    allow_remote: Annotated[bool, typer.Option("--allow-remote", help="allow a non-loopback --host")] = False,
) -> None:
    """Open a local web mixer: listen to the stems, adjust each layer as you hear it, save, re-export.

    Mix-only edits cost no model calls. Needs the package's 'studio' extra (FastAPI, uvicorn)."""
    from ..studio import serve

    with _errors(frozenset({"output"})):
        serve(target, output=None if output is None else str(output), host=host, port=port,
              open_browser=not no_browser, allow_remote=allow_remote, on_message=say)


@app.command()
def check(
    file: Annotated[Path, typer.Argument(help="audio file: WAV, FLAC, Ogg, Opus or MP3")],
    manifest: Annotated[Optional[Path], typer.Option(help="an AmbientGen manifest.json: its seams are scored")] = None,
    preset: Annotated[str, typer.Option(help="ebu-r128, atsc-a85, streaming, podcast, sleep, game-loop, quality")
                      ] = "ebu-r128",
    json_out: Annotated[Optional[Path], typer.Option("--json", help="write the report as JSON here ('-': stdout)")
                        ] = None,
    png: Annotated[Optional[Path], typer.Option(help="write a picture of the report here")] = None,
) -> None:
    """Loudness, peaks, clipping, gaps, seams, repetition and the loop point; exit 1 when the preset fails."""
    import json as jsonlib

    from ..check.report import PRESETS, check_file

    with _errors():
        if preset not in PRESETS:
            raise UsageError("preset", f"must be one of {', '.join(PRESETS)}, got {preset!r}")
        with progress_bars(quiet=False) as on_progress:
            report = check_file(file, preset=preset, manifest=manifest, on_progress=on_progress)
        if png:
            from ..check.picture import draw

            draw(report, png, seams_s=[seam["time_s"] for seam in report.seams])
    if json_out is not None:
        text = jsonlib.dumps(report.to_json(), indent=2)
        if str(json_out) == "-":
            out.print(text, markup=False)
        else:
            json_out.write_text(text + "\n", encoding="utf-8")
    if str(json_out) != "-":
        print_report(report)
    if not report.passed:
        raise typer.Exit(1)


models_app = typer.Typer(help="List backends and checkpoints; download a checkpoint.", no_args_is_help=False,
                         invoke_without_command=True, add_completion=False)
app.add_typer(models_app, name="models")


@models_app.callback()
def models(ctx: typer.Context) -> None:
    """List the backends (rate, channels, what they need, licence) and the checkpoints in the Hugging Face cache."""
    if ctx.invoked_subcommand is not None:
        return
    from rich import box
    from rich.table import Table

    from ..backends.catalogue import backend_table, cached_checkpoints
    from ..units import human_bytes

    table = Table(title="backends", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("backend", "rate", "ch", "window", "needs", "licence"):
        table.add_column(column, no_wrap=column in ("backend", "rate", "window"), overflow="fold",
                         min_width=17 if column == "needs" else None)
    for row in backend_table():
        table.add_row(str(row["backend"]), f"{row['sample_rate']} Hz", str(row["channels"]), f"{row['window_s']:g} s",
                      str(row["needs"]), str(row["licence"]))
    print_table(table)
    cached = cached_checkpoints()
    if not cached:
        out.print("no checkpoints in the Hugging Face cache; get one with  ambientgen models download cvssp/audioldm2")
        return
    table = Table(title="checkpoints in the Hugging Face cache", title_justify="left")
    for column in ("checkpoint", "pipeline", "size", "folder"):
        table.add_column(column)
    for c in cached:
        table.add_row(c.repo_id, c.pipeline, human_bytes(c.size_bytes), str(c.path))
    print_table(table)


@models_app.command("download")
def models_download(checkpoint: Annotated[str, typer.Argument(help="hub id, e.g. cvssp/audioldm2")]) -> None:
    """Download a checkpoint into the Hugging Face cache, with a progress bar (resumes a partial download)."""
    from ..backends.catalogue import download

    _quiet_libraries()
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "0"
    with _errors():
        path = download(checkpoint)
    out.print(f"downloaded {checkpoint} to {path}")


def main() -> None:
    """Console-script entry point."""
    from ..runtime import steady_memory

    steady_memory()
    try:
        app()
    except KeyboardInterrupt:
        err.print("[red]error:[/red] interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

"""The ``ambientgen`` command line: parse, call the library, print, exit code.

Heavy imports (torch, diffusers) happen inside commands so ``--help`` is instant.
Errors a user can cause print one red line on stderr: exit 1 for bad input,
2 for bad usage (options); never a traceback.
"""

from __future__ import annotations

import os
import sys
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Optional

import numpy as np
import typer
from rich.console import Console

from .errors import AmbientgenError, SceneError, UsageError

app = typer.Typer(
    name="ambientgen",
    help="Long, seamless, loopable ambient soundscapes from a scene file.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)
err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)

DEVICES = ("auto", "cpu", "cuda", "mps")
BACKENDS = ("auto", "audioldm2", "procedural")
# scene fields that command-line options override, so errors can name the option
OPTION_FOR_FIELD = {
    "duration": "--duration",
    "seed": "--seed",
    "target_lufs": "--lufs",
    "model.steps": "--steps",
    "model.checkpoint": "--checkpoint",
    "model.backend": "--backend",
    "model.variety": "--variety",
    "fade_in": "--fade-in",
    "fade_out": "--fade-out",
}


def _fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", soft_wrap=True, markup=True)
    return typer.Exit(code)


def _choice(option: str, value: str | None, choices: tuple[str, ...]) -> None:
    if value is not None and value not in choices:
        raise UsageError(f"{option}: must be one of {', '.join(choices)}, got {value!r}")


def _quiet_libraries() -> None:
    """Keep Hugging Face's own progress bars and advisory logs off our stderr."""
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("DIFFUSERS_VERBOSITY", "error")
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module="diffusers")
    from diffusers.utils import logging as diffusers_logging
    from transformers.utils import logging as transformers_logging

    diffusers_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()


def apply_overrides(scene, **overrides):
    """A new, validated scene with command-line overrides (``None`` = keep the scene's value)."""
    from .scene import scene_from_dict

    data = scene.to_dict()
    for key, value in overrides.items():
        if value is None:
            continue
        if "." in key:
            section, field = key.split(".")
            data[section][field] = value
        else:
            data[key] = value
    try:
        return scene_from_dict(data)
    except SceneError as exc:
        problems = []
        for p in exc.problems:
            field = p.split(":", 1)[0]
            option = OPTION_FOR_FIELD.get(field)
            problems.append(f"{option}{p[len(field):]}" if option and overrides.get(field) is not None else p)
        raise UsageError("; ".join(problems)) from None


def is_description(argument: str) -> bool:
    """A render argument is a description unless it looks like a path (an existing file, .yaml/.yml, a slash)."""
    text = argument.strip()
    return not (Path(text).exists() or text.lower().endswith((".yaml", ".yml")) or "/" in text or "\\" in text)


@app.command()
def plan(
    description: Annotated[str, typer.Argument(help="what it should sound like, in quotes")],
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="write the scene file here")] = None,
    duration: Annotated[str, typer.Option(help="the scene's duration: seconds, 10m, 1h30m")] = "10m",
    seed: Annotated[int, typer.Option(help="the scene's seed")] = 0,
) -> None:
    """Plan a scene from one sentence: print the layers (and write the scene file with -o)."""
    from rich.table import Table

    from .planner import plan as plan_scene

    try:
        planned = plan_scene(description)
        try:
            sc = planned.scene(duration=duration, seed=seed)
        except SceneError as exc:
            raise UsageError("; ".join(p.replace("duration", "--duration", 1) if p.startswith("duration") else p
                                       for p in exc.problems)) from None
        if output is not None:
            if output.is_dir():
                raise UsageError(f"--output: '{output}' is a directory; give a file name such as scene.yaml")
            partial = output.with_name(output.name + ".partial")
            try:
                partial.write_text(planned.scene_text(sc), encoding="utf-8")
                os.replace(partial, output)
            except OSError as exc:
                partial.unlink(missing_ok=True)
                raise AmbientgenError(f"--output: cannot write {output} ({exc.strerror})") from None
    except UsageError as exc:
        raise _fail(str(exc), 2) from None
    except AmbientgenError as exc:
        raise _fail(str(exc)) from None
    for warning in planned.warnings:
        err.print(f"[yellow]warning:[/yellow] {warning}")
    table = Table(title=f"{sc.name}: {len(sc.layers)} layers", title_justify="left")
    for column in ("layer", "role", "prompt", "gain dB", "pan", "events/min", "from your words"):
        table.add_column(column)
    for layer, planned_layer in zip(sc.layers, planned.layers):
        rate = f"{layer.events.per_minute:g}" if layer.events and layer.events.per_minute else ""
        origin = planned_layer.words + (f" (implied by {planned_layer.implied_by})" if planned_layer.implied_by else "")
        table.add_row(layer.name, layer.role, layer.prompt, f"{layer.gain_db:g}", f"{layer.pan:+.2f}", rate, origin)
    out.print(table)
    if output is not None:
        out.print(f"wrote {output}: render it with  ambientgen render {output}")


@app.command()
def validate(scene: Annotated[Path, typer.Argument(help="scene file (YAML)")]) -> None:
    """Check a scene file and list every problem; no model is loaded."""
    from .scene import load_scene

    try:
        sc = load_scene(scene)
    except AmbientgenError as exc:
        raise _fail(str(exc)) from None
    layers = ", ".join(layer.name for layer in sc.layers)
    out.print(f"{scene}: ok — '{sc.name}', {sc.duration:g} s, {len(sc.layers)} layers ({layers})")


@app.command()
def render(
    scene: Annotated[str, typer.Argument(help="scene file (YAML), or a description in quotes: \"rain on a tin roof\"")],
    output: Annotated[Path, typer.Option("--output", "-o", help="output directory")] = Path("out"),
    duration: Annotated[Optional[str], typer.Option(help="override duration: seconds, 10m, 1h30m")] = None,
    seed: Annotated[Optional[int], typer.Option(help="override the scene seed")] = None,
    backend: Annotated[Optional[str], typer.Option(help="auto (default), audioldm2 or procedural")] = None,
    checkpoint: Annotated[Optional[str], typer.Option(help="hub id or local folder of an AudioLDM2 checkpoint")] = None,
    steps: Annotated[Optional[int], typer.Option(help="denoising steps per chunk")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or mps")] = "auto",
    fmt: Annotated[str, typer.Option("--format", help="mix formats, comma-separated: wav, flac, ogg, opus, mp3, m4a")
                   ] = "wav",
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
    from .scene import load_scene

    try:
        _choice("--device", device, DEVICES)
        _choice("--backend", backend, BACKENDS)
        _choice("--executor", executor, ("local", "ray"))
        if executor == "ray" and no_cache:
            raise UsageError("--no-cache: the ray executor passes results through the render cache; drop --no-cache")
        if workers is not None and workers < 1:
            raise UsageError(f"--workers: must be at least 1, got {workers}")
        if worker_threads is not None and worker_threads < 1:
            raise UsageError(f"--worker-threads: must be at least 1, got {worker_threads}")
        planned = None
        if is_description(scene):
            from .planner import plan as plan_scene

            planned = plan_scene(scene)
            for warning in planned.warnings:
                err.print(f"[yellow]warning:[/yellow] {warning}")
            sc = planned.scene()
        else:
            sc = load_scene(scene)
        sc = apply_overrides(sc, duration=duration, seed=seed, target_lufs=lufs, fade_in=fade_in, fade_out=fade_out,
                             **{"model.steps": steps, "model.checkpoint": checkpoint, "model.backend": backend,
                                "model.variety": variety})
        from .formats import parse_formats
        from .preflight import check_outputs, estimate_bytes, output_names

        formats = parse_formats(fmt, sample_rate=sc.sample_rate, bit_depth=bit_depth)
        if cache_dir is not None and cache_dir.exists() and not cache_dir.is_dir():
            raise UsageError(f"--cache-dir: '{cache_dir}' exists and is not a directory")
        # preflight, before any model work: writable, room enough, nothing replaced unasked
        layers = [layer.name for layer in sc.layers]
        frames = round(sc.duration * sc.sample_rate)
        check_outputs(output, output_names(sc.name, formats, layers, stems=not no_stems, session=not no_session,
                                           report=not no_report),
                      needed_bytes=estimate_bytes(frames=frames, formats=formats, bit_depth=bit_depth,
                                                  stems=0 if no_stems else len(layers), sample_rate=sc.sample_rate),
                      overwrite=overwrite)
    except UsageError as exc:
        raise _fail(str(exc), 2) from None
    except AmbientgenError as exc:
        raise _fail(str(exc)) from None

    _quiet_libraries()
    from .backends import choose_backend, load_backend, supported_scene
    from .cache import RenderCache, default_cache_dir
    from .engine import render_scene

    cache = None if no_cache else RenderCache(cache_dir or default_cache_dir(),
                                              warn=lambda m: err.print(f"[yellow]warning:[/yellow] {m}"))
    cluster = None
    try:
        choice = choose_backend(sc.model)
        if executor == "ray":
            from .executors import ClusterBackend, RayExecutor

            with err.status("starting Ray workers", spinner="dots") if not quiet else nullcontext():
                cluster = RayExecutor(model=sc.model, device=device, choice=choice, cache_dir=str(cache.root),
                                      workers=workers, address=ray_address, threads=worker_threads)
                info = cluster.info([layer.prompt for layer in sc.layers])
            be = ClusterBackend(info)
        else:
            with err.status(f"loading {choice.backend}", spinner="dots") if not quiet else nullcontext():
                be = load_backend(sc.model, device=device, choice=choice)
        if choice.automatic:
            fell_back = choice.backend == "audioldm2" and be.name != "audioldm2"
            why = f"{sc.model.checkpoint} failed to load" if fell_back else choice.reason
            err.print(f"backend: {be.name} ({why})")
        sc, skipped = supported_scene(sc, be, strict=not choice.automatic)
        for name in skipped:
            err.print(f"[yellow]warning:[/yellow] layer '{name}' left out: the {be.name} backend has no generator "
                      "for its prompt")
        notes = {"backend_choice": {"backend": be.name, "reason": choice.reason, "automatic": choice.automatic},
                 "skipped_layers": skipped}
        if planned is not None:
            notes["plan"] = {"description": planned.description, "layers": planned.explain(),
                             "warnings": planned.warnings}
        with _progress(quiet) as on_progress:
            if cluster is not None:
                from .engine import ProgressEvent

                pieces = cluster.plan_pieces(sc, info, cache)
                report = cluster.render_pieces(pieces, on_progress=(lambda done, total: on_progress(
                    ProgressEvent("render", f"ray: {cluster.workers} workers", done, total, "pieces")))
                    if on_progress else None)
                notes["cluster"] = report.as_dict()
            manifest = render_scene(sc, be, output, fmt=fmt, bit_depth=bit_depth, stems=not no_stems,
                                    session=not no_session, on_progress=on_progress, notes=notes, cache=cache)
        reports = [] if no_report else _write_report(output, manifest)
    except KeyboardInterrupt:
        if cache is not None and cache.stats.stored_bytes:
            kept = (f"{cache.stats.stored_entries} rendered pieces kept in the cache ({cache.root}): "
                    "run the same command again to resume")
        else:
            kept = "nothing rendered was kept" + (" (--no-cache)" if cache is None else "")
        raise _fail(f"interrupted; no output was written; {kept}", 130) from None
    except AmbientgenError as exc:
        raise _fail(str(exc)) from None
    finally:
        if cluster is not None:
            cluster.shutdown()
    _summary(manifest, output, reports)


class _progress:
    """Rich progress bars on stderr, one per layer, with ETA."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tasks: dict[str, int] = {}

    def __enter__(self):
        if self.quiet:
            return None
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self.progress = Progress(
            TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[unit]}"),
            TimeRemainingColumn(), console=err, transient=False,
        )
        self.progress.start()
        return self.update

    STAGES = {"analyse": "measuring mix", "limit": "limiting", "write": "writing"}

    def update(self, event) -> None:
        if event.stage in self.STAGES:  # assembly: seconds of audio done
            key = self.STAGES[event.stage]
            if key not in self.tasks:
                self.tasks[key] = self.progress.add_task(key, total=max(event.total, 1), unit="s of audio")
            self.progress.update(self.tasks[key], completed=event.done)
            return
        if event.stage != "render":
            return
        key = event.layer
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=max(event.total, 1), unit=event.unit)
        self.progress.update(self.tasks[key], completed=event.done)

    def __exit__(self, *exc):
        if not self.quiet:
            self.progress.stop()
        return False


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

    from .check import PRESETS, check_file

    try:
        _choice("--preset", preset, tuple(PRESETS))
        seams = _manifest_seams(manifest) if manifest else None
        report = check_file(file, preset=preset, seams_s=seams)
        if png:
            from .picture import draw

            draw(report, png, seams_s=[seam["time_s"] for seam in report.seams])
    except UsageError as exc:
        raise _fail(str(exc), 2) from None
    except AmbientgenError as exc:
        raise _fail(str(exc)) from None
    if json_out is not None:
        text = jsonlib.dumps(report.to_json(), indent=2)
        if str(json_out) == "-":
            out.print(text, markup=False)
        else:
            json_out.write_text(text + "\n", encoding="utf-8")
    if str(json_out) != "-":
        _print_report(report)
    if not report.passed:
        raise typer.Exit(1)


def _manifest_seams(path: Path) -> list[float]:
    import json as jsonlib

    try:
        data = jsonlib.loads(path.read_text(encoding="utf-8"))
        return sorted({t for layer in data["layers"] for t in layer["seams_s"] if t > 0})
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise AmbientgenError(f"--manifest: {path} is not an AmbientGen manifest ({type(exc).__name__})") from None


def _print_report(report) -> None:
    from rich.table import Table

    table = Table(title=f"{report.path} ({report.preset})", show_header=False)
    rows = [
        ("duration", f"{report.duration_s:.3f} s, {report.sample_rate} Hz, {report.channels} ch"),
        ("integrated loudness", f"{report.integrated_lufs:.1f} LUFS (range {report.loudness_range_lu:.1f} LU)"),
        ("peaks", f"sample {report.sample_peak_dbfs:.1f} dBFS, true {report.true_peak_dbtp:.1f} dBTP"),
        ("clipping / DC", f"{report.clipped_samples} samples / {max(report.dc_offset, key=abs):+.4f}"),
        ("silent gaps", ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in report.gaps_s) or "none"),
        ("repetition", (f"{report.repetition['length_s']:.1f} s at {report.repetition['first_s']:.1f} s recurs at "
                        f"{report.repetition['again_s']:.1f} s") if report.repetition else "none within 60 s"),
    ]
    if report.loop:
        rows.append(("loop point", f"rank {report.loop['rank']:.2f}, level jump {report.loop['level_jump_db']:+.1f} dB, "
                                   f"click {report.loop['click_db']:.0f} dB"))
    if report.seams:
        worst = max(report.seams, key=lambda s: s["rank"])
        label = "seams (detected)" if report.seams[0].get("source") == "detected" else "seams"
        rows.append((label, f"{len(report.seams)}, mean rank {np.mean([s['rank'] for s in report.seams]):.2f}, "
                              f"worst {worst['rank']:.2f} at {worst['time_s']:.2f} s"))
    if not report.seams and report.seams_source == "detected":
        rows.append(("seams (detected)", "none found"))
    for name, value in rows:
        table.add_row(name, value)
    out.print(table)
    if report.passed:
        out.print(f"[green]PASS[/green] {report.preset}")
    else:
        for reason in report.failures:
            out.print(f"[red]FAIL[/red] {reason}")


def _write_report(output: Path, manifest: dict) -> list[str]:
    from .check import write_render_report

    with err.status("checking the mix", spinner="dots"):
        return write_render_report(output, manifest)


def _summary(manifest: dict, output: Path, reports: list[str] = ()) -> None:
    stats = manifest["stats"]
    out.print(
        f"wrote {len(manifest['files'])} files to {output}/: {manifest['duration_s']:.3f} s, "
        f"{manifest['sample_rate']} Hz, {manifest['integrated_lufs']:.1f} LUFS, "
        f"true peak {'' if manifest.get('true_peak_exact', True) else '<= '}"
        f"{manifest['measured_true_peak_dbtp']:.1f} dBTP, {stats['model_calls']} chunk renders "
        f"{'' if stats['rendered_now'] == stats['model_calls'] else '(' + str(stats['rendered_now']) + ' run now) '}"
        f"in {stats['render_s']:.1f} s"
    )
    cluster = manifest.get("cluster")
    if cluster:
        out.print(f"  ray: {cluster['pieces']} pieces, {cluster['model_calls']} model calls on {cluster['workers']} "
                  f"workers in {cluster['seconds']:.1f} s, {cluster['retries']} retried")
    cache = manifest.get("cache")
    if cache:
        out.print(f"  cache: {cache['hits']} hits, {cache['misses']} misses, {stats['rendered_now']} model calls run "
                  f"now ({cache['dir']})" + (f", {cache['corrupt']} corrupt entries rendered again"
                                             if cache["corrupt"] else ""))
    for f in manifest["files"]:
        out.print(f"  {f['path']}")
    out.print("  manifest.json")
    for name in reports:
        out.print(f"  {name}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        err.print("[red]error:[/red] interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()

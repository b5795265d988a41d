"""What the ``ambientgen`` command line prints: messages, progress bars, the plan table, the check report and the
render summary (rich, on stdout and stderr). The commands themselves are in ``cli``."""

from __future__ import annotations

import numpy as np
from rich.console import Console

err = Console(stderr=True, highlight=False, soft_wrap=True)
out = Console(highlight=False, soft_wrap=True)
WIDE = 120  # terminal columns for the whole plan table


def count(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun: 1 layer, 3 layers; 1 entry, 2 entries (``plural`` when it is not noun + s)."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def print_table(table) -> None:
    """A rich table on stdout, fitted to the terminal (``out`` soft-wraps plain lines; a table must not)."""
    out.print(table, soft_wrap=False)


def say(level: str, text: str) -> None:
    colour = {"warning": "[yellow]warning:[/yellow] ", "hint": "[cyan]hint:[/cyan] "}.get(level, "")
    err.print(f"{colour}{text}")


def print_plan(planned, name: str, duration: float | str = "10m") -> None:
    """The plan table (``plan`` and ``render "DESCRIPTION"``): notes on stderr, the table on stdout, and the timeline
    read from the sentence (its moments at ``duration``) when it has one."""
    from rich import box
    from rich.table import Table

    for warning in planned.warnings:
        err.print(f"[yellow]note:[/yellow] {warning}")
    rows = planned.rows()
    target = f" for the {planned.backend} backend" if planned.backend else ""
    columns = list(rows[0])
    caption = None
    if out.width < WIDE:  # eight columns do not fit: the words each layer came from go (-o writes them too)
        columns.remove("from your words")
        caption = f"(a terminal {WIDE} columns wide also shows the words each layer came from)"
    table = Table(title=f"{name}: {count(len(rows), 'layer')}{target}", title_justify="left", box=box.SIMPLE_HEAD,
                  pad_edge=False, caption=caption, caption_justify="left")
    # names are what a user edits the scene by: never cut short (prompts wrap instead)
    keep = {column: max(len(row[column]) for row in rows) for column in ("layer", "role", "gain dB", "pan")}
    short = {"gain dB": "dB", "events/min": "per min"} if caption else {}
    for column in columns:
        table.add_column(short.get(column, column), min_width=keep.get(column), overflow="fold")
    for row in rows:
        table.add_row(*(row[column] for column in columns))
    print_table(table)
    moments = planned.moments(duration)
    if moments:
        print_table(timeline_table(moments, title="timeline (read from your words)"))


def clock(seconds: float) -> str:
    """``1:05:00``, ``12:30``: a time on the track."""
    s = round(seconds)
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"


def timeline_table(moments: list[dict], *, title: str):
    """A table of timeline moments (:func:`ambientgen.scene.timeline.describe` rows)."""
    from rich import box
    from rich.table import Table

    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("at", "over", "what happens", "sets"):
        table.add_column(column, overflow="fold")
    for m in moments:
        table.add_row(clock(m["at_s"]), clock(m["over_s"]) if m["over_s"] else "", m["note"], m["sets"])
    return table


class progress_bars:
    """Rich progress bars on stderr with ETA: one per layer (model work), then the assembly passes."""

    STAGES = {"analyse": "measuring mix", "limit": "limiting", "write": "writing", "check": "checking"}
    WAITS = {"load": "loading {unit}"}

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.tasks: dict[str, int] = {}
        self.waiting: int | None = None
        self.progress = None

    def __enter__(self):
        return None if self.quiet else self.update

    def update(self, event) -> None:
        if self.progress is None:  # started by the first event: an early error prints alone
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(
                TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"), TimeRemainingColumn(), console=err, transient=False,
            )
            self.progress.start()
        if self.waiting is not None:  # a stage of unknown length ends when the next event comes
            self.progress.remove_task(self.waiting)
            self.waiting = None
        if event.stage in self.WAITS:
            self.waiting = self.progress.add_task(self.WAITS[event.stage].format(unit=event.unit), total=None,
                                                  unit="")
            return
        if event.stage in self.STAGES:  # assembly: seconds of audio done
            key, unit = self.STAGES[event.stage], "s of audio"
        elif event.stage == "render":
            key, unit = event.layer, event.unit
        else:
            return
        if key not in self.tasks:
            self.tasks[key] = self.progress.add_task(key, total=max(event.total, 1), unit=unit)
        self.progress.update(self.tasks[key], completed=event.done)

    def __exit__(self, *exc):
        if self.progress is not None:
            if self.waiting is not None:
                self.progress.remove_task(self.waiting)
            self.progress.stop()
        return False


def print_report(report) -> None:
    from rich.table import Table

    table = Table(title=f"{report.path} ({report.preset})", show_header=False)
    rows = [
        ("duration", f"{report.duration_s:.3f} s, {report.sample_rate} Hz, {report.channels} ch"),
        ("integrated loudness", f"{report.integrated_lufs:.1f} LUFS (range {report.loudness_range_lu:.1f} LU)"),
        ("peaks", f"sample {report.sample_peak_dbfs:.1f} dBFS, true {report.true_peak_dbtp:.1f} dBTP"),
        ("clipping / DC", f"{report.clipped_samples} samples"
                          + (f" ({', '.join(f'{a:.2f} s' for a, _ in report.clipping_s[:5])}"
                             f"{', ...' if len(report.clipping_s) > 5 else ''})" if report.clipping_s else "")
                          + f" / {max(report.dc_offset, key=abs):+.4f}"),
        ("silent gaps", ", ".join(f"{a:.2f}-{b:.2f} s" for a, b in report.gaps_s) or "none"),
        ("clicks", (", ".join(f"{t:.3f} s" for t in report.clicks_s[:5]) + (", ..." if len(report.clicks_s) > 5 else ""))
         or "none"),
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
    if report.unexplained_splices_s:
        rows.append(("splices not in the manifest", ", ".join(f"{t:.2f} s" for t in report.unexplained_splices_s)))
    for name, value in rows:
        table.add_row(name, value)
    print_table(table)
    if report.passed:
        out.print(f"[green]PASS[/green] {report.preset}")
    else:
        for reason in report.failures:
            out.print(f"[red]FAIL[/red] {reason}")


# what to try when a render's own check fails, by words in the failure (``ambientgen.check.report.verdict``)
REPEAT_HINT = {"render": "repeats: raise --variety (more material) or render a shorter --duration",
               "loop": "repeats: give a longer recording or several (a folder), or a shorter --duration"}
SILENCE_HINT = {"render": "a layer has silent stretches: check its prompt or source, or raise its gain",
                "loop": "the recording has silent stretches: trim them or give another"}
HINTS = [("recurs at", REPEAT_HINT), ("click", "try another --seed"), ("level jump", "try another --seed"),
         ("the loop point", "try another --seed"), ("silent gap", SILENCE_HINT), ("true peak", "lower --lufs"),
         ("clipped", "lower --lufs"), ("loudness", "lower --lufs")]


def check_hint(failures: list[str], command: str, name: str = "NAME") -> str:
    """What to try for the first failure a hint is known for (else: where to read more)."""
    for failure in failures:
        for words, hint in HINTS:
            if words in failure:
                return hint[command] if isinstance(hint, dict) else hint
    return f"see {name}.check.json and {name}.check.png for where"


def print_summary(result, *, command: str = "render", details: list[str] = ()) -> None:
    """What a render wrote, then ``details``, and last the verdict of its own check (with what to try)."""
    manifest, stats = result.manifest, result.manifest["stats"]
    out.print(
        f"wrote {len(result.files)} files to {result.output}/ in {result.seconds:.1f} s: "
        f"{manifest['duration_s']:.3f} s, {manifest['sample_rate']} Hz, {manifest['integrated_lufs']:.1f} LUFS, "
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
        from ..units import human_bytes

        size = (f", {human_bytes(cache['size_bytes'])} of {human_bytes(cache['max_bytes'])}"
                + (f" (grew {human_bytes(cache['stored_bytes'])})" if cache["stored_bytes"] else "")
                if "size_bytes" in cache else "")
        evicted = (f"; {cache['evicted_entries']} least recently used entries removed "
                   f"({human_bytes(cache['evicted_bytes'])})" if cache.get("evicted_entries") else "")
        out.print(f"  cache: {cache['hits']} hits, {cache['misses']} misses, {stats['rendered_now']} model calls run "
                  f"now ({cache['dir']}{size})" + (f", {cache['corrupt']} corrupt entries rendered again"
                                                   if cache["corrupt"] else "") + evicted)
    for path in result.files:
        out.print(f"  {path.relative_to(result.output).as_posix()}")
    for line in details:
        out.print(line)
    if result.report is not None:
        if result.report.passed:
            out.print(f"[green]check: PASS[/green] ({result.report.preset})")
        else:
            out.print(f"[yellow]check: FAIL[/yellow] ({result.report.preset}): {'; '.join(result.report.failures)}"
                      f" — {check_hint(result.report.failures, command, manifest['name'])}", soft_wrap=True)

"""The ``check`` picture: spectrogram with seams and loop point, loudness curve, loop-point zoom (matplotlib)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import BinaryIO

import numpy as np
import soundfile as sf

from ..audio.bands import band_db, log_bin_edges
from .report import PRESETS, Report

SPECTROGRAM_FFT = 2048
SPECTROGRAM_BATCH = 64  # frames transformed at a time


def _columns(frames: int, *, columns: int = 1200) -> np.ndarray:
    """Where the spectrogram's frames start: at most ``columns``, evenly from the start to the last whole frame."""
    return np.linspace(0, max(0, frames - SPECTROGRAM_FFT), min(columns, max(1, frames // 256))).astype(int)


def _bins(sample_rate: int, bins: int = 96) -> tuple[np.ndarray, np.ndarray]:
    edges = log_bin_edges(SPECTROGRAM_FFT // 2 + 1, bins, first=3)
    return edges, edges[:-1] * sample_rate / SPECTROGRAM_FFT


def _spectrogram(path: Path):
    """A log-frequency spectrogram of at most 1200 frames, read by seeking (bounded memory: the frames of one batch),
    transformed 64 at a time (a third of the time of one by one, the same values) by :class:`StreamedSpectrogram`."""
    with sf.SoundFile(str(path)) as f:
        gathered = StreamedSpectrogram(f.frames, f.samplerate)
        frame = np.zeros(SPECTROGRAM_FFT)
        for k, s in enumerate(gathered.starts):
            f.seek(int(s))
            seg = f.read(SPECTROGRAM_FFT, dtype="float64", always_2d=True).mean(axis=1)
            frame[: len(seg)] = seg
            frame[len(seg) :] = 0.0  # zeros past the end
            gathered._take(frame, k)
    return gathered.result()


class StreamedSpectrogram:
    """:func:`_spectrogram` of a file gathered from its mono mix as it streams past (``add(mono, start)``, blocks in
    order: a render's check sees the mix as it is written), the same values, without reading the file again.
    :meth:`result` is None unless every frame came by (a file of the expected length)."""

    def __init__(self, frames: int, sample_rate: int):
        from .reading import Windows

        self.sr, self.starts = sample_rate, _columns(frames)
        self.edges, self.freqs = _bins(sample_rate)
        self._windows = Windows([(k, s, s + SPECTROGRAM_FFT) for k, s in enumerate(self.starts)], self._take)
        self._batch = np.zeros((SPECTROGRAM_BATCH, SPECTROGRAM_FFT))
        self._held = 0
        self._rows: list[np.ndarray] = []

    def add(self, mono: np.ndarray, start: int) -> None:
        self._windows.add(mono, start)

    def _take(self, frame: np.ndarray, _key) -> None:
        self._batch[self._held] = frame
        self._held += 1
        if self._held == SPECTROGRAM_BATCH:
            self._flush()

    def _flush(self) -> None:
        if self._held:
            self._rows.append(band_db(self._batch[: self._held], self.edges))
            self._held = 0

    def result(self):
        """(image, times, frequencies), as :func:`_spectrogram` gives them, or None."""
        self._flush()
        image = np.concatenate(self._rows) if self._rows else np.zeros((0, len(self.freqs)))
        if len(image) != len(self.starts):
            return None
        return image.T, self.starts / self.sr, self.freqs


def edges_of(path: str | Path, seconds: float = 1.0) -> tuple[np.ndarray, np.ndarray, int]:
    """(the last ``seconds`` of the file, its first ``seconds``, its sample rate), channels averaged: what the
    picture shows either side of the loop point."""
    with sf.SoundFile(str(path)) as f:
        sr, n = f.samplerate, f.frames
        k = min(n // 2, round(seconds * sr))
        f.seek(n - k)
        tail = f.read(k, dtype="float64", always_2d=True).mean(axis=1)
        f.seek(0)
        head = f.read(k, dtype="float64", always_2d=True).mean(axis=1)
    return tail, head, sr


MAX_SEAM_LINES = 60


def load() -> None:
    """matplotlib loaded (Agg) and its first drawing done (fonts found and read, the renderer made): 0.5 s of a
    picture's time that does not depend on the report (:func:`prepare` does it beside the check). Once per process;
    a second caller waits for the first."""
    with _LOADING:
        if not _LOADED:
            _load()
            _LOADED.append(True)


_LOADING = threading.Lock()
_LOADED: list[bool] = []


def load_soon() -> None:
    """:func:`load` started in a thread of its own, returning at once (:func:`prepare` and :func:`draw` wait for it
    if it is still going). A render calls it as its mix is written, so that matplotlib loads while the files are
    closed, synced and hashed, which leave Python's lock free."""
    if not _LOADED:
        threading.Thread(target=_load_quietly, name="picture-load", daemon=True).start()


def _load_quietly() -> None:
    try:
        load()
    except Exception:  # drawing loads it again, and says what fails
        pass


def _load() -> None:
    import io

    fig = _figure(figsize=(2, 1), dpi=80)
    ax = fig.add_subplot()
    ax.set_title("x", fontsize=10, loc="left", y=1.0)
    ax.pcolormesh([[0.0]])
    ax.set_yscale("log")
    fig.savefig(io.BytesIO(), format="png")


def _figure(**kwargs):
    """A matplotlib figure drawn by Agg, made without pyplot: pyplot keeps a registry of open figures that is not
    safe across threads, and a render draws its picture in a thread of its own. The same PNG, to the byte."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(**kwargs)
    FigureCanvasAgg(fig)
    return fig


def prepare(path: str | Path, spectrogram: tuple | None = None, edges: tuple | None = None) -> tuple:
    """What the picture reads from the file (its spectrogram, unless ``spectrogram`` is it already:
    :class:`StreamedSpectrogram`; the second either side of the loop point, unless ``edges`` is it already:
    :func:`edges_of`), with matplotlib loaded: independent of the report, so a render does it while ``check``
    runs."""
    load()
    return spectrogram or _spectrogram(Path(path)), edges or edges_of(Path(path), 1.0)


def draw(report: Report, out: str | Path | BinaryIO, *, seams_s: list[float] | None = None, preset=None,
         prepared: tuple | None = None) -> Path | BinaryIO:
    """The picture of ``report`` as a PNG at ``out`` (a path, or a binary file object); ``prepared``: :func:`prepare`
    of the report's file."""
    out = Path(out) if isinstance(out, str | Path) else out
    path = Path(report.path)
    (image, times, freqs), (tail, head, sr) = prepared or prepare(path)
    fig = _figure(figsize=(12, 8), dpi=80)
    grid = fig.add_gridspec(3, 2, height_ratios=[2.2, 1.2, 1.2])
    ax = fig.add_subplot(grid[0, :])
    ax.pcolormesh(times, freqs, image, shading="auto", cmap="magma", vmin=image.max() - 90, vmax=image.max())
    ax.set_yscale("log")
    ax.set_ylabel("Hz")
    verdict = "PASS" if report.passed else "FAIL: " + "; ".join(report.failures)
    # titles placed, not measured (y given): no axes has tick labels on top for matplotlib to lift a title over,
    # and finding that out measured every tick label on every draw (a third of the picture's time)
    ax.set_title(f"{path.name} — {report.preset}: {verdict}"[:160], fontsize=10, loc="left", y=1.0)
    seams = list(seams_s or [])
    if len(seams) <= MAX_SEAM_LINES:
        for t in seams:
            ax.axvline(t, color="cyan", lw=0.8, alpha=0.7)
    else:  # an hour-long arrangement has a thousand seams: ticks along the top keep the spectrogram visible
        ax.vlines(seams, 0.95, 1.0, transform=ax.get_xaxis_transform(), color="cyan", lw=0.6)
    for seam in report.seams:  # seams that stand out among ordinary moments get a full line whatever their count
        if seam["rank"] > 0.98:
            ax.axvline(seam["time_s"], color="orange", lw=1.0, alpha=0.9)
    if report.loop is not None:
        ax.axvline(0, color="lime", lw=2)
        ax.axvline(report.duration_s, color="lime", lw=2)
    for start, end in report.gaps_s:
        ax.axvspan(start, end, color="red", alpha=0.4)
    for start, _ in report.clipping_s[:MAX_SEAM_LINES]:
        ax.axvline(start, color="magenta", lw=1.0, alpha=0.9)
    for t in report.clicks_s[:MAX_SEAM_LINES]:
        ax.axvline(t, color="white", lw=1.0, ls=":", alpha=0.9)
    if report.repetition:
        rep = report.repetition
        for s in (rep["first_s"], rep["again_s"]):
            ax.axvspan(s, s + rep["length_s"], facecolor="yellow", edgecolor="yellow", alpha=0.3, lw=2)
    ax.set_xlim(0, report.duration_s)
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    legend = [Line2D([], [], color="cyan", lw=1, label="seam"), Line2D([], [], color="orange", lw=1,
                                                                        label="seam that stands out"),
              Line2D([], [], color="lime", lw=2, label="loop point"), Patch(color="red", alpha=0.4, label="silent gap"),
              Patch(color="yellow", alpha=0.3, label="repeated stretch"),
              Line2D([], [], color="magenta", lw=1, label="clipping"),
              Line2D([], [], color="white", lw=1, ls=":", label="click")]
    ax.legend(handles=legend, loc="upper right", fontsize=7, ncol=3, framealpha=0.6)
    ax2 = fig.add_subplot(grid[1, :], sharex=ax)
    st = np.array(report.short_term_lufs, dtype=float)
    ax2.plot(1.5 + np.arange(len(st)), st, color="black", lw=1)
    preset = preset or PRESETS[report.preset]
    if preset.target_lufs is not None:
        ax2.axhspan(preset.target_lufs - preset.tolerance_lu, preset.target_lufs + preset.tolerance_lu,
                    color="green", alpha=0.2)
    ax2.set_ylabel("short-term LUFS")
    ax2.set_xlabel(f"s   (integrated {report.integrated_lufs:.1f} LUFS, LRA {report.loudness_range_lu:.1f} LU, "
                   f"true peak {report.true_peak_dbtp:.1f} dBTP)")
    zoom = fig.add_subplot(grid[2, :])
    joined = np.concatenate([tail, head])
    zoom.plot((np.arange(len(joined)) - len(tail)) / sr, joined, lw=0.5, color="steelblue")
    zoom.axvline(0, color="lime", lw=2)
    zoom.set_xlabel("s around the loop point (end | start)")
    # fixed margins: tight_layout measured every label's text again (0.6 s of a 5-minute render's 13)
    fig.subplots_adjust(left=0.065, right=0.985, top=0.955, bottom=0.065, hspace=0.42)
    for a in (ax2, zoom):
        a.set_title("", y=1.0)
    fig.savefig(out, dpi=80, format="png")
    return out

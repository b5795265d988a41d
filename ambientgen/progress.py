"""Progress of a render, reported to a callback as :class:`ProgressEvent` values (the CLI draws bars from them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ProgressEvent:
    """How far one stage of a render has come.

    ``stage``: ``load`` (a backend loading), ``render`` (model work of ``layer``),
    ``analyse``, ``limit`` or ``write`` (the assembly passes, ``layer`` None),
    ``check`` (the check report reading the written mix). ``done`` of ``total``
    ``unit`` (chunks, steps, tiles, pieces, or seconds of audio).
    """

    stage: str
    layer: str | None
    done: int
    total: int
    unit: str = "chunks"


ProgressFn = Callable[[ProgressEvent], None]

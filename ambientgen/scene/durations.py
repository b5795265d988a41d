"""Durations as people write them: ``90``, ``"90s"``, ``"10m"``, ``"1h30m"``, ``"1:30:00"``."""

from __future__ import annotations

import math
import re
from typing import Any

MAX_DURATION_S = 24 * 3600.0
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|h|m|s)")


def parse_duration(value: Any) -> float:
    """Seconds from a number or a human string: ``90``, ``"90s"``, ``"10m"``, ``"1h30m"``, ``"1:30:00"``."""
    if isinstance(value, bool):
        raise ValueError(f"must be seconds or a string like '10m' or '1h30m', got {value!r}")
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif re.fullmatch(r"(\d+:)?\d{1,2}:\d{1,2}(\.\d+)?", text):
            seconds = 0.0
            for part in text.split(":"):
                seconds = seconds * 60 + float(part)
        elif text and _DURATION_RE.sub("", text).strip() == "":
            seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in _DURATION_RE.findall(text))
        else:
            raise ValueError(f"cannot read {value!r} as a duration (use seconds or forms like 90s, 10m, 1h30m, 1:30:00)")
    else:
        raise ValueError(f"must be seconds or a string like '10m' or '1h30m', got {value!r}")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"must be greater than 0 seconds, got {value!r}")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"must be at most 24h ({MAX_DURATION_S:.0f} s), got {value!r}")
    return seconds


def _duration_or_zero(value: Any) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value == 0:
        return 0.0
    if isinstance(value, str) and value.strip() in ("0", "0s", "0m", "0h", "0.0"):
        return 0.0
    return parse_duration(value)

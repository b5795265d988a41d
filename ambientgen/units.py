"""Quantities written for people (byte counts), shared by the command line, the backends and preflight."""


def human_bytes(n: float) -> str:
    """A byte count for people: ``512 bytes``, ``34.1 MB``, ``4.5 GB`` (decimal units)."""
    for unit in ("bytes", "kB", "MB", "GB"):
        if n < 1000:
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"

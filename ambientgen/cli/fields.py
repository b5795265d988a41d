"""What the command line calls the library's fields: errors name the option the user typed (``--duration``), not
the library's field (``duration``), reading the fields a :class:`~ambientgen.errors.UsageError` carries."""

from __future__ import annotations

from ..errors import UsageError

# library fields -> the options that set them, so errors name what the user typed
FLAG_FOR_FIELD = {
    "duration": "--duration", "seed": "--seed", "target_lufs": "--lufs", "model.steps": "--steps",
    "model.checkpoint": "--checkpoint", "model.backend": "--backend", "model.variety": "--variety",
    "fade_in": "--fade-in", "fade_out": "--fade-out", "formats": "--format", "bit_depth": "--bit-depth",
    "output": "--output", "cache_dir": "--cache-dir", "cache": "--no-cache", "executor": "--executor",
    "workers": "--workers", "worker_threads": "--worker-threads", "device": "--device", "ray_address": "--ray-address",
    "preset": "--preset", "manifest": "--manifest", "width": "--width",
}


# scene fields an option overrides: named as the option only when that option was given (else the scene set them)
SCENE_FIELDS = {"duration", "seed", "target_lufs", "model.steps", "model.checkpoint", "model.backend", "model.variety",
                "fade_in", "fade_out"}


def option_for(field: str, given: frozenset[str] = frozenset()) -> str:
    """The option that sets a library field (``duration`` -> ``--duration``), or the field itself.

    Scene fields are named as their option only when that option is in ``given`` (else the scene set them).
    """
    if field in SCENE_FIELDS and field not in given:
        return field
    return FLAG_FOR_FIELD.get(field, field)


def usage_line(exc: UsageError, given: frozenset[str] = frozenset()) -> str:
    """A :class:`UsageError` as one line naming the options, from the fields it carries."""
    return "; ".join(f"{option_for(f, given)}: {r}" if f else r for f, r in exc.problems)


def for_cli(message: str, given: frozenset[str] = frozenset()) -> str:
    """Any other library error's one line, with the field that opens each of its problems (``output: ...``) named
    as the option that sets it, and the API's ``overwrite=True`` as ``--overwrite``."""
    parts = []
    for part in message.split("; "):
        field, sep, rest = part.partition(": ")
        parts.append(f"{option_for(field, given)}{sep}{rest}" if sep else part)
    return "; ".join(parts).replace("pass overwrite=True", "pass --overwrite")

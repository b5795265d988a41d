"""Errors raised by AmbientGen.

Every error a user can cause is an :class:`AmbientgenError`; the CLI prints its
message as one line and exits with code 1. Messages name the field, the rule
and the offending value.
"""

from __future__ import annotations


class AmbientgenError(Exception):
    """Base class of every error AmbientGen reports to users."""


class SceneError(AmbientgenError, ValueError):
    """A scene file or description is invalid.

    ``problems`` holds one line per problem, so all of them can be reported at once.
    """

    def __init__(self, problems: list[str] | str, *, source: str | None = None):
        if isinstance(problems, str):
            problems = [problems]
        self.problems = list(problems)
        self.source = source
        where = f"{source}: " if source else ""
        if len(self.problems) == 1:
            message = f"{where}{self.problems[0]}"
        else:
            listed = "; ".join(self.problems)
            message = f"{where}{len(self.problems)} problems: {listed}"
        super().__init__(message)


class BackendError(AmbientgenError, RuntimeError):
    """A backend cannot be loaded or cannot render."""


class ExportError(AmbientgenError, OSError):
    """An output cannot be written."""


class UsageError(AmbientgenError, ValueError):
    """A command-line option has an invalid value (exit code 2)."""

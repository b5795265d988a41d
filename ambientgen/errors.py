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
    """An option has an invalid value (the command line exits with code 2).

    ``problems`` holds ``(field, rule)`` pairs: the library's name of the value (``duration``, ``preset``,
    ``model.steps``) and what is wrong with it, so the command line can name the option that sets each field
    without reading the message.
    """

    def __init__(self, field: str | list[tuple[str, str]], rule: str | None = None):
        self.problems = [(field, rule or "")] if isinstance(field, str) else [(f, r) for f, r in field]
        super().__init__("; ".join(f"{f}: {r}" if f else r for f, r in self.problems))

    @classmethod
    def from_scene(cls, exc: SceneError, *, rename: dict[str, str] | None = None) -> UsageError:
        """A :class:`SceneError`'s problems (``field: rule`` lines) as usage problems; ``rename`` maps scene
        fields to the option's own name (``layers[0].width`` -> ``width``)."""
        rename = rename or {}
        pairs = [problem.split(": ", 1) if ": " in problem else ("", problem) for problem in exc.problems]
        return cls([(rename.get(f, f), r) for f, r in pairs])

"""The ``ambientgen`` command line: a thin layer over the library.

- :mod:`.commands` — the typer app: ``render``, ``plan``, ``validate``, ``check``, ``loop``, ``studio``,
  ``models``, ``cache``; parses options, calls the library, sets the exit code.
- :mod:`.console` — what it prints: messages, progress bars, the plan table, the check report, the summary.
"""

from .commands import app, main

__all__ = ["app", "main"]

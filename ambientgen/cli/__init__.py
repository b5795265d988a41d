"""The ``ambientgen`` command line: a thin layer over the library.

- :mod:`.commands` — the typer app: ``render``, ``plan``, ``validate``, ``check``, ``loop``, ``studio``,
  ``models``, ``cache``; parses options, calls the library, sets the exit code.
- :mod:`.console` — what it prints: messages, progress bars, the plan table, the check report, the summary.
- :mod:`.fields` — which option sets each library field, so an error names what the user typed.
"""

from .commands import app, main

__all__ = ["app", "main"]

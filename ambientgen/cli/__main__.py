"""``python -m ambientgen.cli``: the ``ambientgen`` command."""

from .commands import main

main()

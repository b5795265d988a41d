"""Every Python code block in the README runs, in order, as a user would paste them (from a folder with scenes/ and
recordings/, the test recordings)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_has_python_examples():
    assert len(BLOCKS) >= 4


@pytest.mark.slow
def test_readme_python_blocks_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "scenes").symlink_to(ROOT / "scenes")
    (tmp_path / "recordings").symlink_to(ROOT / "tests" / "data")  # the README's own recordings
    monkeypatch.chdir(tmp_path)
    from ambientgen.backends import backend_names, unregister

    registered = backend_names()
    namespace: dict = {"__name__": "__readme__"}
    try:
        for k, block in enumerate(BLOCKS):
            try:
                exec(compile(block, f"README.md python block {k + 1}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"README python block {k + 1} failed: {type(exc).__name__}: {exc}\n{block}"
                                     ) from exc
    finally:
        for name in set(backend_names()) - set(registered):  # the README registers a backend of its own
            unregister(name)
    printed = capsys.readouterr().out
    assert (tmp_path / "out" / "forest" / "forest.wav").is_file() and "LUFS" in printed

"""The README and every page in docs/ hold: each Python block runs, in order, as a user would paste a page's
blocks (from a folder with scenes/ and recordings/, the test recordings); links resolve; the command-line page
names every option each command has."""

from __future__ import annotations

import re

import pytest

from tests.conftest import ROOT

PAGES = [ROOT / "README.md"] + sorted((ROOT / "docs").glob("*.md"))


def blocks(page) -> list[str]:
    return re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), flags=re.S)


def test_the_readme_is_short_and_every_topic_has_a_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 250
    for topic in ("backends", "command-line", "python-api", "check", "planner", "recordings", "studio",
                  "scene-files", "outputs", "architecture"):
        assert (ROOT / "docs" / f"{topic}.md").is_file(), topic
        assert f"(docs/{topic}.md)" in readme, topic
    assert len(blocks(ROOT / "README.md")) == 1


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_resolve(page):
    text = page.read_text(encoding="utf-8")
    missing = [target for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text)
               if "://" not in target and not (page.parent / target).exists()]
    assert missing == []


def test_the_link_check_sees_a_missing_page(tmp_path):
    page = tmp_path / "x.md"
    page.write_text("[a](nowhere.md) [b](x.md) [c](https://example.org)")
    assert [t for t in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text())
            if "://" not in t and not (tmp_path / t).exists()] == ["nowhere.md"]


def test_the_command_line_page_names_every_option_of_every_command():
    import click
    import typer.main

    from ambientgen.cli.commands import app

    page = (ROOT / "docs" / "command-line.md").read_text(encoding="utf-8")
    group = typer.main.get_command(app)
    missing = []

    def walk(command, path):
        if isinstance(command, click.Group):
            for name, sub in command.commands.items():
                walk(sub, path + [name])
            return
        if f"ambientgen {' '.join(path)}" not in page:
            missing.append(" ".join(path))
        for param in command.params:
            for opt in param.opts:
                if opt.startswith("--") and opt != "--help" and opt not in page:
                    missing.append(f"{' '.join(path)} {opt}")

    walk(group, [])
    assert missing == []
    assert "stable-audio-3" in page  # every built-in backend is named where --backend is


PYTHON_PAGES = [p for p in PAGES if blocks(p)]


@pytest.mark.slow
@pytest.mark.parametrize("page", PYTHON_PAGES, ids=lambda p: p.name)
def test_python_blocks_run(page, tmp_path, monkeypatch, capsys):
    (tmp_path / "scenes").symlink_to(ROOT / "scenes")
    (tmp_path / "recordings").symlink_to(ROOT / "tests" / "data")  # the pages' own recordings
    monkeypatch.chdir(tmp_path)
    from ambientgen.backends import backend_names, unregister

    registered = backend_names()
    namespace: dict = {"__name__": "__docs__"}
    try:
        for k, block in enumerate(blocks(page)):
            try:
                exec(compile(block, f"{page.name} python block {k + 1}", "exec"), namespace)
            except Exception as exc:
                raise AssertionError(f"{page.name} python block {k + 1} failed: {type(exc).__name__}: {exc}\n{block}"
                                     ) from exc
    finally:
        for name in set(backend_names()) - set(registered):  # a page registers a backend of its own
            unregister(name)
    assert "LUFS" in capsys.readouterr().out or page.name not in ("README.md", "python-api.md")

"""The studio page in a real browser (headless Debian Chromium driven by Playwright).

What the page plays is checked against the files: a layer soloed at its rendered settings is its stem, sample
for sample; a gain slider moves the level by what it says; mute and solo; pan and width heard in the page equal
the stem Export writes; Save and Export through the page's own buttons.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import threading
import time

import numpy as np
import pytest
import soundfile as sf
import yaml

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    if os.environ.get("AMBIENTGEN_REQUIRE_BROWSER", "0") != "0":  # 1 in .ci/run, which installs Chromium
        raise RuntimeError("AMBIENTGEN_REQUIRE_BROWSER is set but no chromium is on PATH")
    pytest.skip("no Chromium on this machine (apt-get install chromium; .ci/run installs it)", allow_module_level=True)
playwright = pytest.importorskip("playwright.sync_api")
uvicorn = pytest.importorskip("uvicorn")

from ambientgen.studio import open_session  # noqa: E402
from ambientgen.studio.app import create_app  # noqa: E402

from .test_app import SCENE  # noqa: E402

SECONDS = 2.0  # of the page's graph rendered offline per measurement


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(scene: dict, root):
    """A studio session on ``scene`` (rendered first into ``root``), served on a free local port: yields
    (session, port)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AMBIENTGEN_CACHE", str(root / "cache"))
        scene_file = root / f"{scene['name']}.yaml"
        scene_file.write_text(yaml.safe_dump(scene))
        session = open_session(str(scene_file), output=str(root / "out"))
        session.thread.join()
        assert session.job.state == "done", session.job.error
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(session, allowed_hosts={f"127.0.0.1:{port}"}),
                                               host="127.0.0.1", port=port, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        try:
            yield session, port
        finally:
            server.should_exit = True
            thread.join(timeout=10)


@pytest.fixture(scope="module")
def studio(tmp_path_factory):
    root = tmp_path_factory.mktemp("studio")
    with served(SCENE, root) as (session, port):
        with playwright.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM,
                                        args=["--no-sandbox", "--autoplay-policy=no-user-gesture-required"])
            page = browser.new_page(viewport={"width": 1280, "height": 1100})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("body[data-ready=yes]", timeout=60000)
            yield {"page": page, "session": session, "root": root, "errors": errors}
            browser.close()


def offline(page, seconds: float = SECONDS) -> dict:
    return page.evaluate(f"window.studio.renderOffline({seconds})")


def stem(studio, name: str, seconds: float = SECONDS) -> np.ndarray:
    data, _ = sf.read(studio["session"].output / "stems" / f"{name}.wav", dtype="float64", frames=int(seconds * 48000))
    return data.T


def set_slider(page, layer: str, field: str, value: float) -> None:
    page.eval_on_selector(f'.strip[data-layer="{layer}"] input[data-field="{field}"]',
                          "(el, v) => { el.value = v; el.dispatchEvent(new Event('input')); }", value)


def click(page, layer: str, button: str) -> None:
    page.click(f'.strip[data-layer="{layer}"] button.{button}')


def test_page_loads_the_render_and_draws(studio):
    page = studio["page"]
    assert page.inner_text("#scene-name") == "mini"
    assert page.locator(".strip").count() == 3
    assert "PASS" in page.inner_text("#verdict") or "FAIL" in page.inner_text("#verdict")
    assert page.locator("#files a").count() >= 5
    shot = studio["root"] / "studio.png"
    page.screenshot(path=str(shot), full_page=True)
    pixels = np.asarray(__import__("matplotlib.image", fromlist=["imread"]).imread(shot))
    assert pixels.std() > 0.05  # not blank
    assert studio["errors"] == []


def test_a_soloed_layer_is_its_stem_sample_for_sample(studio):
    page = studio["page"]
    page.uncheck("#match")
    click(page, "wind", "solo")
    out = offline(page)
    click(page, "wind", "solo")
    want = stem(studio, "wind")
    got = np.array([out["left"], out["right"]])
    assert np.abs(got - want).max() < 1e-6


def test_gain_slider_changes_the_level_by_its_amount_and_mute_and_solo_work(studio):
    page = studio["page"]
    page.uncheck("#match")
    click(page, "stream", "solo")
    before = offline(page)["rms_db"]
    set_slider(page, "stream", "gain_db", -2.0)  # rendered at -8
    after = offline(page)["rms_db"]
    assert after - before == pytest.approx(6.0, abs=0.01)
    set_slider(page, "stream", "gain_db", -8.0)
    click(page, "stream", "solo")
    # no solo: the three stems summed; wind muted: the other two
    both = np.array([(lambda o: [o["left"], o["right"]])(offline(page))])[0]
    want = stem(studio, "wind") + stem(studio, "stream") + stem(studio, "birds")
    assert np.abs(both - want).max() < 1e-5
    click(page, "wind", "mute")
    o = offline(page)
    assert np.abs(np.array([o["left"], o["right"]]) - (want - stem(studio, "wind"))).max() < 1e-5
    assert page.get_attribute('.strip[data-layer="wind"] button.mute', "aria-pressed") == "true"
    click(page, "wind", "mute")


def test_long_renders_are_streamed_as_excerpts_with_range_requests(studio):
    page = studio["page"]
    ranges: list[str | None] = []
    listener = (lambda req: ranges.append(req.headers.get("range")) if "/files/stems/" in req.url else None)
    page.on("request", listener)
    try:
        page.evaluate("() => { const s = window.studio; s.limits.whole_s = 5; s.limits.excerpt_s = 4; s.showRender(); }")
        page.eval_on_selector("#excerpt-at", "el => { el.value = 6; el.dispatchEvent(new Event('change')); }")
        page.evaluate("window.studio.state().loading")  # the excerpt's Range reads, awaited
        assert page.evaluate("window.studio.state().excerptAt") == 6
        page.uncheck("#match")
        click(page, "stream", "solo")
        out = offline(page, 4.0)
        click(page, "stream", "solo")
        info = page.evaluate("window.studio.state().buffers.stream.length")
    finally:
        page.remove_listener("request", listener)
        page.evaluate("() => { const s = window.studio; s.limits.whole_s = 120; s.limits.excerpt_s = 60; "
                      "s.showRender(); return s.loadExcerpt(); }")
    data, _ = sf.read(studio["session"].output / "stems" / "stream.wav", dtype="float64", start=6 * 48000,
                      frames=4 * 48000)
    assert np.abs(np.array([out["left"], out["right"]]) - data.T).max() < 1e-6  # the excerpt is 6 s .. 10 s
    assert ranges and all(r and r.startswith("bytes=") for r in ranges), ranges  # never the whole file
    assert info == 4 * 48000
    assert page.evaluate("window.studio.state().buffers.stream.length") == 12 * 48000  # back to the whole render


def test_play_loop_point_and_timer_run_without_errors(studio):
    page = studio["page"]
    page.click("#play")
    page.wait_for_function("window.studio.state().playing === true")
    page.wait_for_timeout(300)
    assert page.evaluate("window.studio.state().ctx.state") == "running"
    page.click("#timer-preview")
    page.click("#play")  # stop
    page.click("#loop-point")
    page.wait_for_function("document.querySelector('#excerpt-note').textContent.startsWith('loop point')")
    assert page.evaluate("window.studio.state().sources.length") == 3
    assert page.evaluate("window.studio.state().sources[0].buffer.length") == 2 * 4 * 48000
    assert studio["errors"] == []


def test_loudness_match_follows_export_and_target(studio):
    page = studio["page"]
    page.check("#match")
    assert page.evaluate("window.studio.masterDb()") == pytest.approx(0.0, abs=1e-9)
    page.eval_on_selector("#target_lufs", "el => { el.value = -20; el.dispatchEvent(new Event('input')); }")
    assert page.evaluate("window.studio.masterDb()") == pytest.approx(3.0, abs=1e-9)
    page.eval_on_selector("#target_lufs", "el => { el.value = -23; el.dispatchEvent(new Event('input')); }")
    page.uncheck("#match")


def test_pan_and_width_heard_in_the_page_are_what_export_writes(studio):
    page, session, root = studio["page"], studio["session"], studio["root"]
    old = json.loads((session.output / "manifest.json").read_text())
    set_slider(page, "wind", "gain_db", -1.0)
    set_slider(page, "wind", "pan", 0.5)
    set_slider(page, "wind", "width", 0.9)
    set_slider(page, "stream", "width", 0.2)
    click(page, "wind", "solo")
    heard = offline(page)
    click(page, "wind", "solo")
    heard = np.array([heard["left"], heard["right"]])
    saved = root / "preset.yaml"
    page.fill("#save-path", str(saved))
    page.click("#save")
    page.wait_for_function("document.querySelector('#job').textContent.startsWith('saved')")
    scene = yaml.safe_load(saved.read_text())
    wind = next(la for la in scene["layers"] if la["name"] == "wind")
    assert (wind["gain_db"], wind["pan"], wind["width"]) == (-1.0, 0.5, 0.9)
    page.click("#export")
    page.wait_for_function("document.querySelector('#job').textContent.startsWith('exported')", timeout=300000)
    assert page.inner_text("#job").endswith("0 model calls run")
    new = json.loads((session.output / "manifest.json").read_text())
    layer = next(la for la in new["layers"] if la["name"] == "wind")
    assert (layer["gain_db"], layer["pan"], layer["width"]) == (-1.0, 0.5, 0.9)
    # the stems carry the master gain, which the export set again for the new balance
    scale = 10 ** ((new["master_gain_db"] - old["master_gain_db"]) / 20)
    written = stem(studio, "wind")
    assert np.abs(heard * scale - written).max() < 2e-4 * np.abs(written).max() + 2e-6
    assert studio["errors"] == []


def test_a_render_without_a_timeline_shows_no_lanes(studio):
    assert studio["page"].locator("#lanes-section").is_hidden()


@pytest.mark.parametrize("t", [0.0, 3.0, 5.0, 6.5, 8.0, 9.0, 11.0])
def test_the_pages_lane_curve_is_the_engines(studio, t):
    from ambientgen.audio.timeline import OFF_DB, lane_values, level_gain

    lane = [[0.0, None], [2.0, None], [6.0, 0.0], [8.0, 0.0], [10.0, -12.0], [12.0, -12.0]]
    page_db = studio["page"].evaluate(f"window.studio.laneDb({lane!r}.map(p => [p[0], p[1]]), {t})"
                                      .replace("None", "null"))
    if level_gain(lane, np.array([t]))[0] == 0:
        assert page_db is None
    else:
        assert page_db == pytest.approx(lane_values(lane, np.array([t]), off=OFF_DB)[0], abs=1e-9)


def test_an_evolving_render_shows_a_lane_per_layer_with_its_moments(studio, tmp_path):
    scene = {**SCENE, "name": "evolving", "duration": 16,
             "timeline": [{"at": 0, "set": {"stream": {"level": "off"}}},
                          {"at": "40%", "over": "20%", "note": "the stream comes in",
                           "set": {"stream": {"level": 0}, "wind": {"level": -10}}}]}
    with served(scene, tmp_path) as (_, port):
        page = studio["page"].context.browser.new_page(viewport={"width": 1280, "height": 1100})
        try:
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"http://127.0.0.1:{port}/")
            page.wait_for_selector("body[data-ready=yes]", timeout=60000)
            assert page.locator("#lanes-section").is_visible()
            assert "0:06 the stream comes in" in page.inner_text("#moments")
            # the stream's lane is empty (absent) over its first 40 % and drawn after: sample its pixels
            stats = page.evaluate("""() => { const c = document.querySelector('#lanes'), x = c.getContext('2d');
                const row = c.height / 3, y = Math.round(1 * row + row * 0.8);
                const at = f => x.getImageData(Math.round(f * c.width), y, 1, 1).data[1];
                return [at(0.2), at(0.9)]; }""")
            assert stats[0] < 40 < stats[1], stats
            assert errors == []
        finally:
            page.close()

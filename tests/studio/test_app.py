"""The studio's server (FastAPI test client): state, files with Range, path traversal, token, edits, save, export."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

pytest.importorskip("fastapi")
pytest.importorskip("httpx")
from fastapi.testclient import TestClient  # noqa: E402

from ambientgen import scene_from_dict  # noqa: E402
from ambientgen.progress import ProgressEvent  # noqa: E402
from ambientgen.studio import StudioSession, open_session  # noqa: E402
from ambientgen.studio.app import TOKEN_HEADER, create_app, is_loopback  # noqa: E402
from ambientgen.studio.state import Job, export_options, scene_of_render  # noqa: E402

SCENE = {
    "name": "mini", "duration": 12, "seed": 3, "model": {"backend": "procedural"},
    "layers": [
        {"name": "wind", "prompt": "gentle wind in the trees", "gain_db": -4},
        {"name": "stream", "prompt": "a small stream trickling", "gain_db": -8, "pan": -0.4},
        {"name": "birds", "prompt": "songbirds chirping", "role": "events", "events": {"wait": [2, 5]}},
    ],
}


def fake_render(folder: Path, scene: dict = SCENE) -> Path:
    """A render folder as a render leaves it (manifest, one stem), without rendering: for the server's own tests."""
    (folder / "stems").mkdir(parents=True)
    sf.write(folder / "stems" / "wind.wav", np.zeros((4800, 2), dtype=np.float32), 48000, subtype="PCM_24")
    full = scene_from_dict(scene).to_dict()
    manifest = {"name": scene["name"], "scene": full, "frames": 4800, "sample_rate": 48000, "layers": [],
                "files": [{"path": "stems/wind.wav", "kind": "stem", "layer": "wind"}]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder.parent / "secret.txt").write_text("not yours")
    (folder / ".hidden").write_text("not served")
    return folder


@pytest.fixture
def client(tmp_path):
    session = open_session(str(fake_render(tmp_path / "render")))
    return TestClient(create_app(session)), session


def test_state_and_files_with_range(client):
    c, session = client
    state = c.get("/api/state").json()
    assert state["scene"]["layers"][0] == {"name": "wind", "prompt": "gentle wind in the trees", "gain_db": -4.0}
    assert state["values"]["layers"][0]["width"] == 0.5  # defaults for the page's display
    whole = c.get("/files/stems/wind.wav")
    assert whole.status_code == 200 and whole.content[:4] == b"RIFF"
    part = c.get("/files/stems/wind.wav", headers={"Range": "bytes=8-15"})
    assert part.status_code == 206 and part.content == whole.content[8:16]
    page = c.get("/").text
    assert session.token in page and "studio.js" in page
    assert "placement" in c.get("/static/studio.js").text
    assert c.get("/static/other.js").status_code == 404


@pytest.mark.parametrize("path", ["../secret.txt", "%2e%2e/secret.txt", "stems/../../secret.txt", ".hidden",
                                  "/etc/passwd", "stems/%2e%2e/%2e%2e/secret.txt"])
def test_path_traversal_is_refused(client, path):
    c, _ = client
    r = c.get(f"/files/{path}")
    assert r.status_code in (403, 404)
    assert "not yours" not in r.text and "not served" not in r.text


def test_session_file_never_leaves_the_folder(tmp_path):
    session = StudioSession(scene_from_dict(SCENE), fake_render(tmp_path / "render"))
    for bad in ("../secret.txt", "stems/../../secret.txt", ".hidden", str(tmp_path / "secret.txt")):
        with pytest.raises((PermissionError, FileNotFoundError)):
            session.file(bad)
    assert session.file("stems/wind.wav").name == "wind.wav"


def test_changes_need_the_token(client, tmp_path):
    c, session = client
    for path in ("/api/validate", "/api/save", "/api/export"):
        for headers in ({}, {TOKEN_HEADER: "wrong"}):
            r = c.post(path, json={"scene": SCENE}, headers=headers)
            assert r.status_code == 403 and "token" in r.json()["error"]
    assert not (tmp_path / "render" / "mini.yaml").exists() and session.job.state == "idle"


def test_invalid_edits_get_the_scene_files_one_line_errors(client):
    c, session = client
    h = {TOKEN_HEADER: session.token}
    bad = json.loads(json.dumps(SCENE))
    bad["layers"][0]["gain_db"] = 40
    r = c.post("/api/validate", json={"scene": bad}, headers=h)
    assert r.status_code == 422
    assert r.json()["error"].startswith("layers[0].gain_db:") and "\n" not in r.json()["error"]
    bad["layers"][2]["events"]["wait"] = [9, 2]
    r = c.post("/api/export", json={"scene": bad}, headers=h)
    assert r.status_code == 422 and "wait must be [min, max]" in r.json()["error"]
    assert session.job.state == "idle"
    assert c.post("/api/save", content=b"not json", headers=h).json()["error"] == "body: not JSON"
    assert c.post("/api/validate", json={"scene": SCENE}, headers=h).json() == {"ok": True, "name": "mini"}


def test_save_writes_the_scene_and_asks_before_replacing(client, tmp_path):
    c, session = client
    h = {TOKEN_HEADER: session.token}
    edited = json.loads(json.dumps(SCENE))
    edited["layers"][0]["gain_db"] = -7.5
    edited["layers"][1]["mute"] = True
    target = tmp_path / "presets" / "mini.yaml"
    r = c.post("/api/save", json={"scene": edited, "path": str(target)}, headers=h)
    assert r.status_code == 200, r.text
    saved = yaml.safe_load(target.read_text())
    assert saved["layers"][0]["gain_db"] == -7.5 and saved["layers"][1]["mute"] is True
    assert "width" not in saved["layers"][0]  # what the scene sets, as in a hand-written file
    assert scene_from_dict(saved) == scene_from_dict(edited)
    assert c.post("/api/save", json={"scene": SCENE, "path": str(target)}, headers=h).status_code == 200  # its own
    other = tmp_path / "theirs.yaml"
    other.write_text("# mine\n")
    r = c.post("/api/save", json={"scene": SCENE, "path": str(other)}, headers=h)
    assert r.status_code == 409 and "exists" in r.json()["error"] and other.read_text() == "# mine\n"
    assert c.post("/api/save", json={"scene": SCENE, "path": str(other), "overwrite": True}, headers=h).status_code == 200
    r = c.post("/api/save", json={"scene": SCENE, "path": str(tmp_path / "x.txt")}, headers=h)
    assert r.status_code == 422 and r.json()["error"].startswith("path:")


def test_host_header_is_checked_on_loopback(tmp_path):
    session = open_session(str(fake_render(tmp_path / "render")))
    c = TestClient(create_app(session, allowed_hosts={"127.0.0.1:8765"}))
    assert c.get("/api/state").status_code == 403  # the test client says Host: testserver
    assert c.get("/api/state", headers={"Host": "127.0.0.1:8765"}).status_code == 200
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


def test_job_progress_is_monotonic_and_has_an_eta():
    job = Job(["a", "b"], state="running", started=0.0)
    seen = []
    for event in [ProgressEvent("render", "a", 1, 2), ProgressEvent("render", "a", 2, 2), ProgressEvent("render", "b", 1, 2),
                  ProgressEvent("analyse", None, 5, 10), ProgressEvent("write", None, 10, 10),
                  ProgressEvent("check", None, 10, 10)]:
        job.progress(event)
        seen.append(job.fraction)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 0.2 < seen[0] < 0.3
    assert job.as_dict()["eta_s"] is not None


def test_opening_errors_are_one_line(tmp_path):
    from ambientgen import AmbientgenError

    with pytest.raises(AmbientgenError, match="without a render"):
        open_session(str(tmp_path))
    with pytest.raises(AmbientgenError, match="no such scene file"):
        open_session(str(tmp_path / "nope.yaml"))


@pytest.mark.slow
def test_cli_refuses_a_remote_host_and_a_busy_port(tmp_path):
    import socket

    folder = fake_render(tmp_path / "render")
    cmd = [sys.executable, "-m", "ambientgen.cli", "studio", str(folder), "--no-browser"]
    r = subprocess.run(cmd + ["--host", "0.0.0.0"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "needs --allow-remote" in r.stderr and "Traceback" not in r.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        r = subprocess.run(cmd + ["--port", str(busy.getsockname()[1])], capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "pass --port N" in r.stderr and "Traceback" not in r.stderr


def test_muted_layers_are_kept_in_the_scene_and_left_out_of_the_render():
    data = json.loads(json.dumps(SCENE))
    data["layers"][1]["mute"] = True
    manifest = {"scene": scene_from_dict({**data, "layers": [data["layers"][0], data["layers"][2]]}).to_dict(),
                "muted_layers": [scene_from_dict(data).layers[1].model_dump(mode="json")]}
    back = scene_of_render(manifest)
    assert [la.name for la in back.layers] == ["wind", "birds", "stream"] and back.layers[2].mute


@pytest.mark.slow
def test_export_renders_and_a_mix_only_edit_costs_no_model_calls(tmp_path):
    scene_file = tmp_path / "mini.yaml"
    scene_file.write_text(yaml.safe_dump(SCENE))
    session = open_session(str(scene_file), output=str(tmp_path / "out"))
    session.thread.join()
    assert session.job.state == "done", session.job.error
    assert session.job.model_calls_run > 0
    c = TestClient(create_app(session))
    h = {TOKEN_HEADER: session.token}
    edited = c.get("/api/state").json()["scene"]
    edited["layers"][0]["gain_db"] = -1.0
    edited["layers"][2]["mute"] = True
    edited["target_lufs"] = -20
    assert c.post("/api/export", json={"scene": edited}, headers=h).status_code == 200
    session.thread.join()
    job = c.get("/api/job").json()
    assert job["state"] == "done" and job["model_calls_run"] == 0 and job["fraction"] == 1.0
    manifest = c.get("/api/state").json()["manifest"]
    assert [la["name"] for la in manifest["layers"]] == ["wind", "stream"]
    assert manifest["layers"][0]["gain_db"] == -1.0 and manifest["integrated_lufs"] == pytest.approx(-20, abs=0.1)
    assert [la["name"] for la in manifest["muted_layers"]] == ["birds"]
    assert c.get("/api/state").json()["rendered_scene"]["layers"][2]["mute"] is True
    # the same edit made in the scene file and rendered from the command line: the same bytes
    saved = tmp_path / "edited.yaml"
    assert c.post("/api/save", json={"scene": edited, "path": str(saved)}, headers=h).status_code == 200
    r = subprocess.run([sys.executable, "-m", "ambientgen.cli", "render", str(saved), "-o", str(tmp_path / "cli"), "-q",
                        "--no-report"], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr

    def sha(path):
        return hashlib.sha256(path.read_bytes()).hexdigest()

    assert sha(tmp_path / "cli" / "mini.wav") == sha(tmp_path / "out" / "mini.wav")
    cli = json.loads((tmp_path / "cli" / "manifest.json").read_text())
    assert [la["rendered_now"] for la in cli["layers"]] == [0, 0]  # the studio's export filled the same cache


def test_export_writes_the_deliverables_the_render_had():
    manifest = {"files": [
        {"path": "a.wav", "kind": "mix", "format": "wav", "subtype": "PCM_16"},
        {"path": "a.flac", "kind": "mix", "format": "flac", "subtype": "PCM_16"},
        {"path": "stems/x.wav", "kind": "stem", "format": "wav", "subtype": "PCM_16", "layer": "x"},
    ]}
    assert export_options(manifest) == {"stems": True, "session": False, "formats": ["wav", "flac"], "bit_depth": "16"}
    assert export_options({"files": [{"path": "a.ogg", "kind": "mix", "format": "ogg", "subtype": "VORBIS"}]}) == \
        {"stems": False, "session": False, "formats": ["ogg"]}
    assert export_options(None) == {}

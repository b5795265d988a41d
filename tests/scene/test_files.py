"""Scene files: finding, reading, writing (ambientgen.scene.files)."""

from __future__ import annotations

import pytest

from ambientgen.errors import SceneError
from ambientgen.scene.files import dump_scene, load_scene
from tests.conftest import SCENES


def test_bundled_scenes_validate():
    paths = sorted(SCENES.glob("*.yaml"))
    names = {p.stem for p in paths}
    assert {"forest", "rain-on-tin-roof", "thunderstorm", "ocean-at-night", "campfire", "summer-night"} <= names
    for path in paths:
        scene = load_scene(path)
        assert scene.name == path.stem
        assert 1 <= len(scene.layers) <= 16


def test_round_trip(tmp_path):
    scene = load_scene(SCENES / "forest.yaml")
    path = tmp_path / "forest.yaml"
    path.write_text(dump_scene(scene))
    assert load_scene(path) == scene


@pytest.mark.parametrize(
    "content, message",
    [("name: [unclosed", "YAML syntax error at line 1"), ("", "a scene must be a mapping of keys to values, got empty"),
     ("- a\n- b\n", "got list"), ("just text", "got str")],
)
def test_bad_files(tmp_path, content, message):
    path = tmp_path / "bad.yaml"
    path.write_text(content)
    with pytest.raises(SceneError, match=message):
        load_scene(path)


def test_missing_directory_and_binary(tmp_path):
    with pytest.raises(SceneError, match="no such scene file"):
        load_scene(tmp_path / "nope.yaml")
    with pytest.raises(SceneError, match="is a directory"):
        load_scene(tmp_path)
    binary = tmp_path / "x.yaml"
    binary.write_bytes(b"\xff\xfe\x00\x81")
    with pytest.raises(SceneError, match="not a UTF-8 text file"):
        load_scene(binary)


def test_name_defaults_to_file_stem(tmp_path):
    path = tmp_path / "my rain.yaml"
    path.write_text("layers:\n  - name: rain\n    prompt: rain\n")
    assert load_scene(path).name == "my-rain"


def test_a_missing_scene_file_suggests_close_names(tmp_path):
    (tmp_path / "forest.yaml").write_text("name: forest\nlayers: [{name: a, prompt: rain}]\n")
    bundled = "; `ambientgen scenes` lists the bundled scenes$"
    with pytest.raises(SceneError, match=r"forrest\.yaml: no such scene file \(did you mean .*forest\.yaml\?\)" + bundled):
        load_scene(tmp_path / "forrest.yaml")
    with pytest.raises(SceneError, match=r"ocean\.yaml: no such scene file" + bundled):
        load_scene(tmp_path / "ocean.yaml")


def test_bundled_scenes_load_from_anywhere(tmp_path, monkeypatch):
    """After ``pip install`` there is no scenes/ folder: ``scenes/NAME.yaml`` is the bundled scene."""
    from ambientgen.scene.files import bundled_scenes

    monkeypatch.chdir(tmp_path)
    assert set(bundled_scenes()) == {"campfire", "forest", "ocean-at-night", "rain-on-tin-roof", "summer-night",
                                     "thunderstorm", "storm-passes", "dusk-to-night"}
    assert load_scene("scenes/forest.yaml").name == "forest" and load_scene("forest.yaml").name == "forest"
    with pytest.raises(SceneError, match=r"no such scene file \(did you mean scenes/forest\.yaml\?\)"):
        load_scene("scenes/forrest.yaml")
    with pytest.raises(SceneError, match="no such scene file"):
        load_scene("elsewhere/forest.yaml")  # only scenes/ or a bare name means the bundled scene

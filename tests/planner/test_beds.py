"""One-event beds: the warning, and the prescreen that spares planning (and the English dictionary) for prompts
that cannot draw it."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ambientgen.cli import commands as cli
from ambientgen.planner import lexicon
from ambientgen.planner.beds import may_name_sparse_events, one_event_beds, sparse_sources_named
from ambientgen.planner.ontology import ontology
from ambientgen.scene.files import load_scene
from ambientgen.scene.schema import scene_from_dict
from tests.conftest import SCENES


def test_a_bed_of_one_event_sources_gets_a_warning_naming_role_events(tmp_path):
    sc = scene_from_dict({"name": "x", "duration": 30, "layers": [
        {"name": "rumble", "prompt": "field recording of rolling thunder"},
        {"name": "dog", "prompt": "a dog barking in the distance"},
        {"name": "rain", "prompt": "rain on a tin roof with distant thunder"},  # a bed source is named: fine
        {"name": "gutter", "prompt": "water dripping from a gutter"},  # dense drips can be a texture
        {"name": "storm", "prompt": "distant thunder", "role": "events", "events": {"per_minute": 1}},
    ]})
    warnings = one_event_beds(sc)
    assert [w.split(":")[0] for w in warnings] == ["layer 'rumble'", "layer 'dog'"]
    assert all(w.endswith("use role: events") for w in warnings)
    assert all(one_event_beds(load_scene(p)) == [] for p in SCENES.glob("*.yaml"))  # the bundled scenes heed it
    path = tmp_path / "thunder.yaml"
    path.write_text("name: t\nduration: 30\nlayers:\n  - name: rumble\n    prompt: rolling thunder\n")
    result = CliRunner().invoke(cli.app, ["validate", str(path)])
    assert result.exit_code == 0 and "use role: events" in result.stderr
    assert "ok — 't', 30 s, 1 layer, backend" in result.stdout


def _corpus() -> list[str]:
    prompts = [la.prompt for p in SCENES.glob("*.yaml") for la in load_scene(p).layers if la.prompt]
    for key, (kind, _) in ontology().phrases.items():
        name = " ".join(key)
        prompts += [f"field recording of {name}", f"distant {name} at night", f"{name}s far away"]
    return prompts + ["thundr rolling over the hills", "a barkng dog", "after the rain", "rain, then thunder",
                      "the storm passes and the rain stops", "a rooster's crowing", "wolf-howls", "no thunder at all"]


def test_the_prescreen_never_hides_a_warning():
    """Every prompt the prescreen lets go unplanned draws no warning when planned in full; and it is no blanket
    yes: the bundled scenes' prompts are let go, names of single events are not."""
    corpus = _corpus()
    let_go = [p for p in corpus if not may_name_sparse_events(p)]
    assert len(let_go) > len(corpus) // 3
    assert [p for p in let_go if sparse_sources_named(p)] == []
    warned = [p for p in corpus if sparse_sources_named(p)]
    assert len(warned) > 50 and all(may_name_sparse_events(p) for p in warned)
    assert not any(may_name_sparse_events(la.prompt) for p in SCENES.glob("*.yaml") for la in load_scene(p).layers
                   if la.role == "bed" and la.prompt)


@pytest.mark.parametrize("prompt", ["rolling thunder", "thundr in the hills", "a dog barking", "wolf-howl at night",
                                    "seagulls over the harbour"])
def test_names_and_near_misses_of_single_events_are_planned(prompt):
    assert may_name_sparse_events(prompt)


def test_a_scene_whose_beds_name_no_single_event_is_not_planned(monkeypatch):
    """The bundled forest's beds are not planned (nor the English dictionary loaded: half a second of every render);
    a bed naming thunder is."""
    import ambientgen.planner.beds as beds

    def no_plan(prompt):
        raise AssertionError(f"planned {prompt!r}")

    def no_dictionary(word):
        raise AssertionError(f"the dictionary was asked about {word!r}")

    monkeypatch.setattr(beds, "plan", no_plan)
    monkeypatch.setattr(lexicon, "parts", no_dictionary)
    monkeypatch.setattr(lexicon, "lemma", no_dictionary)
    assert one_event_beds(load_scene(SCENES / "forest.yaml")) == []
    sc = scene_from_dict({"name": "x", "duration": 30, "layers": [{"name": "t", "prompt": "rolling thunder"}]})
    with pytest.raises(AssertionError, match="planned 'rolling thunder'"):
        one_event_beds(sc)

"""The planner's English beyond the ontology: parts of speech, lemmas and kinds of sound (offline)."""

from __future__ import annotations


def test_the_lexicon_reads_parts_of_speech_and_kinds_offline():
    from ambientgen.planner.lexicon import is_noun, is_plural, kind_of, lemma, names_a_thing

    assert is_noun("tower") and not is_noun("foggy") and lemma("geese") == "goose" and is_plural("budgies")
    assert kind_of(["foghorn"]).name == "signal" and kind_of(["dough", "mixer"]).name == "machine"
    assert kind_of(["bowling", "alley"]).name == "place" and kind_of(["mill"]).name == "machine"
    assert names_a_thing("sanding") and names_a_thing("foghorn") and not names_a_thing("foggy")


def test_the_bundled_data_reads_the_same_through_libyaml_and_pyyaml():
    """The ontology and the kinds are parsed by libyaml where PyYAML has it (8x faster): the same data."""
    from importlib import resources

    import yaml

    from ambientgen.planner.lexicon import bundled_yaml

    for name in ("ontology.yaml", "kinds.yaml"):
        text = resources.files("ambientgen").joinpath(f"data/{name}").read_text(encoding="utf-8")
        assert bundled_yaml(name) == yaml.safe_load(text), name

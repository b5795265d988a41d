"""Unknown phrases: compounds and the layers unknown phrases become."""

from __future__ import annotations

from ambientgen.planner.ontology import ontology
from ambientgen.planner.phrases import match
from ambientgen.planner.unknown import name_for, unknown_layer, without_compounds


def test_a_known_first_word_of_a_compound_is_dropped_and_remembered():
    tokens = ["car", "wash"]
    nearest: dict = {}
    assert without_compounds(match(tokens, ontology()), tokens, nearest) == []
    assert nearest == {"car wash": "traffic"}
    rain = ["rain", "falling"]  # a verb after it: no compound
    assert without_compounds(match(rain, ontology()), rain, {}) == match(rain, ontology())


def test_an_unknown_layer_takes_its_kind_and_the_users_words():
    horn = unknown_layer("a distant foghorn", ["distant"], ["foghorn"])
    assert (horn.name, horn.role, horn.prompt) == ("distant-foghorn", "events", "field recording of a distant foghorn")
    shop = unknown_layer("a pet shop", [], ["pet", "shop"])
    assert (shop.name, shop.role) == ("pet-shop-ambience", "bed") and shop.prompt.startswith("ambient field recording")
    assert name_for("A Café, at Noon!") == "a-caf-at-noon"

"""Reading a description into phrases and known names (ambientgen.planner.phrases)."""

from __future__ import annotations

import pytest

from ambientgen.planner.compose import PlanTarget, plan
from ambientgen.planner.ontology import ontology
from ambientgen.planner.phrases import fragments, is_modifier, match, tokens


def names(text: str) -> list[list[tuple[str, str]]]:
    """(kind, name) of the known names in each phrase of ``text``."""
    return [[(kind, name) for _, _, kind, name in match(phrase.split("|"), ontology())]
            for phrase, _ in fragments(text)]


def test_a_sentence_splits_into_phrases_with_the_preposition_that_introduced_each():
    assert fragments("Rain on a tin roof with distant thunder and crickets") == [
        ("rain", None), ("a|tin|roof", "on"), ("distant|thunder", None), ("crickets", None)]
    assert fragments("waves; gulls plus wind while a bell, as well as a dog") == [
        ("waves", None), ("gulls", None), ("wind", None), ("a|bell", None), ("a|dog", None)]


def test_a_known_name_holding_a_preposition_stays_one_piece():
    assert fragments("footsteps in snow") == [("footstep in snow", None)]
    assert names("footsteps in snow") == [[("source", "snow-footsteps")]]


@pytest.mark.parametrize("text, expected", [
    ("seagulls", [[("source", "gulls")]]),
    ("the seashore", [[("source", "waves")]]),
    ("a firefly", [[]]),
    ("the rainforest", [[("env", "rainforest")]]),
    ("a windmill", [[]]),
])
def test_names_match_whole_words_only(text, expected):
    # "sea" is not found inside "seagulls", "fire" not inside "firefly", "rain" not inside "rainforest"
    assert names(text) == expected


def test_the_longest_name_wins_and_plurals_and_near_misses_are_accepted():
    assert names("distant thunder") == [[("source", "thunder")]]
    assert names("crickets") == names("cricket") == [[("source", "crickets")]]
    assert names("raiin") == [[("source", "rain")]]  # five letters or more, same first letter
    assert names("rian") == [[]]  # shorter words are not guessed at


def test_modifier_words_are_not_guessed_as_names():
    assert all(is_modifier(w) for w in ("distant", "heavy", "occasional", "night"))
    assert not is_modifier("thunder")
    assert names("torrential") == [[]]  # close to no name, and a modifier besides


def test_tokens_lower_case_and_keep_accents_and_hyphens():
    assert tokens("Café, far-off Owls!") == ["café", "far-off", "owls"]


# --- what a sentence says is absent, and words read as themselves (phrases.negations, phrases.match) -------------

NEURAL = PlanTarget("audioldm2")


def test_an_english_word_is_never_read_as_another_only_a_misspelling_is():
    for description, wrong in [("a haunted house at midnight", "horses"), ("an alien planet", "airplane-cabin"),
                               ("a cathedral with bells ringing", "boat-creaking"), ("a quiet house", "horses")]:
        assert wrong not in {la.source for la in plan(description, backend=NEURAL).layers}, description
    assert [la.source for la in plan("cricktes and thundr").layers] == ["crickets", "thunder"]  # typos still read


@pytest.mark.parametrize("description, gone, kept, said", [
    ("the sound of a river, no birds", "songbirds", "river", None),
    ("a forest without birds", "songbirds", "wind", "left out 'songbirds': the description says 'without birds'"),
    ("a beach with no seagulls", "gulls", "waves", "left out 'gulls': the description says 'no seagulls'"),
    ("a storm without thunder", "thunder", "rain", "left out 'thunder': the description says 'without thunder'"),
])
def test_what_a_sentence_says_is_absent_is_never_planned_or_implied(description, gone, kept, said):
    p = plan(description, backend=NEURAL)
    got = {la.source for la in p.layers}
    assert gone not in got and kept in got
    assert said is None or said in p.warnings


"""The command line names the option that sets each field an error carries."""

from __future__ import annotations

import pytest

from ambientgen.cli.fields import for_cli, usage_line
from ambientgen.errors import UsageError


def test_the_cli_names_the_option_from_the_field():
    exc = UsageError([("preset", "must be one of ebu-r128, got 'loud'"), ("workers", "must be at least 1, got 0")])
    assert usage_line(exc) == "--preset: must be one of ebu-r128, got 'loud'; --workers: must be at least 1, got 0"


@pytest.mark.parametrize("given, expected", [(frozenset(), "duration: must be positive"),
                                             (frozenset({"duration"}), "--duration: must be positive")])
def test_a_scene_field_is_named_as_its_option_only_when_the_option_was_given(given, expected):
    assert usage_line(UsageError("duration", "must be positive"), given) == expected


def test_other_errors_name_options_and_overwrite_as_the_cli_spells_them():
    line = for_cli("output: out holds an earlier render; pass overwrite=True to replace it")
    assert line == "--output: out holds an earlier render; pass --overwrite to replace it"

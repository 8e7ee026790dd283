import doctest

import pytest

from nlpbook.data import mojibake
from nlpbook.data.mojibake import count_mojibake, repair_mojibake

CLEAN = ["don’t", "“wrong”", "£5", "naïve café in Zürich, señor", "Straße", "Æsop", "日本語", "∗∗", "plain ascii"]


def latin1_round(text: str) -> str:
    """What a program that reads UTF-8 as Latin-1 and writes UTF-8 does to text."""
    return text.encode("utf-8").decode("latin-1")


@pytest.mark.parametrize("clean", CLEAN)
def test_one_and_two_rounds_are_undone_and_clean_text_is_kept(clean):
    assert repair_mojibake(clean) == clean
    assert repair_mojibake(latin1_round(clean)) == clean
    assert repair_mojibake(latin1_round(latin1_round(clean))) == clean


def test_counts():
    assert count_mojibake("café") == 0
    assert count_mojibake(latin1_round("a ’ b ’")) == 2


def test_the_fortunes_line_that_the_data_chapter_found():
    raw = "Here\u00c3\u00a2\u00c2\u0080\u00c2\u0099s the thing about lawyers"
    assert repair_mojibake(raw) == "Here’s the thing about lawyers"


def test_bad_arguments():
    with pytest.raises(TypeError, match="text"):
        repair_mojibake(b"bytes")
    with pytest.raises(ValueError, match="max_rounds"):
        repair_mojibake("x", max_rounds=0)


def test_doctests():
    assert doctest.testmod(mojibake).failed == 0

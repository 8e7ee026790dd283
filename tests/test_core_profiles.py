import pytest

from nlpbook import Profile, ProfileError, resolve_profile


def test_default_is_book(monkeypatch):
    monkeypatch.delenv("NLPBOOK_PROFILE", raising=False)
    assert resolve_profile(None) == "book"


def test_environment_selects_profile(monkeypatch):
    monkeypatch.setenv("NLPBOOK_PROFILE", "smoke")
    assert resolve_profile(None) == "smoke"


def test_parameter_beats_environment(monkeypatch):
    monkeypatch.setenv("NLPBOOK_PROFILE", "smoke")
    assert resolve_profile("full") == "full"


@pytest.mark.parametrize("bad", ["fast", "SMOKEY", "0"])
def test_unknown_profile_is_a_clear_error(monkeypatch, bad):
    monkeypatch.delenv("NLPBOOK_PROFILE", raising=False)
    with pytest.raises(ProfileError, match="unknown profile"):
        resolve_profile(bad)
    monkeypatch.setenv("NLPBOOK_PROFILE", bad)
    with pytest.raises(ProfileError, match="NLPBOOK_PROFILE"):
        resolve_profile(None)


def test_pick_chooses_by_profile_and_full_falls_back_to_book():
    assert Profile("smoke").pick(smoke=1, book=2, full=3) == 1
    assert Profile("book").pick(smoke=1, book=2, full=3) == 2
    assert Profile("full").pick(smoke=1, book=2, full=3) == 3
    assert Profile("full").pick(smoke=1, book=2) == 2
    with pytest.raises(ProfileError):
        Profile("tiny")

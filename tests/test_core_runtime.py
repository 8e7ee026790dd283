import random

import numpy as np
import pytest
import torch

import nlpbook
from nlpbook import get_device, seed_everything


def draw():
    return random.random(), float(np.random.rand()), float(torch.rand(()))


def test_seeding_repeats_every_generator():
    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_seed_must_be_a_non_negative_int():
    with pytest.raises(ValueError, match="seed"):
        seed_everything(-1)
    with pytest.raises(ValueError, match="seed"):
        seed_everything(1.5)


def test_device_default_and_override(monkeypatch):
    monkeypatch.delenv("NLPBOOK_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else None
    if expected:
        assert get_device().type == "cuda"
    monkeypatch.setenv("NLPBOOK_DEVICE", "cpu")
    assert get_device() == torch.device("cpu")


def test_unavailable_device_is_an_error_not_a_fallback(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)  # as on CI, GPU or not
    monkeypatch.setenv("NLPBOOK_DEVICE", "cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        get_device()
    monkeypatch.setenv("NLPBOOK_DEVICE", "gpu0")
    with pytest.raises(ValueError, match="not a torch device"):
        get_device()


def test_setup_resolves_profile_device_and_seed(monkeypatch, capsys):
    monkeypatch.setenv("NLPBOOK_PROFILE", "smoke")
    monkeypatch.setenv("NLPBOOK_DEVICE", "cpu")
    run = nlpbook.setup(None, seed=7)
    assert run.profile.name == "smoke" and run.device.type == "cpu" and run.seed == 7
    assert "profile=smoke" in capsys.readouterr().out
    a = torch.rand(3)
    nlpbook.setup(None, seed=7, quiet=True)
    torch.testing.assert_close(torch.rand(3), a)


def test_setup_sets_threads_and_rejects_bad_values(monkeypatch):
    before = torch.get_num_threads()
    try:
        nlpbook.setup("smoke", threads=1, quiet=True)
        assert torch.get_num_threads() == 1
        monkeypatch.setenv("NLPBOOK_THREADS", "0")
        with pytest.raises(ValueError, match="threads"):
            nlpbook.setup("smoke", quiet=True)
    finally:
        torch.set_num_threads(before)


def test_setup_turns_off_transformers_progress_bars_where_ours_are_off(monkeypatch):
    """A weight-loading bar of transformers would land in the rendered page (NLPBOOK_PROGRESS=0)."""
    import transformers

    import nlpbook

    monkeypatch.setenv("NLPBOOK_PROGRESS", "0")
    transformers.utils.logging.enable_progress_bar()
    try:
        nlpbook.setup("smoke", quiet=True)
        assert not transformers.utils.logging.is_progress_bar_enabled()
    finally:
        transformers.utils.logging.enable_progress_bar()

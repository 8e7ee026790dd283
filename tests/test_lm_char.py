"""nlpbook.lm.char_lm: vocabulary round trip, windows, and the held-out metric."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from nlpbook.lm.char_lm import CharLM, CharVocab, evaluate, random_windows, split_ids, train_char_lm

TEXT = "the cat sat on the mat. the dog sat on the log.\n" * 40


def test_vocab_round_trip_and_unknowns():
    vocab = CharVocab.build(TEXT + "q", min_count=2)
    assert "q" not in vocab.stoi
    ids = vocab.encode("the cat q")
    assert vocab.decode(ids) == "the cat " + CharVocab.UNK
    assert ids[-1].item() == 0


def test_windows_are_shifted_by_one():
    ids = torch.arange(100)
    x, y = random_windows(ids, 8, 10, torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (8, 10)
    assert torch.equal(y, x + 1)


def test_untrained_uniform_model_scores_log2_vocab_bits():
    vocab = CharVocab.build(TEXT)
    ids = vocab.encode(TEXT)
    model = CharLM(len(vocab), nn.GRU(4, 6, batch_first=True), 4, 6)
    with torch.no_grad():          # a read-out of zeros predicts the uniform distribution
        model.out.weight.zero_()
        model.out.bias.zero_()
    result = evaluate(model, ids, batch_size=4, seq_len=16)
    assert result["bpc"] == pytest.approx(math.log2(len(vocab)))
    assert result["perplexity"] == pytest.approx(len(vocab))


def test_evaluate_with_state_carry_equals_one_long_pass():
    vocab = CharVocab.build(TEXT)
    ids = vocab.encode(TEXT)[:401]
    torch.manual_seed(0)
    model = CharLM(len(vocab), nn.LSTM(4, 6, batch_first=True), 4, 6)
    chunked = evaluate(model, ids, batch_size=2, seq_len=7)
    whole = evaluate(model, ids, batch_size=2, seq_len=10_000)
    assert chunked["nats"] == pytest.approx(whole["nats"], rel=1e-5)


def test_training_lowers_held_out_bits():
    torch.manual_seed(0)
    vocab = CharVocab.build(TEXT)
    train_ids, valid_ids = split_ids(vocab.encode(TEXT))
    model = CharLM(len(vocab), nn.GRU(8, 32, batch_first=True), 8, 32)
    before = evaluate(model, valid_ids)["bpc"]
    record = train_char_lm(model, train_ids, valid_ids, steps=60, eval_every=30, batch_size=8, seq_len=32)
    assert record.steps == [30, 60]
    assert record.final_bpc < before - 1.0

"""BERT in practice: the FLOP formula, the length sweep and its fits, the verse-pair data set, the matchers."""
from __future__ import annotations

import math

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from nlpbook.bert import cost
from nlpbook.bert.matching import (CrossEncoded, TopLayerCrossEncoder, best_threshold, bi_encoder_scores,
                                   cross_encode, cross_encoder_scores, fine_tune_top_layer, fit_linear_probe,
                                   recall_at_1, sentence_embeddings)
from nlpbook.bert.classify import mean_pool
from nlpbook.stats import wilson_interval
from nlpbook.bert.model import BertConfig, BertModel
from nlpbook.bert.pairs import AlignedVerse, chapter_split, verse_pairs
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


def _tiny(fast=True, seed=0):
    torch.manual_seed(seed)
    return BertModel(BertConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64),
                     fast=fast).eval()


@pytest.fixture(scope="module")
def tokenizer():
    from nlpbook.bert.wordpiece import WordPieceTokenizer
    return WordPieceTokenizer.from_minilm()


@pytest.mark.parametrize("T,H,I", [(7, 16, 64), (40, 24, 48), (128, 32, 128)])
def test_layer_flops_equal_pytorchs_flop_counter(T, H, I):
    model = BertModel(BertConfig(hidden_size=H, num_attention_heads=4, intermediate_size=I, num_hidden_layers=1,
                                 vocab_size=10), fast=False).eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        model.encoder.layer[0](torch.randn(3, T, H))
    f = cost.layer_flops(T, H, I)
    assert counter.get_total_flops() == 3 * (f["linear"] + f["attention"])
    assert cost.forward_flops(T, H, 2, I, batch=3) == 6 * (f["linear"] + f["attention"])


def test_crossover_is_where_attention_equals_the_linear_layers():
    for H, I in [(384, 1536), (768, 3072), (64, 100)]:
        T = cost.crossover_length(H, I)
        f = cost.layer_flops(int(T), H, I)
        assert f["linear"] == f["attention"]
    assert cost.crossover_length(768) == 6 * 768


def test_fit_recovers_linear_and_quadratic_terms():
    T = [16, 32, 64, 128, 256, 512]
    fit = cost.fit_linear_quadratic(T, [0.01 + 2e-4 * t + 1e-7 * t * t for t in T])
    assert fit["a"] == pytest.approx(2e-4, rel=1e-6) and fit["b"] == pytest.approx(1e-7, rel=1e-6)
    assert fit["crossover"] == pytest.approx(2000, rel=1e-6)
    linear = cost.fit_linear_quadratic(T, [1e-3 * t - 1e-9 * t * t for t in T])
    assert linear["crossover"] == float("inf")
    with pytest.raises(InputError, match="T and seconds"):
        cost.fit_linear_quadratic([1, 2], [1, 2])


def test_running_text_batch_is_consecutive_text(tokenizer):
    texts = ["In the beginning God created the heaven and the earth.", "And the earth was without form, and void."]
    b = cost.running_text_batch(tokenizer, texts, 2, 8)
    ids = tokenizer.convert_tokens_to_ids(tokenizer.tokenize(texts[0]) + tokenizer.tokenize(texts[1]))
    assert b["input_ids"].tolist() == [[tokenizer.cls_id] + ids[:6] + [tokenizer.sep_id],
                                       [tokenizer.cls_id] + ids[6:12] + [tokenizer.sep_id]]
    assert bool(b["attention_mask"].all()) and int(b["token_type_ids"].abs().sum()) == 0
    with pytest.raises(InputError, match="tokens"):
        cost.running_text_batch(tokenizer, texts, 4, 32)


def test_length_sweep_times_every_model_at_every_length():
    m = _tiny()
    batches = {T: {"input_ids": torch.randint(0, 100, (2, T))} for T in (16, 4, 8)}
    out = cost.length_sweep({"a": lambda b: m(**b), "b": lambda b: m(**b)}, batches, rounds=2, warmup=0)
    assert [(c.name, c.T) for c in out] == [("a", 4), ("b", 4), ("a", 8), ("b", 8), ("a", 16), ("b", 16)]
    assert all(len(c.timing.samples) == 2 and c.timing.median > 0 and c.peak_bytes > 0 for c in out)
    # memory is an allocation count: the same call twice gives the same peak
    assert out[0].peak_bytes == out[1].peak_bytes


def test_explicit_attention_memory_grows_quadratically_and_the_fused_kernels_does_not():
    explicit, fused = _tiny(fast=False), _tiny(fast=True)
    fused.load_state_dict(explicit.state_dict())
    batches = {T: {"input_ids": torch.randint(0, 100, (1, T))} for T in (128, 256, 512)}
    out = cost.length_sweep({"explicit": lambda b: explicit(**b), "fused": lambda b: fused(**b)}, batches, rounds=1,
                            warmup=0)
    peak = {(c.name, c.T): c.peak_bytes for c in out}
    assert cost.loglog_slope([128, 256, 512], [peak["explicit", T] for T in (128, 256, 512)]) > 1.6
    assert cost.loglog_slope([128, 256, 512], [peak["fused", T] for T in (128, 256, 512)]) < 1.2


def _verses():
    """Six chapters of four verses each (texts unique), in order."""
    return [AlignedVerse((book, c, v), f"kjv {book} {c} {v}", f"web {book} {c} {v}")
            for book in ("Gen", "Exod", "Matt") for c in (1, 2) for v in (1, 2, 3, 4)]


def test_chapter_split_is_a_deterministic_function_of_the_chapter():
    refs = [("Gen", c, v) for c in range(1, 200) for v in (1, 5)]
    splits = [chapter_split(r) for r in refs]
    assert splits == [chapter_split(r) for r in refs]
    assert all(chapter_split(("Gen", c, 1)) == chapter_split(("Gen", c, 5)) for c in range(1, 200))
    share = {s: splits.count(s) / len(splits) for s in ("train", "valid", "test")}
    assert 0.45 < share["train"] < 0.75 and 0.08 < share["valid"] < 0.32 and 0.08 < share["test"] < 0.32, share
    assert {chapter_split(r, (1.0, 0.0, 0.0)) for r in refs} == {"train"}


def test_verse_pairs_are_leak_free_and_deterministic():
    verses = _verses()
    everything = (1.0, 0.0, 0.0)
    pairs = verse_pairs(verses, "train", seed=3, fractions=everything)
    assert pairs == verse_pairs(verses, "train", seed=3, fractions=everything)
    assert len(pairs) == 3 * len(verses)
    web_of = {v.ref: v.web for v in verses}
    for p in pairs:
        assert (p.label == 1) == (p.kind == "same") == (p.web == web_of[p.ref])
        assert p.web == web_of[p.web_ref]
        if p.kind == "neighbour":
            assert p.web_ref[:2] == p.ref[:2] and abs(p.web_ref[2] - p.ref[2]) == 1
        if p.kind == "random":
            assert p.web_ref[:2] != p.ref[:2]
    # with real fractions, the splits share no text
    texts = {}
    for split in ("train", "valid", "test"):
        try:
            texts[split] = {t for p in verse_pairs(verses, split) for t in (p.kjv, p.web)}
        except InputError:
            texts[split] = set()
    assert not (texts["train"] & texts["valid"]) and not (texts["train"] & texts["test"]) \
        and not (texts["valid"] & texts["test"])
    assert len(verse_pairs(verses, "train", max_verses=5, fractions=everything)) == 15


def test_mean_pool_ignores_padding_and_embeddings_do_not_depend_on_the_batch(tokenizer):
    h = torch.randn(2, 5, 3)
    mask = torch.tensor([[True, True, False, False, False], [True] * 5])
    out = mean_pool(h, mask)
    torch.testing.assert_close(out[0], h[0, :2].mean(0))
    torch.testing.assert_close(out[1], h[1].mean(0))
    m = _tiny()
    texts = ["a short one", "a much longer sentence that needs many more tokens than the first"]
    together = sentence_embeddings(m, tokenizer, texts)
    alone = torch.cat([sentence_embeddings(m, tokenizer, [t]) for t in texts])
    torch.testing.assert_close(together, alone, atol=1e-5, rtol=1e-5)


def test_probe_and_threshold():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 5, generator=g) * 10 + 3
    y = (x[:, 0] - 3 + 0.5 * (x[:, 1] - 3) > 0).long()
    probe = fit_linear_probe(x, y)
    assert float(((probe(x)[:, 0] > 0).long() == y).float().mean()) > 0.97
    scores = torch.randn(101, generator=g)
    labels = (scores + 0.5 * torch.randn(101, generator=g) > 0).long()
    th = best_threshold(scores, labels)
    best = max(float(((scores > t).long() == labels).float().mean())
               for t in torch.cat([scores - 1e-6, scores + 1e-6, torch.tensor([-9.0, 9.0])]))
    assert float(((scores > th).long() == labels).float().mean()) == pytest.approx(best)
    with pytest.raises(InputError, match="labels"):
        best_threshold(scores, labels * 2)


def test_wilson_interval_known_values():
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-3) and hi == pytest.approx(0.9433, abs=1e-3)
    assert wilson_interval(0, 5)[0] == 0.0 and wilson_interval(5, 5)[1] == pytest.approx(1.0)


def test_cross_encoder_grid_and_top_layer(tokenizer):
    m = _tiny()
    q, c = ["first query", "second query here"], ["one", "two words", "and three words"]
    grid = cross_encoder_scores(m, tokenizer, {"x": lambda e: e.cls[:, 0]}, q, c)["x"]
    assert grid.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            single = cross_encode(m, tokenizer, [q[i]], [c[j]]).cls[0, 0]
            assert float(grid[i, j]) == pytest.approx(float(single), abs=1e-5)
    bi = bi_encoder_scores(m, tokenizer, q, c)
    assert bi.shape == (2, 3) and float(bi.abs().max()) <= 1 + 1e-6
    assert recall_at_1(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1])) == 0.5
    # the top layer: a copy (the model is untouched), zero logits at the start, and it learns
    first = [f"verse {i} about the sea" if i % 2 else f"verse {i} about the land" for i in range(16)]
    enc = cross_encode(m, tokenizer, first, ["the sea"] * 16, batch_size=5)
    assert isinstance(enc, CrossEncoded) and len(enc) == 16
    assert float(TopLayerCrossEncoder(m).logits(enc).abs().max()) == 0.0
    before = {k: v.clone() for k, v in m.state_dict().items()}
    labels = torch.tensor([i % 2 for i in range(16)])
    top = fine_tune_top_layer(m, enc, labels, epochs=30, lr=3e-3, batch_size=4)
    assert all(torch.equal(before[k], v) for k, v in m.state_dict().items())
    assert float(((top.logits(enc) > 0).long() == labels).float().mean()) == 1.0

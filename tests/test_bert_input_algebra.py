"""BERT's input sum is a linear map of one-hot codes; the offset profile of a similarity matrix."""
from __future__ import annotations

import pytest
import torch

from nlpbook.bert.embeddings import BertEmbeddings
from nlpbook.bert.input_algebra import embedding_sum, offset_profile, one_hot_codes, stacked_table
from nlpbook.transformer.positional import sinusoidal_table
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def emb():
    torch.manual_seed(0)
    return BertEmbeddings(vocab_size=50, hidden_size=8, max_position_embeddings=12, type_vocab_size=2,
                          layer_norm_eps=1e-12, dropout=0.0).double().eval()


def test_sum_is_the_embedding_before_layernorm(emb):
    ids = torch.randint(0, 50, (3, 7), generator=torch.Generator().manual_seed(1))
    types = torch.tensor([[0, 0, 0, 1, 1, 1, 1]] * 3)
    s = embedding_sum(emb, ids, types)
    by_hand = emb.word_embeddings.weight[ids] + emb.token_type_embeddings.weight[types] + \
        emb.position_embeddings.weight[:7][None]
    assert torch.equal(s, by_hand)
    torch.testing.assert_close(emb.LayerNorm(s), emb(ids, types), rtol=0, atol=1e-12)
    assert torch.equal(embedding_sum(emb, ids), embedding_sum(emb, ids, torch.zeros_like(ids)))


def test_one_hot_codes_times_the_stacked_table_is_the_sum(emb):
    ids = torch.randint(0, 50, (2, 12), generator=torch.Generator().manual_seed(2))
    types = torch.randint(0, 2, (2, 12), generator=torch.Generator().manual_seed(3))
    codes = one_hot_codes(ids, types, vocab_size=50, type_vocab_size=2, max_position_embeddings=12,
                          dtype=torch.float64)
    assert codes.shape == (2, 12, 64) and torch.equal(codes.sum(-1), torch.full((2, 12), 3.0, dtype=torch.float64))
    assert torch.equal(codes[..., :50].argmax(-1), ids) and torch.equal(codes[..., 50:52].argmax(-1), types)
    assert torch.equal(codes[..., 52:].argmax(-1), torch.arange(12).expand(2, 12))
    table = stacked_table(emb)
    assert table.shape == (64, 8)
    torch.testing.assert_close(codes @ table, embedding_sum(emb, ids, types), rtol=0, atol=1e-14)
    # a wrong block order would break it: swap the segment and position blocks
    wrong = torch.cat([table[:50], table[52:], table[50:52]])
    assert (codes @ wrong - embedding_sum(emb, ids, types)).abs().max() > 1e-3


def test_token_effect_is_the_same_at_every_position_before_layernorm_only(emb):
    a = torch.full((1, 12), 7)
    b = torch.full((1, 12), 9)
    for types in (torch.zeros(1, 12, dtype=torch.long), torch.ones(1, 12, dtype=torch.long)):
        d = embedding_sum(emb, a, types) - embedding_sum(emb, b, types)
        assert torch.allclose(d, (emb.word_embeddings.weight[7] - emb.word_embeddings.weight[9]).expand(1, 12, 8),
                              atol=1e-14)
    d_ln = emb(a) - emb(b)
    assert (d_ln - d_ln.mean(1, keepdim=True)).abs().max() > 1e-4       # LayerNorm: no longer additive


def test_offset_profile_sinusoid_is_exactly_offset_dependent():
    pe = sinusoidal_table(64, 16, dtype=torch.float64)
    profile, r2 = offset_profile(pe @ pe.T)
    assert abs(r2 - 1.0) < 1e-12 and profile.shape == (64,)
    assert abs(profile[0].item() - 8.0) < 1e-12                         # ||PE||^2 = d/2
    torch.manual_seed(0)
    x = torch.randn(64, 16, dtype=torch.float64)
    _, r2_random = offset_profile(x @ x.T)
    assert r2_random < 0.5
    g = torch.tensor([[1.0, 2.0], [3.0, 1.0]])                         # diagonals: mean 1; off-diagonal: mean 2.5
    profile, r2 = offset_profile(g)
    assert torch.allclose(profile, torch.tensor([1.0, 2.5])) and abs(r2 - (1 - 0.5 / 2.75)) < 1e-6


def test_bad_inputs_are_named(emb):
    with pytest.raises(InputError, match="similarity"):
        offset_profile(torch.ones(3, 3))
    with pytest.raises(InputError, match="similarity"):
        offset_profile(torch.ones(2, 3))
    with pytest.raises(InputError, match="max_position_embeddings"):
        one_hot_codes(torch.zeros(1, 5, dtype=torch.long), torch.zeros(1, 5, dtype=torch.long), vocab_size=3,
                      type_vocab_size=2, max_position_embeddings=4)
    with pytest.raises(InputError, match="token_type_ids"):
        embedding_sum(emb, torch.zeros(1, 5, dtype=torch.long), torch.full((1, 5), 2))

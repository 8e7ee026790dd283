"""Additive (Bahdanau), dot and general attention: masking, normalisation, padding, gradients."""
import pytest
import torch

from nlpbook.seq2seq.attention import AdditiveAttention, DotAttention, GeneralAttention, attention, masked_softmax
from nlpbook.validate import InputError


pytestmark = pytest.mark.usefixtures("one_thread")

B, S, K, Q = 3, 6, 5, 5
LENGTHS = [6, 4, 1]


def _inputs(dtype=torch.float32, T=None):
    g = torch.Generator().manual_seed(0)
    keys = torch.randn(B, S, K, generator=g, dtype=dtype)
    query = torch.randn(B, Q, generator=g, dtype=dtype) if T is None else torch.randn(B, T, Q, generator=g, dtype=dtype)
    mask = torch.arange(S)[None, :] < torch.tensor(LENGTHS)[:, None]
    return query, keys, mask


def _modules(dtype=torch.float32):
    torch.manual_seed(0)
    return [AdditiveAttention(K, Q, 7).to(dtype), DotAttention(K).to(dtype), GeneralAttention(K, Q).to(dtype)]


def test_additive_score_is_the_seeds_formula():
    query, keys, mask = _inputs(torch.float64)
    att = _modules(torch.float64)[0]
    context, weights = att(query, keys, mask)
    W1, W2, v = att.W_1.weight, att.W_2.weight, att.v.weight[0]
    for b in range(B):
        u = torch.stack([v @ torch.tanh(W1 @ keys[b, i] + W2 @ query[b]) for i in range(LENGTHS[b])])
        alpha = torch.softmax(u, 0)
        torch.testing.assert_close(weights[b, :LENGTHS[b]], alpha)
        torch.testing.assert_close(context[b], (alpha[:, None] * keys[b, :LENGTHS[b]]).sum(0))


@pytest.mark.parametrize("index", [0, 1, 2])
def test_padding_gets_exactly_zero_and_rows_sum_to_one(index):
    query, keys, mask = _inputs(T=4)
    keys = keys.masked_fill(~mask[:, :, None], 1e6)               # huge padding values change nothing
    context, weights = _modules()[index](query, keys, mask)
    assert context.shape == (B, 4, K) and weights.shape == (B, 4, S)
    assert torch.all(weights.masked_select(~mask[:, None, :].expand_as(weights)) == 0)
    torch.testing.assert_close(weights.sum(-1), torch.ones(B, 4))
    assert torch.isfinite(context).all() and context.abs().max() < 1e3


@pytest.mark.parametrize("index", [0, 1, 2])
def test_more_padding_changes_nothing(index):
    query, keys, mask = _inputs()
    module = _modules()[index]
    context, weights = module(query, keys, mask)
    keys2 = torch.cat([keys, torch.randn(B, 3, K)], 1)
    mask2 = torch.cat([mask, torch.zeros(B, 3, dtype=torch.bool)], 1)
    context2, weights2 = module(query, keys2, mask2)
    torch.testing.assert_close(context2, context, rtol=1e-6, atol=1e-7)
    torch.testing.assert_close(weights2[:, :S], weights, rtol=1e-6, atol=1e-7)
    assert torch.all(weights2[:, S:] == 0)


@pytest.mark.parametrize("index", [0, 1, 2])
def test_gradcheck_float64(index):
    query, keys, mask = _inputs(torch.float64, T=2)
    module = _modules(torch.float64)[index]
    query.requires_grad_(True), keys.requires_grad_(True)
    assert torch.autograd.gradcheck(lambda q, k: module(q, k, mask), (query, keys))
    params = list(module.parameters())
    if params:
        ctx, _ = module(query, keys, mask)
        ctx.sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in params)


def test_a_fully_masked_row_is_an_error_not_nan():
    query, keys, mask = _inputs()
    mask[1] = False
    with pytest.raises(InputError, match="mask.*rows"):
        _modules()[0](query, keys, mask)


def test_shape_and_type_errors_name_the_argument():
    query, keys, mask = _inputs()
    att = _modules()[0]
    with pytest.raises(InputError, match="mask"):
        att(query, keys, mask[:, :4])                                # S mismatch
    with pytest.raises(InputError, match="mask"):
        att(query, keys, mask[:2])                                   # B mismatch
    with pytest.raises(InputError, match="mask"):
        att(query, keys, mask.float())                               # not bool
    with pytest.raises(InputError, match="query"):
        att(query[:, :3], keys, mask)                                # wrong Q
    with pytest.raises(InputError, match="keys"):
        att(query, keys[..., :2], mask)                              # wrong K
    with pytest.raises(InputError, match="query"):
        att(query.double(), keys, mask)                              # dtype mismatch
    with pytest.raises(InputError, match="kind"):
        attention("cosine", K, Q)
    with pytest.raises(InputError, match="dot"):
        attention("dot", 4, 5)


def test_masked_softmax_matches_softmax_over_the_real_positions():
    scores = torch.randn(2, 3, 5)
    mask = torch.tensor([[True, True, False, False, False], [True] * 5])
    w = masked_softmax(scores, mask)
    torch.testing.assert_close(w[0, :, :2], torch.softmax(scores[0, :, :2], -1))
    torch.testing.assert_close(w[1], torch.softmax(scores[1], -1))

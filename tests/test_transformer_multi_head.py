"""Multi-head attention: parity with nn.MultiheadAttention(batch_first=True) on copied weights
(key_padding_mask, attn_mask, averaged and per-head weights, gradients), permutation equivariance."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nlpbook.transformer.attention import causal_mask
from nlpbook.transformer.multi_head import MultiHeadAttention
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

B, T, S, D, H = 3, 5, 7, 16, 4


def _pair(fast=True, bias=True, dropout=0.0):
    torch.manual_seed(0)
    ref = nn.MultiheadAttention(D, H, dropout=dropout, bias=bias, batch_first=True).double()
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.1 * torch.randn_like(p))                 # non-zero biases: they must be copied too
    ours = MultiHeadAttention(D, H, dropout=dropout, bias=bias, fast=fast).double()
    ours.load_state_dict(ref.state_dict())
    return ours, ref


def _x(*shape, seed=1):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64,
                       requires_grad=True)


def _masks():
    kpm = torch.ones(B, S, dtype=torch.bool)
    kpm[0, -3:] = False
    am = torch.rand(T, S, generator=torch.Generator().manual_seed(2)) > 0.4
    am[:, 0] = True
    return kpm, am


def test_parameters_have_torch_names_and_shapes():
    ours, ref = _pair()
    assert {k: v.shape for k, v in ours.state_dict().items()} == {k: v.shape for k, v in ref.state_dict().items()}
    ref.load_state_dict(ours.state_dict())                      # and back
    fresh = MultiHeadAttention(D, H)
    assert torch.equal(fresh.in_proj_bias, torch.zeros(3 * D)) and torch.equal(fresh.out_proj.bias, torch.zeros(D))
    bound = (6 / (D + 3 * D)) ** 0.5                            # Xavier-uniform bound of a (3D, D) matrix
    assert fresh.in_proj_weight.abs().max() <= bound and fresh.in_proj_weight.abs().max() > 0.9 * bound


@pytest.mark.parametrize("fast", [True, False])
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("need_weights", [True, False])
def test_cross_attention_parity_with_both_masks(fast, bias, need_weights):
    ours, ref = _pair(fast, bias)
    q, kv = _x(B, T, D), _x(B, S, D, seed=2)
    kpm, am = _masks()
    out, w = ours(q, kv, kv, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights)
    ref_out, ref_w = ref(q, kv, kv, key_padding_mask=~kpm, attn_mask=~am, need_weights=need_weights)
    assert torch.allclose(out, ref_out, atol=1e-12), (out - ref_out).abs().max()
    if need_weights:
        assert w.shape == (B, T, S) and torch.allclose(w, ref_w, atol=1e-12)
        assert torch.all(w[0, :, -3:] == 0)
    else:
        assert w is None and ref_w is None
    g = torch.autograd.grad(out.sum(), [q, kv] + list(ours.parameters()))
    rg = torch.autograd.grad(ref_out.sum(), [q, kv] + list(ref.parameters()))
    for a, b in zip(g, rg):
        assert torch.allclose(a, b, atol=1e-11)


def test_per_head_weights_and_a_per_batch_per_head_mask():
    ours, ref = _pair(fast=False)
    x = _x(B, T, D)
    mask = torch.rand(B, H, T, T, generator=torch.Generator().manual_seed(4)) > 0.5
    mask |= torch.eye(T, dtype=torch.bool)
    out, w = ours(x, x, x, attn_mask=mask, average_attn_weights=False)
    ref_out, ref_w = ref(x, x, x, attn_mask=~mask.reshape(B * H, T, T), average_attn_weights=False)
    assert w.shape == (B, H, T, T)
    assert torch.allclose(out, ref_out, atol=1e-12) and torch.allclose(w, ref_w, atol=1e-12)


@pytest.mark.parametrize("fast", [True, False])
def test_self_attention_causal_parity(fast):
    ours, ref = _pair(fast)
    x = _x(B, T, D)
    out, _ = ours(x, x, x, is_causal=True, need_weights=False)
    ref_out, _ = ref(x, x, x, attn_mask=~causal_mask(T), need_weights=False)
    assert torch.allclose(out, ref_out, atol=1e-12)


def test_permutation_equivariance():
    ours, _ = _pair(fast=False)
    q, kv = _x(B, T, D), _x(B, S, D, seed=2)
    out, w = ours(q, kv, kv)
    pq, pk = torch.randperm(T), torch.randperm(S)
    out_q, _ = ours(q[:, pq], kv, kv)
    assert torch.allclose(out_q, out[:, pq], atol=1e-12), "permuting the queries permutes the outputs"
    out_k, w_k = ours(q, kv[:, pk], kv[:, pk])
    assert torch.allclose(out_k, out, atol=1e-12), "permuting keys and values together changes nothing"
    assert torch.allclose(w_k, w[:, :, pk], atol=1e-12)
    out_v, _ = ours(q, kv, kv[:, pk])
    assert not torch.allclose(out_v, out, atol=1e-3), "permuting the values alone must change the output"


def test_dropout_only_in_training():
    ours, _ = _pair(dropout=0.5)
    x = _x(B, T, D)
    ours.eval()
    assert torch.equal(ours(x, x, x)[0], ours(x, x, x)[0])
    ours.train()
    assert not torch.allclose(ours(x, x, x)[0], ours(x, x, x)[0])


def test_errors():
    with pytest.raises(InputError, match=r"embed_dim \(10\) must be divisible by num_heads \(4\)"):
        MultiHeadAttention(10, 4)
    ours = MultiHeadAttention(D, H)
    x = torch.randn(B, T, D)
    with pytest.raises(InputError, match=r"key is \(3, 5, 8\) but D = 16 \(embed_dim\)"):
        ours(x, x[..., :8], x)
    kpm = torch.ones(B, T, dtype=torch.bool)
    kpm[1] = False
    with pytest.raises(InputError, match="key_padding_mask leave 5 query row"):
        ours(x, x, x, key_padding_mask=kpm)

"""Encoder and decoder layers: parity with nn.TransformerEncoderLayer / nn.TransformerDecoderLayer
(batch_first, post-LN and pre-LN, ReLU and GELU, train and eval) on copied weights; causality;
padding invariance."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nlpbook.transformer.attention import causal_mask
from nlpbook.transformer.layers import DecoderLayer, EncoderLayer
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

B, T, S, D, H, F = 3, 5, 7, 16, 4, 24


def _x(*shape, seed=0):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)


def _padding():
    kpm = torch.ones(B, S, dtype=torch.bool)
    kpm[1, -3:] = False
    return kpm


def _copy(ours, ref):
    torch.manual_seed(0)
    with torch.no_grad():
        for p in ref.parameters():
            p.add_(0.1 * torch.randn_like(p))
    assert list(ours.state_dict()) == list(ref.state_dict()), "same names, same order"
    missing = ours.load_state_dict(ref.state_dict())
    assert not missing.missing_keys and not missing.unexpected_keys
    return ours.double(), ref.double()


CONFIGS = [(nf, act) for nf in (False, True) for act in ("relu", "gelu")]


@pytest.mark.parametrize("norm_first,activation", CONFIGS)
@pytest.mark.parametrize("mode", ["train", "eval"])
@pytest.mark.parametrize("fast", [True, False])
def test_encoder_layer_parity(norm_first, activation, mode, fast):
    dropout = 0.0 if mode == "train" else 0.1
    ours, ref = _copy(EncoderLayer(D, H, F, dropout, activation, norm_first=norm_first, fast=fast),
                      nn.TransformerEncoderLayer(D, H, F, dropout, activation, batch_first=True,
                                                 norm_first=norm_first))
    getattr(ours, mode)(), getattr(ref, mode)()
    x = _x(B, S, D).requires_grad_()
    kpm = _padding()
    y, r = ours(x, src_key_padding_mask=kpm), ref(x, src_key_padding_mask=~kpm)
    assert torch.allclose(y, r, atol=1e-12), (y - r).abs().max()
    if mode == "train":
        for a, b in zip(torch.autograd.grad(y.sum(), [x] + list(ours.parameters())),
                        torch.autograd.grad(r.sum(), [x] + list(ref.parameters()))):
            assert torch.allclose(a, b, atol=1e-10)
    y, r = ours(x, src_mask=causal_mask(S)), ref(x, src_mask=~causal_mask(S))
    assert torch.allclose(y, r, atol=1e-12)
    assert torch.allclose(ours(x, is_causal=True), r, atol=1e-12)


@pytest.mark.parametrize("norm_first,activation", CONFIGS)
@pytest.mark.parametrize("fast", [True, False])
def test_decoder_layer_parity(norm_first, activation, fast):
    ours, ref = _copy(DecoderLayer(D, H, F, 0.0, activation, norm_first=norm_first, fast=fast),
                      nn.TransformerDecoderLayer(D, H, F, 0.0, activation, batch_first=True, norm_first=norm_first))
    tgt, memory = _x(B, T, D).requires_grad_(), _x(B, S, D, seed=1).requires_grad_()
    kpm = _padding()
    tkpm = torch.ones(B, T, dtype=torch.bool)
    tkpm[2, -1] = False
    y = ours(tgt, memory, tgt_is_causal=True, memory_key_padding_mask=kpm, tgt_key_padding_mask=tkpm)
    r = ref(tgt, memory, tgt_mask=~causal_mask(T), memory_key_padding_mask=~kpm, tgt_key_padding_mask=~tkpm)
    assert torch.allclose(y, r, atol=1e-12), (y - r).abs().max()
    for a, b in zip(torch.autograd.grad(y.sum(), [tgt, memory] + list(ours.parameters())),
                    torch.autograd.grad(r.sum(), [tgt, memory] + list(ref.parameters()))):
        assert torch.allclose(a, b, atol=1e-10)
    mm = torch.rand(T, S, generator=torch.Generator().manual_seed(5)) > 0.5
    mm[:, 0] = True
    y = ours(tgt, memory, tgt_mask=causal_mask(T), memory_mask=mm)
    r = ref(tgt, memory, tgt_mask=~causal_mask(T), memory_mask=~mm)
    assert torch.allclose(y, r, atol=1e-12)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_is_causal(norm_first):
    layer = DecoderLayer(D, H, F, 0.0, norm_first=norm_first).double().eval()
    tgt, memory = _x(B, T, D), _x(B, S, D, seed=1)
    out = layer(tgt, memory, tgt_is_causal=True)
    for t in range(T):
        changed = tgt.clone()
        changed[:, t] = _x(B, D, seed=10 + t)
        new = layer(changed, memory, tgt_is_causal=True)
        assert torch.allclose(new[:, :t], out[:, :t], atol=1e-12), f"position {t} leaked into earlier outputs"
        assert not torch.allclose(new[:, t], out[:, t], atol=1e-6)
    leaky = layer(changed, memory)                               # without the causal mask it leaks
    assert not torch.allclose(leaky[:, 0], layer(tgt, memory)[:, 0], atol=1e-6)


def test_encoder_outputs_at_real_tokens_ignore_padding():
    layer = EncoderLayer(D, H, F, 0.0).double().eval()
    x, kpm = _x(B, S, D), _padding()
    junk = x.clone()
    junk[~kpm] = 1e3
    assert torch.allclose(layer(x, src_key_padding_mask=kpm)[kpm], layer(junk, src_key_padding_mask=kpm)[kpm],
                          atol=1e-12)


def test_layer_errors_name_the_argument():
    with pytest.raises(InputError, match=r"d_model \(10\) must be divisible by nhead \(4\)"):
        EncoderLayer(10, 4)
    with pytest.raises(InputError, match="activation must be one of"):
        EncoderLayer(D, H, activation="tanh")
    layer = DecoderLayer(D, H, F)
    x = torch.randn(B, T, D)
    kpm = torch.ones(B, S, dtype=torch.bool)
    kpm[0] = False
    with pytest.raises(InputError, match="memory_key_padding_mask leave"):
        layer(x, torch.randn(B, S, D), memory_key_padding_mask=kpm)
    with pytest.raises(InputError, match=r"memory is \(2, 7, 16\) but B = 3 \(tgt\)"):
        layer(x, torch.randn(2, S, D))

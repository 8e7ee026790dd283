"""The Transformer under the device audit: everything follows its inputs' device (no false alarm),
and an input left on the CPU fails as on a GPU."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nlpbook.device_audit import on_run_device

pytestmark = pytest.mark.usefixtures("one_thread")


def test_attention_and_layers_follow_the_device(dev):
    from nlpbook.transformer.attention import scaled_dot_product_attention
    from nlpbook.transformer.layers import DecoderLayer, EncoderLayer
    from nlpbook.transformer.multi_head import MultiHeadAttention
    from nlpbook.transformer.norms import BatchNorm1d, LayerNorm
    torch.manual_seed(0)
    B, T, S, D = 2, 5, 6, 32
    q = torch.randn(B, 4, T, 8, device=dev)
    k = torch.randn(B, 4, S, 8, device=dev)
    kpm = torch.ones(B, S, dtype=torch.bool, device=dev)
    for fast in (False, True):
        out, _ = scaled_dot_product_attention(q, k, k, key_padding_mask=kpm, causal=True, fast=fast)
        assert on_run_device(out)
    x, memory = torch.randn(B, T, D, device=dev), torch.randn(B, S, D, device=dev)
    mask = torch.ones(B, T, dtype=torch.bool, device=dev)
    for module, call in ((MultiHeadAttention(D, 4), lambda m: m(x, memory, memory, key_padding_mask=kpm)[0]),
                         (MultiHeadAttention(D, 4), lambda m: m(x, x, x, is_causal=True, need_weights=False)[0]),
                         (LayerNorm(D), lambda m: m(x)), (BatchNorm1d(D), lambda m: m(x, mask)),
                         (EncoderLayer(D, 4, 64, norm_first=True), lambda m: m(x, src_key_padding_mask=mask)),
                         (DecoderLayer(D, 4, 64, activation="gelu"),
                          lambda m: m(x, memory, tgt_is_causal=True, memory_key_padding_mask=kpm))):
        module.to(dev)
        out = call(module)
        out.sum().backward()
        assert on_run_device(out) and all(on_run_device(p.grad) for p in module.parameters()), module
    with pytest.raises((RuntimeError, ValueError), match="same device|on the CPU|is on cpu"):
        EncoderLayer(D, 4, 64).to(dev)(x, src_key_padding_mask=torch.ones(B, T, dtype=torch.bool))


def test_model_training_step_and_cached_decoding_on_the_device(dev):
    from nlpbook.transformer.model import Transformer
    torch.manual_seed(0)
    model = Transformer(20, 20, 32, 4, 1, 1, 64, dropout=0.1, max_len=32).to(dev)
    src = torch.randint(0, 20, (3, 7), device=dev)
    tgt = torch.randint(0, 20, (3, 6), device=dev)
    src_mask = torch.ones(3, 7, dtype=torch.bool, device=dev)
    src_mask[0, -2:] = False
    logits = model(src, tgt[:, :-1], src_mask)
    loss = F.cross_entropy(logits.reshape(-1, 20), tgt[:, 1:].reshape(-1))
    loss.backward()
    assert on_run_device(loss) and all(on_run_device(p.grad) for p in model.parameters())
    model.eval()
    for use_cache in (True, False):
        ids, step_logits = model.greedy_decode(src, 1, 5, src_mask, use_cache=use_cache)
        assert on_run_device(ids) and on_run_device(step_logits) and ids.shape == (3, 6)
    with pytest.raises((RuntimeError, ValueError), match="same device|on the CPU|is on cpu"):
        model(src.cpu(), tgt)

"""The GPT of the zoo: shapes, causality by perturbation, its block is Part IV's DecoderLayer without cross-attention."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nlpbook.pretrain.gpt import GPT, GPTConfig, causal_lm_loss
from nlpbook.transformer.layers import DecoderLayer, EncoderLayer
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")
V, D, T = 40, 16, 10


def _gpt(dtype=torch.float32, **kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(V, d_model=D, num_layers=2, num_heads=2, dim_feedforward=32, max_length=16, dropout=0.0,
                         **kw)).to(dtype).eval()


def _ids(B=3, seed=0):
    return torch.randint(5, V, (B, T), generator=torch.Generator().manual_seed(seed))


def test_shapes_and_the_tied_softmax():
    model = _gpt()
    ids = _ids()
    states = model.hidden_states(ids)
    assert len(states) == 3 and all(h.shape == (3, T, D) for h in states)
    logits = model(ids)
    assert logits.shape == (3, T, V)
    torch.testing.assert_close(logits, states[-1] @ model.token_embedding.weight.T + model.output_bias)
    names = [n for n, _ in model.named_parameters()]
    assert not any("multihead_attn" in n or "norm3" in n for n in names)      # no cross-attention anywhere


def test_the_output_at_t_ignores_every_token_after_t():
    model = _gpt(torch.float64)
    ids = _ids(B=2)
    base = model(ids)
    for t in range(T):
        changed = ids.clone()
        changed[:, t] = (changed[:, t] + 7 - 5) % (V - 5) + 5                  # another non-special id
        out = model(changed)
        assert torch.equal(out[:, :t], base[:, :t]), f"a change at {t} reached an earlier position"
        assert (out[:, t:] - base[:, t:]).abs().amax(-1).min() > 1e-6, f"a change at {t} did not reach t..T-1"


def test_right_padding_changes_nothing_at_the_real_tokens():
    model = _gpt(torch.float64)
    ids = _ids(B=2)
    mask = torch.ones(2, T, dtype=torch.bool)
    mask[1, 6:] = False
    padded = ids.clone()
    padded[1, 6:] = 0
    full = model(padded, mask)
    alone = model(ids[1:, :6])
    torch.testing.assert_close(full[1, :6], alone[0], rtol=0, atol=1e-12)


def test_a_gpt_block_is_part_four_decoder_layer_without_cross_attention():
    """Copied weights: a full DecoderLayer's self-attention, FFN and their norms, with the cross-attention sublayer
    cut out by hand, equals the block; and the block equals torch's encoder layer under a causal mask."""
    torch.manual_seed(1)
    full = DecoderLayer(D, 2, 32, 0.0, activation="gelu").double().eval()          # with cross-attention
    block = _gpt(torch.float64).blocks[0]
    assert isinstance(block, DecoderLayer) and not block.cross_attention
    with torch.no_grad():
        for name in ("self_attn", "linear1", "linear2", "norm1"):
            getattr(block, name).load_state_dict(getattr(full, name).state_dict())
        block.norm2.load_state_dict(full.norm3.state_dict())                      # the FFN's norm
    x = torch.randn(2, T, D, dtype=torch.float64)
    causal = torch.ones(T, T, dtype=torch.bool).tril()
    a = full.norm1(x + full.self_attn(x, x, x, attn_mask=causal, need_weights=False)[0])   # sublayer 1
    ref = full.norm3(a + full.linear2(F.gelu(full.linear1(a))))                             # sublayer 3 (2 cut)
    torch.testing.assert_close(block(x, None, tgt_is_causal=True), ref, rtol=0, atol=1e-12)
    torch_layer = nn.TransformerEncoderLayer(D, 2, 32, 0.0, activation="gelu", batch_first=True).double().eval()
    torch_layer.load_state_dict(block.state_dict())                               # the same names
    torch_mask = nn.Transformer.generate_square_subsequent_mask(T, dtype=torch.float64)
    torch.testing.assert_close(block(x, None, tgt_is_causal=True), torch_layer(x, src_mask=torch_mask, is_causal=True),
                               rtol=0, atol=1e-10)
    # and it is an EncoderLayer with a causal mask, parameter for parameter
    encoder = EncoderLayer(D, 2, 32, 0.0, activation="gelu").double().eval()
    encoder.load_state_dict(block.state_dict())
    torch.testing.assert_close(block(x, None, tgt_is_causal=True), encoder(x, is_causal=True), rtol=0, atol=1e-12)


def test_causal_lm_loss_counts_only_real_successors():
    model = _gpt()
    ids = _ids(B=2)
    mask = torch.ones(2, T, dtype=torch.bool)
    mask[0, 7:] = False
    logits = model(ids, mask)
    loss, n = causal_lm_loss(logits, ids, mask)
    assert n == (T - 1) + 6
    manual = torch.cat([F.cross_entropy(logits[0, :6], ids[0, 1:7], reduction="none"),
                        F.cross_entropy(logits[1, :-1], ids[1, 1:], reduction="none")]).mean()
    torch.testing.assert_close(loss, manual)


def test_bad_inputs_are_refused_by_name():
    model = _gpt()
    ids = _ids()
    with pytest.raises(InputError, match="max_length"):
        model(torch.randint(5, V, (1, 17)))
    left = torch.ones(3, T, dtype=torch.bool)
    left[0, 0] = False
    with pytest.raises(InputError, match="attention_mask"):
        model(ids, left)
    gap = torch.ones(3, T, dtype=torch.bool)
    gap[0, 3] = False
    with pytest.raises(InputError, match="attention_mask"):
        model(ids, gap)
    with pytest.raises(InputError, match="input_ids"):
        model(ids.float())
    with pytest.raises(InputError, match="memory"):
        model.blocks[0](torch.randn(2, T, D), torch.randn(2, 3, D))
    with pytest.raises(InputError, match="cross_attention"):
        DecoderLayer(D, 2, cross_attention="no")
    with pytest.raises(InputError, match="d_model"):
        GPTConfig(V, d_model=15, num_heads=2)

"""The encoder-decoder Transformer: parity with nn.Transformer (its final LayerNorms), the
paper's option without them, sqrt(d) embeddings, weight tying, and the KV cache equal to
recomputing the prefix."""
from __future__ import annotations

import math
import warnings

import pytest
import torch
from torch import nn

from nlpbook.transformer.attention import causal_mask
from nlpbook.transformer.kv_cache import KVCache
from nlpbook.transformer.model import Transformer
from nlpbook.transformer.positional import sinusoidal_table
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

B, S, T, D, H, F, VS, VT = 3, 7, 6, 16, 4, 24, 11, 13


def _ids(shape, vocab, seed):
    return torch.randint(0, vocab, shape, generator=torch.Generator().manual_seed(seed))


def _src_mask():
    mask = torch.ones(B, S, dtype=torch.bool)
    mask[0, -2:] = False
    return mask


def _model(**kw):
    torch.manual_seed(0)
    args = dict(d_model=D, nhead=H, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=F, dropout=0.0)
    return Transformer(VS, VT, **(args | kw)).double()


@pytest.mark.parametrize("norm_first", [False, True])
def test_parity_with_nn_transformer(norm_first):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                          # its nested-tensor notice for norm_first
        ref = nn.Transformer(D, H, 2, 2, F, dropout=0.0, batch_first=True, norm_first=norm_first).double()
    model = _model(norm_first=norm_first, final_norm=True)
    model.encoder.load_state_dict(ref.encoder.state_dict())
    model.decoder.load_state_dict(ref.decoder.state_dict())
    src, tgt, mask = _ids((B, S), VS, 1), _ids((B, T), VT, 2), _src_mask()
    xs, xt = model.embed(src, model.src_embed), model.embed(tgt, model.tgt_embed)
    r = ref(xs, xt, tgt_mask=~causal_mask(T), src_key_padding_mask=~mask, memory_key_padding_mask=~mask)
    memory = model.encoder(xs, src_key_padding_mask=mask)
    y = model.decoder(xt, memory, memory_key_padding_mask=mask)
    assert torch.allclose(y, r, atol=1e-12), (y - r).abs().max()
    assert torch.allclose(model(src, tgt, mask), model.output(y), atol=1e-12)


def test_final_norm_default_follows_the_paper():
    assert _model().encoder.norm is None and _model().decoder.norm is None, "post-LN paper model: no final LN"
    assert _model(norm_first=True).encoder.norm is not None and _model(norm_first=True).decoder.norm is not None
    assert _model(final_norm=True).encoder.norm is not None


def test_embeddings_scaled_by_sqrt_d_and_tied():
    model = _model()
    ids = _ids((B, T), VT, 3)
    expected = model.tgt_embed(ids) * math.sqrt(D) + sinusoidal_table(T, D).double()   # its float32 buffer
    assert torch.allclose(model.embed(ids, model.tgt_embed), expected, atol=1e-12)
    assert 0.5 < (model.tgt_embed.weight * math.sqrt(D)).std() < 2, "sqrt(D) E has entries of size ~1"
    assert model.output.weight is model.tgt_embed.weight
    assert model.src_embed is not model.tgt_embed
    untied = _model(tie_output=False)
    assert untied.output.weight is not untied.tgt_embed.weight
    shared = Transformer(VS, VS, D, H, 1, 1, F, share_embeddings=True)
    assert shared.src_embed is shared.tgt_embed is not None and shared.output.weight is shared.src_embed.weight
    with pytest.raises(InputError, match="share_embeddings needs one vocabulary"):
        Transformer(VS, VT, D, H, share_embeddings=True)


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("positional", ["sinusoidal", "learned"])
def test_kv_cache_equals_recomputing_the_prefix(norm_first, positional):
    model = _model(norm_first=norm_first, positional=positional).eval()
    src, mask = _ids((B, S), VS, 1), _src_mask()
    tgt = _ids((B, T), VT, 2)
    memory = model.encode(src, mask)
    full = model.decode(tgt, memory, mask)                        # (B, T, V): all positions at once
    cache = KVCache(2)
    steps = [model.decode(tgt[:, t:t + 1], memory, mask, cache=cache) for t in range(T)]
    assert cache.length == T and cache.layers[0].self_k.shape == (B, H, T, D // H)
    assert torch.allclose(torch.cat(steps, 1), full, atol=1e-10)
    cache2 = KVCache(2)                                          # chunks of several tokens at once
    chunks = [model.decode(tgt[:, :2], memory, mask, cache=cache2),
              model.decode(tgt[:, 2:], memory, mask, cache=cache2)]
    assert torch.allclose(torch.cat(chunks, 1), full, atol=1e-10)
    ids, logits = model.greedy_decode(src, 1, 8, mask)
    ids_ref, logits_ref = model.greedy_decode(src, 1, 8, mask, use_cache=False)
    assert torch.equal(ids, ids_ref) and ids.shape == (B, 9)
    assert torch.allclose(logits, logits_ref, atol=1e-10)
    assert torch.equal(logits.argmax(-1), ids[:, 1:])


def test_a_cache_of_another_model_or_batch_is_refused():
    model = _model().eval()
    src, mask = _ids((B, S), VS, 1), _src_mask()
    memory = model.encode(src, mask)
    with pytest.raises(InputError, match="cache has 3 layers but the decoder has 2"):
        model.decode(_ids((B, 1), VT, 2), memory, mask, cache=KVCache(3))
    cache = KVCache(2)
    model.decode(_ids((B, 1), VT, 2), memory, mask, cache=cache)
    with pytest.raises(InputError, match="cache"):
        model.decode(_ids((2, 1), VT, 2), memory[:2], mask[:2], cache=cache)
    with pytest.raises(InputError, match="not supported with a cache"):
        model.decode(_ids((B, 1), VT, 2), memory, mask, tgt_mask=torch.ones(B, 1, dtype=torch.bool), cache=cache)


def test_greedy_decode_stops_at_eos_and_checks_lengths():
    model = _model().eval()
    src = _ids((B, S), VS, 1)
    ids, _ = model.greedy_decode(src, 1, 8)
    eos = int(ids[0, 1])
    ids, logits = model.greedy_decode(src, 1, 8, eos_id=eos)
    after = (ids[:, 1:] == eos).cumsum(1) > 0
    assert torch.all(ids[:, 1:][after] == eos), "after eos a sequence repeats eos"
    with pytest.raises(InputError, match="max_new_tokens"):
        Transformer(VS, VT, D, H, 1, 1, F, max_len=8).greedy_decode(src, 1, 8)
    with pytest.raises(IndexError, match="src holds ids"):
        model(src + VS, _ids((B, T), VT, 2))
    with pytest.raises(InputError, match=r"tgt is \(2, 6\) but B = 3 \(src\)"):
        model(src, _ids((2, T), VT, 2))

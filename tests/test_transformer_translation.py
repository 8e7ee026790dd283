"""The Transformer on Part III's translation task: loss, schedule, training, cache, decoding, attention maps."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nlpbook.seq2seq.batching import pad_ids
from nlpbook.seq2seq.decoding import normalised
from nlpbook.seq2seq.experiment import TranslationData
from nlpbook.seq2seq.loss import masked_cross_entropy
from nlpbook.seq2seq.split import TranslationSplit
from nlpbook.seq2seq.subwords import train_bpe
from nlpbook.transformer import translation as tr
from nlpbook.transformer.layers import DecoderLayer, EncoderLayer
from nlpbook.transformer.model import Transformer
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

V = 13
SRC = [[5, 6, 7, 3], [8, 9, 3], [10, 3], [4, 11, 12, 5, 3]]


def _model(eos_bias=0.0, seed=0, norm_first=False):
    torch.manual_seed(seed)
    model = Transformer(V, V, d_model=16, nhead=4, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=24,
                        dropout=0.1, max_len=12, norm_first=norm_first, tie_output=False).double()
    with torch.no_grad():
        model.output.weight.mul_(4.0)                           # peaked distributions, as after training
        model.output.weight[tr.EOS] *= 0.0
        model.output.weight[tr.EOS, 0] = eos_bias               # <eos> logit = eos_bias * h_0 (h is normalised)
    return model.eval()


def _src():
    return pad_ids(SRC, tr.PAD)


# ------------------------------------------------------------------------------ loss and schedule
def test_label_smoothed_loss_is_the_formula_and_ignores_padding():
    torch.manual_seed(0)
    logits = torch.randn(3, 5, 7, dtype=torch.float64)
    targets = torch.randint(0, 7, (3, 5))
    mask = torch.tensor([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1], [1, 0, 0, 0, 0]], dtype=torch.bool)
    eps = 0.1
    logp = torch.log_softmax(logits, -1)
    per_token = (1 - eps) * -logp.gather(-1, targets[..., None])[..., 0] + eps / 7 * -logp.sum(-1)
    expected = per_token[mask].mean()
    assert float(tr.label_smoothed_loss(logits, targets, mask, eps)) == pytest.approx(float(expected), abs=1e-12)
    assert float(tr.label_smoothed_loss(logits, targets, mask, 0.0)) == pytest.approx(
        float(masked_cross_entropy(logits, targets, mask)), abs=1e-12)
    poisoned = logits.clone()
    poisoned[~mask] = float("nan")                              # padding never reaches the loss
    assert float(tr.label_smoothed_loss(poisoned, targets, mask, eps)) == pytest.approx(float(expected), abs=1e-12)


def test_warmup_schedule_rises_linearly_peaks_then_falls_as_inverse_sqrt():
    w = 40
    assert tr.warmup_factor(1, w) == pytest.approx(1 / w)
    assert tr.warmup_factor(20, w) == pytest.approx(0.5)
    assert tr.warmup_factor(w, w) == pytest.approx(1.0)
    assert tr.warmup_factor(4 * w, w) == pytest.approx(0.5)
    factors = [tr.warmup_factor(s, w) for s in range(1, 200)]
    assert max(factors) == pytest.approx(1.0) and factors.index(max(factors)) == w - 1
    d = 512                                                     # the paper: d^-0.5 min(s^-0.5, s w^-1.5)
    for s in (1, 100, 4000, 10000):
        paper = d ** -0.5 * min(s ** -0.5, s * 4000 ** -1.5)
        assert tr.paper_peak_lr(d, 4000) * tr.warmup_factor(s, 4000) == pytest.approx(paper)


# ------------------------------------------------------------------------------ training and the cache
def _tiny_data():
    pairs = [("ein hund", "a dog"), ("eine katze", "a cat"), ("der hund schläft", "the dog sleeps"),
             ("die katze isst", "the cat eats"), ("ein hund isst", "a dog eats"), ("die katze schläft", "the cat sleeps")]
    de = train_bpe([a for a, _ in pairs], 40, cache_name=None)
    en = train_bpe([b for _, b in pairs], 40, cache_name=None)
    return TranslationData(TranslationSplit(pairs, pairs[:2], pairs[:3]), de, en,
                           de.encode_batch([a for a, _ in pairs]), en.encode_batch([b for _, b in pairs]), 3)


CONFIG = dict(d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=32, dropout=0.0,
              max_len=16)


def test_training_memorises_a_tiny_corpus_and_the_schedule_is_applied(monkeypatch):
    data = _tiny_data()
    torch.manual_seed(0)
    model = tr.build_transformer(CONFIG, data)
    seen = []
    real_step = torch.optim.Adam.step

    def spy(self, *a, **k):
        seen.append((self.param_groups[0]["lr"], self.param_groups[0]["betas"], self.param_groups[0]["eps"]))
        return real_step(self, *a, **k)
    monkeypatch.setattr(torch.optim.Adam, "step", spy)
    info = tr.train_transformer(model, data.train_src, data.train_tgt, epochs=60, batch_size=3, lr=5e-3,
                                warmup_steps=10, label_smoothing=0.0, seed=0, progress=False)
    assert info["steps"] == 120 and len(info["epoch_losses"]) == 60
    assert seen[0][1] == (0.9, 0.98) and seen[0][2] == 1e-9
    assert [s[0] for s in seen[:3]] == pytest.approx([5e-3 / 10, 2 * 5e-3 / 10, 3 * 5e-3 / 10])
    assert seen[9][0] == pytest.approx(5e-3) and seen[39][0] == pytest.approx(5e-3 / 2)
    assert info["epoch_nll"][-1] < 0.1 < info["epoch_nll"][0]
    assert info["epoch_losses"] == pytest.approx(info["epoch_nll"])         # no smoothing: the same loss
    assert info["target_tokens"] == 60 * sum(len(t) + 1 for t in data.train_tgt)
    assert info["tokens_per_second"] > 0 and not model.training
    hyp = tr.translate(model, data.src_tokenizer, data.tgt_tokenizer, [a for a, _ in data.split.train])
    assert hyp == [b for _, b in data.split.train]
    losses = tr.loss_per_piece(model, data, [a for a, _ in data.split.train], hyp, batch_size=4)
    assert len(losses) == 6 and max(losses) < 0.1
    assert tr.translate(model, data.src_tokenizer, data.tgt_tokenizer, [a for a, _ in data.split.train],
                        beam_size=3, batch_size=2) == hyp


def test_label_smoothing_keeps_the_smoothed_loss_above_the_nll():
    data = _tiny_data()
    torch.manual_seed(0)
    model = tr.build_transformer(CONFIG, data)
    info = tr.train_transformer(model, data.train_src, data.train_tgt, epochs=30, batch_size=3, lr=5e-3,
                                warmup_steps=10, label_smoothing=0.2, progress=False)
    # the smoothed target has entropy > 0: the objective cannot reach 0, the NLL falls below it
    assert all(s > n for s, n in zip(info["epoch_losses"], info["epoch_nll"]))
    assert info["epoch_losses"][-1] > 0.2


def test_trained_transformer_trains_once_then_loads_the_same_weights(tmp_path, monkeypatch):
    import nlpbook.checkpoints
    monkeypatch.setattr(nlpbook.checkpoints, "data_root", lambda: str(tmp_path))
    data = _tiny_data()
    kw = dict(epochs=2, batch_size=3, lr=1e-3, warmup_steps=4, seed=1, progress=False, name="t-test")
    first, info1 = tr.trained_transformer(CONFIG, data, **kw)
    second, info2 = tr.trained_transformer(CONFIG, data, **kw)
    assert not info1["loaded"] and info2["loaded"] and info1["key"] == info2["key"]
    assert info2["train_info"]["epoch_losses"] == info1["train_info"]["epoch_losses"]
    for (n, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), n
    _, info3 = tr.trained_transformer(CONFIG, data, **(kw | {"warmup_steps": 5}))
    assert not info3["loaded"] and info3["key"] != info1["key"]                # settings are in the key
    _, info4 = tr.trained_transformer(CONFIG | {"nhead": 4}, data, **kw)
    assert not info4["loaded"]
    assert first.src_vocab_size == len(data.src_tokenizer) and first.tgt_vocab_size == len(data.tgt_tokenizer)


def test_loss_per_piece_is_the_teacher_forced_cross_entropy():
    data = _tiny_data()
    torch.manual_seed(0)
    model = tr.build_transformer(CONFIG, data).double().eval()
    src, ref = [a for a, _ in data.split.train], [b for _, b in data.split.train]
    losses = tr.loss_per_piece(model, data, src, ref, batch_size=4)
    for a, b, got in zip(src, ref, losses):
        x = torch.tensor([data.src_tokenizer.encode(a) + [tr.EOS]])
        y = data.tgt_tokenizer.encode(b)
        s = tr.score_sequences(model, x, torch.ones_like(x, dtype=torch.bool), [y + [tr.EOS]])
        assert got == pytest.approx(-s.log_probs[0] / (len(y) + 1), abs=1e-9)


def test_config_is_checked():
    data = _tiny_data()
    with pytest.raises(InputError, match="unknown keys"):
        tr.build_transformer({"d_model": 16, "heads": 2}, data)
    with pytest.raises(InputError, match="src_vocab_size"):
        tr.build_transformer({"d_model": 16})


# ------------------------------------------------------------------------------ decoding
@pytest.mark.parametrize("eos_bias", [1.0, 2.0])
@pytest.mark.parametrize("norm_first", [False, True])
def test_beam_size_one_is_greedy_and_greedy_is_the_models_greedy_decode(eos_bias, norm_first):
    model, (src, mask) = _model(eos_bias, norm_first=norm_first), _src()
    greedy = tr.greedy_decode(model, src, mask)
    beam = tr.beam_search(model, src, mask, beam_size=1)
    assert beam.ids == greedy.ids
    assert beam.log_probs == pytest.approx(greedy.log_probs, abs=1e-9)
    ids, _ = model.greedy_decode(src, tr.BOS, model.max_len - 1, src_mask=mask, eos_id=tr.EOS, use_cache=False)
    for row, hyp in zip(ids[:, 1:].tolist(), greedy.ids):       # the model's own (uncached) greedy search
        n = min(len(hyp), len(row))                             # (it makes at most max_len - 1 tokens)
        assert row[:n] == hyp[:n]
    assert any(len(h) >= 3 for h in greedy.ids)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 0.6])
@pytest.mark.parametrize("beam_size", [1, 3, 5])
def test_returned_scores_equal_teacher_forced_log_probs(beam_size, length_penalty):
    model, (src, mask) = _model(eos_bias=2.0), _src()
    hyps = tr.beam_search(model, src, mask, beam_size=beam_size, length_penalty=length_penalty)
    if length_penalty == 1.0:
        assert any(len(s) > 1 for s in hyps.ids)
    forced = tr.score_sequences(model, src, mask, hyps.ids, length_penalty=length_penalty)
    assert hyps.log_probs == pytest.approx(forced.log_probs, abs=1e-9)
    assert hyps.scores == pytest.approx(forced.scores, abs=1e-9)
    assert hyps.scores == pytest.approx([normalised(lp, len(s), length_penalty)
                                         for lp, s in zip(hyps.log_probs, hyps.ids)])


def test_decoding_runs_in_evaluation_mode_and_restores_the_mode():
    model, (src, mask) = _model(eos_bias=2.0), _src()
    expected = tr.beam_search(model, src, mask, beam_size=3)
    model.train()                                               # dropout 0.1: would change the result
    assert tr.beam_search(model, src, mask, beam_size=3).ids == expected.ids
    assert tr.greedy_decode(model, src, mask).ids == tr.beam_search(model, src, mask, beam_size=1).ids
    assert model.training


def test_decoding_stops_at_eos_and_at_max_len():
    model, (src, mask) = _model(eos_bias=1e4), _src()                      # <eos> at once
    for hyps in (tr.greedy_decode(model, src, mask), tr.beam_search(model, src, mask, beam_size=3)):
        assert hyps.ids == [[tr.EOS]] * len(SRC)
    model = _model(eos_bias=-1e4)                                          # <eos> never
    for hyps in (tr.greedy_decode(model, src, mask, max_len=4), tr.beam_search(model, src, mask, beam_size=3,
                                                                                 max_len=4)):
        assert all(len(s) == 4 and tr.EOS not in s for s in hyps.ids)
        assert hyps.log_probs == pytest.approx(tr.score_sequences(model, src, mask, hyps.ids).log_probs, abs=1e-9)


def test_padding_a_source_changes_no_translation():
    model, (src, mask) = _model(eos_bias=2.0), _src()
    alone = [tr.beam_search(model, src[i:i + 1, :len(s)], mask[i:i + 1, :len(s)], beam_size=3).ids[0]
             for i, s in enumerate(SRC)]
    assert tr.beam_search(model, src, mask, beam_size=3).ids == alone


def test_decoding_rejects_bad_arguments():
    model, (src, mask) = _model(), _src()
    with pytest.raises(InputError, match="max_len"):
        tr.greedy_decode(model, src, mask, max_len=13)
    with pytest.raises(InputError, match="beam_size"):
        tr.beam_search(model, src, mask, beam_size=0)
    with pytest.raises(InputError, match="src_mask"):
        tr.greedy_decode(model, src, torch.zeros_like(mask))
    with pytest.raises(InputError, match="ids"):
        tr.score_sequences(model, src, mask, [[4]] * 3)


# ------------------------------------------------------------------------------ attention weights
@pytest.mark.parametrize("norm_first", [False, True])
def test_layers_return_the_weights_of_torch_multihead_attention(norm_first):
    torch.manual_seed(0)
    D, H = 16, 4
    ours_enc = EncoderLayer(D, H, 24, dropout=0.0, norm_first=norm_first).double().eval()
    ref_enc = nn.TransformerEncoderLayer(D, H, 24, dropout=0.0, batch_first=True, norm_first=norm_first).double().eval()
    ours_enc.load_state_dict(ref_enc.state_dict())
    x = torch.randn(2, 5, D, dtype=torch.float64)
    kpm = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=torch.bool)
    out, w = ours_enc(x, src_key_padding_mask=kpm, need_weights=True)
    assert torch.allclose(out, ours_enc(x, src_key_padding_mask=kpm), atol=1e-12)   # the same output
    h = ref_enc.norm1(x) if norm_first else x
    _, ref_w = ref_enc.self_attn(h, h, h, key_padding_mask=~kpm, average_attn_weights=False)
    assert w["self"].shape == (2, H, 5, 5)
    assert torch.allclose(w["self"], ref_w, atol=1e-12)

    ours_dec = DecoderLayer(D, H, 24, dropout=0.0, norm_first=norm_first).double().eval()
    ref_dec = nn.TransformerDecoderLayer(D, H, 24, dropout=0.0, batch_first=True, norm_first=norm_first).double().eval()
    ours_dec.load_state_dict(ref_dec.state_dict())
    y = torch.randn(2, 4, D, dtype=torch.float64)
    out, w = ours_dec(y, x, memory_key_padding_mask=kpm, tgt_is_causal=True, need_weights=True)
    assert torch.allclose(out, ours_dec(y, x, memory_key_padding_mask=kpm, tgt_is_causal=True), atol=1e-12)
    causal = torch.triu(torch.ones(4, 4, dtype=torch.bool), 1)             # PyTorch: True = forbidden
    h = ref_dec.norm1(y) if norm_first else y
    _, ref_self = ref_dec.self_attn(h, h, h, attn_mask=causal, average_attn_weights=False)
    assert torch.allclose(w["self"], ref_self, atol=1e-12)
    y1 = y + ref_dec._sa_block(ref_dec.norm1(y), causal, None) if norm_first else \
        ref_dec.norm1(y + ref_dec._sa_block(y, causal, None))
    h = ref_dec.norm2(y1) if norm_first else y1
    _, ref_cross = ref_dec.multihead_attn(h, x, x, key_padding_mask=~kpm, average_attn_weights=False)
    assert w["cross"].shape == (2, H, 4, 5)
    assert torch.allclose(w["cross"], ref_cross, atol=1e-12)


def test_attention_maps_are_those_of_the_model():
    model, (src, mask) = _model(eos_bias=2.0), _src()
    model.train()
    tgt_in = torch.tensor([[tr.BOS, 5, 6], [tr.BOS, 7, 8], [tr.BOS, 9, 4], [tr.BOS, 4, 4]])
    maps = tr.attention_maps(model, src, mask, tgt_in)
    assert model.training                                                  # mode restored
    model.eval()
    assert torch.allclose(maps["logits"], model(src, tgt_in, mask), atol=1e-12)
    B, S, T, H = 4, src.shape[1], 3, 4
    assert [m.shape for m in maps["encoder_self"]] == [(B, H, S, S)] * 2
    assert [m.shape for m in maps["decoder_self"]] == [(B, H, T, T)] * 2
    assert [m.shape for m in maps["cross"]] == [(B, H, T, S)] * 2
    for name in ("encoder_self", "decoder_self", "cross"):
        for m in maps[name]:
            assert torch.allclose(m.sum(-1), torch.ones_like(m.sum(-1)), atol=1e-12)
    for m in maps["encoder_self"] + maps["cross"]:
        assert float(m.masked_select(~mask[:, None, None, :].expand_as(m)).abs().max()) == 0.0
    for m in maps["decoder_self"]:
        assert float(torch.triu(m, diagonal=1).abs().max()) == 0.0
    h0 = maps["cross"][0][:, 0]
    assert not torch.allclose(h0, maps["cross"][0][:, 1])                  # heads differ


def test_attention_maps_rejects_bad_inputs():
    model, (src, mask) = _model(), _src()
    with pytest.raises(InputError, match="tgt_in"):
        tr.attention_maps(model, src, mask, torch.full((3, 2), tr.BOS))
    with pytest.raises(InputError, match="tgt_in"):
        tr.attention_maps(model, src, mask, torch.full((4, 2), V))


def test_count_parameters_counts_a_tied_matrix_once():
    torch.manual_seed(0)
    tied = Transformer(V, V, d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8)
    untied = Transformer(V, V, d_model=16, nhead=2, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=8,
                         tie_output=False)
    assert tr.count_parameters(untied) - tr.count_parameters(tied) == V * 16
    assert tr.count_parameters(tied) == sum(p.numel() for p in tied.parameters())
    assert math.isfinite(float(F.softmax(torch.zeros(2), 0)[0]))

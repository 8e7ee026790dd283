"""Our BertForPreTraining matches transformers' on copied weights: logits and both losses, fp32 and fp64."""
from __future__ import annotations

import pytest
import torch

from nlpbook.bert.model import BertConfig
from nlpbook.pretrain.heads import BertForPreTraining
from nlpbook.pretrain.load import load_pretraining_state_dict, pretraining_state_dict
from nlpbook.pretrain.masking import mask_tokens
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")
transformers = pytest.importorskip("transformers")
SMALL = dict(vocab_size=300, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64,
             max_position_embeddings=48)


def _pair(dtype, hidden_act="gelu", fast=True, seed=0):
    torch.manual_seed(seed)
    ref = transformers.BertForPreTraining(transformers.BertConfig(**SMALL, hidden_act=hidden_act,
                                                                  attn_implementation="eager"))
    ref = ref.to(dtype).eval()
    ours = BertForPreTraining(BertConfig(**SMALL, hidden_act=hidden_act), fast=fast).to(dtype).eval()
    load_pretraining_state_dict(ours, ref.state_dict())
    return ours, ref


def _batch(seed=0):
    g = torch.Generator().manual_seed(seed)
    B, T = 6, 20
    ids = torch.randint(5, 300, (B, T), generator=g)
    lengths = torch.tensor([20, 17, 12, 20, 9, 15])
    mask = torch.arange(T)[None] < lengths[:, None]
    types = (torch.arange(T)[None] >= (lengths // 2)[:, None]).long() * mask
    ids[:, 0], ids[torch.arange(B), lengths // 2 - 1], ids[torch.arange(B), lengths - 1] = 2, 3, 3
    ids[~mask] = 0
    m = mask_tokens(ids, mask, vocab_size=300, mask_id=4, special_ids=[0, 1, 2, 3, 4], generator=g)
    return {"input_ids": m.input_ids, "attention_mask": mask, "token_type_ids": types, "labels": m.labels,
            "next_sentence_label": torch.tensor([0, 1, 1, 0, 1, 1])}


def _compare(ours, ref, b):
    with torch.no_grad():
        theirs = ref(**(b | {"attention_mask": b["attention_mask"].long()}))
        full = ours(**b, masked_only=False)
        gathered = ours(**b)
    real = b["attention_mask"]
    chosen = b["labels"] != -100
    return {"prediction_logits": float((full.prediction_logits - theirs.prediction_logits)[real].abs().max()),
            "at chosen (masked_only)": float((gathered.prediction_logits - theirs.prediction_logits[chosen]).abs().max()),
            "seq_relationship_logits": float((full.seq_relationship_logits - theirs.seq_relationship_logits).abs().max()),
            "loss": float((full.loss - theirs.loss).abs()),
            "loss (masked_only)": float((gathered.loss - theirs.loss).abs()),
            "mlm + nsp = loss": float((gathered.mlm_loss + gathered.nsp_loss - theirs.loss).abs())}


@pytest.mark.parametrize("hidden_act,fast", [("gelu", True), ("gelu", False), ("gelu_new", True)])
def test_float32_matches_bert_for_pretraining(hidden_act, fast):
    ours, ref = _pair(torch.float32, hidden_act, fast)
    errors = _compare(ours, ref, _batch())
    print(f"float32 {hidden_act} fast={fast}: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    assert max(errors.values()) < 1e-5, errors


def test_float64_matches_to_rounding_and_so_do_the_gradients():
    ours, ref = _pair(torch.float64, fast=False)
    b = _batch(1)
    errors = _compare(ours, ref, b)
    print("float64: " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    assert max(errors.values()) < 1e-12, errors
    ours(**b).loss.backward()                                  # eval mode: no dropout, gradients all the same
    ref(**(b | {"attention_mask": b["attention_mask"].long()})).loss.backward()
    theirs = dict(ref.named_parameters())
    pairs = {"bert.embeddings.word_embeddings.weight": "bert.embeddings.word_embeddings.weight",
             "mlm.dense.weight": "cls.predictions.transform.dense.weight", "mlm.bias": "cls.predictions.bias",
             "nsp.seq_relationship.weight": "cls.seq_relationship.weight",
             "bert.pooler.dense.weight": "bert.pooler.dense.weight"}
    mine = dict(ours.named_parameters())
    worst = max(float((mine[a].grad - theirs[b_].grad).abs().max()) for a, b_ in pairs.items())
    print(f"float64 gradients (tied embeddings, heads, pooler): max |d grad| {worst:.1e}")
    assert worst < 1e-12


def test_the_decoder_is_tied_and_the_name_map_names_what_is_wrong():
    ours, ref = _pair(torch.float32)
    assert ours.mlm.decoder.weight is ours.bert.embeddings.word_embeddings.weight
    n_ours = sum(p.numel() for p in ours.parameters())
    n_ref = sum(p.numel() for p in ref.parameters())
    assert n_ours == n_ref, (n_ours, n_ref)
    tensors = ref.state_dict()
    with pytest.raises(InputError, match=r"missing .*cls\.seq_relationship\.bias"):
        pretraining_state_dict({k: v for k, v in tensors.items() if k != "cls.seq_relationship.bias"}, ours)
    with pytest.raises(InputError, match=r"unknown .*cls\.extra"):
        pretraining_state_dict(dict(tensors) | {"cls.extra": torch.zeros(1)}, ours)
    untied = dict(tensors) | {"cls.predictions.decoder.weight": torch.zeros(300, 32)}
    with pytest.raises(InputError, match="untied"):
        pretraining_state_dict(untied, ours)
    # the tied copies may be left out
    state = pretraining_state_dict({k: v for k, v in tensors.items() if "decoder" not in k}, ours)
    assert state.keys() == ours.state_dict().keys()

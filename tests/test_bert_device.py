"""BERT under the device audit: the model follows its inputs' device (no false alarm), and ids
left on the CPU fail as on a GPU."""
from __future__ import annotations

import pytest
import torch

from nlpbook.device_audit import on_run_device

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("fast", [True, False])
def test_bert_forward_backward_on_the_device(dev, fast):
    from nlpbook.bert.model import BertConfig, BertModel
    from nlpbook.bert.wordpiece import WordPieceTokenizer
    torch.manual_seed(0)
    vocab = {t: i for i, t in enumerate(WordPieceTokenizer.SPECIALS + ("hello", "world", "##s", "a"))}
    tok = WordPieceTokenizer(vocab)
    batch = tok.batch(["hello worlds", "a"], ["a world", "hello"], device=dev)
    model = BertModel(BertConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                 intermediate_size=32, max_position_embeddings=16), fast=fast).to(dev)
    out = model(batch["input_ids"], batch["attention_mask"], batch["token_type_ids"], output_hidden_states=True)
    (out.pooler_output.sum() + out.last_hidden_state.sum()).backward()
    assert on_run_device(out.pooler_output) and all(on_run_device(h) for h in out.hidden_states)
    assert all(on_run_device(p.grad) for p in model.parameters() if p.grad is not None)
    with pytest.raises((RuntimeError, ValueError), match="same device|on the CPU|is on cpu|input_ids"):
        model(batch["input_ids"].cpu())


def test_loaded_minilm_on_the_device(dev):
    from nlpbook.bert.load import load_minilm
    model = load_minilm(device=dev)
    ids = torch.tensor([[101, 7592, 2088, 102]], device=dev)
    with torch.no_grad():
        out = model(ids, torch.ones_like(ids, dtype=torch.bool))
    assert on_run_device(out.last_hidden_state) and out.pooler_output.shape == (1, 384)

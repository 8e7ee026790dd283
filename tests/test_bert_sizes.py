"""Parameter counts by formula equal transformers' BertModel and ours, part by part."""
from __future__ import annotations

import pytest
import torch

from nlpbook.bert.model import BertModel
from nlpbook.bert.sizes import CONFIGS, parameter_counts

pytestmark = pytest.mark.usefixtures("one_thread")
transformers = pytest.importorskip("transformers")

EXPECTED_TOTALS = {"BERT-base": 109_482_240, "BERT-large": 335_141_888, "MiniLM-L6-H384": 22_713_216}


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", list(CONFIGS))
def test_formula_equals_transformers_and_ours(name):
    config = CONFIGS[name]
    counts = parameter_counts(config)
    with torch.device("meta"):                     # shapes only: BERT-large is 1.3 GB in float32
        theirs = transformers.BertModel(transformers.BertConfig(**config.to_dict()))
        ours = BertModel(config)
    print(f"{name}: {counts}")
    assert counts["total"] == _count(theirs) == _count(ours) == EXPECTED_TOTALS[name]
    assert counts["embeddings"] == _count(theirs.embeddings) == _count(ours.embeddings)
    assert counts["per layer"] == _count(theirs.encoder.layer[0]) == _count(ours.encoder.layer[0])
    assert counts["pooler"] == _count(theirs.pooler) == _count(ours.pooler)


def test_heads_do_not_change_the_count():
    from dataclasses import replace
    base = CONFIGS["BERT-base"]
    assert parameter_counts(replace(base, num_attention_heads=1)) == parameter_counts(base)
    with torch.device("meta"):
        assert _count(BertModel(replace(base, num_attention_heads=4))) == parameter_counts(base)["total"]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_breakdown_equals_the_real_modules_component_by_component(name):
    from nlpbook.bert.sizes import COMPONENTS, count_by_component, parameter_breakdown
    config = CONFIGS[name]
    with torch.device("meta"):
        theirs = transformers.BertModel(transformers.BertConfig(**config.to_dict()))
        ours = BertModel(config)
    formula = parameter_breakdown(config)
    assert list(formula) == list(COMPONENTS)
    assert count_by_component(theirs.named_parameters()) == formula == count_by_component(ours.named_parameters())
    assert sum(formula.values()) == parameter_counts(config)["total"]


def test_component_of_refuses_a_head():
    from nlpbook.bert.sizes import component_of
    assert component_of("bert.embeddings.word_embeddings.weight") == "token embeddings"
    assert component_of("encoder.layer.3.output.LayerNorm.bias") == "layer LayerNorms"
    assert component_of("encoder.layer.3.output.dense.bias") == "FFN"
    with pytest.raises(ValueError, match="name"):
        component_of("cls.predictions.bias")


@pytest.mark.parametrize("fast", [True, False])
def test_flops_per_token_equals_the_flop_counter(fast):
    from torch.utils.flop_counter import FlopCounterMode
    from nlpbook.bert.sizes import MINILM, flops_per_token
    with torch.device("meta"):
        model = BertModel(MINILM, fast=fast).eval()
        ids = torch.zeros(2, 64, dtype=torch.long)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(ids, check=False)
    assert counter.get_total_flops() == 2 * 64 * flops_per_token(MINILM, 64)["total"]

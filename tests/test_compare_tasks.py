import pytest
import torch

from nlpbook.compare.conv import ConvStack
from nlpbook.compare.cost import loglog_slope, peak_memory_bytes, step_cost
from nlpbook.compare.encoders import (GRUEncoder, SequenceTagger, TransformerStack, parameter_count,
                                      sinusoidal_encoding, width_for_parameter_count)
from nlpbook.compare.tasks import copy_back_batch, fit_tagger, masked_accuracy, ngram_batch, ngram_table


def test_copy_back_targets():
    ids, targets = copy_back_batch(3, 10, 4, 7, torch.Generator().manual_seed(0))
    assert (targets[:, :4] == -100).all()
    assert torch.equal(targets[:, 4:], ids[:, :6])


def test_ngram_targets():
    g = torch.Generator().manual_seed(0)
    table = ngram_table(4, 3, 2, g)
    ids, targets = ngram_batch(2, 9, table, 4, 3, g)
    assert (targets[:, :2] == -100).all()
    for b in range(2):
        for t in range(2, 9):
            code = ids[b, t - 2] * 16 + ids[b, t - 1] * 4 + ids[b, t]
            assert targets[b, t] == table[code]


def test_masked_accuracy_ignores_unlabelled():
    logits = torch.tensor([[[0.0, 1.0], [1.0, 0.0], [0.0, 1.0]]])
    assert masked_accuracy(logits, torch.tensor([[-100, 0, 0]])) == 0.5


def test_sinusoidal_encoding():
    pe = sinusoidal_encoding(5, 4)
    assert torch.allclose(pe[:, 0], torch.sin(torch.arange(5.0)))
    assert torch.allclose(pe[:, 1], torch.cos(torch.arange(5.0)))


def test_transformer_without_pe_is_permutation_equivariant():
    torch.manual_seed(0)
    stack = TransformerStack(8, 2, 2, positional=False).double().eval()
    x = torch.randn(2, 7, 8, dtype=torch.float64)
    perm = torch.randperm(7)
    assert (stack(x)[:, perm] - stack(x[:, perm])).abs().max() < 1e-10
    stack.positional = True
    assert (stack(x)[:, perm] - stack(x[:, perm])).abs().max() > 1e-3


def test_width_for_parameter_count():
    build = lambda w: SequenceTagger(5, GRUEncoder(w), 5)
    w = width_for_parameter_count(build, 10_000)
    assert abs(parameter_count(build(w)) - 10_000) <= abs(parameter_count(build(w + 1)) - 10_000)
    assert abs(parameter_count(build(w)) - 10_000) <= abs(parameter_count(build(w - 1)) - 10_000)


def test_copy_back_learnable_by_wide_enough_cnn():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(0)
    model = SequenceTagger(4, ConvStack(16, 2, 3), 4)
    result = fit_tagger(model, lambda: copy_back_batch(16, 20, 2, 4, g), 150, lr=1e-2, progress=False)
    assert result["accuracy"] > 0.9


def test_peak_memory_sees_an_allocation():
    def alloc():
        x = torch.empty(1_000_000)
        x.fill_(1.0)
    assert peak_memory_bytes(alloc, "cpu") >= 4_000_000


def test_step_cost_and_slope():
    model = SequenceTagger(4, ConvStack(8, 2), 4)
    ids, targets = copy_back_batch(2, 16, 1, 4, torch.Generator().manual_seed(0))
    cost = step_cost(model, ids, targets, repeats=2)
    assert cost.tokens == 32 and cost.tokens_per_second > 0 and cost.peak_bytes > 0
    assert abs(loglog_slope([1, 2, 4], [3, 12, 48]) - 2) < 1e-9
    with pytest.raises(ValueError):
        loglog_slope([1], [1])


def test_bad_inputs():
    with pytest.raises(ValueError, match="distance"):
        copy_back_batch(2, 5, 5, 3)
    with pytest.raises(ValueError, match="table"):
        ngram_batch(2, 5, torch.zeros(3, dtype=torch.long), 2, 2)
    with pytest.raises(ValueError, match="width"):
        TransformerStack(7, 1, 2)
    with pytest.raises(ValueError, match="ids"):
        SequenceTagger(4, GRUEncoder(4), 2)(torch.randn(2, 3))

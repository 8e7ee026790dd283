"""Sampling from the output softmax: temperature 0 and top-k = 1 are greedy, and the samples'
empirical distribution matches softmax(logits / T) restricted to the top k (chi-square test)."""
from __future__ import annotations

import pytest
import torch
from scipy.stats import chisquare

from nlpbook.transformer.model import Transformer
from nlpbook.transformer.sampling import sample_decode, sample_next, sampling_distribution
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


def _logits(B=4, V=12, seed=0):
    return torch.randn(B, V, generator=torch.Generator().manual_seed(seed)) * 2


def test_temperature_zero_and_top1_are_the_argmax():
    z = _logits()
    g = torch.Generator().manual_seed(1)
    assert torch.equal(sample_next(z, 0.0, generator=g), z.argmax(-1))
    assert torch.equal(sample_next(z, 1.0, top_k=1, generator=g), z.argmax(-1))
    assert torch.equal(sample_next(z, 5.0, top_k=1, generator=g), z.argmax(-1))
    p0 = sampling_distribution(z, 0.0)
    assert torch.equal(p0.argmax(-1), z.argmax(-1)) and torch.equal(p0.sum(-1), torch.ones(4))
    # a small temperature: the distribution converges to the one-hot of the argmax
    assert torch.allclose(sampling_distribution(z.double(), 1e-3), p0.double(), atol=1e-12)
    assert torch.equal(sample_next(z, 1e-3, generator=g), z.argmax(-1))


def test_distribution_is_softmax_of_scaled_and_truncated_logits():
    z = _logits().double()
    assert torch.allclose(sampling_distribution(z, 0.5), torch.softmax(z / 0.5, -1))
    p = sampling_distribution(z, 2.0, top_k=3)
    top = z.topk(3, -1).indices
    assert torch.all((p > 0).sum(-1) == 3) and torch.all(p.gather(1, top) > 0)
    ref = torch.softmax(z.gather(1, top) / 2.0, -1)
    assert torch.allclose(p.gather(1, top), ref)
    # higher temperature: flatter (higher entropy)
    ent = lambda q: -(q * q.clamp_min(1e-300).log()).sum(-1)  # noqa: E731
    assert torch.all(ent(sampling_distribution(z, 2.0)) > ent(sampling_distribution(z, 1.0)))
    assert torch.all(ent(sampling_distribution(z, 1.0)) > ent(sampling_distribution(z, 0.5)))


@pytest.mark.parametrize("temperature,top_k", [(1.0, None), (0.7, None), (1.5, 5)])
def test_empirical_distribution_passes_chi_square(temperature, top_k):
    V, N = 8, 20_000
    z = _logits(1, V, seed=3)
    g = torch.Generator().manual_seed(7)
    draws = sample_next(z.expand(N, V), temperature, top_k, g)
    counts = torch.bincount(draws, minlength=V).double()
    p = sampling_distribution(z.double(), temperature, top_k)[0]
    support = p > 0
    assert counts[~support].sum() == 0                               # never outside the top k
    stat = chisquare(counts[support].numpy(), (N * p[support]).numpy())
    assert stat.pvalue > 1e-3, stat
    # and the test has power: against the untempered softmax it rejects
    if temperature != 1.0:
        wrong = torch.softmax(z.double(), -1)[0]
        assert chisquare(counts.numpy(), (N * wrong).numpy()).pvalue < 1e-6


def test_sample_decode_equals_greedy_at_zero_temperature_and_is_reproducible():
    torch.manual_seed(0)
    model = Transformer(13, 11, 16, 2, 1, 2, 32, dropout=0.0, max_len=16).eval()
    src = torch.randint(3, 13, (3, 6))
    mask = torch.ones(3, 6, dtype=torch.bool)
    mask[1, -2:] = False
    greedy, _ = model.greedy_decode(src, 1, 8, mask)
    assert torch.equal(sample_decode(model, src, 1, 8, mask, temperature=0.0), greedy)
    assert torch.equal(sample_decode(model, src, 1, 8, mask, top_k=1), greedy)
    a = sample_decode(model, src, 1, 8, mask, generator=torch.Generator().manual_seed(5))
    b = sample_decode(model, src, 1, 8, mask, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b) and a.shape == (3, 9) and torch.all(a[:, 0] == 1)
    greedy_eos, _ = model.greedy_decode(src, 1, 8, mask, eos_id=int(greedy[0, 2]))
    assert torch.equal(sample_decode(model, src, 1, 8, mask, eos_id=int(greedy[0, 2]), temperature=0.0), greedy_eos)


def test_bad_arguments():
    z = _logits()
    with pytest.raises(InputError, match="temperature"):
        sample_next(z, -1.0)
    with pytest.raises(InputError, match="top_k"):
        sample_next(z, 1.0, top_k=13)
    with pytest.raises(InputError, match="logits"):
        sample_next(z[0], 1.0)

"""Features from a frozen BERT and fine-tuning: padding-invariant features, an exact logistic regression,
a fine-tune that moves every parameter and learns, buckets that cover every example once."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpbook.bert.classify import (LogisticRegression, SentenceClassifier, extract_features, fine_tune,
                                   init_bert_weights, length_batches, mean_pool, pad_batch, predict)
from nlpbook.bert.model import BertConfig, BertModel

pytestmark = pytest.mark.usefixtures("one_thread")
SMALL = dict(vocab_size=30, hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32,
             max_position_embeddings=16)


def _ids(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [[2] + torch.randint(5, 30, (int(torch.randint(1, 10, (1,), generator=g)),), generator=g).tolist() + [3]
            for _ in range(n)]


def test_length_batches_cover_every_index_once_and_group_lengths():
    lengths = [5, 1, 9, 3, 3, 7, 2, 8]
    for gen in (None, torch.Generator().manual_seed(0)):
        batches = length_batches(lengths, 3, generator=gen)
        assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
        assert all(len(b) <= 3 for b in batches)
        spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
        assert all(hi1 <= lo2 for (_, hi1), (lo2, _) in zip(spans, spans[1:]))   # batches do not interleave


def test_mean_pool_ignores_padding():
    h = torch.randn(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    torch.testing.assert_close(mean_pool(h, mask), torch.stack([h[0, :2].mean(0), h[1].mean(0)]))


def test_features_do_not_depend_on_the_batch_or_padding():
    torch.manual_seed(0)
    model = BertModel(BertConfig(**SMALL)).eval()
    ids = _ids(11)
    batched = extract_features(model, ids, batch_size=4, progress=False)
    alone = extract_features(model, ids, batch_size=1, progress=False)                # no padding at all
    for pool in ("cls", "mean"):
        assert batched[pool].shape == (3, 11, 16)
        torch.testing.assert_close(batched[pool], alone[pool], atol=1e-5, rtol=1e-5)
    ids0, mask0 = pad_batch(ids[:1], 0)
    states = model(ids0, mask0, output_hidden_states=True).hidden_states
    torch.testing.assert_close(alone["mean"][:, 0], torch.stack([s[0].mean(0) for s in states]).detach())


def test_logistic_regression_reaches_the_optimum_scipy_finds():
    scipy_opt = pytest.importorskip("scipy.optimize")
    g = torch.Generator().manual_seed(0)
    X = torch.randn(200, 5, generator=g, dtype=torch.float64) * 3 + 1
    y = ((X[:, 0] - X[:, 1] + torch.randn(200, generator=g, dtype=torch.float64)) > 1).long()
    l2 = 0.05
    clf = LogisticRegression(5).double()
    clf.fit(X, y, l2=l2)
    Z = ((X - X.mean(0)) / X.std(0, unbiased=False)).numpy()
    Y = np.eye(2)[y.numpy()]

    def J(theta):
        W, b = theta[:10].reshape(2, 5), theta[10:]
        logits = Z @ W.T + b
        logz = np.logaddexp(logits[:, 0], logits[:, 1])
        p = np.exp(logits - logz[:, None])
        value = -(Y * (logits - logz[:, None])).sum(1).mean() + 0.5 * l2 * (W ** 2).sum()
        gW = (p - Y).T @ Z / len(Z) + l2 * W
        return value, np.concatenate([gW.ravel(), (p - Y).mean(0)])

    res = scipy_opt.minimize(J, np.zeros(12), jac=True, method="L-BFGS-B", options={"gtol": 1e-12, "ftol": 1e-15})
    ours = clf.objective(X, y, l2).item()
    assert ours == pytest.approx(res.fun, abs=1e-9)
    # softmax over 2 classes: only the difference of the two rows is identified by the data; L2 fixes the rest
    np.testing.assert_allclose(clf.linear.weight.detach().numpy(), res.x[:10].reshape(2, 5), atol=1e-4)


def test_fine_tune_moves_every_parameter_and_fits_a_toy_task():
    torch.manual_seed(0)
    ids = _ids(64)
    labels = [int(5 in s) for s in ids]                                # is token 5 in the text?
    clf = SentenceClassifier(init_bert_weights(BertModel(BertConfig(**SMALL)), seed=0), dropout=0.0)
    before = {n: p.detach().clone() for n, p in clf.named_parameters()}
    info = fine_tune(clf, ids, labels, epochs=30, lr=3e-3, batch_size=16, seed=0, progress=False)
    moved = [n for n, p in clf.named_parameters() if not torch.equal(p, before[n])]
    unmoved = sorted(set(before) - set(moved) - {"bert.pooler.dense.weight", "bert.pooler.dense.bias"})
    assert not unmoved, f"fine-tuning left {unmoved[:3]} unchanged"
    assert info["steps"] == 30 * 4 and len(info["losses"]) == 120
    assert np.mean(info["losses"][-8:]) < 0.5 * np.mean(info["losses"][:8])
    acc = (predict(clf, ids) == torch.tensor(labels)).float().mean().item()
    assert acc > 0.9


def test_init_bert_weights_is_seeded_and_bert_like():
    a = init_bert_weights(BertModel(BertConfig(**SMALL)), seed=1)
    b = init_bert_weights(BertModel(BertConfig(**SMALL)), seed=1)
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch.equal(p, q), n
    w = a.embeddings.word_embeddings.weight
    assert abs(w.std().item() - 0.02) < 0.005
    assert torch.equal(a.embeddings.LayerNorm.weight, torch.ones(16))

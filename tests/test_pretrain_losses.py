"""L1 (masked tokens) and L2 (IsNext / NotNext): only the chosen positions count, and NotNext pairs count fully."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nlpbook.pretrain.losses import NOT_NEXT, mlm_loss, nsp_loss, pretraining_loss
from nlpbook.pretrain.masking import IGNORE_INDEX

pytestmark = pytest.mark.usefixtures("one_thread")


def _case(seed=0, B=3, T=7, V=11):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(B, T, V, generator=g, dtype=torch.float64, requires_grad=True)
    targets = torch.randint(0, V, (B, T), generator=g)
    chosen = torch.rand(B, T, generator=g) < 0.3
    chosen[0, 0] = True
    return logits, targets, chosen


def test_sum_and_mean_are_the_seeds_L1_and_L1_over_M():
    logits, targets, chosen = _case()
    labels = torch.where(chosen, targets, IGNORE_INDEX)
    logp = logits.log_softmax(-1).gather(-1, targets[..., None])[..., 0]     # (B, T) log p(x_i)
    L1 = -logp[chosen].sum()
    assert torch.allclose(mlm_loss(logits, labels, reduction="sum"), L1, atol=1e-12)
    assert torch.allclose(mlm_loss(logits, labels), L1 / chosen.sum(), atol=1e-12)
    assert torch.allclose(mlm_loss(logits, targets, chosen), L1 / chosen.sum(), atol=1e-12)


def test_a_target_at_an_unchosen_position_changes_neither_the_loss_nor_a_gradient():
    logits, targets, chosen = _case(1)
    other = targets.clone()
    other[~chosen] = (targets[~chosen] + 5) % logits.shape[-1]               # every unchosen target changed
    results = []
    for t in (targets, other):
        loss = mlm_loss(logits, t, chosen)
        (grad,) = torch.autograd.grad(loss, logits)
        results.append((loss.detach(), grad))
    assert torch.equal(results[0][0], results[1][0]) and torch.equal(results[0][1], results[1][1])
    assert float(results[0][1][~chosen].abs().max()) == 0.0, "an unchosen position got a gradient"
    assert float(results[0][1][chosen].abs().min()) > 0.0

    # d2l's MLM loss (a mean-reduced cross-entropy times the mask): the unchosen targets count
    def d2l(t):
        weights = chosen.reshape(-1, 1).double()
        scalar = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), t.reshape(-1))   # mean over ALL positions
        return (scalar * weights).sum() / (weights.sum() + 1e-8)
    assert abs(float((d2l(targets) - d2l(other)).detach())) > 1e-3


def test_not_next_pairs_count_like_is_next_pairs():
    g = torch.Generator().manual_seed(2)
    logits = torch.randn(6, 2, generator=g, dtype=torch.float64, requires_grad=True)
    labels = torch.tensor([0, 1, 1, 0, 1, 0])
    logp = logits.log_softmax(-1)
    L2 = -logp[torch.arange(6), labels].sum()
    assert torch.allclose(nsp_loss(logits, labels, reduction="sum"), L2, atol=1e-12)
    (grad,) = torch.autograd.grad(nsp_loss(logits, labels), logits)
    assert float(grad[labels == NOT_NEXT].abs().min()) > 0, "a NotNext pair got no gradient"
    # the bug: one ignore_index shared by both losses, NotNext encoded as it -> NotNext pairs vanish
    dropped = F.cross_entropy(logits, labels, ignore_index=NOT_NEXT)
    assert abs(float((dropped - nsp_loss(logits, labels)).detach())) > 1e-3
    with pytest.raises(IndexError, match="labels"):
        nsp_loss(logits, torch.tensor([0, 1, IGNORE_INDEX, 0, 1, 0]))      # no ignore index for NSP


def test_the_joint_loss_is_the_sum_of_both():
    logits, targets, chosen = _case(3)
    labels = torch.where(chosen, targets, IGNORE_INDEX)
    nsp_logits = torch.randn(3, 2, dtype=torch.float64)
    nsp_labels = torch.tensor([0, 1, 1])
    for reduction in ("mean", "sum"):
        total = pretraining_loss(logits, labels, nsp_logits, nsp_labels, reduction=reduction)
        expected = mlm_loss(logits, labels, reduction=reduction) + nsp_loss(nsp_logits, nsp_labels, reduction=reduction)
        assert torch.equal(total.total, expected)
    mean = pretraining_loss(logits, labels, nsp_logits, nsp_labels)
    summed = pretraining_loss(logits, labels, nsp_logits, nsp_labels, reduction="sum")
    assert torch.allclose(mean.mlm * chosen.sum(), summed.mlm) and torch.allclose(mean.nsp * 3, summed.nsp)


def test_no_masked_token_is_refused():
    logits, targets, _ = _case()
    with pytest.raises(ValueError, match="labels has no position"):
        mlm_loss(logits, torch.full_like(targets, IGNORE_INDEX))

r"""Cross-entropy over the real target tokens only.

$$\mathcal{L} = -\frac{1}{\sum_{b,t} m_{bt}} \sum_{b,t} m_{bt} \log p_\theta(y_{bt} \mid y_{b,<t}, x_b)$$

with :math:`m_{bt}` the target mask (True = real token, :mod:`nlpbook.seq2seq.batching`).
The real positions are *selected* (``logits[mask]``) before the softmax, not multiplied by
zero after it, so whatever sits in a padded logit (even NaN) reaches neither the loss nor
its gradient; appending padding to a batch changes neither the loss nor any gradient (tested). The mean runs over tokens,
not sentences, so a long sentence weighs as much as its tokens.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ..validate import InputError, check_ids, check_mask, check_tensor

__all__ = ["masked_cross_entropy", "sequence_log_probs"]


def _check(logits, targets, mask) -> dict:
    dims: dict = {}
    check_tensor("logits", logits, ("B", "T", "V"), dims=dims, dtype="float")
    check_ids("targets", targets, logits.shape[-1], ("B", "T"), dims=dims)
    check_mask("mask", mask, ("B", "T"), dims=dims)
    for name, t in (("targets", targets), ("mask", mask)):
        check_tensor(name, t, device=logits.device)
    if not bool(mask.any()):
        raise InputError("mask has no True entry: a loss over zero tokens is undefined")
    return dims


def masked_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The mean cross-entropy over real tokens: ``logits`` (B, T, V), ``targets``/``mask`` (B, T) -> scalar."""
    _check(logits, targets, mask)
    return F.cross_entropy(logits[mask], targets[mask])                 # (N, V) real tokens only


def sequence_log_probs(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""$\log p(y_b \mid x_b) = \sum_t m_{bt} \log p_\theta(y_{bt} \mid \cdot)$ per sequence: (B,)."""
    _check(logits, targets, mask)
    logp = torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None]).squeeze(-1)
    return torch.where(mask, logp, torch.zeros_like(logp)).sum(1)

r"""The two pretraining losses and their sum, as the seed writes them and as they are normalised in practice.

With $M$ the set of chosen (masked) positions, $x_i$ the original token at $i$ and $V$ the
vocabulary, the masked-language-model loss of the seed is a sum over $M$:

$$L_1(\theta, \theta_1) = -\sum_{i \in M} \log p_{\theta,\theta_1}(x_i \mid \tilde x),$$

and the next-sentence loss a sum over the $N$ pairs, $n_j \in \{\text{IsNext}, \text{NotNext}\}$:

$$L_2(\theta, \theta_2) = -\sum_{j=1}^{N} \log p_{\theta,\theta_2}(n_j \mid \tilde x^{(j)}).$$

The joint objective is $L = L_1 + L_2$. **In practice** (Google's ``run_pretraining.py``,
``transformers``' ``BertForPreTraining``) each sum is divided by its count:

$$L = \frac{L_1}{|M|} + \frac{L_2}{N},$$

the mean over masked tokens plus the mean over pairs (``reduction="mean"``, the default here);
``reduction="sum"`` gives the seed's $L_1 + L_2$. The two differ by the weights $1/|M|$ and
$1/N$: with 15% of 128 tokens masked per pair, $|M| \approx 19N$, so the sum weights the MLM
term about 19 times more than the mean does. Note that the mean over the masked tokens of a batch
is not the mean of per-micro-batch means when micro-batches hold different numbers of masked
tokens; :mod:`nlpbook.pretrain.loop` divides the sums by the global counts instead.

Positions outside $M$ must contribute nothing, to the loss and to every gradient. Labels hold
``-100`` there (``F.cross_entropy``'s ``ignore_index``), or a ``chosen`` mask selects $M$; a
loss that multiplies an already *mean-reduced* scalar by the mask (d2l's MLM loss, d2l #2582)
lets every position count. Both NSP classes count the same: the NSP labels are 0 = IsNext and
1 = NotNext (``transformers``' convention) and no ignore index is applied to them (a
reimplementation that passes the MLM's ignore index to the NSP loss as well, with NotNext
encoded as that index, silently drops every NotNext pair).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..validate import InputError, check_choice, check_ids, check_mask, check_tensor
from .masking import IGNORE_INDEX

__all__ = ["IS_NEXT", "NOT_NEXT", "REDUCTIONS", "PretrainingLoss", "mlm_loss", "nsp_loss", "pretraining_loss"]

IS_NEXT, NOT_NEXT = 0, 1
REDUCTIONS = ("mean", "sum")


def check_mlm_labels(labels: torch.Tensor, vocab_size: int) -> None:
    """Integer labels in ``0..V-1`` or ``-100``, at least one that is not ``-100``."""
    check_tensor("labels", labels, dtype="integer")
    bad = (labels != IGNORE_INDEX) & ((labels < 0) | (labels >= vocab_size))
    if bool(bad.any()):
        raise InputError(f"labels holds values outside 0..{vocab_size - 1} (vocab_size {vocab_size}) other "
                         f"than the ignore index {IGNORE_INDEX}")
    if not bool((labels != IGNORE_INDEX).any()):
        raise InputError(f"labels has no position to predict (every label is {IGNORE_INDEX}): no masked token")


def _check_mlm(logits, labels, chosen) -> None:
    check_tensor("logits", logits, dtype="float")
    if logits.dim() < 2:
        raise InputError(f"logits must be (..., V) with at least 2 dimensions, got shape {tuple(logits.shape)}")
    V = logits.shape[-1]
    check_tensor("labels", labels, device=logits.device)
    if tuple(labels.shape) != tuple(logits.shape[:-1]):
        raise InputError(f"labels is {tuple(labels.shape)} but logits is {tuple(logits.shape)}: labels must be "
                         "logits.shape[:-1], one label per row of logits")
    if chosen is None:
        check_mlm_labels(labels, V)
    else:
        check_ids("labels", labels, V, vocab_from="logits.shape[-1]")
        check_mask("chosen", chosen, tuple(labels.shape))
        check_tensor("chosen", chosen, device=logits.device)
        if not bool(chosen.any()):
            raise InputError("chosen has no True entry: no masked token to predict")


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor, chosen: torch.Tensor | None = None, *,
             reduction: str = "mean", check: bool = True) -> torch.Tensor:
    r"""$L_1 = -\sum_{i\in M}\log p(x_i)$ (``"sum"``) or $L_1/|M|$ (``"mean"``).

    ``logits`` ``(..., V)``; ``labels`` ``(...)``: the original ids at $M$ and ``-100`` elsewhere, or
    (with ``chosen`` ``(...)`` bool, $M$ = True) the original ids everywhere. Either way only $M$ counts.
    """
    if check:
        _check_mlm(logits, labels, chosen)
        check_choice("reduction", reduction, REDUCTIONS)
    if chosen is not None:
        logits, labels = logits[chosen], labels[chosen]                 # (|M|, V), (|M|,)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), labels.reshape(-1),
                           ignore_index=IGNORE_INDEX, reduction=reduction)


def nsp_loss(logits: torch.Tensor, labels: torch.Tensor, *, reduction: str = "mean",
             check: bool = True) -> torch.Tensor:
    r"""$L_2 = -\sum_j \log p(n_j)$ (``"sum"``) or $L_2/N$ (``"mean"``); ``logits`` ``(N, 2)``, ``labels`` ``(N,)``.

    Labels are 0 (IsNext) or 1 (NotNext), every one counted: no ignore index.
    """
    if check:
        dims: dict = {}
        check_tensor("logits", logits, ("N", 2), dims=dims, dtype="float")
        check_tensor("labels", labels, ("N",), dims=dims, device=logits.device)
        check_ids("labels", labels, 2, vocab_from="IsNext = 0, NotNext = 1")
        check_choice("reduction", reduction, REDUCTIONS)
    return F.cross_entropy(logits, labels, reduction=reduction)


@dataclass
class PretrainingLoss:
    """``total = mlm + nsp``, each a scalar tensor with the reduction asked for."""

    total: torch.Tensor
    mlm: torch.Tensor
    nsp: torch.Tensor


def pretraining_loss(mlm_logits: torch.Tensor, mlm_labels: torch.Tensor, nsp_logits: torch.Tensor,
                     nsp_labels: torch.Tensor, *, reduction: str = "mean", check: bool = True) -> PretrainingLoss:
    r"""$L = L_1 + L_2$ (``"sum"``, the seed's) or $L_1/|M| + L_2/N$ (``"mean"``, BERT's and ``transformers``')."""
    l1 = mlm_loss(mlm_logits, mlm_labels, reduction=reduction, check=check)
    l2 = nsp_loss(nsp_logits, nsp_labels, reduction=reduction, check=check)
    return PretrainingLoss(l1 + l2, l1, l2)

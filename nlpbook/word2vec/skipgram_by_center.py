r"""Skip-gram's full softmax computed once per center: the pairs of one center share their normaliser.

In skip-gram every (center ``c``, context ``o``) pair has the loss
``J(c, o) = -u_o^T v_c + log sum_w exp(u_w^T v_c)``, and the normaliser (the log-sum-exp over
the whole vocabulary) depends on the center alone. A center with context words
``o_1, ..., o_m`` therefore contributes

$$\sum_{j=1}^{m} J(c, o_j) = m \log \sum_{w \in V} \exp(u_w^\top v_c) \;-\; \sum_{j=1}^{m} u_{o_j}^\top v_c,$$

one ``O(|V| D)`` softmax for all ``m`` pairs instead of ``m`` of them. The loss, and so its
gradient, is exactly the sum of the pair losses; only the work is shared. (word2vec.c scores each
pair separately because its hierarchical softmax and negative sampling have no shared normaliser.)

Shapes: ``centers (B,)``; ``contexts (B, 2W)`` and ``mask (B, 2W)`` as returned by
:func:`nlpbook.word2vec.pairs.cbow_windows` (there, the third tensor is the centers); ``D`` the
embedding size. Padding slots (``mask`` False) are not pairs and contribute nothing.
"""
from __future__ import annotations

import torch

from .skipgram import SkipGram, check_word_ids

__all__ = ["skipgram_center_loss"]


def skipgram_center_loss(model: SkipGram, centers: torch.Tensor, contexts: torch.Tensor,
                         mask: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Skip-gram's loss over every (center, context) pair of a batch of centers, one softmax per center.

    ``reduction="sum"`` returns ``sum_pairs J``; ``"mean"`` divides by the number of pairs (the
    True entries of ``mask``), so it equals ``model(pair_centers, pair_contexts)`` on the same pairs.
    """
    if not isinstance(model, SkipGram):
        raise TypeError(f"model must be a SkipGram, got {type(model).__name__}")
    if centers.dim() != 1 or contexts.dim() != 2 or contexts.shape[0] != centers.shape[0]:
        raise ValueError(f"need centers (B,) and contexts (B, 2W), got {tuple(centers.shape)} "
                         f"and {tuple(contexts.shape)}")
    if mask.shape != contexts.shape or mask.dtype != torch.bool:
        raise ValueError(f"mask must be a bool tensor shaped like contexts {tuple(contexts.shape)}, "
                         f"got {mask.dtype} {tuple(mask.shape)}")
    if reduction not in ("mean", "sum"):
        raise ValueError(f"reduction must be 'mean' or 'sum', got {reduction!r}")
    # Padding slots may hold any id (cbow_windows pads with 0 by default): check the real ones.
    check_word_ids(contexts[mask], model.vocab_size, "contexts")
    logits = model.scores(centers)                                    # (B, |V|): the O(|V| D) part, once per center
    log_normaliser = torch.logsumexp(logits, dim=1, keepdim=True)     # (B, 1)
    safe = contexts.masked_fill(~mask, 0)                             # any valid id at padding
    pair_losses = log_normaliser - logits.gather(1, safe)             # (B, 2W): J(c_b, o_bj)
    total = (pair_losses * mask.to(logits.dtype)).sum()
    if reduction == "sum":
        return total
    pairs = int(mask.sum())
    if pairs == 0:
        raise ValueError("mask holds no pair: the mean over pairs is undefined")
    return total / pairs

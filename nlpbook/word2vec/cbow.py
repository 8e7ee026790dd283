r"""CBOW with a full softmax: predict the center word from the mean of its context's vectors.

For a center ``o`` with context words ``C = (c_1, ..., c_m)`` (the real words of one row of
:func:`nlpbook.word2vec.pairs.cbow_windows`; padding excluded by the mask), the hidden vector
is the mean of their input vectors, and a full softmax over the output vectors scores ``o``:

$$h = \frac{1}{m}\sum_{j=1}^{m} v_{c_j},\qquad
p(o \mid C) = \frac{\exp(u_o^\top h)}{\sum_{w=1}^{|V|} \exp(u_w^\top h)},\qquad
J = -\log p(o \mid C).$$

Gradients, with ``\hat y = p(\cdot \mid C)`` and ``y`` the one-hot vector of ``o``:

$$\frac{\partial J}{\partial h} = U^\top(\hat y - y),\qquad
\frac{\partial J}{\partial v_{c_j}} = \frac{1}{m}\, U^\top(\hat y - y)\ \text{(per occurrence)},\qquad
\frac{\partial J}{\partial u_w} = \big(p(w \mid C) - [w = o]\big)\, h .$$

Shapes: ``B`` examples, ``2W`` context slots per example, ``D`` the embedding size.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import check_ids, check_mask, check_mask_rows, check_number, check_positive, check_tensor
from .skipgram import check_word_ids

__all__ = ["CBOW", "context_mean", "cbow_full_softmax_grads"]


def context_mean(context_vectors: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``h`` (B, D): the mean of the context vectors (B, 2W, D) over the slots where ``mask`` (B, 2W) is True.

    Padding slots are multiplied by 0 and not counted, so ``h`` is the mean of exactly the
    context that was given. A row with no context word is an error (its mean is undefined).
    """
    dims = {}
    check_tensor("context_vectors", context_vectors, ("B", "C", "D"), dims=dims, dtype="float")
    check_mask("mask", mask, ("B", "C"), dims=dims)
    check_mask_rows("mask", mask, "context word")
    counts = mask.sum(dim=1, keepdim=True)                                  # m per row, (B, 1)
    weights = mask.to(context_vectors.dtype)[:, :, None]                    # (B, 2W, 1)
    return (context_vectors * weights).sum(dim=1) / counts.to(context_vectors.dtype)


class CBOW(nn.Module):
    """CBOW, full softmax. ``forward(contexts (B, 2W), mask (B, 2W), centers (B,))`` returns ``mean_b J_b``.

    Same two matrices and the same initialisation as :class:`~nlpbook.word2vec.skipgram.SkipGram`.
    """

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        check_number("vocab_size", vocab_size, low=2, integer=True, what="an int >= 2")
        check_positive("dim", dim, integer=True)
        self.vocab_size, self.dim = vocab_size, dim
        self.input_vectors = nn.Embedding(vocab_size, dim)    # v_w (|V|, D)
        self.output_vectors = nn.Embedding(vocab_size, dim)   # u_w (|V|, D)
        nn.init.uniform_(self.input_vectors.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.output_vectors.weight)

    def hidden(self, contexts: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``h`` (B, D), the mean input vector of each row's real context words."""
        check_word_ids(contexts, self.vocab_size, "contexts")
        return context_mean(self.input_vectors(contexts), mask)   # (B, 2W, D) -> (B, D)

    def scores(self, contexts: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``u_w^T h`` for every word ``w``: (B, |V|) logits."""
        return self.hidden(contexts, mask) @ self.output_vectors.weight.T

    def forward(self, contexts: torch.Tensor, mask: torch.Tensor, centers: torch.Tensor,
                reduction: str = "mean") -> torch.Tensor:
        """The loss ``J = -log p(o | C)`` over the batch (``reduction`` "mean" or "sum")."""
        dims = {}
        check_ids("contexts", contexts, self.vocab_size, ("B", "C"), dims=dims)
        check_ids("centers", centers, self.vocab_size, ("B",), dims=dims)
        return F.cross_entropy(self.scores(contexts, mask), centers, reduction=reduction)


def cbow_full_softmax_grads(context_vectors: torch.Tensor, mask: torch.Tensor, U: torch.Tensor,
                            o: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The hand-derived gradients of ``sum_b J_b``, written out (no autograd).

    context_vectors (B, 2W, D) the input vectors in each slot; mask (B, 2W); U (|V|, D); o (B,).
    Returns ``grad_context`` (B, 2W, D), slot j of row b being (1/m_b) U^T (p_b - y_b) where
    the mask is True and 0 at padding, and ``grad_U`` (|V|, D) = sum_b (p_b - y_b) h_b^T.
    """
    dims = {}
    check_tensor("context_vectors", context_vectors, ("B", "C", "D"), dims=dims, dtype="float")
    check_tensor("U", U, ("V", "D"), dims=dims, like=("context_vectors", context_vectors))
    check_ids("o", o, U.shape[0], ("B",), dims=dims)
    h = context_mean(context_vectors, mask)                              # (B, D)
    scores = h @ U.T                                                     # (B, |V|)
    p = torch.exp(scores - torch.logsumexp(scores, dim=1, keepdim=True))  # (B, |V|)
    error = p - F.one_hot(o, U.shape[0]).to(p.dtype)                     # (B, |V|)
    grad_h = error @ U                                                   # (B, D)
    share = mask.to(h.dtype) / mask.sum(dim=1, keepdim=True).to(h.dtype)  # 1/m at real slots, (B, 2W)
    grad_context = share[:, :, None] * grad_h[:, None, :]                # (B, 2W, D)
    grad_U = error.T @ h                                                 # (|V|, D)
    return grad_context, grad_U

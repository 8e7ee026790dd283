r"""Skip-gram with a full softmax: predict each context word from the center word.

Every word ``w`` owns two vectors: an *input* vector ``v_w`` (a row of ``input_vectors``,
word2vec.c's ``syn0``; the embedding one keeps) and an *output* vector ``u_w`` (a row of
``output_vectors``, ``syn1``). For a center ``c`` and one of its context words ``o``:

$$p(o \mid c) = \frac{\exp(u_o^\top v_c)}{\sum_{w=1}^{|V|} \exp(u_w^\top v_c)},\qquad
J(c, o) = -\log p(o \mid c) = -u_o^\top v_c + \log \sum_{w} \exp(u_w^\top v_c).$$

Its gradients, with ``\hat y = p(\cdot \mid c)`` and ``y`` the one-hot vector of ``o``:

$$\frac{\partial J}{\partial v_c} = -u_o + \sum_w p(w \mid c)\, u_w = U^\top(\hat y - y),\qquad
\frac{\partial J}{\partial u_w} = \big(p(w \mid c) - [w = o]\big)\, v_c .$$

The denominator touches every output vector, so one pair costs ``O(|V| D)`` forward and
backward, and every ``u_w`` receives a gradient from every pair.
Shapes: a batch of ``B`` pairs; ``D`` the embedding size; ``|V|`` the vocabulary.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import check_ids, check_number, check_positive, check_tensor

__all__ = ["SkipGram", "skipgram_full_softmax_grads", "check_word_ids"]


def check_word_ids(ids: torch.Tensor, vocab_size: int, name: str) -> None:
    """Raise a clear error if ``ids`` is not an integer tensor of ids in ``0..vocab_size-1``
    (:func:`nlpbook.validate.check_ids`, kept under this name for the chapters)."""
    check_ids(name, ids, vocab_size, allow_empty=True)


class SkipGram(nn.Module):
    """Skip-gram, full softmax. ``forward(centers (B,), contexts (B,))`` returns ``mean_b J(c_b, o_b)``.

    Initialised as word2vec.c does: input vectors uniform in ``(-0.5/D, 0.5/D)``, output vectors 0.
    """

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        check_number("vocab_size", vocab_size, low=2, integer=True, what="an int >= 2")
        check_positive("dim", dim, integer=True)
        self.vocab_size, self.dim = vocab_size, dim
        self.input_vectors = nn.Embedding(vocab_size, dim)    # v_w, rows of V_in (|V|, D)
        self.output_vectors = nn.Embedding(vocab_size, dim)   # u_w, rows of U (|V|, D)
        nn.init.uniform_(self.input_vectors.weight, -0.5 / dim, 0.5 / dim)
        nn.init.zeros_(self.output_vectors.weight)

    def scores(self, centers: torch.Tensor) -> torch.Tensor:
        """``u_w^T v_c`` for every word ``w``: (B,) ids -> (B, |V|) logits."""
        check_word_ids(centers, self.vocab_size, "centers")
        v_c = self.input_vectors(centers)                      # (B, D)
        return v_c @ self.output_vectors.weight.T              # (B, |V|): the O(|V|) part

    def forward(self, centers: torch.Tensor, contexts: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
        """The loss ``J = -log p(o | c)`` over the batch (``reduction`` "mean" or "sum")."""
        dims = {}
        check_ids("centers", centers, self.vocab_size, ("B",), dims=dims)
        check_ids("contexts", contexts, self.vocab_size, ("B",), dims=dims)
        # cross_entropy = log-sum-exp of the scores minus the score of o, computed stably.
        return F.cross_entropy(self.scores(centers), contexts, reduction=reduction)


def skipgram_full_softmax_grads(v_c: torch.Tensor, U: torch.Tensor, o: torch.Tensor
                                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The hand-derived gradients of ``sum_b J(c_b, o_b)``, written out (no autograd).

    v_c (B, D) center input vectors; U (|V|, D) output vectors; o (B,) context ids.
    Returns ``grad_v`` (B, D), row b being dJ_b/dv_{c_b} = U^T (p_b - y_b), and
    ``grad_U`` (|V|, D) = sum_b (p_b - y_b) v_{c_b}^T.
    """
    dims = {}
    check_tensor("v_c", v_c, ("B", "D"), dims=dims, dtype="float")
    check_tensor("U", U, ("V", "D"), dims=dims, like=("v_c", v_c))
    check_ids("o", o, U.shape[0], ("B",), dims=dims)
    scores = v_c @ U.T                                                   # (B, |V|)
    p = torch.exp(scores - torch.logsumexp(scores, dim=1, keepdim=True))  # softmax, (B, |V|)
    error = p - F.one_hot(o, U.shape[0]).to(p.dtype)                     # p - y, (B, |V|)
    grad_v = error @ U                                                   # (B, D)
    grad_U = error.T @ v_c                                               # (|V|, D)
    return grad_v, grad_U

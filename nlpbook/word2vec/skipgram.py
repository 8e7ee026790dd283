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

__all__ = ["SkipGram", "skipgram_full_softmax_grads", "check_word_ids"]


def check_word_ids(ids: torch.Tensor, vocab_size: int, name: str) -> None:
    """Raise a clear error if ``ids`` is not an integer tensor of ids in ``0..vocab_size-1``."""
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{name} must be a tensor of word ids, got {type(ids).__name__}")
    if ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"{name} must hold integer word ids, got dtype {ids.dtype}")
    if ids.numel() and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise IndexError(f"{name} holds ids in {int(ids.min())}..{int(ids.max())}, "
                         f"outside the vocabulary 0..{vocab_size - 1}")


class SkipGram(nn.Module):
    """Skip-gram, full softmax. ``forward(centers (B,), contexts (B,))`` returns ``mean_b J(c_b, o_b)``.

    Initialised as word2vec.c does: input vectors uniform in ``(-0.5/D, 0.5/D)``, output vectors 0.
    """

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        if vocab_size < 2 or dim < 1:
            raise ValueError(f"need vocab_size >= 2 and dim >= 1, got {vocab_size} and {dim}")
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
        if centers.shape != contexts.shape or centers.dim() != 1:
            raise ValueError(f"centers and contexts must both be (B,), got {tuple(centers.shape)} "
                             f"and {tuple(contexts.shape)}")
        check_word_ids(contexts, self.vocab_size, "contexts")
        # cross_entropy = log-sum-exp of the scores minus the score of o, computed stably.
        return F.cross_entropy(self.scores(centers), contexts, reduction=reduction)


def skipgram_full_softmax_grads(v_c: torch.Tensor, U: torch.Tensor, o: torch.Tensor
                                ) -> tuple[torch.Tensor, torch.Tensor]:
    """The hand-derived gradients of ``sum_b J(c_b, o_b)``, written out (no autograd).

    v_c (B, D) center input vectors; U (|V|, D) output vectors; o (B,) context ids.
    Returns ``grad_v`` (B, D), row b being dJ_b/dv_{c_b} = U^T (p_b - y_b), and
    ``grad_U`` (|V|, D) = sum_b (p_b - y_b) v_{c_b}^T.
    """
    if v_c.dim() != 2 or U.dim() != 2 or v_c.shape[1] != U.shape[1]:
        raise ValueError(f"need v_c (B, D) and U (|V|, D) with the same D, got {tuple(v_c.shape)} and {tuple(U.shape)}")
    if o.shape != (v_c.shape[0],):
        raise ValueError(f"o must be (B,) = ({v_c.shape[0]},), got {tuple(o.shape)}")
    check_word_ids(o, U.shape[0], "o")
    scores = v_c @ U.T                                                   # (B, |V|)
    p = torch.exp(scores - torch.logsumexp(scores, dim=1, keepdim=True))  # softmax, (B, |V|)
    error = p - F.one_hot(o, U.shape[0]).to(p.dtype)                     # p - y, (B, |V|)
    grad_v = error @ U                                                   # (B, D)
    grad_U = error.T @ v_c                                               # (|V|, D)
    return grad_v, grad_U

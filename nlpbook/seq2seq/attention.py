r"""Attention over the encoder's states: additive (Bahdanau), dot and general (Luong) scores.

The seed's equations, with :math:`h^i` the encoder state at source position ``i`` (the
*keys*, also the *values*) and :math:`H^t` the decoder state at step ``t`` (the *query*):

$$u_t^i = v^\top \tanh(W_1 h^i + W_2 H^t)$$
$$\alpha_t = \mathrm{softmax}(u_t)$$
$$c^t = \sum_i \alpha_t^i h^i$$

The dot score is :math:`u_t^i = H^{t\top} h^i` (keys and query of one size), the general
score :math:`u_t^i = H^{t\top} W h^i` (Luong et al. 2015). The softmax runs over the real
source positions only: padded positions (``mask`` False, see :mod:`nlpbook.seq2seq.batching`)
get the score :math:`-\infty` and so **exactly** zero weight, and appending more padding
changes nothing. A row whose mask hides every position has no distribution to take: that is
an error, never a row of NaN.

Shapes (batch first): ``keys`` ``(B, S, K)``, ``mask`` ``(B, S)``, ``query`` ``(B, Q)`` for
one decoder step or ``(B, T, Q)`` for all steps at once; the context is ``(B, K)`` or
``(B, T, K)`` and the weights :math:`\alpha` are ``(B, S)`` or ``(B, T, S)``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import InputError, check_mask, check_mask_rows, check_positive, check_tensor

__all__ = ["masked_softmax", "AdditiveAttention", "DotAttention", "GeneralAttention", "attention"]


def masked_softmax(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    r"""$\alpha^i = \exp(u^i) / \sum_{j:\,\mathrm{mask}_j} \exp(u^j)$ for real ``i``, exactly 0 at padding.

    ``scores`` ``(B, T, S)``, ``mask`` ``(B, S)`` (True = real), broadcast over ``T``.
    Every row must have a real position (checked by the callers at their boundary).
    """
    return torch.softmax(scores.masked_fill(~mask[:, None, :], float("-inf")), dim=-1)


class _Attention(nn.Module):
    """What the three scores share: checks, the masked softmax, the weighted sum."""

    def __init__(self, key_size: int, query_size: int):
        super().__init__()
        check_positive("key_size", key_size, integer=True)
        check_positive("query_size", query_size, integer=True)
        self.key_size, self.query_size = key_size, query_size

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """The part of the score that depends on the keys only (computed once per source)."""
        return keys

    def score(self, query: torch.Tensor, keys: torch.Tensor, projected: torch.Tensor) -> torch.Tensor:
        """``query`` (B, T, Q), ``keys`` (B, S, K) -> scores :math:`u` (B, T, S)."""
        raise NotImplementedError

    def check(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor) -> None:
        """Shapes, dtypes, devices, and at least one real position in every row of ``mask``."""
        dims = {"K": (self.key_size, "key_size"), "Q": (self.query_size, "query_size")}
        check_tensor("keys", keys, ("B", "S", "K"), dims=dims, dtype="float")
        check_mask("mask", mask, ("B", "S"), dims=dims)
        check_tensor("mask", mask, like=None, device=keys.device)
        shape = ("B", "Q") if query.dim() == 2 else ("B", "T", "Q")
        check_tensor("query", query, shape, dims=dims, like=("keys", keys))
        check_mask_rows("mask", mask, what="real (True) position to attend to")

    def forward(self, query: torch.Tensor, keys: torch.Tensor, mask: torch.Tensor, *,
                projected: torch.Tensor | None = None, check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(context, weights)``: $c^t = \sum_i \alpha_t^i h^i$ and $\alpha_t$ (shapes: module docstring).

        ``projected`` is :meth:`project_keys` ``(keys)``, precomputed once when a decoder
        attends to the same keys at every step; ``check=False`` skips the input checks
        (a decoder checks once, then loops).
        """
        if check:
            if not isinstance(query, torch.Tensor) or query.dim() not in (2, 3):
                raise InputError(f"query must be a (B, Q) or (B, T, Q) tensor, got "
                                 f"{getattr(query, 'shape', type(query).__name__)}")
            self.check(query, keys, mask)
        one_step = query.dim() == 2
        q = query[:, None, :] if one_step else query                    # (B, T, Q)
        if projected is None:
            projected = self.project_keys(keys)
        weights = masked_softmax(self.score(q, keys, projected), mask)  # alpha (B, T, S)
        context = weights @ keys                                        # c (B, T, K)
        if one_step:
            return context[:, 0], weights[:, 0]
        return context, weights


class AdditiveAttention(_Attention):
    r"""Bahdanau's score $u_t^i = v^\top \tanh(W_1 h^i + W_2 H^t)$, no biases (as the seed writes it).

    ``W_1`` ``(A, K)``, ``W_2`` ``(A, Q)``, ``v`` ``(A,)`` with ``A = attention_size``.
    """

    def __init__(self, key_size: int, query_size: int, attention_size: int):
        super().__init__(key_size, query_size)
        check_positive("attention_size", attention_size, integer=True)
        self.W_1 = nn.Linear(key_size, attention_size, bias=False)
        self.W_2 = nn.Linear(query_size, attention_size, bias=False)
        self.v = nn.Linear(attention_size, 1, bias=False)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """$W_1 h^i$ for every source position: ``(B, S, A)``."""
        return self.W_1(keys)

    def score(self, query, keys, projected):
        # (B, 1, S, A) + (B, T, 1, A) -> tanh -> v -> (B, T, S)
        return self.v(torch.tanh(projected[:, None, :, :] + self.W_2(query)[:, :, None, :])).squeeze(-1)


class DotAttention(_Attention):
    r"""Luong's dot score $u_t^i = H^{t\top} h^i$ (query and keys of one size ``K``)."""

    def __init__(self, size: int):
        super().__init__(size, size)

    def score(self, query, keys, projected):
        return query @ keys.transpose(1, 2)                             # (B, T, S)


class GeneralAttention(_Attention):
    r"""Luong's general score $u_t^i = H^{t\top} W h^i$, ``W`` ``(Q, K)``."""

    def __init__(self, key_size: int, query_size: int):
        super().__init__(key_size, query_size)
        self.W = nn.Linear(key_size, query_size, bias=False)

    def project_keys(self, keys: torch.Tensor) -> torch.Tensor:
        """$W h^i$: ``(B, S, Q)``."""
        return self.W(keys)

    def score(self, query, keys, projected):
        return query @ projected.transpose(1, 2)                        # (B, T, S)


SCORES = {"additive": AdditiveAttention, "dot": DotAttention, "general": GeneralAttention}


def attention(kind: str, key_size: int, query_size: int, attention_size: int | None = None) -> _Attention:
    """The attention module named ``kind`` (``"additive"``, ``"dot"`` or ``"general"``)."""
    if kind not in SCORES:
        raise InputError(f"kind must be one of {', '.join(map(repr, SCORES))}, got {kind!r}")
    if kind == "additive":
        return AdditiveAttention(key_size, query_size, attention_size or query_size)
    if kind == "dot":
        if key_size != query_size:
            raise InputError(f"the dot score needs key_size == query_size, got {key_size} and {query_size}")
        return DotAttention(key_size)
    return GeneralAttention(key_size, query_size)

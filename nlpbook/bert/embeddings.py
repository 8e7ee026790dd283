r"""BERT's input embeddings: token + segment + position, then LayerNorm and dropout.

$$E_{bt} = \mathrm{Dropout}\big(\mathrm{LN}(W^{tok}_{x_{bt}} + W^{seg}_{s_{bt}} + W^{pos}_{t})\big)$$

``input_ids`` ``(B, T)`` in ``0..V-1``, ``token_type_ids`` ``(B, T)`` in ``0..type_vocab_size-1``
(segment A = 0, B = 1; default all 0), positions ``0..T-1`` learned (a table of
``max_position_embeddings`` rows, so $T \le 512$ for BERT). Output ``(B, T, H)``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..transformer.norms import LayerNorm
from ..validate import IdRangeError, InputError, check_ids, check_tensor

__all__ = ["BertEmbeddings"]


class BertEmbeddings(nn.Module):
    """``word_embeddings`` ``(V, H)``, ``position_embeddings`` ``(P, H)``, ``token_type_embeddings`` ``(S, H)``."""

    def __init__(self, vocab_size: int, hidden_size: int, max_position_embeddings: int, type_vocab_size: int,
                 layer_norm_eps: float, dropout: float):
        super().__init__()
        self.word_embeddings = nn.Embedding(vocab_size, hidden_size)
        self.position_embeddings = nn.Embedding(max_position_embeddings, hidden_size)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, hidden_size)
        self.LayerNorm = LayerNorm(hidden_size, eps=layer_norm_eps, fast=True)
        self.dropout = nn.Dropout(dropout)

    def forward(self, input_ids: torch.Tensor, token_type_ids: torch.Tensor | None = None, *,
                check: bool = True) -> torch.Tensor:
        """``(B, T)`` ids (and segments) -> ``(B, T, H)``."""
        if check:
            self.check_inputs(input_ids, token_type_ids)
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device)                  # (T,): 0 .. T-1
        x = self.word_embeddings(input_ids) + self.position_embeddings(positions)[None]
        if token_type_ids is None:
            x = x + self.token_type_embeddings.weight[0]                       # every token in segment A
        else:
            x = x + self.token_type_embeddings(token_type_ids)
        return self.dropout(self.LayerNorm(x, check=False))

    def check_inputs(self, input_ids, token_type_ids) -> None:
        """Ids in range, ``T <= max_position_embeddings``, segments in range, on the weights' device."""
        dims: dict = {}
        V, P = self.word_embeddings.num_embeddings, self.position_embeddings.num_embeddings
        S = self.token_type_embeddings.num_embeddings
        check_ids("input_ids", input_ids, V, ("B", "T"), dims=dims, vocab_from="vocab_size")
        check_tensor("input_ids", input_ids, device=self.word_embeddings.weight.device)
        if input_ids.shape[1] > P:
            raise InputError(f"input_ids has {input_ids.shape[1]} tokens per sequence but the model has only "
                             f"max_position_embeddings = {P} positions; truncate to {P} tokens")
        if token_type_ids is not None:
            check_tensor("token_type_ids", token_type_ids, ("B", "T"), dims=dims, device=input_ids.device)
            try:
                check_ids("token_type_ids", token_type_ids, S, vocab_from="type_vocab_size")
            except IdRangeError as err:
                raise IdRangeError(f"{err} (segment ids: 0 = first sentence, 1 = second)") from None

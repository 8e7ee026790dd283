r"""The encoder: embeddings, then a GRU over the source, batch first.

$$h^i = \mathrm{GRU}(e(x_i), h^{i-1}),\qquad i = 1..n$$

It returns every state :math:`h^i` (the keys and values of attention), the source mask,
and each layer's state at the **last real token** of each sentence (the fixed-size summary
a decoder without attention starts from). Sources are right-padded, and a unidirectional
GRU reads left to right, so the states of real tokens never see padding; taking the final
state at position ``length - 1`` instead of ``S - 1`` keeps the padding out of the summary
too. So appending padding changes none of the encoder's outputs (tested).

``rnn="nlpbook"`` runs Part II's :class:`nlpbook.rnn.gru.GRU` (PyTorch form, fused fast
path); ``rnn="torch"`` runs ``nn.GRU(batch_first=True)``, PyTorch's C++/cuDNN kernel, with the
same parameter names and shapes (a state dict copies across; the tests check they agree).
Layers are separate single-layer GRUs so that each layer's state at the last real token
can be read off its output sequence.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import torch
from torch import nn

from ..rnn.gru import GRU
from ..validate import check_choice, check_positive

__all__ = ["EncoderOutput", "Encoder", "gru_layer"]


@dataclass
class EncoderOutput:
    """``states`` (B, S, H), ``mask`` (B, S) True = real, ``final`` (L, B, H);
    ``projected`` (B, S, A): attention's key projection, filled in by the decoder."""

    states: torch.Tensor
    mask: torch.Tensor
    final: torch.Tensor
    projected: torch.Tensor | None = None

    def repeat_interleave(self, k: int) -> "EncoderOutput":
        """Each sentence ``k`` times in a row (for ``k`` beams): batch ``B`` -> ``B * k``."""
        return EncoderOutput(self.states.repeat_interleave(k, 0), self.mask.repeat_interleave(k, 0),
                             self.final.repeat_interleave(k, 1),
                             None if self.projected is None else self.projected.repeat_interleave(k, 0))

    def with_projected(self, projected: torch.Tensor | None) -> "EncoderOutput":
        return replace(self, projected=projected)


def gru_layer(input_size: int, hidden_size: int, rnn: str) -> nn.Module:
    """One batch-first GRU layer: nlpbook's (fused fast path) or ``nn.GRU``."""
    check_choice("rnn", rnn, ("nlpbook", "torch"))
    if rnn == "nlpbook":
        return GRU(input_size, hidden_size, 1, form="pytorch", fast=True)
    return nn.GRU(input_size, hidden_size, 1, batch_first=True)


class Encoder(nn.Module):
    """``forward(src (B, S), src_mask (B, S)) -> EncoderOutput``; inputs checked by the model."""

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1, *,
                 pad_id: int = 0, rnn: str = "nlpbook"):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_size", embed_size),
                            ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_positive(name, value, integer=True)
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        self.layers = nn.ModuleList(gru_layer(embed_size if k == 0 else hidden_size, hidden_size, rnn)
                                    for k in range(num_layers))

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor) -> EncoderOutput:
        x = self.embedding(src)                                          # (B, S, E)
        last = (src_mask.sum(1) - 1)[:, None, None].expand(-1, 1, self.hidden_size)  # (B, 1, H)
        finals = []
        for layer in self.layers:
            x, _ = layer(x)                                              # (B, S, H)
            finals.append(x.gather(1, last).squeeze(1))                  # state at the last real token
        return EncoderOutput(x, src_mask, torch.stack(finals, 0))

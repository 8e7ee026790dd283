r"""A causal Transformer language model: an encoder stack with a causal mask, predicting the next token.

$$
\begin{aligned}
h^{(0)} &= \sqrt{D}\, E[x] + PE, \qquad h^{(\ell)} = \mathrm{Layer}_\ell\big(h^{(\ell-1)}, \text{causal}\big), \\
p(x_{t+1} \mid x_{\le t}) &= \mathrm{softmax}\big(W\, \mathrm{LN}(h^{(L)}_t) + b\big) \quad
\text{(the final LayerNorm only with Pre-LN, as Xiong et al. 2020 and GPT-2 do)}.
\end{aligned}
$$

Shapes: ``ids`` (B, T) -> logits (B, T, V). The LayerNorm chapter trains it Post-LN and Pre-LN.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..validate import InputError, check_ids, check_positive, check_type
from .layers import EncoderLayer
from .norms import LayerNorm
from .positional import SinusoidalPositionalEncoding

__all__ = ["CausalTransformerLM"]


class CausalTransformerLM(nn.Module):
    """``forward(ids (B, T)) -> logits (B, T, V)``; position ``t`` sees tokens ``0..t`` only."""

    def __init__(self, vocab_size: int, d_model: int, num_heads: int, num_layers: int, max_len: int, *,
                 dim_feedforward: int | None = None, dropout: float = 0.0, norm_first: bool = False):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("d_model", d_model), ("num_heads", num_heads),
                            ("num_layers", num_layers), ("max_len", max_len)):
            check_positive(name, value, integer=True)
        check_type("norm_first", norm_first, bool)
        if d_model % num_heads:
            raise InputError(f"d_model ({d_model}) must be divisible by num_heads ({num_heads})")
        self.vocab_size, self.d_model, self.max_len = vocab_size, d_model, max_len
        self.embed = nn.Embedding(vocab_size, d_model)
        nn.init.normal_(self.embed.weight, std=d_model ** -0.5)
        self.position = SinusoidalPositionalEncoding(d_model, max_len=max_len)
        self.layers = nn.ModuleList(
            EncoderLayer(d_model, num_heads, dim_feedforward or 4 * d_model, dropout=dropout, norm_first=norm_first)
            for _ in range(num_layers))
        self.norm = LayerNorm(d_model) if norm_first else None
        self.out = nn.Linear(d_model, vocab_size)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        check_ids("ids", ids, self.vocab_size, ("B", "T"))
        if ids.shape[1] > self.max_len:
            raise InputError(f"ids has T = {ids.shape[1]} tokens, more than the model's max_len = {self.max_len}")
        h = self.position(self.embed(ids) * math.sqrt(self.d_model))   # (B, T, D)
        for layer in self.layers:
            h = layer(h, is_causal=True, check=False)
        return self.out(h if self.norm is None else self.norm(h, check=False))   # (B, T, V)

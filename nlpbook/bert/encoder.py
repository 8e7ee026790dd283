r"""BERT's encoder: a stack of post-LN Transformer layers with a GELU feed-forward network.

One layer, on hidden states $x$ ``(B, T, H)`` (Devlin et al. 2019, the post-LN layer of
Vaswani et al. 2017):

$$\begin{aligned}
a &= \mathrm{LN}_1\big(x + \mathrm{Dropout}(\mathrm{MultiHead}(x, x, x)\big)\\
y &= \mathrm{LN}_2\big(a + \mathrm{Dropout}(W_2\,\mathrm{GELU}(W_1 a + b_1) + b_2)\big)
\end{aligned}$$

with $W_1$ ``(I, H)``, $W_2$ ``(H, I)``, $I = 4H$ in BERT. The attention is Part IV's
:class:`~nlpbook.transformer.multi_head.MultiHeadAttention` (its ``in_proj_weight`` ``(3H, H)``
holds BERT's separate query, key and value weights stacked, see :mod:`nlpbook.bert.load`); the
LayerNorm is Part IV's :class:`~nlpbook.transformer.norms.LayerNorm`. The mask is ``(B, T)``
bool, True at real tokens; padding gets exactly zero attention weight.
"""
from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from ..transformer.multi_head import MultiHeadAttention
from ..transformer.norms import LayerNorm
from .gelu import gelu_exact, gelu_tanh

__all__ = ["BertLayer", "BertEncoder", "ACTIVATIONS"]

#: ``hidden_act`` of a ``transformers`` config -> GELU's form ("gelu" is the exact erf form).
ACTIVATIONS = {"gelu": "none", "gelu_new": "tanh", "gelu_pytorch_tanh": "tanh"}
_EXPLICIT = {"none": gelu_exact, "tanh": gelu_tanh}


class BertLayer(nn.Module):
    """Self-attention and FFN, each followed by dropout, the residual and LayerNorm (post-LN)."""

    def __init__(self, hidden_size: int, num_heads: int, intermediate_size: int, hidden_act: str,
                 layer_norm_eps: float, hidden_dropout: float, attention_dropout: float, fast: bool = True):
        super().__init__()
        self.attention = MultiHeadAttention(hidden_size, num_heads, attention_dropout, fast=fast)
        self.attention_norm = LayerNorm(hidden_size, eps=layer_norm_eps, fast=True)
        self.intermediate = nn.Linear(hidden_size, intermediate_size)        # W_1: H -> I
        self.output = nn.Linear(intermediate_size, hidden_size)              # W_2: I -> H
        self.output_norm = LayerNorm(hidden_size, eps=layer_norm_eps, fast=True)
        self.dropout = nn.Dropout(hidden_dropout)
        self.fast = fast
        # fast: PyTorch's fused kernel (one pass over (B, T, I); the same function, tests/test_bert_gelu.py);
        # otherwise the explicit erf / tanh lines of nlpbook.bert.gelu (four or five passes)
        form = ACTIVATIONS[hidden_act]
        self.activation = functools.partial(F.gelu, approximate=form) if fast else _EXPLICIT[form]

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """``x`` ``(B, T, H)`` -> ``(B, T, H)``. Unchecked.

        ``mask`` broadcastable to ``(B, h, T, T)``, True = may attend (``None``: every token).
        """
        attn = self.attention
        if self.fast:
            # fused: one (B, T, H) @ (H, 3H) matmul for Q, K and V, split into heads without copies
            B, T, _ = x.shape
            qkv = F.linear(x, attn.in_proj_weight, attn.in_proj_bias)      # (B, T, 3H)
            q, k, v = qkv.view(B, T, 3, attn.num_heads, attn.head_dim).permute(2, 0, 3, 1, 4)  # (B, h, T, d_k) each
        else:
            q = attn.project_query(x)                                      # (B, h, T, d_k)
            k, v = attn.project_key_value(x, x)                            # (B, h, T, d_k) each
        context, _ = attn.attend_heads(q, k, v, mask)                      # (B, T, H), after W^O
        a = self.attention_norm(x + self.dropout(context), check=False)   # LN_1(x + Dropout(MHA))
        f = self.output(self.activation(self.intermediate(a)))            # W_2 GELU(W_1 a + b_1) + b_2
        return self.output_norm(a + self.dropout(f), check=False)         # LN_2(a + Dropout(FFN))


class BertEncoder(nn.Module):
    """``num_layers`` :class:`BertLayer` in a row; returns every layer's output."""

    def __init__(self, num_layers: int, **layer_kwargs):
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(**layer_kwargs) for _ in range(num_layers))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> list[torch.Tensor]:
        """``x`` ``(B, T, H)`` -> ``[layer 1 output, ..., layer L output]``, each ``(B, T, H)``. Unchecked."""
        outputs = []
        for layer in self.layer:
            x = layer(x, mask)
            outputs.append(x)
        return outputs

r"""Multi-head attention: the seed's five steps, with ``nn.MultiheadAttention``'s parameters.

$$\mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \dots, \mathrm{head}_h)\,W^O,
\qquad \mathrm{head}_i = \mathrm{Attention}(Q W_i^Q, K W_i^K, V W_i^V)$$

1. project: $Q W^Q$, $K W^K$, $V W^V$ (``(B, T, D)`` each; one matmul for all three when
   ``query is key is value``);
2. split heads: ``(B, T, D)`` -> ``(B, h, T, d_k)`` with $d_k = D / h$;
3. attend in every head at once (:func:`~nlpbook.transformer.attention.scaled_dot_product_attention`);
4. concat: ``(B, h, T, d_k)`` -> ``(B, T, D)``;
5. output projection $W^O$ (``out_proj``).

Parameters are named and shaped as in ``nn.MultiheadAttention`` (``in_proj_weight``
``(3D, D)`` = $[W^Q; W^K; W^V]^\top$ stacked, ``in_proj_bias`` ``(3D,)``, ``out_proj``
``nn.Linear(D, D)``), so ``load_state_dict`` copies weights both ways; the initialisation is
the same too (Xavier-uniform in-projection, zero biases).

Differences from ``nn.MultiheadAttention`` (always batch first): boolean masks are True where
attention is **allowed** (pass ``~mask`` to PyTorch's); ``attn_mask`` is ``(T, S)``,
``(B, T, S)`` or ``(B, h, T, S)`` (not ``(B*h, T, S)``); ``is_causal=True`` builds the causal
mask itself; a query row with no allowed key raises instead of returning NaN; the returned
weights are the softmax before dropout (rows sum to 1).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import InputError, check_number, check_positive, check_tensor, check_type
from .attention import check_attention_masks, combine_masks, scaled_dot_product_attention

__all__ = ["MultiHeadAttention"]


class MultiHeadAttention(nn.Module):
    """``h`` heads of scaled dot-product attention over ``(B, T, D)`` tokens (``D = embed_dim``)."""

    batch_first = True

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True, *,
                 fast: bool = True, device=None, dtype=None):
        super().__init__()
        check_positive("embed_dim", embed_dim, integer=True)
        check_positive("num_heads", num_heads, integer=True)
        if embed_dim % num_heads:
            raise InputError(f"embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads}): "
                             f"each head gets d_k = embed_dim / num_heads dimensions")
        check_number("dropout", dropout, low=0, high=1, high_open=True)
        check_type("bias", bias, bool)
        check_type("fast", fast, bool)
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.dropout, self.fast = float(dropout), fast
        factory = {"device": device, "dtype": dtype}
        self.in_proj_weight = nn.Parameter(torch.empty(3 * embed_dim, embed_dim, **factory))
        if bias:
            self.in_proj_bias = nn.Parameter(torch.empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = nn.Linear(embed_dim, embed_dim, bias=bias, **factory)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """As ``nn.MultiheadAttention``: Xavier-uniform $W^{Q,K,V}$, zero biases."""
        nn.init.xavier_uniform_(self.in_proj_weight)
        if self.in_proj_bias is not None:
            nn.init.zeros_(self.in_proj_bias)
            nn.init.zeros_(self.out_proj.bias)

    # ---------------------------------------------------------------- the five steps
    def _project(self, x: torch.Tensor, part: slice) -> torch.Tensor:
        D = self.embed_dim
        w = self.in_proj_weight[part.start * D:part.stop * D]
        b = None if self.in_proj_bias is None else self.in_proj_bias[part.start * D:part.stop * D]
        return F.linear(x, w, b)

    def split_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, T, D)`` -> ``(B, h, T, d_k)``."""
        B, T, _ = x.shape
        return x.view(B, T, self.num_heads, self.head_dim).transpose(1, 2)

    def merge_heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, h, T, d_k)`` -> ``(B, T, D)``: the concatenation of the heads."""
        B, _, T, _ = x.shape
        return x.transpose(1, 2).reshape(B, T, self.embed_dim)

    def project_query(self, query: torch.Tensor) -> torch.Tensor:
        """Steps 1-2 for the queries: ``(B, T, D)`` -> $Q W^Q$ split, ``(B, h, T, d_k)``. Unchecked."""
        return self.split_heads(self._project(query, slice(0, 1)))

    def project_key_value(self, key: torch.Tensor, value: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Steps 1-2 for keys and values: ``(B, S, D)`` each -> two ``(B, h, S, d_k)``. Unchecked."""
        if key is value:
            k, v = self._project(key, slice(1, 3)).chunk(2, dim=-1)
        else:
            k, v = self._project(key, slice(1, 2)), self._project(value, slice(2, 3))
        return self.split_heads(k), self.split_heads(v)

    def attend_heads(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None,
                     *, need_weights: bool = False, causal: bool = False) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Steps 3-5 on projected heads ``(B, h, T, d_k)``, ``(B, h, S, d_k)``: ``((B, T, D), weights)``.

        ``mask``: a combined boolean mask broadcastable to ``(B, h, T, S)`` (True = may attend),
        unchecked. Weights ``(B, h, T, S)`` when ``need_weights`` (explicit path), else ``None``.
        """
        p = self.dropout if self.training else 0.0
        heads, weights = scaled_dot_product_attention(q, k, v, mask, causal=causal, dropout_p=p,
                                                      fast=self.fast and not need_weights,
                                                      need_weights=need_weights, check=False)
        return self.out_proj(self.merge_heads(heads)), weights

    def forward(self, query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                key_padding_mask: torch.Tensor | None = None, need_weights: bool = True,
                attn_mask: torch.Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False, *, check: bool = True) -> tuple[torch.Tensor, torch.Tensor | None]:
        """``(output (B, T, D), weights)``; ``query`` ``(B, T, D)``, ``key``/``value`` ``(B, S, D)``.

        ``key_padding_mask`` ``(B, S)`` True at real keys; ``attn_mask`` True where allowed;
        ``is_causal`` adds the causal mask. Weights: ``(B, T, S)`` averaged over heads, or
        ``(B, h, T, S)`` with ``average_attn_weights=False``; ``None`` unless ``need_weights``.
        ``need_weights=True`` (the default, as in PyTorch) runs the explicit attention, which
        has the weights; ``need_weights=False`` the fast path (when the module has ``fast=True``).
        """
        if check:
            self.check_inputs(query, key, value)
            check_type("need_weights", need_weights, bool)
            check_type("average_attn_weights", average_attn_weights, bool)
            # the masks are checked against 4-D heads: (B, h, T, S)
            B, T = query.shape[0], query.shape[1]
            mask = check_attention_masks(query[:, None].expand(B, self.num_heads, T, self.embed_dim),
                                         key[:, None], attn_mask, key_padding_mask, is_causal,
                                         names=("attn_mask", "key_padding_mask", "is_causal"))
        else:
            mask = combine_masks(query[:, None], key[:, None], attn_mask, key_padding_mask, is_causal)
        q = self.project_query(query)
        k, v = self.project_key_value(key, value)
        only_causal = is_causal and attn_mask is None and key_padding_mask is None and not need_weights
        out, weights = self.attend_heads(q, k, v, None if only_causal else mask, need_weights=need_weights,
                                         causal=only_causal)
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        return out, weights

    def check_inputs(self, query, key, value) -> None:
        """``query`` ``(B, T, D)``, ``key`` and ``value`` ``(B, S, D)``, like the weights."""
        dims = {"D": (self.embed_dim, "embed_dim")}
        w = ("the layer's weights", self.in_proj_weight)
        check_tensor("query", query, ("B", "T", "D"), dims=dims, like=w)
        check_tensor("key", key, ("B", "S", "D"), dims=dims, like=w)
        check_tensor("value", value, ("B", "S", "D"), dims=dims, like=w)

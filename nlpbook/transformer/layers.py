r"""Transformer encoder and decoder layers, post-LN (the paper) and pre-LN.

Post-LN (Vaswani et al. 2017, ``norm_first=False``), with sublayer $F$ (attention or FFN)::

$$x \leftarrow \mathrm{LN}(x + \mathrm{Dropout}(F(x)))$$

Pre-LN (``norm_first=True``; trains without warm-up more easily, needs a final LN):

$$x \leftarrow x + \mathrm{Dropout}(F(\mathrm{LN}(x)))$$

Feed-forward: $\mathrm{FFN}(x) = W_2\,\mathrm{Dropout}(\phi(W_1 x + b_1)) + b_2$ with
$\phi$ = ReLU (the paper) or GELU. The encoder layer has two sublayers (self-attention, FFN),
the decoder layer three (causal self-attention, cross-attention over the encoder's output
``memory``, FFN).

``fast=True`` (the default) uses the fused kernels (``F.scaled_dot_product_attention``,
``F.layer_norm``); ``fast=False`` runs the explicit attention and LayerNorm of this package.

Submodules are named as in ``nn.TransformerEncoderLayer`` / ``nn.TransformerDecoderLayer``
(``self_attn``, ``multihead_attn``, ``linear1``, ``linear2``, ``norm1..3``, ``dropout``,
``dropout1..3``), so ``layer.load_state_dict(torch_layer.state_dict())`` copies the weights.
Masks are True = may attend / real token (the opposite of PyTorch's boolean masks); the
decoder's ``tgt_is_causal=True`` builds the causal mask itself (in PyTorch it is only a hint).

Shapes: ``src``/``tgt`` ``(B, T, D)``, ``memory`` ``(B, S, D)``; key padding masks ``(B, T)``
and ``(B, S)``; ``tgt_mask`` ``(T, T)`` or ``(B, T, T)``; ``memory_mask`` ``(T, S)`` or ``(B, T, S)``.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import InputError, check_choice, check_number, check_positive, check_tensor, check_type
from .attention import check_attention_masks, combine_masks
from .kv_cache import LayerCache
from .multi_head import MultiHeadAttention
from .norms import LayerNorm

__all__ = ["EncoderLayer", "DecoderLayer", "ACTIVATIONS"]

ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


class _Layer(nn.Module):
    """What both layers share: the FFN, the checks of the hyper-parameters and of the tokens."""

    def __init__(self, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, fast,
                 cross=False):
        super().__init__()
        check_positive("d_model", d_model, integer=True)
        check_positive("nhead", nhead, integer=True)
        check_positive("dim_feedforward", dim_feedforward, integer=True)
        check_number("dropout", dropout, low=0, high=1, high_open=True)
        check_choice("activation", activation, tuple(ACTIVATIONS))
        check_positive("layer_norm_eps", layer_norm_eps)
        check_type("norm_first", norm_first, bool)
        if d_model % nhead:
            raise InputError(f"d_model ({d_model}) must be divisible by nhead ({nhead})")
        self.d_model, self.nhead, self.norm_first = d_model, nhead, norm_first
        self.activation_name, self.activation = activation, ACTIVATIONS[activation]
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout, bias, fast=fast)
        if cross:                                     # registered here: the order of PyTorch's state_dict
            self.multihead_attn = MultiHeadAttention(d_model, nhead, dropout, bias, fast=fast)
        self.linear1 = nn.Linear(d_model, dim_feedforward, bias=bias)
        self.dropout = nn.Dropout(dropout)
        self.linear2 = nn.Linear(dim_feedforward, d_model, bias=bias)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, fast=fast)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, fast=fast)
        if cross:
            self.norm3 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, fast=fast)
        self.dropout1, self.dropout2 = nn.Dropout(dropout), nn.Dropout(dropout)
        if cross:
            self.dropout3 = nn.Dropout(dropout)

    def feed_forward(self, x: torch.Tensor) -> torch.Tensor:
        r"""$W_2\,\mathrm{Dropout}(\phi(W_1 x + b_1)) + b_2$, ``(B, T, D)`` -> ``(B, T, D)``."""
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    def _check_tokens(self, name: str, x, dims: dict) -> None:
        dims.setdefault("D", (self.d_model, "d_model"))
        check_tensor(name, x, ("B", None, "D"), dims=dims, like=("the layer's weights", self.linear1.weight))


class EncoderLayer(_Layer):
    """Self-attention and FFN, each with a residual connection and LayerNorm (post- or pre-LN)."""

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, norm_first: bool = False,
                 bias: bool = True, *, fast: bool = True):
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, fast)

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor | None = None,
                src_key_padding_mask: torch.Tensor | None = None, is_causal: bool = False, *,
                check: bool = True, need_weights: bool = False):
        """``src`` ``(B, T, D)`` -> ``(B, T, D)``; masks True = may attend / real token.

        ``need_weights=True`` returns ``(output, {"self": weights (B, h, T, T)})``: the softmax of
        every head (before dropout), from the explicit attention path.
        """
        if check:
            check_type("need_weights", need_weights, bool)
            self._check_tokens("src", src, {})
            check_attention_masks(src, src, src_mask, src_key_padding_mask, is_causal,
                                  names=("src_mask", "src_key_padding_mask", "is_causal"))
        mask = combine_masks(src[:, None], src[:, None], src_mask, src_key_padding_mask, False)
        x, weights = src, {}
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x, check=False), mask, is_causal, weights)
            x = x + self.dropout2(self.feed_forward(self.norm2(x, check=False)))
        else:
            x = self.norm1(x + self._self_attention(x, mask, is_causal, weights), check=False)
            x = self.norm2(x + self.dropout2(self.feed_forward(x)), check=False)
        return (x, weights) if need_weights else x

    def _self_attention(self, x, mask, is_causal, weights=None):
        q = self.self_attn.project_query(x)
        k, v = self.self_attn.project_key_value(x, x)
        out, w = self.self_attn.attend_heads(q, k, v, mask, causal=is_causal, need_weights=weights is not None)
        if weights is not None:
            weights["self"] = w
        return self.dropout1(out)


class DecoderLayer(_Layer):
    """Causal self-attention, cross-attention over ``memory``, FFN; residuals and LayerNorms.

    ``cross_attention=False`` builds the layer without its middle sublayer (no ``multihead_attn``,
    ``norm3`` or ``dropout3``; the FFN's LayerNorm and dropout are then ``norm2`` and ``dropout2``):
    a decoder-only block, GPT's (:mod:`nlpbook.pretrain.gpt`); call it with ``memory=None``.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str = "relu", layer_norm_eps: float = 1e-5, norm_first: bool = False,
                 bias: bool = True, *, fast: bool = True, cross_attention: bool = True):
        check_type("cross_attention", cross_attention, bool)
        super().__init__(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps, norm_first, bias, fast,
                         cross=cross_attention)
        self.cross_attention = cross_attention

    def forward(self, tgt: torch.Tensor, memory: torch.Tensor | None, tgt_mask: torch.Tensor | None = None,
                memory_mask: torch.Tensor | None = None, tgt_key_padding_mask: torch.Tensor | None = None,
                memory_key_padding_mask: torch.Tensor | None = None, tgt_is_causal: bool = False,
                memory_is_causal: bool = False, *, cache: LayerCache | None = None,
                check: bool = True, need_weights: bool = False):
        """``tgt`` ``(B, T, D)``, ``memory`` ``(B, S, D)`` -> ``(B, T, D)``.

        ``need_weights=True`` returns ``(output, {"self": (B, h, T, T'), "cross": (B, h, T, S)})``,
        every head's attention weights (softmax before dropout; ``T'`` counts cached tokens too).

        With ``cache`` (a :class:`~nlpbook.transformer.kv_cache.LayerCache`), ``tgt`` holds only
        the new tokens; their keys/values are appended to the cache and they attend to every
        cached token (causally among themselves when ``tgt_is_causal``). ``tgt_mask`` and
        ``tgt_key_padding_mask`` are not supported with a cache.
        """
        if check:
            check_type("need_weights", need_weights, bool)
            self.check_inputs(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
                              tgt_is_causal, memory_is_causal, cache)
        self_mask = combine_masks(tgt[:, None], tgt[:, None], tgt_mask, tgt_key_padding_mask, False)
        x, w = tgt, ({} if need_weights else None)
        if not self.cross_attention:                     # decoder-only: self-attention and FFN
            if self.norm_first:
                x = x + self._self_attention(self.norm1(x, check=False), self_mask, tgt_is_causal, cache, w)
                x = x + self.dropout2(self.feed_forward(self.norm2(x, check=False)))
            else:
                x = self.norm1(x + self._self_attention(x, self_mask, tgt_is_causal, cache, w), check=False)
                x = self.norm2(x + self.dropout2(self.feed_forward(x)), check=False)
            return (x, w) if need_weights else x
        cross_mask = combine_masks(tgt[:, None], memory[:, None], memory_mask, memory_key_padding_mask,
                                   memory_is_causal)
        if self.norm_first:
            x = x + self._self_attention(self.norm1(x, check=False), self_mask, tgt_is_causal, cache, w)
            x = x + self._cross_attention(self.norm2(x, check=False), memory, cross_mask, cache, w)
            x = x + self.dropout3(self.feed_forward(self.norm3(x, check=False)))
        else:
            x = self.norm1(x + self._self_attention(x, self_mask, tgt_is_causal, cache, w), check=False)
            x = self.norm2(x + self._cross_attention(x, memory, cross_mask, cache, w), check=False)
            x = self.norm3(x + self.dropout3(self.feed_forward(x)), check=False)
        return (x, w) if need_weights else x

    def _self_attention(self, x, mask, causal, cache, weights=None):
        attn = self.self_attn
        q = attn.project_query(x)
        k, v = attn.project_key_value(x, x)
        if cache is not None:
            k, v = cache.append(k, v)               # (B, h, t_past + T, d_k): the prefix is not recomputed
        out, w = attn.attend_heads(q, k, v, mask, causal=causal, need_weights=weights is not None)
        if weights is not None:
            weights["self"] = w
        return self.dropout1(out)

    def _cross_attention(self, x, memory, mask, cache, weights=None):
        attn = self.multihead_attn
        q = attn.project_query(x)
        if cache is not None and cache.cross_k is not None:
            k, v = cache.cross_k, cache.cross_v     # the memory's keys/values: computed at the first step
        else:
            k, v = attn.project_key_value(memory, memory)
            if cache is not None:
                cache.cross_k, cache.cross_v = k, v
        out, w = attn.attend_heads(q, k, v, mask, need_weights=weights is not None)
        if weights is not None:
            weights["cross"] = w
        return self.dropout2(out)

    def check_inputs(self, tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask, memory_key_padding_mask,
                     tgt_is_causal, memory_is_causal, cache) -> None:
        """Shapes, dtypes, devices of the tokens, the masks (no empty row), the cache."""
        dims: dict = {}
        self._check_tokens("tgt", tgt, dims)
        if not self.cross_attention:
            if memory is not None or memory_mask is not None or memory_key_padding_mask is not None or memory_is_causal:
                raise InputError("memory (and memory_mask, memory_key_padding_mask, memory_is_causal) must be None: "
                                 "this DecoderLayer was built with cross_attention=False")
        else:
            self._check_tokens("memory", memory, dims)
        check_type("tgt_is_causal", tgt_is_causal, bool)
        if cache is not None:
            check_type("cache", cache, LayerCache)
            if tgt_mask is not None or tgt_key_padding_mask is not None:
                raise InputError("tgt_mask and tgt_key_padding_mask are not supported with a cache "
                                 "(decode step by step without padding, or recompute without the cache)")
            if cache.self_k is not None:
                check_tensor("cache", cache.self_k, (tgt.shape[0], self.nhead, None, self.d_model // self.nhead),
                             like=("tgt", tgt))
        else:
            check_attention_masks(tgt, tgt, tgt_mask, tgt_key_padding_mask, tgt_is_causal,
                                  names=("tgt_mask", "tgt_key_padding_mask", "tgt_is_causal"))
        if self.cross_attention:
            check_attention_masks(tgt, memory, memory_mask, memory_key_padding_mask, memory_is_causal,
                                  names=("memory_mask", "memory_key_padding_mask", "memory_is_causal"))

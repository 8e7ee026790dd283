r"""A key/value cache for incremental (token-by-token) decoding.

At decoding step $t$ a decoder layer's self-attention needs the keys and values of tokens
$0 \dots t$; those of $0 \dots t-1$ do not change once computed (causal mask), so each layer
keeps them, ``(B, h, t, d_k)``, and appends one column per step: a step costs $O(t)$ instead
of recomputing the whole prefix, $O(t^2)$. The cross-attention keys and values depend only on
the encoder's output, so they are computed at the first step and reused.

Use: ``cache = KVCache(num_layers)``, then call the decoder on the *new* tokens only with
``cache=cache`` (:meth:`nlpbook.transformer.model.Transformer.decode`); ``cache.length``
is the number of tokens decoded so far (the positional offset of the next one).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..validate import check_positive

__all__ = ["LayerCache", "KVCache"]


@dataclass
class LayerCache:
    """One decoder layer's cached keys/values, ``(B, h, t, d_k)`` (self) and ``(B, h, S, d_k)`` (cross)."""

    self_k: torch.Tensor | None = None
    self_v: torch.Tensor | None = None
    cross_k: torch.Tensor | None = None
    cross_v: torch.Tensor | None = None

    def append(self, k: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Concatenate the new keys/values along time; returns all of them ``(B, h, t + n, d_k)``."""
        if self.self_k is None:
            self.self_k, self.self_v = k, v
        else:
            self.self_k = torch.cat([self.self_k, k], dim=2)
            self.self_v = torch.cat([self.self_v, v], dim=2)
        return self.self_k, self.self_v

    @property
    def length(self) -> int:
        return 0 if self.self_k is None else self.self_k.shape[2]


class KVCache:
    """One :class:`LayerCache` per decoder layer."""

    def __init__(self, num_layers: int):
        check_positive("num_layers", num_layers, integer=True)
        self.layers = [LayerCache() for _ in range(num_layers)]

    @property
    def length(self) -> int:
        """Tokens decoded so far."""
        return self.layers[0].length

    def __len__(self) -> int:
        return len(self.layers)

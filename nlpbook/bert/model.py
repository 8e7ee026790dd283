r"""BERT: embeddings, ``L`` post-LN encoder layers, and the pooler over ``[CLS]``.

$$h^{(0)} = \mathrm{Embed}(x, s), \qquad h^{(l)} = \mathrm{Layer}_l(h^{(l-1)}),\ l = 1..L,
\qquad \mathrm{pooled} = \tanh\big(W_p\,h^{(L)}_{\cdot,0} + b_p\big)$$

Inputs: ``input_ids`` ``(B, T)``, ``attention_mask`` ``(B, T)`` bool (True = real token; every
row needs one), ``token_type_ids`` ``(B, T)`` (0 = segment A, 1 = segment B). Outputs
(:class:`BertOutput`): ``last_hidden_state`` ``(B, T, H)``, ``pooler_output`` ``(B, H)``, and with
``output_hidden_states=True`` the ``L + 1`` tensors ``hidden_states`` (the embeddings, then
every layer), as ``transformers``' ``BertModel`` returns them.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from ..validate import (InputError, check_choice, check_mask, check_mask_rows, check_number, check_positive,
                        check_tensor, check_type)
from .embeddings import BertEmbeddings
from .encoder import ACTIVATIONS, BertEncoder

__all__ = ["BertConfig", "BertOutput", "BertPooler", "BertModel", "BASE", "LARGE"]


@dataclass(frozen=True)
class BertConfig:
    """The sizes of a BERT (names and defaults as in ``transformers.BertConfig``: BERT-base)."""

    vocab_size: int = 30522
    hidden_size: int = 768                # H
    num_hidden_layers: int = 12           # L
    num_attention_heads: int = 12         # A
    intermediate_size: int = 3072         # I = 4H
    max_position_embeddings: int = 512    # P
    type_vocab_size: int = 2              # segments
    layer_norm_eps: float = 1e-12
    hidden_dropout_prob: float = 0.1
    attention_probs_dropout_prob: float = 0.1
    hidden_act: str = "gelu"

    def __post_init__(self):
        for name in ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
                     "max_position_embeddings", "type_vocab_size"):
            check_positive(name, getattr(self, name), integer=True)
        check_positive("layer_norm_eps", self.layer_norm_eps)
        check_number("hidden_dropout_prob", self.hidden_dropout_prob, low=0, high=1, high_open=True)
        check_number("attention_probs_dropout_prob", self.attention_probs_dropout_prob, low=0, high=1, high_open=True)
        check_choice("hidden_act", self.hidden_act, tuple(ACTIVATIONS))
        if self.hidden_size % self.num_attention_heads:
            raise InputError(f"hidden_size ({self.hidden_size}) must be divisible by num_attention_heads "
                             f"({self.num_attention_heads})")

    @classmethod
    def from_json(cls, path: str) -> "BertConfig":
        """Read a ``transformers`` ``config.json`` (a file or its folder); other keys are ignored."""
        if os.path.isdir(path):
            path = os.path.join(path, "config.json")
        with open(path, encoding="utf-8") as f:
            raw = json.load(f)
        if raw.get("position_embedding_type", "absolute") != "absolute":
            raise InputError(f"config {path}: position_embedding_type {raw['position_embedding_type']!r} is not "
                             "supported (only 'absolute', BERT's learned positions)")
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in raw.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)


#: BERT-base and BERT-large (Devlin et al. 2019, Table 1's L / H / A).
BASE = BertConfig()
LARGE = BertConfig(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)


@dataclass
class BertOutput:
    last_hidden_state: torch.Tensor                      # (B, T, H)
    pooler_output: torch.Tensor                          # (B, H)
    hidden_states: tuple[torch.Tensor, ...] | None = None  # L + 1 of (B, T, H), with output_hidden_states


class BertPooler(nn.Module):
    r"""$\tanh(W_p h_{\cdot,0} + b_p)$: the ``[CLS]`` token's final state, ``(B, T, H)`` -> ``(B, H)``."""

    def __init__(self, hidden_size: int):
        super().__init__()
        self.dense = nn.Linear(hidden_size, hidden_size)

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        return torch.tanh(self.dense(hidden[:, 0]))


class BertModel(nn.Module):
    """The BERT encoder with its pooler. ``fast=True`` attends with ``F.scaled_dot_product_attention``."""

    def __init__(self, config: BertConfig, *, fast: bool = True):
        super().__init__()
        check_type("config", config, BertConfig)
        check_type("fast", fast, bool)
        self.config = config
        c = config
        self.embeddings = BertEmbeddings(c.vocab_size, c.hidden_size, c.max_position_embeddings, c.type_vocab_size,
                                         c.layer_norm_eps, c.hidden_dropout_prob)
        self.encoder = BertEncoder(c.num_hidden_layers, hidden_size=c.hidden_size, num_heads=c.num_attention_heads,
                                   intermediate_size=c.intermediate_size, hidden_act=c.hidden_act,
                                   layer_norm_eps=c.layer_norm_eps, hidden_dropout=c.hidden_dropout_prob,
                                   attention_dropout=c.attention_probs_dropout_prob, fast=fast)
        self.pooler = BertPooler(c.hidden_size)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, *, output_hidden_states: bool = False,
                check: bool = True) -> BertOutput:
        """``(B, T)`` ids, mask (bool, True = real) and segments -> :class:`BertOutput`."""
        if check:
            self.embeddings.check_inputs(input_ids, token_type_ids)
            check_type("output_hidden_states", output_hidden_states, bool)
            if attention_mask is not None:
                check_mask("attention_mask", attention_mask, tuple(input_ids.shape))
                check_tensor("attention_mask", attention_mask, device=input_ids.device)
                check_mask_rows("attention_mask", attention_mask, "real token (True) to attend to")
        x = self.embeddings(input_ids, token_type_ids, check=False)               # (B, T, H)
        mask = None                                       # no padding: no mask (the fused kernel's fast case)
        if attention_mask is not None and not bool(attention_mask.all()):
            mask = attention_mask[:, None, None, :]       # (B, 1, 1, T): True at real keys
        layers = self.encoder(x, mask)
        last = layers[-1]
        return BertOutput(last, self.pooler(last), tuple([x] + layers) if output_hidden_states else None)

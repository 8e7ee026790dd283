r"""BERT's two pretraining heads on :class:`~nlpbook.bert.model.BertModel`, as ``transformers``' ``BertForPreTraining``.

**MLM head** (``cls.predictions``), on the final hidden states $h_i$ ``(H,)``:

$$z_i = \mathrm{LN}\big(\mathrm{GELU}(W_t h_i + b_t)\big),\qquad
\mathrm{logits}_i = E\,z_i + b \in \mathbb{R}^{V},$$

with $W_t$ ``(H, H)``, the decoder weight $E$ ``(V, H)`` **tied** to the token embeddings
(the same tensor: ``mlm.decoder.weight is bert.embeddings.word_embeddings.weight``) and its own
bias $b$ ``(V,)``. **NSP head** (``cls.seq_relationship``), on the pooled ``[CLS]`` state
$\mathrm{pooled} = \tanh(W_p h_0 + b_p)$: $\mathrm{logits} = W_s\,\mathrm{pooled} + b_s \in \mathbb{R}^2$
(class 0 = IsNext, 1 = NotNext).

Only the chosen positions need MLM logits. ``transformers`` computes them at every position,
``(B, T, V)``; with ``labels`` given and ``masked_only=True`` (the default) ours gathers the
$|M|$ chosen hidden states first and returns ``(|M|, V)`` logits, as Google's original
``run_pretraining.py`` does (``gather_indexes`` at ``masked_lm_positions``): with 15% masked, the
decoder's $V \times H$ matmul, BERT's largest, does about a seventh of the work. The loss is the same.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..bert.encoder import ACTIVATIONS
from ..bert.gelu import gelu_exact, gelu_tanh
from ..bert.model import BertConfig, BertModel
from ..transformer.norms import LayerNorm
from ..validate import (InputError, check_choice, check_ids, check_mask, check_mask_rows, check_positive, check_tensor,
                        check_type)
from .losses import REDUCTIONS, check_mlm_labels, mlm_loss, nsp_loss
from .masking import IGNORE_INDEX

__all__ = ["MLMHead", "NSPHead", "BertForPreTraining", "PreTrainingOutput"]


class MLMHead(nn.Module):
    """Dense + GELU + LayerNorm, then the decoder tied to the token embeddings, plus a bias ``(V,)``."""

    def __init__(self, config: BertConfig, word_embeddings: nn.Embedding, *, fast: bool = True):
        super().__init__()
        check_type("config", config, BertConfig)
        check_type("word_embeddings", word_embeddings, nn.Embedding)
        check_type("fast", fast, bool)
        if tuple(word_embeddings.weight.shape) != (config.vocab_size, config.hidden_size):
            raise InputError(f"word_embeddings is {tuple(word_embeddings.weight.shape)} but the config needs "
                             f"(vocab_size, hidden_size) = ({config.vocab_size}, {config.hidden_size})")
        c = config
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)                       # W_t, b_t
        form = ACTIVATIONS[c.hidden_act]
        self.activation = functools.partial(F.gelu, approximate=form) if fast else \
            {"none": gelu_exact, "tanh": gelu_tanh}[form]
        self.norm = LayerNorm(c.hidden_size, eps=c.layer_norm_eps, fast=True)
        self.decoder = nn.Linear(c.hidden_size, c.vocab_size, bias=False)
        self.decoder.weight = word_embeddings.weight                              # E: tied, (V, H)
        self.bias = nn.Parameter(torch.zeros(c.vocab_size))                       # b: (V,)

    def forward(self, hidden: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        """``(..., H)`` -> ``(..., V)``."""
        if check:
            check_tensor("hidden", hidden, like=("the head's weights", self.dense.weight), allow_empty=True)
            if hidden.dim() < 1 or hidden.shape[-1] != self.dense.in_features:
                raise InputError(f"hidden is {tuple(hidden.shape)} but its last dimension must be "
                                 f"H = {self.dense.in_features} (hidden_size); hidden must be (..., H)")
        z = self.norm(self.activation(self.dense(hidden)), check=False)
        return F.linear(z, self.decoder.weight, self.bias)


class NSPHead(nn.Module):
    """``(B, H)`` pooled ``[CLS]`` -> ``(B, 2)`` logits (IsNext, NotNext)."""

    def __init__(self, hidden_size: int):
        super().__init__()
        check_positive("hidden_size", hidden_size, integer=True)
        self.seq_relationship = nn.Linear(hidden_size, 2)

    def forward(self, pooled: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        """``(B, H)`` -> ``(B, 2)``."""
        if check:
            check_tensor("pooled", pooled, (None, self.seq_relationship.in_features),
                         like=("the head's weights", self.seq_relationship.weight))
        return self.seq_relationship(pooled)


@dataclass
class PreTrainingOutput:
    prediction_logits: torch.Tensor          # (B, T, V), or (|M|, V) at the chosen positions (masked_only)
    seq_relationship_logits: torch.Tensor    # (B, 2)
    loss: torch.Tensor | None = None         # mlm_loss + nsp_loss (means), when both labels are given
    mlm_loss: torch.Tensor | None = None
    nsp_loss: torch.Tensor | None = None


class BertForPreTraining(nn.Module):
    """:class:`BertModel` + :class:`MLMHead` + :class:`NSPHead`; the losses when labels are given."""

    def __init__(self, config: BertConfig, *, fast: bool = True):
        super().__init__()
        check_type("config", config, BertConfig)
        check_type("fast", fast, bool)
        self.config = config
        self.bert = BertModel(config, fast=fast)
        self.mlm = MLMHead(config, self.bert.embeddings.word_embeddings, fast=fast)
        self.nsp = NSPHead(config.hidden_size)
        self.init_weights()

    @torch.no_grad()
    def init_weights(self, std: float = 0.02) -> None:
        """BERT's initialisation: N(0, 0.02) weights, zero biases, LayerNorm 1 and 0 (``transformers`` also zeroes the [PAD] row)."""
        check_positive("std", std)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.normal_(0.0, std)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, LayerNorm):
                m.weight.fill_(1.0)
                m.bias.zero_()
        self.mlm.bias.zero_()

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None,
                token_type_ids: torch.Tensor | None = None, labels: torch.Tensor | None = None,
                next_sentence_label: torch.Tensor | None = None, *, masked_only: bool = True,
                reduction: str = "mean", check: bool = True) -> PreTrainingOutput:
        """``(B, T)`` ids, mask, segments; ``labels`` ``(B, T)`` (-100 = not chosen), ``next_sentence_label`` ``(B,)``.

        ``reduction="mean"``: the losses of ``transformers`` (means over masked tokens and over pairs);
        ``"sum"``: the seed's sums $L_1$ and $L_2$ (:mod:`nlpbook.pretrain.losses`).
        """
        if check:
            check_type("masked_only", masked_only, bool)
            check_choice("reduction", reduction, REDUCTIONS)
            self.bert.embeddings.check_inputs(input_ids, token_type_ids)
            if attention_mask is not None:
                check_mask("attention_mask", attention_mask, tuple(input_ids.shape))
                check_tensor("attention_mask", attention_mask, device=input_ids.device)
                check_mask_rows("attention_mask", attention_mask, "real token (True) to attend to")
            if labels is not None:
                check_tensor("labels", labels, tuple(input_ids.shape), device=input_ids.device)
                check_mlm_labels(labels, self.config.vocab_size)
            if next_sentence_label is not None:
                check_tensor("next_sentence_label", next_sentence_label, (input_ids.shape[0],),
                             device=input_ids.device)
                check_ids("next_sentence_label", next_sentence_label, 2, vocab_from="IsNext = 0, NotNext = 1")
        out = self.bert(input_ids, attention_mask, token_type_ids, check=False)
        nsp_logits = self.nsp(out.pooler_output, check=False)                                   # (B, 2)
        hidden = out.last_hidden_state                                             # (B, T, H)
        if labels is not None and masked_only:
            chosen = labels != IGNORE_INDEX                                        # (B, T): M
            mlm_logits = self.mlm(hidden[chosen], check=False)                     # (|M|, V)
            targets = labels[chosen]
        else:
            mlm_logits = self.mlm(hidden, check=False)                             # (B, T, V)
            targets = labels
        result = PreTrainingOutput(mlm_logits, nsp_logits)
        if labels is not None:
            result.mlm_loss = mlm_loss(mlm_logits, targets, reduction=reduction, check=False)
        if next_sentence_label is not None:
            result.nsp_loss = nsp_loss(nsp_logits, next_sentence_label, reduction=reduction, check=False)
        if result.mlm_loss is not None and result.nsp_loss is not None:
            result.loss = result.mlm_loss + result.nsp_loss
        return result

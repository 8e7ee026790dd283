r"""A GPT-1-style causal Transformer language model, made of Part IV's decoder layers without cross-attention.

Radford et al. (2018): token embeddings plus **learned** position embeddings, $L$ post-LN
decoder blocks (masked self-attention, GELU feed-forward), and a softmax whose weights are the
token embeddings themselves (tied):

$$
\begin{aligned}
h^{(0)}_t &= E[x_t] + P_t, \qquad
h^{(\ell)} = \mathrm{Block}_\ell\big(h^{(\ell-1)}\big),\ \ell = 1..L,\\
\mathrm{Block}(h) &: \; a = \mathrm{LN}_1\big(h + \mathrm{MaskedSelfAttn}(h)\big),\quad
\mathrm{out} = \mathrm{LN}_2\big(a + W_2\,\mathrm{GELU}(W_1 a + b_1) + b_2\big),\\
p(x_{t+1} \mid x_{\le t}) &= \mathrm{softmax}\big(E\, h^{(L)}_t + b\big).
\end{aligned}
$$

**The block is Part IV's** :class:`~nlpbook.transformer.layers.DecoderLayer` built with
``cross_attention=False``: the same class, with its encoder-decoder attention sublayer left out
(a decoder-only model has no encoder to attend to). Its self-attention is causal (``tgt_is_causal``):
position $t$ attends to positions $\le t$ only, so $h^{(\ell)}_t$ depends on $x_{\le t}$ alone.

The causal LM loss is the mean next-token cross-entropy over the positions whose successor is a
real token, $\mathcal L = -\frac{1}{N}\sum_{t} \log p(x_{t+1} \mid x_{\le t})$.

Padding must be on the right (``attention_mask`` True then False along each row): a real token
then never sees a pad, because every pad comes after it, and no padding mask is needed. Shapes:
``input_ids`` ``(B, T)``, hidden states ``(B, T, D)``, logits ``(B, T, V)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..transformer.layers import DecoderLayer
from ..transformer.norms import LayerNorm
from ..validate import (InputError, check_choice, check_ids, check_mask, check_number, check_positive, check_tensor,
                        check_type)

__all__ = ["GPTConfig", "GPT", "check_right_padded", "check_lm_inputs", "causal_lm_loss"]


@dataclass(frozen=True)
class GPTConfig:
    """The sizes of a small GPT (JSON-able)."""

    vocab_size: int
    d_model: int = 128
    num_layers: int = 2
    num_heads: int = 2
    dim_feedforward: int = 512
    max_length: int = 64
    dropout: float = 0.1
    layer_norm_eps: float = 1e-5

    def __post_init__(self):
        for name in ("vocab_size", "d_model", "num_layers", "num_heads", "dim_feedforward", "max_length"):
            check_positive(name, getattr(self, name), integer=True)
        check_number("dropout", self.dropout, low=0, high=1, high_open=True)
        check_positive("layer_norm_eps", self.layer_norm_eps)
        if self.d_model % self.num_heads:
            raise InputError(f"d_model ({self.d_model}) must be divisible by num_heads ({self.num_heads})")

    def to_dict(self) -> dict:
        return asdict(self)


def check_right_padded(name: str, attention_mask: torch.Tensor, shape: tuple) -> None:
    """``attention_mask`` ``(B, T)`` bool, True then False along each row, at least one True per row."""
    check_mask(name, attention_mask, shape)
    if not bool(attention_mask[:, 0].all()):
        raise InputError(f"{name} has a row that starts with padding (False): every row needs a real first token "
                         "and padding on the right")
    if bool((attention_mask[:, 1:] & ~attention_mask[:, :-1]).any()):
        raise InputError(f"{name} has a real token (True) after padding (False): pad on the right")


def check_lm_inputs(logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor | None,
                    reduction: str, name: str = "logits") -> None:
    """``logits`` ``(B, T, V)`` float, ``input_ids`` ``(B, T)`` ids below V, a right-padded mask, a reduction."""
    dims: dict = {}
    check_tensor(name, logits, ("B", "T", "V"), dims=dims, dtype="float")
    check_ids("input_ids", input_ids, logits.shape[-1], ("B", "T"), dims=dims, vocab_from=f"{name}.shape[-1]")
    check_tensor("input_ids", input_ids, device=logits.device)
    if input_ids.shape[1] < 2:
        raise InputError(f"input_ids has T = {input_ids.shape[1]}: a language model needs at least 2 tokens")
    if attention_mask is not None:
        check_right_padded("attention_mask", attention_mask, tuple(input_ids.shape))
        check_tensor("attention_mask", attention_mask, device=logits.device)
    check_choice("reduction", reduction, ("mean", "sum"))


def causal_lm_loss(logits: torch.Tensor, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                   reduction: str = "mean", check: bool = True) -> tuple[torch.Tensor, int]:
    r"""Next-token cross-entropy: ``logits[:, t]`` predicts ``input_ids[:, t + 1]`` where that is real.

    Returns ``(loss, N)``: the mean (or the sum, ``reduction="sum"``) over the $N$ predicted positions.
    """
    if check:
        check_lm_inputs(logits, input_ids, attention_mask, reduction)
    target = input_ids[:, 1:]                                                    # (B, T-1)
    valid = torch.ones_like(target, dtype=torch.bool) if attention_mask is None else attention_mask[:, 1:]
    picked = logits[:, :-1][valid]                                               # (N, V)
    loss = F.cross_entropy(picked.float(), target[valid], reduction=reduction)
    return loss, int(valid.sum())


class GPT(nn.Module):
    """Token + learned position embeddings, ``num_layers`` decoder-only blocks, tied output softmax."""

    def __init__(self, config: GPTConfig, *, fast: bool = True):
        super().__init__()
        check_type("config", config, GPTConfig)
        check_type("fast", fast, bool)
        c = self.config = config
        self.token_embedding = nn.Embedding(c.vocab_size, c.d_model)                # E (V, D)
        self.position_embedding = nn.Embedding(c.max_length, c.d_model)             # P (T_max, D), learned
        self.dropout = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            DecoderLayer(c.d_model, c.num_heads, c.dim_feedforward, c.dropout, activation="gelu",
                         layer_norm_eps=c.layer_norm_eps, norm_first=False, fast=fast, cross_attention=False)
            for _ in range(c.num_layers))
        self.output_bias = nn.Parameter(torch.zeros(c.vocab_size))                  # b (V,); weights tied to E
        self.init_weights()

    @torch.no_grad()
    def init_weights(self, std: float = 0.02) -> None:
        """GPT's initialisation: N(0, 0.02) weights, zero biases, LayerNorm 1 and 0."""
        check_positive("std", std)
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                m.weight.normal_(0.0, std)
                if isinstance(m, nn.Linear) and m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, LayerNorm):
                m.weight.fill_(1.0)
                if m.bias is not None:
                    m.bias.zero_()
        self.output_bias.zero_()
        for block in self.blocks:                                  # the attention's own projections
            for p in block.self_attn.parameters():
                if p.dim() >= 2:
                    p.normal_(0.0, std)
                else:
                    p.zero_()

    def check_inputs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> None:
        check_ids("input_ids", input_ids, self.config.vocab_size, ("B", "T"))
        check_tensor("input_ids", input_ids, device=self.token_embedding.weight.device)
        if input_ids.shape[1] > self.config.max_length:
            raise InputError(f"input_ids has T = {input_ids.shape[1]} tokens, more than the model's "
                             f"max_length = {self.config.max_length}")
        if attention_mask is not None:
            check_right_padded("attention_mask", attention_mask, tuple(input_ids.shape))
            check_tensor("attention_mask", attention_mask, device=input_ids.device)

    def hidden_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                      check: bool = True) -> list[torch.Tensor]:
        """``[h^(0), ..., h^(L)]``, each ``(B, T, D)``: the embeddings, then every block's output."""
        if check:
            self.check_inputs(input_ids, attention_mask)
        T = input_ids.shape[1]
        positions = torch.arange(T, device=input_ids.device)
        h = self.dropout(self.token_embedding(input_ids) + self.position_embedding(positions)[None])   # (B, T, D)
        states = [h]
        for block in self.blocks:
            h = block(h, None, tgt_is_causal=True, check=False)
            states.append(h)
        return states

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` -> ``(..., V)``: $E h + b$, the tied softmax's logits."""
        return F.linear(hidden, self.token_embedding.weight, self.output_bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                check: bool = True) -> torch.Tensor:
        """``(B, T)`` ids -> ``(B, T, V)`` next-token logits (position ``t`` sees ``x_0..x_t``)."""
        return self.logits(self.hidden_states(input_ids, attention_mask, check=check)[-1])

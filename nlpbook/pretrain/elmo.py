r"""An ELMo-style pair of LSTM language models, forward and backward, and the scalar mix of their layers.

Peters et al. (2018) train a forward LM and a backward LM on the same text and maximise the sum of
their log-likelihoods, sharing the token representation and the softmax:

$$
\max\ \sum_{t} \Big(\log p(x_t \mid x_1, \dots, x_{t-1};\ \Theta_x, \overrightarrow\Theta_{\mathrm{LSTM}}, \Theta_s)
 + \log p(x_t \mid x_{t+1}, \dots, x_T;\ \Theta_x, \overleftarrow\Theta_{\mathrm{LSTM}}, \Theta_s)\Big).
$$

Here $\Theta_x$ is a token embedding table $E$ ``(V, D)`` (**no character CNN**: the small
WordPiece vocabulary of :mod:`nlpbook.pretrain.zoo` already spells rare words in pieces, and the
paper's char-CNN + highway layers would dominate the run time on a CPU), each direction is a
2-layer LSTM of :mod:`nlpbook.rnn.lstm` (width $D$, a residual connection from layer 1 to
layer 2 as in the paper), and $\Theta_s$ is a softmax tied to $E$ with a bias, shared by both
directions: $p(\cdot \mid \overrightarrow h_{t-1}) = \mathrm{softmax}(E\,\overrightarrow h^{(2)}_{t-1} + b)$.

**One-sided states.** $\overrightarrow h^{(j)}_t$ depends on $x_{\le t}$ only and
$\overleftarrow h^{(j)}_t$ on $x_{\ge t}$ only; only their concatenation
$[\overrightarrow h^{(j)}_t; \overleftarrow h^{(j)}_t]$ sees both sides, and the two directions
never see each other inside the network ("shallow" bidirectionality, unlike BERT's deep one).

**Scalar mix.** A downstream model gets, for layers $j = 0..L$ (``j = 0``: the embedding, used
for both directions),

$$
\mathrm{ELMo}_t = \gamma \sum_{j=0}^{L} s_j\, \big[\overrightarrow h^{(j)}_t; \overleftarrow h^{(j)}_t\big],
\qquad s = \mathrm{softmax}(w),
$$

with $w$ ``(L + 1,)`` and $\gamma$ learned with the downstream task (pretraining never touches
them; they start at $w = 0$, i.e. $s_j = 1/(L+1)$, and $\gamma = 1$).

Padding must be on the right: the backward LM runs over each row reversed within its own
length, so it too never reads a pad. Shapes: ``input_ids`` ``(B, T)``, each direction's states
``(B, T, D)``, the mix ``(B, T, 2D)``, logits ``(B, T, V)``.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..rnn.lstm import LSTM
from ..validate import InputError, check_ids, check_number, check_positive, check_tensor, check_type
from .gpt import check_lm_inputs, check_right_padded

__all__ = ["ELMoConfig", "ELMo", "ScalarMix", "reverse_padded", "bidirectional_lm_loss"]


@dataclass(frozen=True)
class ELMoConfig:
    """The sizes of a small ELMo (JSON-able)."""

    vocab_size: int
    d_model: int = 128
    num_layers: int = 2
    dropout: float = 0.1

    def __post_init__(self):
        for name in ("vocab_size", "d_model", "num_layers"):
            check_positive(name, getattr(self, name), integer=True)
        check_number("dropout", self.dropout, low=0, high=1, high_open=True)

    def to_dict(self) -> dict:
        return asdict(self)


def reverse_padded(x: torch.Tensor, lengths: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` entries along dim 1, leave the padding in place (its own inverse).

    ``x`` ``(B, T, ...)``, ``lengths`` ``(B,)`` ints in ``0..T``.
    """
    if check:
        check_tensor("x", x)
        if x.dim() < 2:
            raise InputError(f"x must be (B, T, ...), got shape {tuple(x.shape)}")
        check_tensor("lengths", lengths, (x.shape[0],), dtype="integer", device=x.device)
        if len(lengths) and (int(lengths.min()) < 0 or int(lengths.max()) > x.shape[1]):
            raise InputError(f"lengths must be in 0..{x.shape[1]} (x's T), got {lengths.tolist()}")
    B, T = x.shape[:2]
    t = torch.arange(T, device=x.device)[None].expand(B, T)                   # (B, T)
    L = lengths.to(x.device)[:, None]
    index = torch.where(t < L, L - 1 - t, t)                                  # (B, T)
    if x.dim() == 2:
        return x.gather(1, index)
    return x.gather(1, index[(...,) + (None,) * (x.dim() - 2)].expand_as(x))


class ScalarMix(nn.Module):
    r"""$\gamma \sum_j \mathrm{softmax}(w)_j\, H_j$ over ``L + 1`` tensors of one shape."""

    def __init__(self, num_layers: int):
        super().__init__()
        check_positive("num_layers", num_layers, integer=True)
        self.weights = nn.Parameter(torch.zeros(num_layers))                  # w; s = softmax(w)
        self.gamma = nn.Parameter(torch.ones(()))

    def shares(self) -> torch.Tensor:
        """$s = \\mathrm{softmax}(w)$ ``(L + 1,)``: non-negative, summing to one."""
        return torch.softmax(self.weights, dim=0)

    def forward(self, layers) -> torch.Tensor:
        check_type("layers", layers, (list, tuple), "a list of tensors")
        if len(layers) != len(self.weights):
            raise InputError(f"layers has {len(layers)} tensors but the mix has {len(self.weights)} weights")
        s = self.shares()
        return self.gamma * sum(s[j] * h for j, h in enumerate(layers))


def bidirectional_lm_loss(forward_logits: torch.Tensor, backward_logits: torch.Tensor, input_ids: torch.Tensor,
                          attention_mask: torch.Tensor | None = None, *, reduction: str = "mean", check: bool = True
                          ) -> tuple[torch.Tensor, torch.Tensor, int]:
    r"""``(forward loss, backward loss, N)``: $\overrightarrow h_t$ predicts $x_{t+1}$, $\overleftarrow h_t$ predicts $x_{t-1}$.

    Each is the mean (or the sum) over the $N$ positions whose target is a real token (the same
    $N$ for both).
    """
    if check:
        check_lm_inputs(forward_logits, input_ids, attention_mask, reduction, "forward_logits")
        check_tensor("backward_logits", backward_logits, tuple(forward_logits.shape), dtype="float",
                     device=forward_logits.device)
    valid = torch.ones_like(input_ids[:, 1:], dtype=torch.bool) if attention_mask is None else attention_mask[:, 1:]
    fwd = F.cross_entropy(forward_logits[:, :-1][valid].float(), input_ids[:, 1:][valid], reduction=reduction)
    bwd = F.cross_entropy(backward_logits[:, 1:][valid].float(), input_ids[:, :-1][valid], reduction=reduction)
    return fwd, bwd, int(valid.sum())


class ELMo(nn.Module):
    """A forward and a backward ``num_layers``-layer LSTM LM over shared embeddings and a shared tied softmax."""

    def __init__(self, config: ELMoConfig, *, fast: bool = True):
        super().__init__()
        check_type("config", config, ELMoConfig)
        check_type("fast", fast, bool)
        c = self.config = config
        self.token_embedding = nn.Embedding(c.vocab_size, c.d_model)                       # E (V, D)
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        # one single-layer LSTM per layer and direction, so every layer's states are at hand
        self.forward_layers = nn.ModuleList(LSTM(c.d_model, c.d_model, 1, fast=fast) for _ in range(c.num_layers))
        self.backward_layers = nn.ModuleList(LSTM(c.d_model, c.d_model, 1, fast=fast) for _ in range(c.num_layers))
        self.dropout = nn.Dropout(c.dropout)
        self.output_bias = nn.Parameter(torch.zeros(c.vocab_size))                         # b; weights tied to E
        self.mix = ScalarMix(c.num_layers + 1)

    def check_inputs(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None) -> None:
        check_ids("input_ids", input_ids, self.config.vocab_size, ("B", "T"))
        check_tensor("input_ids", input_ids, device=self.token_embedding.weight.device)
        if attention_mask is not None:
            check_right_padded("attention_mask", attention_mask, tuple(input_ids.shape))
            check_tensor("attention_mask", attention_mask, device=input_ids.device)

    def _run(self, layers, x: torch.Tensor) -> list[torch.Tensor]:
        states, h = [], x
        for k, lstm in enumerate(layers):
            out, _ = lstm(h)                                                  # (B, T, D)
            out = self.dropout(out)
            h = out + h if k > 0 else out                                      # residual from layer 1 on
            states.append(h)
        return states

    def directional_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                           check: bool = True) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        """``(forward, backward)``: each ``[h^(0), ..., h^(L)]`` of ``(B, T, D)`` (``h^(0)`` the embedding)."""
        if check:
            self.check_inputs(input_ids, attention_mask)
        B, T = input_ids.shape
        lengths = (attention_mask.sum(1) if attention_mask is not None
                   else torch.full((B,), T, device=input_ids.device))
        x = self.dropout(self.token_embedding(input_ids))                      # (B, T, D)
        forward = [x] + self._run(self.forward_layers, x)
        reversed_states = self._run(self.backward_layers, reverse_padded(x, lengths, check=False))
        backward = [x] + [reverse_padded(h, lengths, check=False) for h in reversed_states]
        return forward, backward

    def logits(self, hidden: torch.Tensor) -> torch.Tensor:
        """``(..., D)`` -> ``(..., V)``: the softmax shared by both directions, tied to the embeddings."""
        return F.linear(hidden, self.token_embedding.weight, self.output_bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``(forward logits, backward logits)``, each ``(B, T, V)``: at ``t``, of $x_{t+1}$ and of $x_{t-1}$."""
        fwd, bwd = self.directional_states(input_ids, attention_mask, check=check)
        return self.logits(fwd[-1]), self.logits(bwd[-1])

    def mixed_states(self, input_ids: torch.Tensor, attention_mask: torch.Tensor | None = None, *,
                     check: bool = True) -> torch.Tensor:
        r"""``(B, T, 2D)``: $\gamma \sum_j s_j [\overrightarrow h^{(j)}_t; \overleftarrow h^{(j)}_t]$."""
        fwd, bwd = self.directional_states(input_ids, attention_mask, check=check)
        return self.mix([torch.cat([f, b], dim=-1) for f, b in zip(fwd, bwd)])

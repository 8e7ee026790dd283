r"""The decoder: a GRU language model over the target, conditioned on the source.

Both decoders of Part III are this one module; only the context differs. At step ``t``,
with :math:`c` the encoder's final top-layer state (a fixed summary of the source):

$$H^t = \mathrm{GRU}([e(y_{t-1}); c], H^{t-1}),\qquad H^0 = \text{the encoder's final states}$$
$$c^t = \begin{cases} c & \text{without attention (Cho et al. 2014)}\\
\sum_i \alpha_t^i h^i,\ \ \alpha_t = \mathrm{softmax}(u_t) & \text{with attention}\end{cases}$$
$$p(y_t \mid y_{<t}, x) = \mathrm{softmax}\big(W_o \tanh(W_c [H^t; c^t])\big)$$

The attention query is the decoder's current state :math:`H^t`, as in the seed's
:math:`u_t^i = v^\top \tanh(W_1 h^i + W_2 H^t)` (and Luong et al. 2015). The GRU's input
does not depend on attention, so under teacher forcing the GRU runs over all steps in one
call and attention is computed for all steps at once: ``(B, T, S)`` weights. The attention
model is the plain model plus :math:`c^t`; nothing else differs, which makes the comparison
of the two a clean ablation.
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import check_positive
from .encoder import EncoderOutput, gru_layer

__all__ = ["Decoder"]


class Decoder(nn.Module):
    """``forward(tgt_in (B, T), memory) -> logits (B, T, V)``; ``step`` for one token at a time.

    ``attention`` is a module of :mod:`nlpbook.seq2seq.attention` (keys = the encoder
    states, query = :math:`H^t`) or ``None`` for the plain decoder.
    """

    def __init__(self, vocab_size: int, embed_size: int, hidden_size: int, num_layers: int = 1, *,
                 attention: nn.Module | None = None, pad_id: int = 0, rnn: str = "nlpbook"):
        super().__init__()
        for name, value in (("vocab_size", vocab_size), ("embed_size", embed_size),
                            ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_positive(name, value, integer=True)
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.embedding = nn.Embedding(vocab_size, embed_size, padding_idx=pad_id)
        self.layers = nn.ModuleList(gru_layer(embed_size + hidden_size if k == 0 else hidden_size, hidden_size, rnn)
                                    for k in range(num_layers))
        self.attention = attention
        self.combine = nn.Linear(2 * hidden_size, hidden_size)           # W_c
        self.out = nn.Linear(hidden_size, vocab_size)                    # W_o

    def prepare(self, memory: EncoderOutput) -> EncoderOutput:
        """Attention's key projection (:math:`W_1 h^i`), once per source."""
        if self.attention is None or memory.projected is not None:
            return memory
        return memory.with_projected(self.attention.project_keys(memory.states))

    def _run(self, y: torch.Tensor, state: torch.Tensor, memory: EncoderOutput):
        """GRU over ``y`` (B, T) from ``state`` (L, B, H): top states (B, T, H), new state."""
        c = memory.final[-1]                                             # (B, H) fixed summary
        x = torch.cat([self.embedding(y), c[:, None, :].expand(-1, y.shape[1], -1)], dim=-1)
        finals = []
        for k, layer in enumerate(self.layers):
            x, h = layer(x, state[k:k + 1].contiguous())
            finals.append(h[0])
        return x, torch.stack(finals, 0)

    def _logits(self, top: torch.Tensor, memory: EncoderOutput):
        """``top`` (B, T, H) -> logits (B, T, V) and attention weights (B, T, S) or None."""
        if self.attention is None:
            context, weights = memory.final[-1][:, None, :].expand_as(top), None
        else:
            context, weights = self.attention(top, memory.states, memory.mask,
                                              projected=memory.projected, check=False)
        return self.out(torch.tanh(self.combine(torch.cat([top, context], dim=-1)))), weights

    def forward(self, tgt_in: torch.Tensor, memory: EncoderOutput, return_attention: bool = False):
        """Teacher forcing: logits for every step, ``(B, T, V)`` (and ``(B, T, S)`` weights if asked)."""
        memory = self.prepare(memory)
        top, _ = self._run(tgt_in, memory.final, memory)
        logits, weights = self._logits(top, memory)
        return (logits, weights) if return_attention else logits

    def step(self, y_prev: torch.Tensor, state: torch.Tensor, memory: EncoderOutput):
        """One step: ``y_prev`` (N,), ``state`` (L, N, H) -> logits (N, V), new state (L, N, H).

        ``memory`` must have been through :meth:`prepare`; start from ``state = memory.final``.
        """
        top, state = self._run(y_prev[:, None], state, memory)
        logits, _ = self._logits(top, memory)
        return logits[:, 0], state

r"""The long short-term memory (LSTM), explicit and fused, with ``nn.LSTM``'s parameters.

For layer ``k`` (``I`` = the layer's input size, ``H`` = hidden size) the gate rows are
stacked in PyTorch's order **i, f, g, o**::

    weight_ih_l{k}  (4H, I)  = [W_ii; W_if; W_ig; W_io]     bias_ih_l{k}  (4H,)
    weight_hh_l{k}  (4H, H)  = [W_hi; W_hf; W_hg; W_ho]     bias_hh_l{k}  (4H,)

One step, with :math:`a_\ast = W_{i\ast} x_t + b_{i\ast} + W_{h\ast} h_{t-1} + b_{h\ast}`:

$$i_t = \sigma(a_i),\quad f_t = \sigma(a_f),\quad g_t = \tanh(a_g),\quad o_t = \sigma(a_o)$$
$$c_t = f_t \odot c_{t-1} + i_t \odot g_t$$
$$h_t = o_t \odot \tanh(c_t)$$

The seed lists only ``f``, ``i`` and ``o``; the candidate ``g``, the additive cell update and
the output ``h_t = o_t tanh(c_t)`` are what make it an LSTM. Along the cell path
:math:`\partial c_t / \partial c_{t-1} = \operatorname{diag}(f_t)`: no matrix, no squashing
derivative, so a gradient survives as long as the forget gate stays near 1.

Layout: batch first. ``x`` is ``(B, T, I)``; the state ``(h0, c0)`` is two ``(L, B, H)``
tensors as in ``nn.LSTM``; the output is ``(B, T, H)`` and the final state ``(h_n, c_n)``.
No inter-layer dropout, no projections (``proj_size``), no bidirectional mode.
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["lstm_cell", "LSTM", "lstm_parameter_count"]


def lstm_cell(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], w_ih: torch.Tensor,
              w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One LSTM step, gate by gate: ``x`` (B, I), ``state = (h, c)`` each (B, H) -> ``(h_t, c_t)``.

    $$c_t = f_t \odot c_{t-1} + i_t \odot g_t,\qquad h_t = o_t \odot \tanh(c_t)$$
    """
    h, c = state
    H = h.shape[1]

    def pre_activation(gate: int) -> torch.Tensor:               # a = W_i* x + b_i* + W_h* h + b_h*
        rows = slice(gate * H, (gate + 1) * H)
        return x @ w_ih[rows].T + b_ih[rows] + h @ w_hh[rows].T + b_hh[rows]

    i = torch.sigmoid(pre_activation(0))                          # input gate   (B, H)
    f = torch.sigmoid(pre_activation(1))                          # forget gate  (B, H)
    g = torch.tanh(pre_activation(2))                             # candidate    (B, H)
    o = torch.sigmoid(pre_activation(3))                          # output gate  (B, H)
    c_t = f * c + i * g                                           # additive memory update
    h_t = o * torch.tanh(c_t)
    return h_t, c_t


def _lstm_layer_fast(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_ih, w_hh, b_ih, b_hh):
    """The LSTM over a whole sequence, fused: ``x`` (B, T, I) -> ((B, T, H), h (B, H), c (B, H)).

    Same equations as :func:`lstm_cell`. The input projection of every step is one matmul
    ``X W_ih^T`` before the loop; inside it, one ``(B, H) x (H, 4H)`` matmul gives all four
    gates.
    """
    # unbind, not gates_x[:, t]: the backward of T slices would write T zero tensors of the
    # full (B, T, 4H) size (quadratic in T); unbind's backward stacks the T gradients once.
    gates_x = (torch.matmul(x, w_ih.T) + (b_ih + b_hh)).unbind(1)   # T x (B, 4H); both biases folded in
    outputs = []
    for gx in gates_x:
        gates = torch.addmm(gx, h, w_hh.T)                          # (B, 4H), one matmul per step
        a_i, a_f, a_g, a_o = gates.chunk(4, dim=1)
        c = torch.sigmoid(a_f) * c + torch.sigmoid(a_i) * torch.tanh(a_g)
        h = torch.sigmoid(a_o) * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), h, c


class LSTM(nn.Module):
    """A multi-layer, batch-first LSTM with ``nn.LSTM``'s parameter names and shapes.

    ``fast=False`` runs :func:`lstm_cell` step by step; ``fast=True`` runs the fused layer
    (same numbers, checked in float64 by the tests, in less time).

    ``forward(x (B, T, I), state=(h0, c0) each (L, B, H) or None)
    -> (output (B, T, H), (h_n, c_n) each (L, B, H))``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 fast: bool = False, dtype: torch.dtype | None = None):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        self.input_size, self.hidden_size, self.num_layers, self.fast = input_size, hidden_size, num_layers, fast
        H = hidden_size
        for k in range(num_layers):
            layer_in = input_size if k == 0 else H
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(4 * H, layer_in, dtype=dtype)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(4 * H, H, dtype=dtype)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(4 * H, dtype=dtype)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(4 * H, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """``nn.LSTM``'s initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, k: int) -> tuple[torch.Tensor, ...]:
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer ``k``."""
        return tuple(getattr(self, f"{name}_l{k}") for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"))

    def _check(self, x: torch.Tensor, state) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"x must be a (B, T, I) tensor, got {getattr(x, 'shape', type(x))}")
        if x.shape[2] != self.input_size:
            raise ValueError(f"x has {x.shape[2]} features per step, this LSTM expects input_size={self.input_size}")
        if x.shape[1] == 0:
            raise ValueError("x has no time steps (T = 0)")
        if x.dtype != self.weight_ih_l0.dtype:
            raise TypeError(f"x is {x.dtype} but the LSTM's parameters are {self.weight_ih_l0.dtype}")
        B, L, H = x.shape[0], self.num_layers, self.hidden_size
        if state is None:
            zeros = x.new_zeros(L, B, H)
            return zeros, zeros
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise ValueError("state must be a pair (h0, c0)")
        for name, s in zip(("h0", "c0"), state):
            if s.shape != (L, B, H):
                raise ValueError(f"{name} must have shape (num_layers, B, H) = {(L, B, H)}, got {tuple(s.shape)}")
        return state[0], state[1]

    def forward(self, x: torch.Tensor, state=None):
        h0, c0 = self._check(x, state)
        layer_input, final_h, final_c = x, [], []
        for k in range(self.num_layers):
            weights = self.layer_weights(k)
            if self.fast:
                layer_input, h, c = _lstm_layer_fast(layer_input, h0[k], c0[k], *weights)
            else:
                h, c, outputs = h0[k], c0[k], []
                for x_t in layer_input.unbind(1):                   # explicit: one cell call per step
                    h, c = lstm_cell(x_t, (h, c), *weights)
                    outputs.append(h)
                layer_input = torch.stack(outputs, dim=1)           # (B, T, H) feeds the next layer
            final_h.append(h)
            final_c.append(c)
        return layer_input, (torch.stack(final_h, dim=0), torch.stack(final_c, dim=0))

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, fast={self.fast}"


def lstm_parameter_count(input_size: int, hidden_size: int, num_layers: int = 1) -> int:
    r"""$4\,(H (I + H) + 2H)$ per layer: four gate blocks (i, f, g, o), each an input matrix,
    a recurrent matrix and two biases; layers after the first have ``I = H``."""
    H = hidden_size
    return sum(4 * (H * ((input_size if k == 0 else H) + H) + 2 * H) for k in range(num_layers))

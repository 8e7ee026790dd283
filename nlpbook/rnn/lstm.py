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


class _FusedLSTMLayer(torch.autograd.Function):
    r"""One LSTM layer over a whole sequence with a hand-written backward pass (BPTT).

    Forward, time-major inside (``T`` first, so each step's slice is contiguous):
    ``A = X W_ih^T + b`` for all steps in one matmul, then per step one matmul
    ``a_t = A_t + h_{t-1} W_hh^T`` and the activations ``[i, f, g, o]`` of :func:`lstm_cell`.

    Backward, from ``t = T`` down to 1, with :math:`\delta h_t` (from the output and from step
    ``t + 1``) and :math:`\delta c_t`:

    $$\delta c_t \mathrel{+}= \delta h_t \odot o_t \odot (1 - \tanh^2 c_t)$$
    $$\delta[i, f, g, o]_t = [\delta c_t \odot g_t,\ \delta c_t \odot c_{t-1},\ \delta c_t \odot i_t,\ \delta h_t \odot \tanh c_t]$$
    $$\delta a_t = \delta[i, f, g, o]_t \odot [\sigma', \sigma', \tanh', \sigma'],\qquad
    \delta h_{t-1} = \delta a_t W_{hh},\qquad \delta c_{t-1} = \delta c_t \odot f_t$$

    and after the loop, for all steps at once: :math:`\delta W_{hh} = \sum_t \delta a_t^\top h_{t-1}`,
    :math:`\delta W_{ih} = \sum_t \delta a_t^\top x_t`, :math:`\delta b = \sum_t \delta a_t`,
    :math:`\delta x_t = \delta a_t W_{ih}`. Autograd would record ~25 nodes per step; this
    runs ~9 kernels per step and four large matmuls.
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, bias):
        B, T, I = x.shape
        H = h0.shape[1]
        pre_x = torch.matmul(x.transpose(0, 1), w_ih.T) + bias          # (T, B, 4H), all steps at once
        hs = x.new_empty(T + 1, B, H)                                   # h_0 .. h_T
        cs = x.new_empty(T + 1, B, H)                                   # c_0 .. c_T
        acts = x.new_empty(T, B, 4 * H)                                 # [i, f, g, o] per step
        hs[0], cs[0] = h0, c0
        for t in range(T):
            a = torch.addmm(pre_x[t], hs[t], w_hh.T)                    # (B, 4H)
            act = acts[t]
            torch.sigmoid(a, out=act)
            torch.tanh(a[:, 2 * H:3 * H], out=act[:, 2 * H:3 * H])     # g uses tanh
            i, f, g, o = act.chunk(4, dim=1)
            c = torch.addcmul(f * cs[t], i, g)                          # c_t = f c_{t-1} + i g
            cs[t + 1] = c
            torch.mul(o, torch.tanh(c), out=hs[t + 1])                  # h_t = o tanh(c_t)
        ctx.save_for_backward(x, w_ih, w_hh, hs, cs, acts)
        return hs[1:].transpose(0, 1).contiguous(), hs[T].clone(), cs[T].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_output, d_h_last, d_c_last):
        x, w_ih, w_hh, hs, cs, acts = ctx.saved_tensors
        B, T, I = x.shape
        H = hs.shape[2]
        d_output = torch.zeros_like(hs[1:]) if d_output is None else d_output.transpose(0, 1).contiguous()  # (T, B, H)
        dh = torch.zeros_like(hs[0]) if d_h_last is None else d_h_last.clone()
        dc = torch.zeros_like(cs[0]) if d_c_last is None else d_c_last.clone()
        # Everything that does not depend on the backward recursion, for all steps at once.
        tanh_c = torch.tanh(cs[1:])                                     # (T, B, H)
        i_all, f_all, g_all, o_all = acts.chunk(4, dim=2)
        dc_from_h = o_all * (1 - tanh_c * tanh_c)                        # dc_t/dh_t factor
        local = acts * (1 - acts)                                        # sigma' for i, f, o ...
        local[:, :, 2 * H:3 * H] = 1 - g_all * g_all                     # ... tanh' for g
        d_pre = torch.empty_like(acts)                                   # delta a_t, (T, B, 4H)
        for t in range(T - 1, -1, -1):
            dh = dh + d_output[t]
            dc = torch.addcmul(dc, dh, dc_from_h[t])
            d_i, d_f, d_g, d_o = d_pre[t].chunk(4, dim=1)
            torch.mul(dc, g_all[t], out=d_i)
            torch.mul(dc, cs[t], out=d_f)
            torch.mul(dc, i_all[t], out=d_g)
            torch.mul(dh, tanh_c[t], out=d_o)
            d_pre[t].mul_(local[t])
            dh = torch.mm(d_pre[t], w_hh)                                # delta h_{t-1}
            dc = dc * f_all[t]                                           # delta c_{t-1}, the cell path
        flat = d_pre.reshape(T * B, 4 * H)
        d_w_hh = flat.T @ hs[:-1].reshape(T * B, H)
        d_w_ih = flat.T @ x.transpose(0, 1).reshape(T * B, I)
        d_bias = flat.sum(0)
        d_x = (d_pre @ w_ih).transpose(0, 1)
        return d_x, dh, dc, d_w_ih, d_w_hh, d_bias


def _lstm_layer_fast(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_ih, w_hh, b_ih, b_hh):
    """The LSTM over a whole sequence, fused: ``x`` (B, T, I) -> ((B, T, H), h (B, H), c (B, H)).

    Same equations as :func:`lstm_cell`: the input projection of every step is one matmul
    before the loop, each step one ``(B, H) x (H, 4H)`` matmul for all four gates, and the
    backward pass is written by hand (:class:`_FusedLSTMLayer`) instead of recorded by autograd.
    """
    return _FusedLSTMLayer.apply(x, h, c, w_ih, w_hh, b_ih + b_hh)


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

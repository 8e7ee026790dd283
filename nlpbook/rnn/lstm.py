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

import torch

from ..validate import InputError, check_positive
from .gru import check_cell_inputs
from .stacked import StackedGateWeights
from . import lstm_compiled

__all__ = ["lstm_cell", "LSTM", "lstm_parameter_count"]


def lstm_cell(x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor], w_ih: torch.Tensor,
              w_hh: torch.Tensor, b_ih: torch.Tensor, b_hh: torch.Tensor, *,
              check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One LSTM step, gate by gate: ``x`` (B, I), ``state = (h, c)`` each (B, H) -> ``(h_t, c_t)``.

    $$c_t = f_t \odot c_{t-1} + i_t \odot g_t,\qquad h_t = o_t \odot \tanh(c_t)$$

    ``check=False`` skips the input checks (:class:`LSTM` checks once, then loops with it).
    """
    if check:
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise InputError(f"state must be a pair (h, c), got {type(state).__name__}")
        check_cell_inputs(x, state[0], w_ih, w_hh, b_ih, b_hh, gates=4, c=state[1])
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


def _forward_steps(acts: torch.Tensor, hs: torch.Tensor, cs: torch.Tensor, tanh_c: torch.Tensor,
                   w_hh_t: torch.Tensor) -> None:
    """The forward recursion of :class:`_FusedLSTMLayer`, in place, gates in the order o, i, f, g.

    On entry ``acts[t]`` (B, 4H) holds ``A_t = x_t W_ih^T + b`` and ``hs[0]``, ``cs[0]`` the
    initial state; on exit ``acts[t] = [o, i, f, g]_t``, ``hs[t + 1] = h_t``, ``cs[t + 1] = c_t``,
    ``tanh_c[t] = tanh(c_t)``. Seven kernels per step and no allocation: every result is
    written into a preallocated buffer (``addmm_``, ``sigmoid_``, ``out=``).
    """
    H = hs.shape[2]
    # Per-step views made once, in C++ (``unbind``), rather than ~12 Python slicing calls per
    # step: at these sizes a slice costs about as much as a small kernel.
    a_, sig_, tanh_g_ = acts.unbind(0), acts[..., :3 * H].unbind(0), acts[..., 3 * H:].unbind(0)
    o_, i_, f_, g_ = (acts[..., k * H:(k + 1) * H].unbind(0) for k in range(4))
    h_, c_, tc_ = hs.unbind(0), cs.unbind(0), tanh_c.unbind(0)
    for t in range(acts.shape[0]):
        a_[t].addmm_(h_[t], w_hh_t)                                     # a_t = A_t + h_{t-1} W_hh^T
        sig_[t].sigmoid_()                                              # o, i, f: one contiguous slice
        tanh_g_[t].tanh_()                                              # g
        torch.mul(f_[t], c_[t], out=c_[t + 1])                          # c_t = f c_{t-1} ...
        c_[t + 1].addcmul_(i_[t], g_[t])                                #       ... + i g
        torch.tanh(c_[t + 1], out=tc_[t])
        torch.mul(o_[t], tc_[t], out=h_[t + 1])                         # h_t = o tanh(c_t)


def _backward_steps(d_pre: torch.Tensor, dh: torch.Tensor, dc: torch.Tensor, d_output: torch.Tensor,
                    w_hh: torch.Tensor, dc_from_h: torch.Tensor, coef_o: torch.Tensor,
                    coef_ifg: torch.Tensor, f: torch.Tensor) -> None:
    r"""The backward recursion of :class:`_FusedLSTMLayer`, in place, gates in the order o, i, f, g.

    On entry ``dh = δh_T`` (output gradient of the last step included), ``dc = δc_T``; on exit
    ``d_pre[t] = δa_t`` for every step and ``dh``, ``dc`` hold ``δh_0``, ``δc_0``. ``coef_ifg``
    is ``(T, B, 3, H)``: the factors of :math:`\delta c_t` in :math:`\delta a_{i,f,g}`, so one
    broadcast ``mul`` makes all three. Five kernels per step, no allocation.
    """
    T, B, H = d_output.shape
    dc_b = dc.unsqueeze(1)                                              # (B, 1, H) view of dc
    d_o_ = d_pre[..., :H].unbind(0)                                     # per-step views, made once
    d_ifg_ = d_pre[..., H:].view(T, B, 3, H).unbind(0)
    coef_ifg_, coef_o_, dc_from_h_, f_ = coef_ifg.unbind(0), coef_o.unbind(0), dc_from_h.unbind(0), f.unbind(0)
    d_pre_, d_out_ = d_pre.unbind(0), d_output.unbind(0)
    for t in range(T - 1, -1, -1):
        dc.addcmul_(dh, dc_from_h_[t])                                  # dh_t reaches c_t through h_t = o tanh(c_t)
        torch.mul(dc_b, coef_ifg_[t], out=d_ifg_[t])                    # δa_i, δa_f, δa_g in one kernel
        torch.mul(dh, coef_o_[t], out=d_o_[t])                          # δa_o
        if t > 0:                                                       # δh_{t-1}, output gradient folded in
            torch.addmm(d_out_[t - 1], d_pre_[t], w_hh, out=dh)
        else:
            torch.mm(d_pre_[t], w_hh, out=dh)
        dc.mul_(f_[t])                                                  # δc_{t-1}, the cell path


class _FusedLSTMLayer(torch.autograd.Function):
    r"""One LSTM layer over a whole sequence with a hand-written backward pass (BPTT).

    Forward, time-major inside (``T`` first, so each step's slice is contiguous):
    ``A = X W_ih^T + b`` for all steps in one matmul, then per step one in-place matmul
    ``a_t = A_t + h_{t-1} W_hh^T`` and the activations of :func:`lstm_cell`.

    Backward, from ``t = T`` down to 1, with :math:`\delta h_t` (from the output and from step
    ``t + 1``) and :math:`\delta c_t`:

    $$\delta c_t \mathrel{+}= \delta h_t \odot o_t \odot (1 - \tanh^2 c_t)$$
    $$\delta a_t = [\delta c_t \odot g_t \sigma'_i,\ \delta c_t \odot c_{t-1} \sigma'_f,\
    \delta c_t \odot i_t \tanh'_g,\ \delta h_t \odot \tanh c_t\, \sigma'_o]$$
    $$\delta h_{t-1} = \delta a_t W_{hh},\qquad \delta c_{t-1} = \delta c_t \odot f_t$$

    with :math:`\sigma'_i = i_t (1 - i_t)`, :math:`\tanh'_g = 1 - g_t^2`, etc. After the loop,
    for all steps at once: :math:`\delta W_{hh} = \sum_t \delta a_t^\top h_{t-1}`,
    :math:`\delta W_{ih} = \sum_t \delta a_t^\top x_t`, :math:`\delta b = \sum_t \delta a_t`,
    :math:`\delta x_t = \delta a_t W_{ih}`.

    Why it is fast. At small sizes the time goes to per-kernel overhead, not arithmetic, so
    the loops (:func:`_forward_steps`, :func:`_backward_steps`) launch as few kernels as
    possible: 7 per step forward, 5 per step backward (autograd would record ~25 nodes per
    step), plus a handful of large ones for all steps at once. The tricks:

    * **Gate order o, i, f, g inside.** PyTorch's ``[i; f; g; o]`` rows are rotated once per
      call (``torch.roll`` by ``H`` rows) to ``[o; i; f; g]``: the three sigmoid gates are then
      one contiguous slice (one ``sigmoid_``), and the three gates whose gradient is scaled by
      :math:`\delta c_t` (i, f, g) are one contiguous slice too (one ``mul`` in backward). The
      weight gradients are rotated back at the end.
    * **Preallocated buffers, in-place kernels.** Every per-step tensor is a view of a
      ``(T, B, ·)`` buffer and the kernels write into it (``out=``, ``addmm_``, ``sigmoid_``),
      so the loops allocate nothing; the output gradient is folded into the recurrent matmul
      (``addmm``) instead of added separately. The per-step views are made before the loops by
      ``unbind`` (in C++), because a Python slice per tensor per step costs about as much as a
      small kernel.
    * **Coefficients precomputed for all steps.** Everything in :math:`\delta a_t` that does not
      depend on the backward recursion (``g σ'_i``, ``c_{t-1} σ'_f``, ``i tanh'_g``,
      ``tanh c_t σ'_o``, ``o (1 - tanh² c_t)``) is computed before the loop, one big kernel each.
    * **Weight gradients after the loop**, one matmul each over all ``T·B`` rows, e.g.
      ``δW_hh = δA^T H_prev`` with ``δA`` (T·B, 4H) and ``H_prev`` (T·B, H).
    """

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, bias):
        B, T, I = x.shape
        H = h0.shape[1]
        # Gate order o, i, f, g (see the class docstring): rotate the rows once, outside the loop.
        w_ih, w_hh, bias = (torch.roll(w, H, dims=0) for w in (w_ih, w_hh, bias))
        x_tm = x.transpose(0, 1).reshape(T * B, I)                     # time-major copy of x
        # acts holds A_t = x_t W_ih^T + b for all steps (one matmul); the loop turns acts[t] into
        # a_t and then, in place, into the activations [o, i, f, g]_t kept for backward.
        acts = torch.addmm(bias, x_tm, w_ih.T).view(T, B, 4 * H)
        hs = x.new_empty(T + 1, B, H)                                   # h_0 .. h_T
        cs = x.new_empty(T + 1, B, H)                                   # c_0 .. c_T
        tanh_c = x.new_empty(T, B, H)                                   # tanh(c_t), reused by backward
        hs[0], cs[0] = h0, c0
        # W_hh^T made contiguous once: a contiguous right operand makes the small matmul faster.
        # The loop in C++ when nlpbook's kernel is built (same kernels, no interpreter; see
        # nlpbook/rnn/lstm_compiled.py), else _forward_steps above.
        forward_steps, _ = lstm_compiled.step_loops(like=x)
        forward_steps(acts, hs, cs, tanh_c, w_hh.T.contiguous())
        ctx.save_for_backward(x_tm, w_ih, w_hh, hs, cs, tanh_c, acts)
        return hs[1:].transpose(0, 1).contiguous(), hs[T].clone(), cs[T].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_output, d_h_last, d_c_last):
        x_tm, w_ih, w_hh, hs, cs, tanh_c, acts = ctx.saved_tensors
        T, B, H = tanh_c.shape
        d_output = torch.zeros_like(tanh_c) if d_output is None else d_output.transpose(0, 1).contiguous()  # (T, B, H)
        dh = torch.zeros_like(hs[0]) if d_h_last is None else d_h_last.clone()
        dc = torch.zeros_like(cs[0]) if d_c_last is None else d_c_last.clone()
        dh += d_output[T - 1]
        # Everything that does not depend on the backward recursion, for all steps at once.
        # (ATen's sigmoid_backward(u, y) = u y (1 - y) and tanh_backward(u, y) = u (1 - y^2) do each
        # product in one kernel instead of three.)
        o, i, f, g = acts.split(H, dim=2)
        sigmoid_backward, tanh_backward = torch.ops.aten.sigmoid_backward, torch.ops.aten.tanh_backward
        dc_from_h = tanh_backward(o, tanh_c)                             # dc_t/dh_t factor o (1 - tanh^2 c_t)
        coef_o = sigmoid_backward(tanh_c, o)                             # δa_o = δh * tanh c_t σ'_o
        coef_ifg = torch.cat([sigmoid_backward(g, i),                    # δa_{i,f,g} = δc * [g σ'_i,
                              sigmoid_backward(cs[:-1], f),              #   c_{t-1} σ'_f,
                              tanh_backward(i, g)], dim=2)               #   i tanh'_g]
        d_pre = torch.empty_like(acts)                                   # δa_t, (T, B, 4H), order o, i, f, g
        _, backward_steps = lstm_compiled.step_loops(like=hs)
        backward_steps(d_pre, dh, dc, d_output, w_hh, dc_from_h, coef_o, coef_ifg.view(T, B, 3, H), f)
        flat = d_pre.view(T * B, 4 * H)
        # Weight gradients for all steps at once, rotated back from o, i, f, g to PyTorch's i, f, g, o.
        d_w_hh = torch.roll(flat.T @ hs[:-1].reshape(T * B, H), -H, dims=0)
        d_w_ih = torch.roll(flat.T @ x_tm, -H, dims=0)
        d_bias = torch.roll(flat.sum(0), -H, dims=0)
        d_x = (d_pre @ w_ih).transpose(0, 1)
        return d_x, dh, dc, d_w_ih, d_w_hh, d_bias


def _lstm_layer_fast(x: torch.Tensor, h: torch.Tensor, c: torch.Tensor, w_ih, w_hh, b_ih, b_hh):
    """The LSTM over a whole sequence, fused: ``x`` (B, T, I) -> ((B, T, H), h (B, H), c (B, H)).

    Same equations as :func:`lstm_cell`: the input projection of every step is one matmul
    before the loop, each step one ``(B, H) x (H, 4H)`` matmul for all four gates, and the
    backward pass is written by hand (:class:`_FusedLSTMLayer`) instead of recorded by autograd.
    """
    return _FusedLSTMLayer.apply(x, h, c, w_ih, w_hh, b_ih + b_hh)


class LSTM(StackedGateWeights):
    """A multi-layer, batch-first LSTM with ``nn.LSTM``'s parameter names and shapes.

    ``fast=False`` runs :func:`lstm_cell` step by step; ``fast=True`` runs the fused layer
    (same numbers, checked in float64 by the tests, in less time).

    ``forward(x (B, T, I), state=(h0, c0) each (L, B, H) or None)
    -> (output (B, T, H), (h_n, c_n) each (L, B, H))``.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 fast: bool = False, dtype: torch.dtype | None = None):
        super().__init__(input_size, hidden_size, num_layers, gates=4, dtype=dtype)  # i, f, g, o
        self.fast = fast

    def _check(self, x: torch.Tensor, state) -> tuple[torch.Tensor, torch.Tensor]:
        dims = self.check_input(x)
        if state is None:
            zeros = x.new_zeros(self.num_layers, x.shape[0], self.hidden_size)
            return zeros, zeros
        if not isinstance(state, (tuple, list)) or len(state) != 2:
            raise InputError(f"state must be a pair (h0, c0), got {type(state).__name__}"
                             + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else ""))
        return self.check_state("h0", state[0], dims), self.check_state("c0", state[1], dims)

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
                    h, c = lstm_cell(x_t, (h, c), *weights, check=False)   # checked once, above
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
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        check_positive(name, value, integer=True)
    H = hidden_size
    return sum(4 * (H * ((input_size if k == 0 else H) + H) + 2 * H) for k in range(num_layers))

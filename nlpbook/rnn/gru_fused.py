r"""PyTorch's GRU over a whole sequence with a hand-written backward pass (BPTT), for speed.

Forward (gates in PyTorch's order r, z, n; ``A = X W_ih^T + b_ih`` for all steps in one matmul):

$$G_t = h_{t-1} W_{hh}^\top + b_{hh},\quad r = \sigma(A_r + G_r),\quad z = \sigma(A_z + G_z),\quad
n = \tanh(A_n + r \odot G_n),\quad h_t = n + z \odot (h_{t-1} - n)$$

Backward, from ``t = T`` down to 1, with :math:`\delta h_t` (from the output and from step ``t + 1``):

$$\begin{aligned}
\delta a_z &= \delta h_t \odot (h_{t-1} - n)\, z (1 - z), &
\delta a_n &= \delta h_t \odot (1 - z)(1 - n^2), \\
\delta a_r &= \delta a_n \odot G_n\, r (1 - r), &
\delta G &= [\delta a_r,\ \delta a_z,\ \delta a_n \odot r],\quad \delta A = [\delta a_r,\ \delta a_z,\ \delta a_n], \\
\delta h_{t-1} &= \delta h_t \odot z + \delta G\, W_{hh}
\end{aligned}$$

then for all steps at once :math:`\delta W_{hh} = \sum_t \delta G_t^\top h_{t-1}`,
:math:`\delta b_{hh} = \sum_t \delta G_t`, :math:`\delta W_{ih} = \sum_t \delta A_t^\top x_t`,
:math:`\delta b_{ih} = \sum_t \delta A_t`, :math:`\delta x_t = \delta A_t W_{ih}`.

The per-step loops (:func:`_forward_steps`, :func:`_backward_steps`) are written twice: in Python
here (the reference, and the fallback) and in C++ (:mod:`nlpbook.rnn.gru_compiled`: one matmul
and one elementwise pass per step), which the layer uses when it is built.
"""
from __future__ import annotations

import torch

from .. import kernels
from . import gru_compiled


def _forward_steps(acts: torch.Tensor, gh: torch.Tensor, hs: torch.Tensor, w_hh_t: torch.Tensor,
                   b_hh: torch.Tensor) -> None:
    """In place: ``acts[t]`` (B, 3H) holds ``A_t`` on entry and ``[r, z, n]_t`` on exit;
    ``gh[t] = G_t``; ``hs[t + 1] = h_t`` (``hs[0]`` is the initial state)."""
    H = hs.shape[2]
    for t in range(acts.shape[0]):
        torch.addmm(b_hh, hs[t], w_hh_t, out=gh[t])                        # G_t = h_{t-1} W_hh^T + b_hh
        a, g = acts[t], gh[t]
        a[:, :2 * H].add_(g[:, :2 * H]).sigmoid_()                          # r, z
        r, z, n = a[:, :H], a[:, H:2 * H], a[:, 2 * H:]
        n.addcmul_(r, g[:, 2 * H:]).tanh_()                                 # n = tanh(A_n + r G_n)
        torch.addcmul(n, z, hs[t] - n, out=hs[t + 1])                       # h_t = n + z (h_{t-1} - n)


def _backward_steps(d_acts: torch.Tensor, d_gh: torch.Tensor, dh: torch.Tensor, d_output: torch.Tensor,
                    acts: torch.Tensor, gh: torch.Tensor, hs: torch.Tensor, w_hh: torch.Tensor) -> None:
    """In place: ``d_acts[t] = δA_t``, ``d_gh[t] = δG_t``; ``dh`` enters as ``δh_T`` (output
    gradient of the last step included) and leaves as ``δh_0``."""
    H = hs.shape[2]
    for t in range(acts.shape[0] - 1, -1, -1):
        r, z, n = acts[t, :, :H], acts[t, :, H:2 * H], acts[t, :, 2 * H:]
        d_a_z = dh * (hs[t] - n) * z * (1 - z)
        d_a_n = dh * (1 - z) * (1 - n * n)
        d_a_r = d_a_n * gh[t, :, 2 * H:] * r * (1 - r)
        d_acts[t] = torch.cat([d_a_r, d_a_z, d_a_n], dim=1)
        d_gh[t] = torch.cat([d_a_r, d_a_z, d_a_n * r], dim=1)
        carried = dh * z + (d_output[t - 1] if t > 0 else 0)                # δh_t z (+ the output's)
        torch.addmm(carried, d_gh[t], w_hh, out=dh)                          # δh_{t-1}


def step_loops(like=None):
    """``(forward_steps, backward_steps)``: the compiled loops when built and ``like`` is a CPU
    float32/float64 tensor, else the Python ones (which run on any device)."""
    if like is not None and not kernels.compiled_can_run(like):
        return _forward_steps, _backward_steps
    module = gru_compiled.load()
    if module is None:
        return _forward_steps, _backward_steps
    return module.gru_forward_steps, module.gru_backward_steps


class FusedGRULayer(torch.autograd.Function):
    """One PyTorch-form GRU layer: ``apply(x (B, T, I), h0 (B, H), w_ih, w_hh, b_ih, b_hh)``
    -> ``(output (B, T, H), h_T (B, H))``. Equations in the module docstring."""

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        B, T, I = x.shape
        H = h0.shape[1]
        x_tm = x.transpose(0, 1).reshape(T * B, I)                          # time-major copy of x
        acts = torch.addmm(b_ih, x_tm, w_ih.T).view(T, B, 3 * H)            # A_t for every step
        gh = x.new_empty(T, B, 3 * H)
        hs = x.new_empty(T + 1, B, H)                                       # h_0 .. h_T
        hs[0] = h0
        forward_steps, _ = step_loops(like=x)
        forward_steps(acts, gh, hs, w_hh.T.contiguous(), b_hh)
        ctx.save_for_backward(x_tm, w_ih, w_hh, acts, gh, hs)
        return hs[1:].transpose(0, 1).contiguous(), hs[T].clone()

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_output, d_h_last):
        x_tm, w_ih, w_hh, acts, gh, hs = ctx.saved_tensors
        T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
        d_output = torch.zeros_like(hs[1:]) if d_output is None else d_output.transpose(0, 1).contiguous()
        dh = torch.zeros_like(hs[0]) if d_h_last is None else d_h_last.clone()
        dh += d_output[T - 1]
        d_acts, d_gh = torch.empty_like(acts), torch.empty_like(gh)
        _, backward_steps = step_loops(like=hs)
        backward_steps(d_acts, d_gh, dh, d_output, acts, gh, hs, w_hh)
        flat_a, flat_g = d_acts.view(T * B, 3 * H), d_gh.view(T * B, 3 * H)
        d_w_hh = flat_g.T @ hs[:-1].reshape(T * B, H)
        d_w_ih = flat_a.T @ x_tm
        d_x = (d_acts @ w_ih).transpose(0, 1)
        return d_x, dh, d_w_ih, d_w_hh, flat_a.sum(0), flat_g.sum(0)

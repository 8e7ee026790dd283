r"""The fused LSTM's two per-step loops in C++: one matmul and ONE elementwise pass per step.

:func:`nlpbook.rnn.lstm._forward_steps` and :func:`nlpbook.rnn.lstm._backward_steps` launch 7 and
5 small ATen kernels per time step. With ``B = 16, H = 64`` each kernel touches 1,024 numbers
and costs a few microseconds of set-up (the interpreter's call, the dispatcher, the loop
planning), so set-up, not arithmetic, sets the layer's time. The loops below compute the same
equations, on the same buffers, with one ``addmm`` (BLAS) per step and one plain C++ loop over
the ``B x H`` elements for all the gates' elementwise work:

forward, per element: $o, i, f = \sigma(\cdot)$, $g = \tanh(\cdot)$, $c_t = f c_{t-1} + i g$,
$h_t = o \tanh c_t$; backward: $\delta c_t \mathrel{+}= \delta h_t\, o (1 - \tanh^2 c_t)$, the four
$\delta a$ and $\delta c_{t-1} = \delta c_t f$, then $\delta h_{t-1} = \delta a_t W_{hh}$.

The scalar ``exp`` and ``tanh`` round differently from ATen's vectorised ones in the last bit, so
the two paths agree to float rounding, not bitwise (the tests compare them, and gradcheck runs in
float64 on both).

Compiled once by :mod:`nlpbook.kernels` (``make install`` does it ahead of time);
:func:`step_loops` returns the Python loops when no compiler is available.
"""
from __future__ import annotations

from .. import kernels

KERNEL = "lstm_steps"

SOURCE = r"""
#include <torch/extension.h>
#include <cmath>

// The element loops are written so that the compiler vectorises them (contiguous rows, no
// aliasing); exp and tanh then come from glibc's vector math library (see kernels.py's flags).

template <typename T> static inline void sigmoid_inplace(T* __restrict__ x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = T(1) / (T(1) + std::exp(-x[j]));
}
template <typename T> static inline void tanh_inplace(T* __restrict__ x, int64_t n) {
  for (int64_t j = 0; j < n; ++j) x[j] = std::tanh(x[j]);
}

// acts (T, B, 4H), gate order o, i, f, g: A_t on entry, the activations on exit.
// hs, cs (T + 1, B, H): row 0 holds the initial state. tanh_c (T, B, H). w_hh_t (H, 4H) contiguous.
// All contiguous. Per step: one matmul, then one pass over each row's gates.
void lstm_forward_steps(at::Tensor acts, at::Tensor hs, at::Tensor cs, at::Tensor tanh_c,
                        at::Tensor w_hh_t) {
  const int64_t T = acts.size(0), B = acts.size(1), H = hs.size(2);
  TORCH_CHECK(acts.is_contiguous() && hs.is_contiguous() && cs.is_contiguous() && tanh_c.is_contiguous(),
              "lstm_forward_steps needs contiguous buffers");
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "lstm_forward_steps", [&] {
    scalar_t* cs_base = cs.data_ptr<scalar_t>();
    scalar_t* hs_base = hs.data_ptr<scalar_t>();
    scalar_t* tc_base = tanh_c.data_ptr<scalar_t>();
    for (int64_t t = 0; t < T; ++t) {
      at::Tensor a_t = acts.select(0, t);
      a_t.addmm_(hs.select(0, t), w_hh_t);                     // a_t = A_t + h_{t-1} W_hh^T
      scalar_t* a = a_t.data_ptr<scalar_t>();
      const scalar_t* c_prev = cs_base + t * B * H;            // contiguous: step t's rows
      scalar_t* c_all = cs_base + (t + 1) * B * H;
      scalar_t* tc_all = tc_base + t * B * H;
      scalar_t* h_all = hs_base + (t + 1) * B * H;
      for (int64_t b = 0; b < B; ++b) {
        scalar_t* __restrict__ o = a + b * 4 * H;              // the row's gates o | i | f | g
        scalar_t* __restrict__ i = o + H;
        scalar_t* __restrict__ f = o + 2 * H;
        scalar_t* __restrict__ g = o + 3 * H;
        sigmoid_inplace(o, 3 * H);                               // o, i, f (kept for backward)
        tanh_inplace(g, H);                                      // g
        const scalar_t* __restrict__ cp = c_prev + b * H;
        scalar_t* __restrict__ c = c_all + b * H;
        scalar_t* __restrict__ tc = tc_all + b * H;
        scalar_t* __restrict__ h = h_all + b * H;
        for (int64_t j = 0; j < H; ++j) c[j] = f[j] * cp[j] + i[j] * g[j];   // c_t = f c_{t-1} + i g
        for (int64_t j = 0; j < H; ++j) tc[j] = std::tanh(c[j]);
        for (int64_t j = 0; j < H; ++j) h[j] = o[j] * tc[j];                 // h_t = o tanh(c_t)
      }
    }
  });
}

// d_pre (T, B, 4H) out: the pre-activation gradients, order o, i, f, g. dh, dc (B, H): in, the
// gradients at step T; out, at step 0. d_output (T, B, H). w_hh (4H, H), rows o, i, f, g.
// dc_from_h, coef_o (T, B, H) and coef_ifg (T, B, 3, H) contiguous; f (T, B, H) rows contiguous.
// Per step: one pass over each row, then one matmul.
void lstm_backward_steps(at::Tensor d_pre, at::Tensor dh, at::Tensor dc, at::Tensor d_output,
                         at::Tensor w_hh, at::Tensor dc_from_h, at::Tensor coef_o,
                         at::Tensor coef_ifg, at::Tensor f) {
  const int64_t T = d_output.size(0), B = d_output.size(1), H = d_output.size(2);
  TORCH_CHECK(f.stride(2) == 1, "f must have contiguous rows");
  TORCH_CHECK(d_pre.is_contiguous() && dc_from_h.is_contiguous() && coef_o.is_contiguous() &&
              coef_ifg.is_contiguous(), "lstm_backward_steps needs contiguous buffers");
  AT_DISPATCH_FLOATING_TYPES(d_pre.scalar_type(), "lstm_backward_steps", [&] {
    const scalar_t* dfh_base = dc_from_h.data_ptr<scalar_t>();
    const scalar_t* co_base = coef_o.data_ptr<scalar_t>();
    const scalar_t* cifg_base = coef_ifg.data_ptr<scalar_t>();
    scalar_t* dh_all = dh.data_ptr<scalar_t>();
    scalar_t* dc_all = dc.data_ptr<scalar_t>();
    const scalar_t* f_base = f.data_ptr<scalar_t>();
    for (int64_t t = T - 1; t >= 0; --t) {
      at::Tensor dp_t = d_pre.select(0, t);
      scalar_t* dp = dp_t.data_ptr<scalar_t>();
      const scalar_t* dfh_all = dfh_base + t * B * H;
      const scalar_t* co_all = co_base + t * B * H;
      const scalar_t* cifg_all = cifg_base + t * B * 3 * H;
      for (int64_t b = 0; b < B; ++b) {
        scalar_t* __restrict__ dc_ = dc_all + b * H;
        const scalar_t* __restrict__ dh_ = dh_all + b * H;
        const scalar_t* __restrict__ dfh = dfh_all + b * H;
        const scalar_t* __restrict__ co = co_all + b * H;
        const scalar_t* __restrict__ cifg = cifg_all + b * 3 * H;
        const scalar_t* __restrict__ f_ = f_base + t * f.stride(0) + b * f.stride(1);
        scalar_t* __restrict__ d_o = dp + b * 4 * H;
        scalar_t* __restrict__ d_ifg = d_o + H;
        for (int64_t j = 0; j < H; ++j) dc_[j] += dh_[j] * dfh[j];         // dh_t reaches c_t via h_t
        for (int64_t j = 0; j < H; ++j) d_o[j] = dh_[j] * co[j];          // d a_o
        for (int64_t g = 0; g < 3; ++g)                                    // d a_i, d a_f, d a_g
          for (int64_t j = 0; j < H; ++j) d_ifg[g * H + j] = dc_[j] * cifg[g * H + j];
        for (int64_t j = 0; j < H; ++j) dc_[j] *= f_[j];                   // d c_{t-1}, the cell path
      }
      if (t > 0) {
        at::addmm_out(dh, d_output.select(0, t - 1), dp_t, w_hh);  // d h_{t-1}, output gradient folded in
      } else {
        at::mm_out(dh, dp_t, w_hh);
      }
    }
  });
}
"""

kernels.register(KERNEL, SOURCE, ("lstm_forward_steps", "lstm_backward_steps"))


def step_loops(like=None):
    """``(forward_steps, backward_steps)``: the compiled loops, or the Python ones.

    The compiled loops run on CPU float32/float64 tensors only: for a tensor ``like`` on a GPU (or
    in another dtype), and where no compiler built them, the Python loops run (on any device).
    """
    if like is not None and not kernels.compiled_can_run(like):
        from .lstm import _backward_steps, _forward_steps

        return _forward_steps, _backward_steps
    module = kernels.load(KERNEL)
    if module is None:
        from .lstm import _backward_steps, _forward_steps

        return _forward_steps, _backward_steps
    return module.lstm_forward_steps, module.lstm_backward_steps

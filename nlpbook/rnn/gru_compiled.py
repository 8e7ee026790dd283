"""The fused GRU's per-step loops in C++: one matmul and one elementwise pass per step.

The same equations as :func:`nlpbook.rnn.gru_fused._forward_steps` and ``_backward_steps``
(see that module's docstring), on the same buffers. The Python loops launch about 8 kernels per
step forward and 15 backward, each on ``B x H`` numbers, so at this book's sizes their set-up
sets the time; here each step is one ``addmm`` (BLAS) and one loop over the elements that the
compiler vectorises (:mod:`nlpbook.kernels`). Results agree with the Python loops to float
rounding (the tests compare them; gradcheck runs on both).
"""
from __future__ import annotations

from .. import kernels

KERNEL = "gru_steps"

SOURCE = r"""
#include <torch/extension.h>
#include <cmath>

// acts (T, B, 3H): A_t on entry, [r, z, n]_t on exit. gh (T, B, 3H) out: G_t. hs (T + 1, B, H):
// row 0 the initial state. w_hh_t (H, 3H) contiguous, b_hh (3H). All contiguous.
void gru_forward_steps(at::Tensor acts, at::Tensor gh, at::Tensor hs, at::Tensor w_hh_t, at::Tensor b_hh) {
  TORCH_CHECK(acts.is_contiguous() && gh.is_contiguous() && hs.is_contiguous(), "gru_forward_steps needs contiguous buffers");
  const int64_t T = acts.size(0), B = acts.size(1), H = hs.size(2);
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "gru_forward_steps", [&] {
    scalar_t* a_base = acts.data_ptr<scalar_t>();
    scalar_t* g_base = gh.data_ptr<scalar_t>();
    scalar_t* h_base = hs.data_ptr<scalar_t>();
    for (int64_t t = 0; t < T; ++t) {
      at::Tensor g_t = gh.select(0, t);
      at::addmm_out(g_t, b_hh, hs.select(0, t), w_hh_t);       // G_t = h_{t-1} W_hh^T + b_hh
      for (int64_t b = 0; b < B; ++b) {
        scalar_t* __restrict__ a = a_base + (t * B + b) * 3 * H; // r | z | n of this row
        const scalar_t* __restrict__ g = g_base + (t * B + b) * 3 * H;
        const scalar_t* __restrict__ h_prev = h_base + (t * B + b) * H;
        scalar_t* __restrict__ h = h_base + ((t + 1) * B + b) * H;
        for (int64_t j = 0; j < 2 * H; ++j) a[j] = scalar_t(1) / (scalar_t(1) + std::exp(-(a[j] + g[j])));  // r, z
        for (int64_t j = 0; j < H; ++j) a[2 * H + j] = std::tanh(a[2 * H + j] + a[j] * g[2 * H + j]);      // n
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t n = a[2 * H + j];
          h[j] = n + a[H + j] * (h_prev[j] - n);                // h_t = n + z (h_{t-1} - n)
        }
      }
    }
  });
}

// d_acts, d_gh (T, B, 3H) out: dA_t and dG_t. dh (B, H): in dh_T, out dh_0. d_output (T, B, H).
// acts, gh, hs as the forward left them; w_hh (3H, H). All contiguous.
void gru_backward_steps(at::Tensor d_acts, at::Tensor d_gh, at::Tensor dh, at::Tensor d_output,
                        at::Tensor acts, at::Tensor gh, at::Tensor hs, at::Tensor w_hh) {
  TORCH_CHECK(d_acts.is_contiguous() && d_gh.is_contiguous() && dh.is_contiguous() && d_output.is_contiguous() &&
              acts.is_contiguous() && gh.is_contiguous() && hs.is_contiguous(), "gru_backward_steps needs contiguous buffers");
  const int64_t T = acts.size(0), B = acts.size(1), H = hs.size(2);
  at::Tensor carried = at::empty_like(dh);
  AT_DISPATCH_FLOATING_TYPES(acts.scalar_type(), "gru_backward_steps", [&] {
    const scalar_t* a_base = acts.data_ptr<scalar_t>();
    const scalar_t* g_base = gh.data_ptr<scalar_t>();
    const scalar_t* h_base = hs.data_ptr<scalar_t>();
    const scalar_t* out_base = d_output.data_ptr<scalar_t>();
    scalar_t* da_base = d_acts.data_ptr<scalar_t>();
    scalar_t* dg_base = d_gh.data_ptr<scalar_t>();
    scalar_t* dh_base = dh.data_ptr<scalar_t>();
    scalar_t* carried_base = carried.data_ptr<scalar_t>();
    for (int64_t t = T - 1; t >= 0; --t) {
      for (int64_t b = 0; b < B; ++b) {
        const scalar_t* __restrict__ r = a_base + (t * B + b) * 3 * H;
        const scalar_t* __restrict__ z = r + H;
        const scalar_t* __restrict__ n = r + 2 * H;
        const scalar_t* __restrict__ g_n = g_base + (t * B + b) * 3 * H + 2 * H;
        const scalar_t* __restrict__ h_prev = h_base + (t * B + b) * H;
        const scalar_t* __restrict__ dh_ = dh_base + b * H;
        scalar_t* __restrict__ da = da_base + (t * B + b) * 3 * H;
        scalar_t* __restrict__ dg = dg_base + (t * B + b) * 3 * H;
        scalar_t* __restrict__ c = carried_base + b * H;
        for (int64_t j = 0; j < H; ++j) {
          const scalar_t d_a_z = dh_[j] * (h_prev[j] - n[j]) * z[j] * (scalar_t(1) - z[j]);
          const scalar_t d_a_n = dh_[j] * (scalar_t(1) - z[j]) * (scalar_t(1) - n[j] * n[j]);
          const scalar_t d_a_r = d_a_n * g_n[j] * r[j] * (scalar_t(1) - r[j]);
          da[j] = d_a_r; da[H + j] = d_a_z; da[2 * H + j] = d_a_n;
          dg[j] = d_a_r; dg[H + j] = d_a_z; dg[2 * H + j] = d_a_n * r[j];
          c[j] = dh_[j] * z[j] + (t > 0 ? out_base[((t - 1) * B + b) * H + j] : scalar_t(0));
        }
      }
      at::addmm_out(dh, carried, d_gh.select(0, t), w_hh);     // dh_{t-1} = dh_t z (+ output's) + dG W_hh
    }
  });
}
"""

kernels.register(KERNEL, SOURCE, ("gru_forward_steps", "gru_backward_steps"))


def load():
    """The compiled module, or ``None`` (no compiler, or ``$NLPBOOK_KERNELS=0``)."""
    return kernels.load(KERNEL)

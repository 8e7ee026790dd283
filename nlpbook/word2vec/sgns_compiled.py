r""":func:`nlpbook.word2vec.sgns.sgns_step` in C++: gather, score, scatter in one pass over the batch.

The PyTorch step (the one the chapter explains) gathers the batch's vectors into ``(B, D)`` and
``(G, K, D)`` buffers, scores them with batched matrix products, builds three gradient buffers
and scatters them back with ``index_add_``: about twenty kernels, each a full pass over
``B x D`` numbers in memory. This loop computes the same step, pair by pair, reading each vector
where it lies in the embedding tables:

$$g^+_b = \sigma(u_{o_b}^\top v_{c_b}) - 1,\qquad g_{bk} = \sigma(u_{w_{gk}}^\top v_{c_b})\ [w_{gk} \ne o_b],$$
$$\delta v_{c_b} = g^+_b u_{o_b} + \textstyle\sum_k g_{bk} u_{w_{gk}},\quad \delta u_{o_b} = g^+_b v_{c_b},\quad
\delta u_{w_{gk}} = \textstyle\sum_{b \in g} g_{bk} v_{c_b}$$

with every gradient computed from the vectors as they were before the step (as in the PyTorch
step), then ``W -= lr * delta`` for all of them. The result equals the PyTorch step's to float
rounding (the tests compare them). The loop releases Python's GIL, so the trainer's Hogwild
worker threads (``Word2VecConfig.workers``) run it at the same time, as word2vec.c's threads do.

Built by :mod:`nlpbook.kernels`; :func:`load` returns ``None`` without a compiler, and
:func:`~nlpbook.word2vec.sgns.sgns_step` then runs its PyTorch code.
"""
from __future__ import annotations

from .. import kernels

KERNEL = "sgns_step"

SOURCE = r"""
#include <torch/extension.h>
#include <cmath>
#include <vector>

template <typename T> static inline T sigmoid(T x) { return T(1) / (T(1) + std::exp(-x)); }
// F.softplus with its default threshold: x above 20 is returned as is.
template <typename T> static inline T softplus(T x) { return x > T(20) ? x : std::log1p(std::exp(x)); }
// Summed in vector lanes (-fopenmp-simd), not strictly left to right.
template <typename T> static inline T dot(const T* __restrict__ a, const T* __restrict__ b, int64_t n) {
  T s = 0;
  #pragma omp simd reduction(+ : s)
  for (int64_t d = 0; d < n; ++d) s += a[d] * b[d];
  return s;
}

// in_v, out_v (V, D) contiguous float; center, context (B,) and negatives (G, K) contiguous int64,
// G dividing B (the P = B / G consecutive pairs of a group share its K negatives). In place.
// Returns the batch's summed loss (0 unless want_loss).
double sgns_step_fused(at::Tensor in_v, at::Tensor out_v, at::Tensor center, at::Tensor context,
                       at::Tensor negatives, double lr, bool want_loss) {
  const int64_t B = center.size(0), D = in_v.size(1), G = negatives.size(0), K = negatives.size(1);
  const int64_t P = B / G;
  double loss = 0.0;
  AT_DISPATCH_FLOATING_TYPES(in_v.scalar_type(), "sgns_step_fused", [&] {
    scalar_t* W = in_v.data_ptr<scalar_t>();
    scalar_t* U = out_v.data_ptr<scalar_t>();
    const int64_t* c = center.data_ptr<int64_t>();
    const int64_t* o = context.data_ptr<int64_t>();
    const int64_t* neg = negatives.data_ptr<int64_t>();
    std::vector<scalar_t> grad_v(B * D), grad_pos(B * D), grad_neg(G * K * D, scalar_t(0));
    std::vector<scalar_t> g_k(K);
    double batch_loss = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      const int64_t g = b / P;
      const scalar_t* __restrict__ v = W + c[b] * D;
      const scalar_t* __restrict__ u_o = U + o[b] * D;
      scalar_t* __restrict__ gv = grad_v.data() + b * D;
      const scalar_t s = dot(v, u_o, D);
      const scalar_t g_pos = sigmoid(s) - scalar_t(1);
      if (want_loss) batch_loss += softplus(-s);
      for (int64_t d = 0; d < D; ++d) gv[d] = 0;
      for (int64_t k = 0; k < K; ++k) {
        const int64_t w = neg[g * K + k];
        if (w == o[b]) { g_k[k] = 0; continue; }                 // word2vec.c skips the pair's own word
        const scalar_t* __restrict__ u_w = U + w * D;
        const scalar_t s_k = dot(v, u_w, D);
        g_k[k] = sigmoid(s_k);
        if (want_loss) batch_loss += softplus(s_k);
        scalar_t* __restrict__ gn = grad_neg.data() + (g * K + k) * D;
        const scalar_t gk = g_k[k];
        for (int64_t d = 0; d < D; ++d) { gv[d] += gk * u_w[d]; gn[d] += gk * v[d]; }
      }
      scalar_t* __restrict__ gp = grad_pos.data() + b * D;
      for (int64_t d = 0; d < D; ++d) { gv[d] += g_pos * u_o[d]; gp[d] = g_pos * v[d]; }
    }
    // Every gradient above read the vectors before the step; now apply them all.
    const scalar_t step = scalar_t(lr);
    for (int64_t b = 0; b < B; ++b) {
      scalar_t* __restrict__ v = W + c[b] * D;
      const scalar_t* __restrict__ gv = grad_v.data() + b * D;
      for (int64_t d = 0; d < D; ++d) v[d] -= step * gv[d];
    }
    for (int64_t b = 0; b < B; ++b) {
      scalar_t* __restrict__ u = U + o[b] * D;
      const scalar_t* __restrict__ gp = grad_pos.data() + b * D;
      for (int64_t d = 0; d < D; ++d) u[d] -= step * gp[d];
    }
    for (int64_t i = 0; i < G * K; ++i) {
      scalar_t* __restrict__ u = U + neg[i] * D;
      const scalar_t* __restrict__ gn = grad_neg.data() + i * D;
      for (int64_t d = 0; d < D; ++d) u[d] -= step * gn[d];
    }
    loss = batch_loss;
  });
  return loss;
}

PYBIND11_MODULE(TORCH_EXTENSION_NAME, m) {
  // The GIL is released: Hogwild worker threads run the loop at the same time.
  m.def("sgns_step_fused", &sgns_step_fused, py::call_guard<py::gil_scoped_release>());
}
"""

kernels.register(KERNEL, SOURCE, ("sgns_step_fused",))


def load():
    """The compiled module, or ``None`` (no compiler, or ``$NLPBOOK_KERNELS=0``)."""
    return kernels.load(KERNEL)

r"""Layer normalisation and batch normalisation for token sequences ``(B, T, D)``.

LayerNorm normalises each token over its features, BatchNorm each feature over the tokens of
the batch (all $B \cdot T$ of them here):

$$\mathrm{LN}(x)_{btd} = \gamma_d\,\frac{x_{btd} - \mu_{bt}}{\sqrt{\sigma^2_{bt} + \epsilon}} + \beta_d,
\quad \mu_{bt} = \tfrac1D \textstyle\sum_d x_{btd},\ \sigma^2_{bt} = \tfrac1D \sum_d (x_{btd} - \mu_{bt})^2$$

$$\mathrm{BN}(x)_{btd} = \gamma_d\,\frac{x_{btd} - \mu_d}{\sqrt{\sigma^2_d + \epsilon}} + \beta_d,
\quad \mu_d = \tfrac1{BT} \textstyle\sum_{b,t} x_{btd},\ \sigma^2_d = \tfrac1{BT} \sum_{b,t} (x_{btd} - \mu_d)^2$$

($\epsilon$ inside the square root, the variances biased, as in PyTorch.) BatchNorm in training
mode uses the batch's statistics and updates running ones,
$r \leftarrow (1 - m)\,r + m\,s$, with the *unbiased* variance $\sigma^2_d \cdot n / (n - 1)$;
in evaluation mode it uses the running statistics. LayerNorm behaves the same in both modes,
and a token's output does not depend on the other tokens (nor on padding).

Parameter and buffer names match ``nn.LayerNorm`` (``weight``, ``bias``) and
``nn.BatchNorm1d`` (``weight``, ``bias``, ``running_mean``, ``running_var``,
``num_batches_tracked``); ``nn.BatchNorm1d`` reads ``(B, D, T)``, ours ``(B, T, D)`` (or
``(B, D)``). Our BatchNorm also takes an optional ``mask`` ``(B, T)`` (True = real token) so that
padding does not enter the statistics; ``nn.BatchNorm1d`` has no such option (with every token
real the two agree).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import (InputError, check_mask, check_number, check_positive, check_tensor, check_type,
                        shape_str)

__all__ = ["LayerNorm", "BatchNorm1d"]


class LayerNorm(nn.Module):
    """LayerNorm over the last dimension ``D`` of ``(..., D)``.

    ``fast=True`` calls the fused ``F.layer_norm`` (one kernel forward, one backward) instead
    of the explicit mean / variance / normalise lines below (the same function; the tests
    check both against ``nn.LayerNorm``).
    """

    def __init__(self, normalized_shape: int, eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True, device=None, dtype=None, *, fast: bool = False):
        super().__init__()
        check_positive("normalized_shape", normalized_shape, integer=True)
        check_positive("eps", eps, allow_zero=True)
        check_type("fast", fast, bool)
        self.normalized_shape, self.eps, self.fast = normalized_shape, float(eps), fast
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(normalized_shape, **factory)) if elementwise_affine else None
        self.bias = nn.Parameter(torch.zeros(normalized_shape, **factory)) if elementwise_affine and bias else None

    def forward(self, x: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        if check:
            check_tensor("x", x, None, dtype="float")
            if x.dim() < 1 or x.shape[-1] != self.normalized_shape:
                raise InputError(f"x is {shape_str(x.shape)} but its last dimension must be "
                                 f"D = {self.normalized_shape} (normalized_shape); x must be (..., D)")
            if self.weight is not None:
                check_tensor("x", x, like=("the layer's weights", self.weight))
        if self.fast:
            return F.layer_norm(x, (self.normalized_shape,), self.weight, self.bias, self.eps)
        mean = x.mean(dim=-1, keepdim=True)                              # mu over D
        var = (x - mean).pow(2).mean(dim=-1, keepdim=True)               # biased sigma^2 over D
        y = (x - mean) / torch.sqrt(var + self.eps)                      # eps inside the sqrt
        if self.weight is not None:
            y = y * self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


class BatchNorm1d(nn.Module):
    """BatchNorm of each feature ``d`` over all ``B*T`` tokens of ``(B, T, D)`` (or the ``B`` rows of ``(B, D)``)."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        check_positive("num_features", num_features, integer=True)
        check_positive("eps", eps, allow_zero=True)
        if momentum is not None:
            check_number("momentum", momentum, low=0, high=1)
        check_type("affine", affine, bool)
        check_type("track_running_stats", track_running_stats, bool)
        self.num_features, self.eps, self.momentum = num_features, float(eps), momentum
        self.track_running_stats = track_running_stats
        factory = {"device": device, "dtype": dtype}
        self.weight = nn.Parameter(torch.ones(num_features, **factory)) if affine else None
        self.bias = nn.Parameter(torch.zeros(num_features, **factory)) if affine else None
        if track_running_stats:
            self.register_buffer("running_mean", torch.zeros(num_features, **factory))
            self.register_buffer("running_var", torch.ones(num_features, **factory))
            self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long, device=device))
        else:
            self.running_mean = self.running_var = self.num_batches_tracked = None

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *, check: bool = True) -> torch.Tensor:
        """``x`` ``(B, T, D)`` or ``(B, D)``; ``mask`` ``(B, T)`` True = real token (statistics over those only)."""
        if check:
            self._check(x, mask)
        flat = x.reshape(-1, self.num_features)                          # (N, D), N = B*T tokens
        use_batch = self.training or not self.track_running_stats
        if use_batch:
            if mask is None:
                n = flat.shape[0]
                mean = flat.mean(dim=0)
                var = (flat - mean).pow(2).mean(dim=0)                   # biased, for normalising
            else:
                w = mask.reshape(-1, 1).to(x.dtype)                      # (N, 1): 1 at real tokens
                n = w.sum()
                mean = (flat * w).sum(dim=0) / n
                var = ((flat - mean).pow(2) * w).sum(dim=0) / n
            if self.training and self.track_running_stats:
                self._update_running(mean, var, n)
        else:
            mean, var = self.running_mean, self.running_var
        y = (x - mean) / torch.sqrt(var + self.eps)
        if self.weight is not None:
            y = y * self.weight + self.bias
        return y

    @torch.no_grad()
    def _update_running(self, mean: torch.Tensor, var: torch.Tensor, n) -> None:
        self.num_batches_tracked += 1
        m = 1.0 / float(self.num_batches_tracked) if self.momentum is None else self.momentum
        unbiased = var * (n / (n - 1))                                   # n/(n-1): running var is unbiased
        self.running_mean.mul_(1 - m).add_(m * mean)
        self.running_var.mul_(1 - m).add_(m * unbiased)

    def _check(self, x, mask) -> None:
        dims = {"D": (self.num_features, "num_features")}
        if isinstance(x, torch.Tensor) and x.dim() == 2:
            check_tensor("x", x, ("B", "D"), dims=dims, dtype="float")
        else:
            check_tensor("x", x, ("B", "T", "D"), dims=dims, dtype="float")
        if self.weight is not None:
            check_tensor("x", x, like=("the layer's weights", self.weight))
        if mask is not None:
            if x.dim() != 3:
                raise InputError(f"mask (B, T) goes with x (B, T, D); x here is 2-D {shape_str(x.shape)}")
            check_mask("mask", mask, ("B", "T"), dims=dims)
            check_tensor("mask", mask, device=x.device)
        if self.training or not self.track_running_stats:
            n = x.shape[0] * (x.shape[1] if x.dim() == 3 else 1) if mask is None else int(mask.sum())
            if n < 2 and self.training:
                source = "mask leaves" if mask is not None else "x gives"
                raise InputError(f"{source} BatchNorm {n} token(s) per feature in training mode; the batch "
                                 "variance needs at least 2 (a mask counts its real tokens only)")

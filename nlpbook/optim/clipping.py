r"""Gradient clipping: rescale (by norm) or clamp (by value) the gradients before the update.

Let $g = (g_1, \dots, g_n)$ be the gradients of *all* parameters, seen as one vector.

**Clip by (global) norm** (Pascanu, Mikolov & Bengio 2013). With threshold $c > 0$,

$$\lVert g \rVert_p = \Big(\sum_i \lVert g_i \rVert_p^p\Big)^{1/p}, \qquad g \leftarrow g \cdot \min\Big(1, \frac{c}{\lVert g \rVert_p + \epsilon}\Big).$$

The direction of $g$ is kept; only its length is capped at $c$. Gradients shorter
than $c$ are left alone. $p = \infty$ uses $\max_j |g_j|$. PyTorch adds
$\epsilon = 10^{-6}$ to the norm (so a clipped norm lands just below $c$); we do the
same so the two agree to the last bit.

**Clip by value** (Mikolov 2012): every coordinate is clamped,
$g_j \leftarrow \max(-c, \min(c, g_j))$. Cheap, but it changes the direction of
$g$ whenever some coordinates are clamped and others are not.

**The seed's rule** (:func:`floor_gradient_`), kept here to show that it is wrong: "when the
gradient is smaller than the threshold, set it to the threshold". It *raises* small gradients,

$$g \leftarrow g \cdot \max\Big(1, \frac{c}{\lVert g \rVert}\Big) \quad\text{(norm form)}, \qquad g_j \leftarrow \operatorname{sign}(g_j)\max(c, |g_j|) \quad\text{(value form)},$$

so no step is ever shorter than $\eta c$: gradient descent cannot settle at a minimum.

Explicit first, fast path beside it: :func:`clip_grad_norm_` and :func:`clip_grad_value_`
loop over parameters in Python; ``torch.nn.utils.clip_grad_norm_`` / ``clip_grad_value_`` do
the same with fused multi-tensor kernels (``foreach``), and are what :func:`nlpbook.train` calls.
"""
from __future__ import annotations

import math
from typing import Iterable

import torch

from ..validate import InputTypeError, check_choice, check_number, check_positive

__all__ = ["global_grad_norm", "clip_grad_norm_", "clip_grad_value_", "floor_gradient_"]

EPS = 1e-6  # as in torch.nn.utils.clip_grad_norm_


def _grads(parameters: Iterable[torch.Tensor] | torch.Tensor) -> list[torch.Tensor]:
    r"""The ``.grad`` of each parameter that has one (parameters without a gradient are skipped)."""
    if isinstance(parameters, torch.Tensor):
        parameters = [parameters]
    if not hasattr(parameters, "__iter__"):
        raise InputTypeError(f"parameters must be a tensor or an iterable of tensors, got {type(parameters).__name__}")
    grads = []
    for p in parameters:
        if not isinstance(p, torch.Tensor):
            raise TypeError(f"parameters must be tensors, got {type(p).__name__}")
        if p.grad is not None:
            grads.append(p.grad)
    return grads


def _as_list(parameters) -> list:
    """``parameters`` (a tensor, or an iterable of them, e.g. ``model.parameters()``) as a list."""
    if isinstance(parameters, torch.Tensor):
        return [parameters]
    if not hasattr(parameters, "__iter__"):
        raise InputTypeError(f"parameters must be a tensor or an iterable of tensors, got {type(parameters).__name__}")
    return list(parameters)


def _check_threshold(name: str, value: float) -> float:
    return float(check_positive(name, value))


def global_grad_norm(parameters: Iterable[torch.Tensor] | torch.Tensor, norm_type: float = 2.0) -> torch.Tensor:
    r"""$\lVert g \rVert_p$ of all gradients together, as one vector (a 0-dim tensor).

    ``norm_type`` is $p \ge 1$ or ``inf``. No gradients at all gives 0.
    """
    norm_type = float(check_number("norm_type", norm_type, low=1, finite=False, what="a number >= 1 or inf"))
    grads = _grads(parameters)
    if not grads:
        return torch.tensor(0.0)
    if math.isinf(norm_type):
        # ||g||_inf = max_j |g_j| over every coordinate of every parameter
        return torch.stack([g.detach().abs().max() for g in grads]).max()
    # (sum_i ||g_i||_p^p)^(1/p): the p-norm of the per-parameter p-norms
    per_parameter = torch.stack([torch.linalg.vector_norm(g.detach(), norm_type) for g in grads])
    return torch.linalg.vector_norm(per_parameter, norm_type)


def clip_grad_norm_(parameters: Iterable[torch.Tensor] | torch.Tensor, max_norm: float,
                    norm_type: float = 2.0, error_if_nonfinite: bool = False) -> torch.Tensor:
    r"""Rescale all gradients in place so their global norm is at most ``max_norm``.

    $g \leftarrow g \cdot \min(1, c / (\lVert g \rVert + \epsilon))$. Returns the norm
    *before* clipping (what to log: it shows the explosions that clipping hides).
    """
    max_norm = float(check_number("max_norm", max_norm, low=0, low_open=True, finite=False,
                                  what="a positive number (inf: no clipping)"))
    parameters = _as_list(parameters)
    total_norm = global_grad_norm(parameters, norm_type)
    if error_if_nonfinite and not torch.isfinite(total_norm):
        raise RuntimeError(f"the total {norm_type}-norm of the gradients is {float(total_norm)}; "
                           "set error_if_nonfinite=False to clip anyway")
    scale = torch.clamp(max_norm / (total_norm + EPS), max=1.0)    # min(1, c / (||g|| + eps))
    for g in _grads(parameters):
        g.mul_(scale.to(g.device, g.dtype))                        # same direction, shorter
    return total_norm


def clip_grad_value_(parameters: Iterable[torch.Tensor] | torch.Tensor, clip_value: float) -> None:
    r"""Clamp every gradient coordinate in place to ``[-clip_value, clip_value]``."""
    clip_value = _check_threshold("clip_value", clip_value)
    for g in _grads(parameters):
        g.clamp_(-clip_value, clip_value)                          # per coordinate: direction may change


def floor_gradient_(parameters: Iterable[torch.Tensor] | torch.Tensor, threshold: float,
                    mode: str = "norm") -> torch.Tensor:
    r"""The seed's rule, implemented as written, to show it fails: raise small gradients to ``threshold``.

    ``mode="norm"``: if $\lVert g \rVert < c$, rescale $g$ to length $c$.
    ``mode="value"``: every coordinate with $|g_j| < c$ becomes $c\,\operatorname{sign}(g_j)$
    (a zero coordinate stays 0). Returns the global 2-norm before the change. Not a real method.
    """
    threshold = _check_threshold("threshold", threshold)
    check_choice("mode", mode, ("norm", "value"))
    parameters = _as_list(parameters)
    total_norm = global_grad_norm(parameters)
    for g in _grads(parameters):
        if mode == "norm":
            if 0 < total_norm < threshold:
                g.mul_(threshold / total_norm)                     # never shorter than c
        else:
            g.copy_(torch.sign(g) * torch.clamp(g.abs(), min=threshold))
    return total_norm

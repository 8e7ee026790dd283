r"""One step back through a tanh RNN: how much of the gradient survives, spectral radius against saturation.

For $h_t = \tanh(a_t)$, $a_t = W_{xh} x_t + W_{hh} h_{t-1} + b$, and a loss $L = u^\top h_T$
($\lVert u \rVert = 1$), the gradient $\delta_k = \partial L / \partial h_k$ runs back as

$$
\delta_T = u, \qquad
\delta_{k-1} = J_k^\top \delta_k = W_{hh}^\top \big(d_k \odot \delta_k\big), \qquad
d_k = 1 - h_k^2 = \tanh'(a_k).
$$

The *gain* of step $k$ is $\lVert \delta_{k-1} \rVert / \lVert \delta_k \rVert$. When
$W_{hh} = \rho\, Q$ with $Q$ orthogonal, $Q^\top$ keeps norms and the gain is exactly

$$
\frac{\lVert \delta_{k-1} \rVert}{\lVert \delta_k \rVert}
= \rho\, \frac{\lVert d_k \odot \delta_k \rVert}{\lVert \delta_k \rVert}
= \rho \Big( \sum_i w_{k,i}\, d_{k,i}^2 \Big)^{1/2},
\qquad w_{k,i} = \frac{\delta_{k,i}^2}{\lVert \delta_k \rVert^2},
$$

$\rho$ times a $\delta$-weighted root mean square of $\tanh'$. A random rotation spreads
$\delta$ over the units, so $w_{k,i} \approx 1/H$ and the gain is close to
$\rho \cdot \operatorname{RMS}_i(d_{k,i})$. The gradient grows with distance when the geometric
mean of these gains exceeds 1: $\rho > 1$ is necessary, saturation ($d \to 0$) can undo it.

Shapes: ``weight_hh`` $(H, H)$, ``hidden_states`` $h_1 \dots h_T$ as ``(B, T, H)`` (a layer's
outputs), ``direction`` $u$ ``(H,)``. Everything runs on the device of ``hidden_states``.
"""
from __future__ import annotations

import torch

__all__ = ["backward_deltas", "tanh_derivative_rms"]


def _check(weight_hh: torch.Tensor, hidden_states: torch.Tensor) -> None:
    if weight_hh.dim() != 2 or weight_hh.shape[0] != weight_hh.shape[1]:
        raise ValueError(f"weight_hh must be square (H, H), got shape {tuple(weight_hh.shape)}")
    if hidden_states.dim() != 3:
        raise ValueError(f"hidden_states must be (B, T, H), got shape {tuple(hidden_states.shape)}")
    if hidden_states.shape[-1] != weight_hh.shape[0]:
        raise ValueError(f"hidden_states has H={hidden_states.shape[-1]} but weight_hh is {tuple(weight_hh.shape)}")


def backward_deltas(weight_hh: torch.Tensor, hidden_states: torch.Tensor,
                    direction: torch.Tensor) -> torch.Tensor:
    r"""$\delta_k = \partial (u^\top h_T) / \partial h_k$ for ``k = 0..T``, per example: ``(B, T+1, H)``.

    The recursion $\delta_{k-1} = W_{hh}^\top (d_k \odot \delta_k)$ written out (a tanh RNN, one
    layer); ``direction`` $u$ is normalised to length 1, so ``deltas[:, T]`` is $u$.
    """
    _check(weight_hh, hidden_states)
    if direction.shape != (weight_hh.shape[0],):
        raise ValueError(f"direction must have shape ({weight_hh.shape[0]},), got {tuple(direction.shape)}")
    weight_hh, hidden_states = weight_hh.detach(), hidden_states.detach()   # a measurement, not a graph
    B, T, H = hidden_states.shape
    u = (direction / direction.norm()).to(hidden_states)
    derivative = 1 - hidden_states**2                                       # d_k = tanh'(a_k), (B, T, H)
    deltas = [u.expand(B, H)]                                               # delta_T = u
    for k in range(T, 0, -1):
        # delta_{k-1} = W^T (d_k * delta_k); as row vectors: (d_k * delta_k) @ W
        deltas.append((derivative[:, k - 1] * deltas[-1]) @ weight_hh)
    return torch.stack(deltas[::-1], dim=1)                                 # (B, T+1, H)


def tanh_derivative_rms(hidden_states: torch.Tensor) -> torch.Tensor:
    r"""$\operatorname{RMS}_i\, \tanh'(a_{k,i}) = \big(\tfrac1H \sum_i (1 - h_{k,i}^2)^2\big)^{1/2}$ per example and step: ``(B, T)``."""
    if hidden_states.dim() != 3:
        raise ValueError(f"hidden_states must be (B, T, H), got shape {tuple(hidden_states.shape)}")
    return (1 - hidden_states.detach()**2).pow(2).mean(dim=-1).sqrt()

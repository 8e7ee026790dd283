r"""A stack of causal 1-D convolutions, with or without dilation, and its receptive field.

Layer $\ell = 1, \dots, L$ maps the sequence $h^{\ell-1} \in \mathbb{R}^{B \times T \times C}$ to

$$h^\ell_t = h^{\ell-1}_t + \operatorname{GELU}\Big(b^\ell + \sum_{j=0}^{k-1} W^\ell_j\, h^{\ell-1}_{t - j\, r_\ell}\Big),$$

with kernel size $k$, dilation $r_\ell$ ($r_\ell = 1$ for a plain stack, $r_\ell = 2^{\ell-1}$ for a
dilated one, as in WaveNet and the TCN) and zero padding on the left only, so $h^\ell_t$ never
depends on a later position (causal). Position $t$ of layer $L$ depends on the inputs
$t - R + 1, \dots, t$, the **receptive field**

$$R = 1 + \sum_{\ell=1}^{L} (k - 1)\, r_\ell =
\begin{cases} 1 + L (k-1) & r_\ell = 1, \\ 1 + (k-1)(2^L - 1) & r_\ell = 2^{\ell-1}. \end{cases}$$

GELU (not ReLU) keeps every derivative nonzero almost surely, so the measured gradient support
equals the receptive field exactly (a dead ReLU could hide a dependency). Shapes: batch first,
``(B, T, C)`` in and out.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import check_positive, check_tensor, check_type

__all__ = ["CausalConv1d", "ConvStack", "receptive_field", "dilations"]


def dilations(layers: int, dilated: bool) -> list[int]:
    """$r_\\ell$ for each layer: all 1, or 1, 2, 4, ..., $2^{L-1}$."""
    check_positive("layers", layers, integer=True)
    return [2 ** i if dilated else 1 for i in range(layers)]


def receptive_field(kernel_size: int, dilation_list) -> int:
    r"""$R = 1 + \sum_\ell (k-1) r_\ell$: how many input positions one output position sees."""
    check_positive("kernel_size", kernel_size, integer=True)
    dilation_list = list(dilation_list)
    if not dilation_list:
        raise ValueError("dilation_list must hold at least one dilation, got []")
    for r in dilation_list:
        check_positive("dilation_list entries", r, integer=True)
    return 1 + sum((kernel_size - 1) * r for r in dilation_list)


class CausalConv1d(nn.Module):
    """One residual causal convolution layer: ``(B, T, C) -> (B, T, C)``."""

    def __init__(self, channels: int, kernel_size: int, dilation: int = 1):
        super().__init__()
        check_positive("channels", channels, integer=True)
        check_positive("kernel_size", kernel_size, integer=True)
        check_positive("dilation", dilation, integer=True)
        self.pad = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(channels, channels, kernel_size, dilation=dilation)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        z = self.conv(F.pad(h.transpose(1, 2), (self.pad, 0)))     # (B, C, T + pad) -> (B, C, T)
        return h + F.gelu(z.transpose(1, 2))


class ConvStack(nn.Module):
    """``layers`` causal convolutions of kernel ``kernel_size``; ``dilated`` doubles $r$ per layer.

    ``forward(h)``: ``(B, T, C) -> (B, T, C)``. ``self.layers`` is the list of sequential
    operations (what :func:`nlpbook.compare.dependency.stack_graph` measures).
    """

    def __init__(self, channels: int, layers: int, kernel_size: int = 3, dilated: bool = False):
        super().__init__()
        check_type("dilated", dilated, bool)
        self.width, self.kernel_size = channels, kernel_size
        self.dilation_list = dilations(layers, dilated)
        self.layers = nn.ModuleList(CausalConv1d(channels, kernel_size, r) for r in self.dilation_list)

    @property
    def receptive_field(self) -> int:
        return receptive_field(self.kernel_size, self.dilation_list)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        check_tensor("h", h, ("B", "T", self.width), dtype="float",
                     like=("the layer's weights", self.layers[0].conv.weight))
        for layer in self.layers:
            h = layer(h)
        return h

r"""The vanilla (Elman) RNN with a tanh nonlinearity, written out step by step. Batch first.

One step of the cell, for a batch ``x_t`` of shape ``(B, D)`` and state ``h_{t-1}`` of shape
``(B, H)``, in PyTorch's parameter names (so weights copy one-to-one from ``nn.RNN``):

$$h_t = \tanh\big(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\big)$$

The chapter writes it as $h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b)$ with
$W_{xh} = W_{ih}$ and $b = b_{ih} + b_{hh}$ (PyTorch keeps two biases; only their
sum matters). Shapes: ``weight_ih (H, D)``, ``weight_hh (H, H)``, ``bias_ih (H,)``, ``bias_hh (H,)``.

A layer applies the cell along time, ``x (B, T, D) -> outputs (B, T, H)``; a stack of
``num_layers`` layers feeds each layer's outputs to the next, as ``nn.RNN(num_layers=L)`` does.

Explicit first, fast path beside it: :class:`RNN` loops over time in Python so every step is
visible (and each ``h_t`` can be inspected, e.g. for its gradient). ``nn.RNN`` computes the
same function with a fused kernel (cuDNN on a GPU); :meth:`RNN.to_torch` and
:meth:`RNN.from_torch` convert between the two with the weights copied, which is how the
chapter verifies this code, and how experiments get the speed of the built-in.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..validate import check_positive, check_tensor

__all__ = ["RNNCell", "RNNLayer", "RNN"]


class RNNCell(nn.Module):
    r"""One tanh RNN step: ``(x_t (B, D), h_prev (B, H)) -> h_t (B, H)``."""

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        check_positive("input_size", input_size, integer=True)
        check_positive("hidden_size", hidden_size, integer=True)
        self.input_size, self.hidden_size = input_size, hidden_size
        self.weight_ih = nn.Parameter(torch.empty(hidden_size, input_size))   # W_xh (H, D)
        self.weight_hh = nn.Parameter(torch.empty(hidden_size, hidden_size))  # W_hh (H, H)
        if bias:
            self.bias_ih = nn.Parameter(torch.empty(hidden_size))
            self.bias_hh = nn.Parameter(torch.empty(hidden_size))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # nn.RNN's initialisation: every parameter ~ U(-1/sqrt(H), 1/sqrt(H)).
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def forward(self, x_t: torch.Tensor, h_prev: torch.Tensor, check: bool = True) -> torch.Tensor:
        if check:  # the layer checks once and loops with check=False
            dims = {"D": (self.input_size, "input_size"), "H": (self.hidden_size, "hidden_size")}
            check_tensor("x_t", x_t, ("B", "D"), dims=dims, like=("the cell's weights", self.weight_ih))
            check_tensor("h_prev", h_prev, ("B", "H"), dims=dims, like=("the cell's weights", self.weight_ih))
        # h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)
        pre = x_t @ self.weight_ih.T + h_prev @ self.weight_hh.T                  # (B, H)
        if self.bias_ih is not None:
            pre = pre + self.bias_ih + self.bias_hh
        return torch.tanh(pre)


class RNNLayer(nn.Module):
    r"""A cell unrolled over time: ``x (B, T, D), h0 (B, H) or None -> (outputs (B, T, H), h_T (B, H))``.

    ``outputs[:, t]`` is $h_{t+1}$ (time counted from 1), the last one equals ``h_T``.
    ``h0=None`` starts from zeros, as ``nn.RNN`` does.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True):
        super().__init__()
        self.cell = RNNCell(input_size, hidden_size, bias)
        self.input_size, self.hidden_size = input_size, hidden_size

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None,
                check: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        if check:  # RNN checks once for all its layers and calls them with check=False
            dims = _check_input(x, self.input_size, self.hidden_size, self.cell.weight_ih)
            if h0 is not None:
                check_tensor("h0", h0, ("B", "H"), dims=dims, like=("the layer's weights", self.cell.weight_ih))
        B, T, _ = x.shape
        h = x.new_zeros(B, self.hidden_size) if h0 is None else h0
        outputs = []
        for t in range(T):                        # the recurrence: h_t depends on h_{t-1}
            h = self.cell(x[:, t], h, check=False)  # checked once, above
            outputs.append(h)
        return torch.stack(outputs, dim=1), h     # (B, T, H), (B, H)


class RNN(nn.Module):
    r"""``num_layers`` stacked :class:`RNNLayer` s, the explicit twin of ``nn.RNN(batch_first=True)``.

    ``forward(x (B, T, D), h0 (L, B, H) or None) -> (outputs (B, T, H), h_n (L, B, H))``:
    ``outputs`` are the top layer's states at every step, ``h_n[l]`` layer ``l``'s last state
    (``nn.RNN``'s ``h_n`` layout; ``h_n[-1]`` equals ``outputs[:, -1]``).
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True):
        super().__init__()
        check_positive("num_layers", num_layers, integer=True)
        self.input_size, self.hidden_size, self.num_layers, self.bias = input_size, hidden_size, num_layers, bias
        self.layers = nn.ModuleList(
            RNNLayer(input_size if l == 0 else hidden_size, hidden_size, bias) for l in range(num_layers))

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        weight = self.layers[0].cell.weight_ih
        dims = _check_input(x, self.input_size, self.hidden_size, weight)
        if h0 is not None:
            dims["L"] = (self.num_layers, "num_layers")
            check_tensor("h0", h0, ("L", "B", "H"), dims=dims, like=("the layer's weights", weight))
        last_states = []
        for l, layer in enumerate(self.layers):
            x, h_last = layer(x, None if h0 is None else h0[l], check=False)   # layer l's outputs feed layer l+1
            last_states.append(h_last)
        return x, torch.stack(last_states, dim=0)

    # --- the fast path: the same function in torch's fused nn.RNN, weights copied -------------
    def to_torch(self) -> nn.RNN:
        r"""An ``nn.RNN(batch_first=True, nonlinearity='tanh')`` holding copies of these weights."""
        ref = nn.RNN(self.input_size, self.hidden_size, self.num_layers, nonlinearity="tanh",
                     bias=self.bias, batch_first=True)
        ref = ref.to(device=self.layers[0].cell.weight_hh.device, dtype=self.layers[0].cell.weight_hh.dtype)
        with torch.no_grad():
            for l, layer in enumerate(self.layers):
                for name, p in layer.cell.named_parameters():
                    getattr(ref, f"{name}_l{l}").copy_(p)
        return ref

    @classmethod
    def from_torch(cls, ref: nn.RNN) -> "RNN":
        r"""Our RNN with copies of an ``nn.RNN``'s weights (tanh, unidirectional, batch_first)."""
        if not isinstance(ref, nn.RNN) or ref.nonlinearity != "tanh" or ref.bidirectional or not ref.batch_first:
            raise ValueError("from_torch needs an nn.RNN with nonlinearity='tanh', bidirectional=False, "
                             "batch_first=True")
        if getattr(ref, "proj_size", 0):
            raise ValueError("nn.RNN with proj_size is not supported")
        ours = cls(ref.input_size, ref.hidden_size, ref.num_layers, ref.bias)
        ours = ours.to(device=ref.weight_hh_l0.device, dtype=ref.weight_hh_l0.dtype)
        with torch.no_grad():
            for l, layer in enumerate(ours.layers):
                for name, p in layer.cell.named_parameters():
                    p.copy_(getattr(ref, f"{name}_l{l}"))
        return ours


def _check_input(x: torch.Tensor, input_size: int, hidden_size: int, weight: torch.Tensor) -> dict:
    r"""Fail early, naming the problem, instead of deep inside a matmul; returns the named dims."""
    dims = {"D": (input_size, "input_size"), "H": (hidden_size, "hidden_size")}
    check_tensor("x", x, ("B", "T", "D"), dims=dims, like=("the layer's weights", weight))
    return dims

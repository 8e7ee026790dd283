"""The parameter layout the gated layers share with PyTorch's ``nn.GRU`` / ``nn.LSTM``.

Layer ``k`` holds ``weight_ih_l{k}`` ``(G·H, I_k)``, ``weight_hh_l{k}`` ``(G·H, H)``,
``bias_ih_l{k}`` and ``bias_hh_l{k}`` ``(G·H,)``, with ``G`` gate blocks stacked row-wise
(3 for the GRU, 4 for the LSTM) and ``I_k = I`` for the first layer, ``H`` after it. Using
PyTorch's names and shapes is what lets a test copy weights with ``load_state_dict``.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..validate import check_positive, check_tensor

WEIGHT_NAMES = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")


class StackedGateWeights(nn.Module):
    """Parameters, initialisation and input checks of a multi-layer, batch-first gated RNN."""

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, gates: int,
                 dtype: torch.dtype | None = None):
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            check_positive(name, value, integer=True)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        H = hidden_size
        for k in range(num_layers):
            layer_in = input_size if k == 0 else H
            self.register_parameter(f"weight_ih_l{k}", nn.Parameter(torch.empty(gates * H, layer_in, dtype=dtype)))
            self.register_parameter(f"weight_hh_l{k}", nn.Parameter(torch.empty(gates * H, H, dtype=dtype)))
            self.register_parameter(f"bias_ih_l{k}", nn.Parameter(torch.empty(gates * H, dtype=dtype)))
            self.register_parameter(f"bias_hh_l{k}", nn.Parameter(torch.empty(gates * H, dtype=dtype)))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's initialisation for its RNNs: every parameter ~ U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            nn.init.uniform_(p, -bound, bound)

    def layer_weights(self, k: int) -> tuple[torch.Tensor, ...]:
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer ``k``."""
        return tuple(getattr(self, f"{name}_l{k}") for name in WEIGHT_NAMES)

    def check_input(self, x: torch.Tensor) -> dict:
        """``x`` must be ``(B, T, I)`` with ``B, T > 0`` and the parameters' dtype and device.

        Returns the named dimensions (``B`` bound from ``x``) for :meth:`check_state`.
        """
        dims = {"I": (self.input_size, "input_size"), "L": (self.num_layers, "num_layers"),
                "H": (self.hidden_size, "hidden_size")}
        check_tensor("x", x, ("B", "T", "I"), dims=dims, like=("the layer's weights", self.weight_ih_l0))
        return dims

    def check_state(self, name: str, state: torch.Tensor, dims: dict) -> torch.Tensor:
        """An initial state must be ``(num_layers, B, H)``, with the weights' dtype and device."""
        return check_tensor(name, state, ("L", "B", "H"), dims=dims,
                            like=("the layer's weights", self.weight_ih_l0))

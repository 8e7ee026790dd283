r"""GELU, the Gaussian error linear unit (Hendrycks & Gimpel 2016): BERT's activation.

$$\mathrm{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \mathrm{erf}\!\left(\frac{x}{\sqrt 2}\right)\right)$$

with $\Phi$ the standard normal CDF. Its origin: multiply $x$ by a random mask
$m \sim \mathrm{Bernoulli}(\Phi(x))$ (keep $x$ more often the larger it is); the expectation is
$\mathbb{E}[x\,m] = x\,\Phi(x)$. The original BERT code used the tanh approximation

$$\mathrm{GELU}_{\tanh}(x) = \frac{x}{2}\Big(1 + \tanh\big(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\big)\Big)$$

(``transformers``' ``hidden_act="gelu"`` is the exact form, ``"gelu_new"`` the tanh form).
Elementwise: any shape in, the same shape out.
"""
from __future__ import annotations

import math

import torch

from ..validate import check_choice, check_tensor

__all__ = ["gelu", "gelu_exact", "gelu_tanh", "APPROXIMATIONS"]

APPROXIMATIONS = ("none", "tanh")
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)


def gelu_exact(x: torch.Tensor) -> torch.Tensor:
    r"""$\frac{x}{2}(1 + \mathrm{erf}(x/\sqrt2))$. Unchecked."""
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def gelu_tanh(x: torch.Tensor) -> torch.Tensor:
    r"""$\frac{x}{2}(1 + \tanh(\sqrt{2/\pi}(x + 0.044715 x^3)))$. Unchecked."""
    return 0.5 * x * (1.0 + torch.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x.pow(3))))


def gelu(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    """GELU of a float tensor (any shape); ``approximate`` is ``"none"`` (erf) or ``"tanh"``."""
    check_tensor("x", x, dtype="float", allow_empty=True)
    check_choice("approximate", approximate, APPROXIMATIONS)
    return gelu_exact(x) if approximate == "none" else gelu_tanh(x)

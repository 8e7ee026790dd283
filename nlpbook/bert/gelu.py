r"""GELU, the Gaussian error linear unit (Hendrycks & Gimpel 2016): BERT's activation.

$$\mathrm{GELU}(x) = x\,\Phi(x) = \frac{x}{2}\left(1 + \mathrm{erf}\!\left(\frac{x}{\sqrt 2}\right)\right)$$

with $\Phi$ the standard normal CDF. Its origin: multiply $x$ by a random mask
$m \sim \mathrm{Bernoulli}(\Phi(x))$ (keep $x$ more often the larger it is); the expectation is
$\mathbb{E}[x\,m] = x\,\Phi(x)$. The original BERT code used the tanh approximation

$$\mathrm{GELU}_{\tanh}(x) = \frac{x}{2}\Big(1 + \tanh\big(\sqrt{2/\pi}\,(x + 0.044715\,x^3)\big)\Big)$$

(``transformers``' ``hidden_act="gelu"`` is the exact form, ``"gelu_new"`` the tanh form).
Elementwise: any shape in, the same shape out.

Also here: the derivative of both forms (:func:`gelu_derivative`), the seed's TensorFlow snippet
ported line by line (:func:`gelu_tf_port`), the stochastic reading estimated by Monte Carlo
(:func:`stochastic_gelu`), and the search that recovers the constant 0.044715
(:func:`minimax_cubic_coefficient`).
"""
from __future__ import annotations

import math

import torch

from ..validate import check_choice, check_number, check_positive, check_tensor, check_type

__all__ = ["gelu", "gelu_exact", "gelu_tanh", "APPROXIMATIONS", "TANH_CUBIC", "gelu_derivative", "gelu_tf_port",
           "stochastic_gelu", "tanh_cdf", "tanh_cdf_max_error", "minimax_cubic_coefficient"]

APPROXIMATIONS = ("none", "tanh")
SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
TANH_CUBIC = 0.044715     # the published cubic coefficient


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


def gelu_derivative(x: torch.Tensor, approximate: str = "none") -> torch.Tensor:
    r"""The analytic derivative of GELU, elementwise.

    Exact form: $\frac{d}{dx}\,x\Phi(x) = \Phi(x) + x\,\varphi(x)$, $\varphi(x) = e^{-x^2/2}/\sqrt{2\pi}$.
    Tanh form, with $u = \sqrt{2/\pi}\,(x + c x^3)$:
    $\frac{d}{dx} = \frac12(1 + \tanh u) + \frac x2\,(1 - \tanh^2 u)\,\sqrt{2/\pi}\,(1 + 3 c x^2)$.
    """
    check_tensor("x", x, dtype="float", allow_empty=True)
    check_choice("approximate", approximate, APPROXIMATIONS)
    if approximate == "none":
        cdf = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
        pdf = torch.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
        return cdf + x * pdf
    t = torch.tanh(SQRT_2_OVER_PI * (x + TANH_CUBIC * x.pow(3)))
    return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 3.0 * TANH_CUBIC * x * x)


def gelu_tf_port(input_tensor: torch.Tensor) -> torch.Tensor:
    """The seed's TensorFlow ``gelu`` (BERT's ``modeling.py``), line by line in torch.

    ::

        def gelu(input_tensor):
            cdf = 0.5 * (1.0 + tf.erf(input_tensor / tf.sqrt(2.0)))
            return input_tensor*cdf

    ``tf.erf`` -> ``torch.erf``; ``tf.sqrt(2.0)`` is a float32 scalar tensor in TensorFlow, so
    the port takes the square root in the input's dtype (``torch.tensor(2.0, dtype=...)``).
    It is the **exact (erf) form**, not the tanh approximation the seed writes above it.
    """
    check_tensor("input_tensor", input_tensor, dtype="float", allow_empty=True)
    two = torch.tensor(2.0, dtype=input_tensor.dtype, device=input_tensor.device)
    cdf = 0.5 * (1.0 + torch.erf(input_tensor / torch.sqrt(two)))
    return input_tensor * cdf


def stochastic_gelu(x: torch.Tensor, samples: int, generator: torch.Generator | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Monte Carlo estimate of $\mathbb{E}[x\,m]$, $m \sim \mathrm{Bernoulli}(\Phi(x))$, and its standard error.

    ``x`` is a 1-D float tensor ``(N,)``; ``samples`` masks are drawn per entry (on ``x``'s
    device, or on ``generator``'s device and then moved). Returns ``(mean, standard_error)``, both ``(N,)``:
    the sample mean of $x m$ and $\hat s/\sqrt{n}$ with $\hat s$ the sample standard deviation
    (for $x m$ it is $|x|\sqrt{\hat p(1-\hat p)}$ up to $n/(n-1)$). The mean should be within a few
    standard errors of $x\Phi(x)$: the seed's stochastic reading of GELU.
    """
    check_tensor("x", x, ("N",), dtype="float")
    check_number("samples", samples, low=2, integer=True, what="an int >= 2 (a standard error needs two)")
    if generator is not None:
        check_type("generator", generator, torch.Generator)
    p = 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))                       # P(m = 1) = Phi(x)
    where = x.device if generator is None else generator.device           # draw where the generator lives
    u = torch.rand(samples, x.numel(), generator=generator, dtype=x.dtype, device=where).to(x.device)
    values = x * (u < p).to(x.dtype)                                      # (samples, N): x m
    return values.mean(0), values.std(0, unbiased=True) / math.sqrt(samples)


def tanh_cdf(x: torch.Tensor, c: float) -> torch.Tensor:
    r"""$\frac12\big(1 + \tanh(\sqrt{2/\pi}(x + c x^3))\big)$: the tanh family of approximations to $\Phi$. Unchecked."""
    return 0.5 * (1.0 + torch.tanh(SQRT_2_OVER_PI * (x + c * x.pow(3))))


def tanh_cdf_max_error(x: torch.Tensor, c: float, *, times_x: bool = False) -> float:
    r"""$\max_x |\text{tanh\_cdf}(x, c) - \Phi(x)|$ over the grid ``x`` (``times_x``: of GELU, $x$ times it). Unchecked."""
    err = tanh_cdf(x, c) - 0.5 * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if times_x:
        err = x * err
    return float(err.abs().max())


def minimax_cubic_coefficient(x: torch.Tensor, low: float = 0.03, high: float = 0.06, *, times_x: bool = False,
                              tol: float = 1e-10) -> float:
    r"""The $c$ in ``[low, high]`` that minimises :func:`tanh_cdf_max_error` on the grid ``x``.

    The slope at 0 is fixed by matching $\Phi'(0) = 1/\sqrt{2\pi}$, which gives $\sqrt{2/\pi}$; only
    $c$ is searched, by golden-section search (the maximum error is unimodal in $c$ on this
    bracket). With ``times_x=False`` (the error of $\Phi$) this gives 0.044715, the published constant.
    """
    check_tensor("x", x, ("N",), dtype="float")
    check_number("low", low)
    check_number("high", high)
    if not low < high:
        check_number("high", high, low=low, low_open=True, what=f"a number > low ({low})")
    check_positive("tol", tol)
    check_type("times_x", times_x, bool)
    ratio = (math.sqrt(5.0) - 1.0) / 2.0
    a, b = float(low), float(high)
    c1, c2 = b - ratio * (b - a), a + ratio * (b - a)
    f1, f2 = tanh_cdf_max_error(x, c1, times_x=times_x), tanh_cdf_max_error(x, c2, times_x=times_x)
    while b - a > tol:
        if f1 <= f2:
            b, c2, f2 = c2, c1, f1
            c1 = b - ratio * (b - a)
            f1 = tanh_cdf_max_error(x, c1, times_x=times_x)
        else:
            a, c1, f1 = c1, c2, f2
            c2 = a + ratio * (b - a)
            f2 = tanh_cdf_max_error(x, c2, times_x=times_x)
    return 0.5 * (a + b)

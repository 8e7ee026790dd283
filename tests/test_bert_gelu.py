"""GELU: both forms against PyTorch in float64, the tanh form's error, and E[x m] = x Phi(x)."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from nlpbook.bert.gelu import gelu, gelu_exact, gelu_tanh

pytestmark = pytest.mark.usefixtures("one_thread")


def test_both_forms_match_pytorch_in_float64():
    x = torch.linspace(-8, 8, 20_001, dtype=torch.float64)
    assert (gelu(x) - F.gelu(x, approximate="none")).abs().max() < 1e-15
    assert (gelu(x, "tanh") - F.gelu(x, approximate="tanh")).abs().max() < 1e-15
    # the derivative too (autograd through erf / tanh)
    xs = x.clone().requires_grad_()
    gelu_exact(xs).sum().backward()
    phi = torch.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)
    assert (xs.grad - (0.5 * (1 + torch.erf(x / math.sqrt(2))) + x * phi)).abs().max() < 1e-14


def test_the_tanh_form_is_close_but_not_equal():
    x = torch.linspace(-8, 8, 200_001, dtype=torch.float64)
    err = (gelu_tanh(x) - gelu_exact(x)).abs()
    where = float(x[err.argmax()])
    print(f"tanh GELU: max |error| {float(err.max()):.2e} at x = {where:.3f}")
    assert 1e-4 < float(err.max()) < 1e-3 and 1 < abs(where) < 4      # about 4.7e-4, near |x| = 2.7
    assert float(err[x.abs() > 6].max()) < 1e-8                          # both tend to x and to 0


def test_gelu_is_the_expectation_of_a_stochastic_mask():
    gen = torch.Generator().manual_seed(0)
    x = torch.linspace(-3, 3, 13, dtype=torch.float64)
    n = 200_000
    phi = 0.5 * (1 + torch.erf(x / math.sqrt(2)))                      # P(m = 1) = Phi(x)
    m = torch.rand(n, x.numel(), generator=gen, dtype=torch.float64) < phi
    estimate = (x * m).mean(dim=0)                                      # E[x m] by Monte Carlo
    se = x.abs() * torch.sqrt(phi * (1 - phi) / n)
    z = (estimate - gelu_exact(x)).abs() / se.clamp_min(1e-12)
    assert float(z.max()) < 5, z
    # ...and it is not ReLU's deterministic mask: the estimate at x = -1 is below 0
    assert float(estimate[4]) < -0.1


def test_bad_inputs():
    with pytest.raises(ValueError, match="approximate"):
        gelu(torch.ones(2), "erf")
    with pytest.raises(TypeError, match="x"):
        gelu([1.0, 2.0])
    with pytest.raises(TypeError, match="x"):
        gelu(torch.ones(2, dtype=torch.long))


def test_analytic_derivative_equals_autograd_for_both_forms():
    from nlpbook.bert.gelu import gelu_derivative
    x = torch.linspace(-8, 8, 4001, dtype=torch.float64, requires_grad=True)
    for form in ("none", "tanh"):
        (grad,) = torch.autograd.grad(F.gelu(x, approximate=form).sum(), x)
        assert (gelu_derivative(x.detach(), form) - grad).abs().max() < 1e-13, form
    # the two derivatives differ (the tanh form is an approximation)
    assert (gelu_derivative(x.detach()) - gelu_derivative(x.detach(), "tanh")).abs().max() > 1e-4


def test_tf_port_is_the_exact_form():
    from nlpbook.bert.gelu import gelu_tf_port
    x = torch.linspace(-6, 6, 1001, dtype=torch.float64)
    assert (gelu_tf_port(x) - F.gelu(x)).abs().max() < 1e-15
    assert (gelu_tf_port(x) - F.gelu(x, approximate="tanh")).abs().max() > 1e-4
    x32 = x.float()
    assert gelu_tf_port(x32).dtype == torch.float32
    assert (gelu_tf_port(x32) - F.gelu(x32)).abs().max() < 1e-6


def test_stochastic_gelu_helper_within_standard_errors():
    from nlpbook.bert.gelu import stochastic_gelu
    x = torch.linspace(-3, 3, 25, dtype=torch.float64)
    mean, se = stochastic_gelu(x, 100_000, torch.Generator().manual_seed(1))
    z = (mean - gelu_exact(x)).abs() / se.clamp_min(1e-12)
    assert float(z.max()) < 5
    p = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    torch.testing.assert_close(se, x.abs() * torch.sqrt(p * (1 - p) / 100_000), rtol=0.2, atol=1e-12)  # few hits at |x| = 3
    # a wrong target (ReLU) is many standard errors away
    assert float(((mean - x.clamp_min(0)).abs() / se.clamp_min(1e-12)).max()) > 20
    with pytest.raises(ValueError, match="samples"):
        stochastic_gelu(x, 1)


def test_minimax_search_recovers_the_published_constant():
    from nlpbook.bert.gelu import TANH_CUBIC, minimax_cubic_coefficient, tanh_cdf_max_error
    x = torch.linspace(-8, 8, 160_001, dtype=torch.float64)
    c = minimax_cubic_coefficient(x)
    assert abs(c - TANH_CUBIC) < 2e-6, c
    taylor = 2 / (3 * math.pi) - 1 / 6                              # matching the x^3 term: 0.04554
    assert tanh_cdf_max_error(x, c) < tanh_cdf_max_error(x, taylor) / 1.5
    # minimising GELU's error instead (times x) gives a different, smaller constant
    c_gelu = minimax_cubic_coefficient(x, times_x=True)
    assert 0.0440 < c_gelu < 0.0447
    with pytest.raises(ValueError, match="high"):
        minimax_cubic_coefficient(x, 0.05, 0.04)

"""The explicit backward recursion of a tanh RNN against autograd, and the exact gain identity for W = rho Q."""
import pytest
import torch
from torch import nn

from nlpbook.rnn.backward_gain import backward_deltas, tanh_derivative_rms
from nlpbook.rnn.gradient_flow import set_recurrent_spectral_radius, state_gradient_norms


def _rnn(rho, hidden=6, seed=0):
    torch.manual_seed(seed)
    module = nn.RNN(2, hidden, batch_first=True)
    set_recurrent_spectral_radius(module, rho, torch.Generator().manual_seed(seed))
    return module.double()


@pytest.mark.parametrize("rho", [0.5, 1.0, 3.0])
def test_deltas_match_autograd_norms_and_endpoint(rho):
    module = _rnn(rho)
    x = torch.randn(4, 9, 2, dtype=torch.float64)
    u = torch.randn(6, dtype=torch.float64)
    with torch.no_grad():
        outputs, _ = module(x)
    deltas = backward_deltas(module.weight_hh_l0, outputs, u)
    assert deltas.shape == (4, 10, 6)
    torch.testing.assert_close(deltas[:, -1], (u / u.norm()).expand(4, 6))
    torch.testing.assert_close(deltas.norm(dim=-1), state_gradient_norms(module, x, u))


def test_deltas_match_autograd_vectors():
    module = _rnn(1.5)
    x = torch.randn(3, 5, 2, dtype=torch.float64)
    u = torch.randn(6, dtype=torch.float64)
    h0 = torch.zeros(1, 3, 6, dtype=torch.float64, requires_grad=True)
    outputs, _ = module(x, h0)
    (outputs[:, -1] @ (u / u.norm())).sum().backward()
    deltas = backward_deltas(module.weight_hh_l0, outputs, u)
    torch.testing.assert_close(deltas[:, 0], h0.grad[0])


def test_gain_is_rho_times_weighted_rms_for_scaled_orthogonal():
    rho = 2.0
    module = _rnn(rho)
    x = torch.randn(5, 12, 2, dtype=torch.float64)
    with torch.no_grad():
        outputs, _ = module(x)
    deltas = backward_deltas(module.weight_hh_l0, outputs, torch.ones(6, dtype=torch.float64))
    norms = deltas.norm(dim=-1)                                   # (B, T+1)
    gains = norms[:, :-1] / norms[:, 1:]                          # step k: ||delta_{k-1}|| / ||delta_k||
    weighted = ((1 - outputs**2) * deltas[:, 1:]).norm(dim=-1) / norms[:, 1:]
    torch.testing.assert_close(gains, rho * weighted)
    rms = tanh_derivative_rms(outputs)
    assert rms.shape == (5, 12) and torch.all((rms > 0) & (rms <= 1))


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="weight_hh"):
        backward_deltas(torch.zeros(3, 4), torch.zeros(1, 2, 3), torch.ones(3))
    with pytest.raises(ValueError, match="hidden_states"):
        backward_deltas(torch.zeros(3, 3), torch.zeros(2, 3), torch.ones(3))
    with pytest.raises(ValueError, match="direction"):
        backward_deltas(torch.zeros(3, 3), torch.zeros(1, 2, 3), torch.ones(4))
    with pytest.raises(ValueError, match="hidden_states"):
        tanh_derivative_rms(torch.zeros(2, 3))

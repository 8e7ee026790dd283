"""The explicit tanh RNN against nn.RNN, and the gradient-flow tools against autograd."""
import pytest
import torch
from torch import nn

from nlpbook.rnn.gradient_flow import (rnn_jacobian_products, set_carry_gate_bias,
                                       set_recurrent_spectral_radius, state_gradient_norms)
from nlpbook.rnn.rnn import RNN, RNNCell


@pytest.mark.parametrize("num_layers", [1, 2, 3])
@pytest.mark.parametrize("with_h0", [False, True])
@pytest.mark.parametrize("bias", [True, False])
def test_rnn_matches_nn_rnn_outputs_and_gradients(num_layers, with_h0, bias):
    torch.manual_seed(num_layers)
    ref = nn.RNN(3, 5, num_layers, bias=bias, batch_first=True).double()
    ours = RNN.from_torch(ref)
    x = torch.randn(4, 6, 3, dtype=torch.float64)
    h0 = torch.randn(num_layers, 4, 5, dtype=torch.float64) if with_h0 else None
    x1, x2 = x.clone().requires_grad_(), x.clone().requires_grad_()
    out1, hn1 = ours(x1, h0)
    out2, hn2 = ref(x2, h0)
    torch.testing.assert_close(out1, out2)
    torch.testing.assert_close(hn1, hn2)
    torch.testing.assert_close(hn1[-1], out1[:, -1])
    weights = torch.randn_like(out1)
    ((out1 * weights).sum() + hn1.pow(2).sum()).backward()
    ((out2 * weights).sum() + hn2.pow(2).sum()).backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    for l, layer in enumerate(ours.layers):
        for name, p in layer.cell.named_parameters():
            torch.testing.assert_close(p.grad, getattr(ref, f"{name}_l{l}").grad, msg=f"{name}_l{l}")


def test_to_torch_round_trip_and_changing_weights_changes_output():
    torch.manual_seed(0)
    ours = RNN(2, 4, 2).double()
    ref = ours.to_torch()
    x = torch.randn(3, 5, 2, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], ref(x)[0])
    with torch.no_grad():
        ours.layers[0].cell.weight_hh.add_(0.1)
    assert not torch.allclose(ours(x)[0], ref(x)[0])


def test_cell_is_the_equation():
    torch.manual_seed(1)
    cell = RNNCell(3, 4).double()
    x, h = torch.randn(2, 3, dtype=torch.float64), torch.randn(2, 4, dtype=torch.float64)
    expected = torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + h @ cell.weight_hh.T + cell.bias_hh)
    torch.testing.assert_close(cell(x, h), expected)
    # A hidden state stays in (-1, 1) whatever the input scale
    assert cell(100 * x, h).abs().max() <= 1.0


@pytest.mark.parametrize("bad_x, error", [
    (torch.randn(4, 3), ValueError),                         # no time axis
    (torch.randn(4, 5, 7), ValueError),                      # wrong feature size
    (torch.randn(4, 5, 3, dtype=torch.float64), TypeError),  # dtype mismatch
    (torch.randn(4, 0, 3), ValueError),                      # empty sequence
])
def test_bad_input_is_rejected(bad_x, error):
    with pytest.raises(error):
        RNN(3, 5)(bad_x)


def test_bad_h0_and_bad_reference_are_rejected():
    rnn = RNN(3, 5, num_layers=2)
    with pytest.raises(ValueError):
        rnn(torch.randn(4, 6, 3), torch.randn(4, 5))
    with pytest.raises(ValueError):
        RNN.from_torch(nn.RNN(3, 5, batch_first=False))
    with pytest.raises(ValueError):
        RNN.from_torch(nn.RNN(3, 5, nonlinearity="relu", batch_first=True))


def test_jacobian_products_match_autograd():
    torch.manual_seed(2)
    rnn = RNN(2, 5).double()
    layer = rnn.layers[0]
    x = torch.randn(3, 7, 2, dtype=torch.float64)
    out, _ = rnn(x)
    products = rnn_jacobian_products(layer.cell.weight_hh, out)
    assert products.shape == (3, 8, 5, 5)
    states = torch.cat([torch.zeros(3, 1, 5, dtype=torch.float64), out], dim=1)   # h_0 .. h_T
    for k in [0, 2, 6]:
        def h_T_from(h_k, k=k):
            return layer(x[:, k:], h_k)[1]
        jac = torch.autograd.functional.jacobian(h_T_from, states[:, k])            # (B, H, B, H)
        per_example = torch.stack([jac[b, :, b, :] for b in range(3)])
        torch.testing.assert_close(products[:, k], per_example)
    torch.testing.assert_close(products[:, -1], torch.eye(5, dtype=torch.float64).expand(3, 5, 5))
    # The bound ||dh_T/dh_k|| <= sigma_max(W_hh)^(T-k) holds
    sigma = torch.linalg.matrix_norm(layer.cell.weight_hh, ord=2)
    norms = torch.linalg.matrix_norm(products, ord=2)                                 # (B, T+1)
    bound = sigma ** torch.arange(7, -1, -1, dtype=torch.float64)
    assert torch.all(norms <= bound + 1e-12)


@pytest.mark.parametrize("module_cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_state_gradient_norms_match_full_sequence_autograd(module_cls):
    torch.manual_seed(3)
    module = module_cls(2, 4, num_layers=1, batch_first=True).double()
    x = torch.randn(3, 6, 2, dtype=torch.float64)
    u = torch.randn(4, dtype=torch.float64)
    norms = state_gradient_norms(module, x, u)
    assert norms.shape == (3, 7)
    torch.testing.assert_close(norms[:, -1], torch.ones(3, dtype=torch.float64))
    # Reference for the initial state: run the whole sequence at once from a leaf h_0 (and c_0)
    h0 = torch.zeros(1, 3, 4, dtype=torch.float64, requires_grad=True)
    if module_cls is nn.LSTM:
        c0 = torch.zeros(1, 3, 4, dtype=torch.float64, requires_grad=True)
        out, _ = module(x, (h0, c0))
    else:
        out, _ = module(x, h0)
    (out[:, -1] @ (u / u.norm())).sum().backward()
    squared = h0.grad.pow(2).sum(dim=(0, 2))
    if module_cls is nn.LSTM:
        squared = squared + c0.grad.pow(2).sum(dim=(0, 2))
    torch.testing.assert_close(norms[:, 0], squared.sqrt())


def test_state_gradient_norms_equal_the_jacobian_formula_for_our_rnn():
    torch.manual_seed(4)
    rnn = RNN(2, 6).double()
    x = torch.randn(2, 9, 2, dtype=torch.float64)
    u = torch.randn(6, dtype=torch.float64)
    u = u / u.norm()
    products = rnn_jacobian_products(rnn.layers[0].cell.weight_hh, rnn(x)[0])
    torch.testing.assert_close(state_gradient_norms(rnn, x, u), (u @ products).norm(dim=-1))


@pytest.mark.parametrize("module_cls", [nn.RNN, nn.GRU, nn.LSTM])
def test_set_recurrent_spectral_radius(module_cls):
    module = module_cls(3, 6, num_layers=2, batch_first=True)
    set_recurrent_spectral_radius(module, 0.7, torch.Generator().manual_seed(0))
    for l in range(2):
        for block in getattr(module, f"weight_hh_l{l}").detach().split(6):
            torch.testing.assert_close(torch.linalg.svdvals(block), torch.full((6,), 0.7))
            assert torch.linalg.eigvals(block).abs().max().item() == pytest.approx(0.7, rel=1e-5)
    with pytest.raises(ValueError):
        set_recurrent_spectral_radius(module, 0.0)


def test_set_carry_gate_bias_opens_the_gate():
    torch.manual_seed(5)
    lstm = set_carry_gate_bias(nn.LSTM(2, 3, batch_first=True), 3.0)
    assert torch.all(lstm.bias_ih_l0[3:6] == 3.0) and torch.all(lstm.bias_hh_l0[3:6] == 0.0)
    gru = set_carry_gate_bias(nn.GRU(2, 3, batch_first=True), 50.0)
    # z ~ 1: h_t = (1 - z) n + z h_{t-1} ~ h_{t-1}, so the state is carried unchanged
    h0 = torch.randn(1, 4, 3)
    with torch.no_grad():
        gru.weight_ih_l0.zero_()
        gru.weight_hh_l0.zero_()
        _, h = gru(torch.randn(4, 10, 2), h0)
    torch.testing.assert_close(h, h0)
    with pytest.raises(TypeError):
        set_carry_gate_bias(nn.RNN(2, 3), 1.0)


def test_state_gradient_norms_works_on_any_module_with_the_lstm_convention():
    class WrappedLSTM(nn.Module):           # not an nn.LSTM subclass: the pair state is detected
        def __init__(self):
            super().__init__()
            self.inner = nn.LSTM(2, 4, num_layers=2, batch_first=True)
            self.hidden_size, self.num_layers = 4, 2

        def forward(self, x, state=None):
            return self.inner(x, state)

    torch.manual_seed(6)
    wrapped = WrappedLSTM().double()
    x = torch.randn(3, 5, 2, dtype=torch.float64)
    u = torch.randn(4, dtype=torch.float64)
    torch.testing.assert_close(state_gradient_norms(wrapped, x, u), state_gradient_norms(wrapped.inner, x, u))

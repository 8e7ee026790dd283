"""nlpbook.rnn.gru against nn.GRU (float64, weights copied) and the seed form's properties."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nlpbook.rnn.gru import GRU, gru_parameter_count, seed_state_dict_from_pytorch

F64 = torch.float64


def _grads(output, state, x, params):
    # A loss that touches every output and the final state, with distinct weights per element.
    loss = (output * torch.linspace(-1, 1, output.numel(), dtype=F64).view_as(output)).sum() + (state ** 2).sum()
    return torch.autograd.grad(loss, [x, *params])


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_pytorch_form_matches_nn_gru(fast, num_layers):
    torch.manual_seed(0)
    ref = nn.GRU(3, 5, num_layers=num_layers, batch_first=True, dtype=F64)
    ours = GRU(3, 5, num_layers, fast=fast, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 7, 3, dtype=F64, requires_grad=True)
    h0 = torch.randn(num_layers, 4, 5, dtype=F64)
    out_ref, h_ref = ref(x, h0)
    out, h = ours(x, h0)
    torch.testing.assert_close(out, out_ref)
    torch.testing.assert_close(h, h_ref)
    for a, b in zip(_grads(out, h, x, list(ours.parameters())), _grads(out_ref, h_ref, x, list(ref.parameters()))):
        torch.testing.assert_close(a, b)


@pytest.mark.parametrize("num_layers", [1, 2])
def test_seed_form_fast_equals_explicit(num_layers):
    torch.manual_seed(1)
    explicit = GRU(3, 6, num_layers, form="seed", dtype=F64)
    fast = GRU(3, 6, num_layers, form="seed", fast=True, dtype=F64)
    fast.load_state_dict(explicit.state_dict())
    x = torch.randn(2, 9, 3, dtype=F64, requires_grad=True)
    out_e, h_e = explicit(x)
    out_f, h_f = fast(x)
    torch.testing.assert_close(out_f, out_e)
    torch.testing.assert_close(h_f, h_e)
    for a, b in zip(_grads(out_f, h_f, x, list(fast.parameters())), _grads(out_e, h_e, x, list(explicit.parameters()))):
        torch.testing.assert_close(a, b)


def test_forms_differ_in_general_but_agree_when_reset_gate_is_one():
    torch.manual_seed(2)
    H = 4
    pytorch_form = GRU(3, H, fast=True, dtype=F64)
    seed_form = GRU(3, H, form="seed", fast=True, dtype=F64)
    seed_form.load_state_dict(seed_state_dict_from_pytorch(pytorch_form.state_dict()))
    x = torch.randn(5, 8, 3, dtype=F64)
    diff = (pytorch_form(x)[0] - seed_form(x)[0]).abs().max()
    assert diff > 1e-3, f"forms should differ with a generic reset gate, max diff {diff}"
    with torch.no_grad():  # r = sigmoid(60) == 1.0 exactly in float64: W_r = 0, b_r = 60
        for m in (pytorch_form,):
            m.weight_ih_l0[:H] = 0
            m.weight_hh_l0[:H] = 0
            m.bias_ih_l0[:H] = 60.0
            m.bias_hh_l0[:H] = 0
    seed_form.load_state_dict(seed_state_dict_from_pytorch(pytorch_form.state_dict()))
    torch.testing.assert_close(seed_form(x)[0], pytorch_form(x)[0])


def test_without_z_negation_the_forms_do_not_agree_even_with_r_one():
    torch.manual_seed(3)
    H = 4
    pytorch_form = GRU(2, H, dtype=F64)
    with torch.no_grad():
        pytorch_form.weight_ih_l0[:H] = 0
        pytorch_form.weight_hh_l0[:H] = 0
        pytorch_form.bias_ih_l0[:H] = 60.0
    seed_form = GRU(2, H, form="seed", dtype=F64)
    seed_form.load_state_dict(pytorch_form.state_dict())  # plain copy, z not negated
    x = torch.randn(3, 6, 2, dtype=F64)
    assert (pytorch_form(x)[0] - seed_form(x)[0]).abs().max() > 1e-3


@pytest.mark.parametrize("layers", [1, 3])
def test_parameter_count_formula(layers):
    counted = sum(p.numel() for p in nn.GRU(7, 11, num_layers=layers).parameters())
    assert gru_parameter_count(7, 11, layers) == counted
    assert sum(p.numel() for p in GRU(7, 11, layers).parameters()) == counted


def test_bad_inputs_raise_clear_errors():
    gru = GRU(3, 4)
    with pytest.raises(ValueError, match=r"x is \(2, 5, 4\) but I = 3 \(input_size\) in dimension 2"):
        gru(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"\(B, T, I\)"):
        gru(torch.randn(5, 3))
    with pytest.raises(TypeError, match="x has dtype float64 but the layer's weights are float32"):
        gru(torch.randn(2, 5, 3, dtype=F64))
    with pytest.raises(TypeError, match="h0 has dtype float64 but the layer's weights are float32"):
        gru(torch.randn(2, 5, 3), torch.zeros(1, 2, 4, dtype=F64))
    with pytest.raises(ValueError, match=r"h0 is \(1, 3, 4\) but L = 1 \(num_layers\)|h0 is \(1, 3, 4\) but B = 2 \(x\)"):
        gru(torch.randn(2, 5, 3), torch.zeros(1, 3, 4))
    with pytest.raises(ValueError, match="form"):
        GRU(3, 4, form="cho")


# The PyTorch form's fused layer has a hand-written backward (nlpbook/rnn/gru_fused.py) whose
# per-step loops run in C++ when built (nlpbook/rnn/gru_compiled.py) and in Python otherwise.
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 2e-6), (torch.float64, 1e-13)])
def test_fused_gru_loops_agree_with_autograd_compiled_or_not(monkeypatch, dtype, tol):
    torch.manual_seed(7)
    fused = GRU(5, 6, 2, fast=True, dtype=dtype)
    recorded = GRU(5, 6, 2, fast="autograd", dtype=dtype)
    recorded.load_state_dict(fused.state_dict())
    x = torch.randn(4, 8, 5, dtype=dtype, requires_grad=True)
    h0 = torch.randn(2, 4, 6, dtype=dtype, requires_grad=True)

    def run(model, flag):
        monkeypatch.setenv("NLPBOOK_KERNELS", flag)
        out, hn = model(x, h0)
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)).sum() + (hn ** 2).sum()
        return (out, hn, *torch.autograd.grad(loss, [x, h0, *model.parameters()]))

    reference = run(recorded, "1")
    for flag in ("1", "0"):
        for a, b in zip(run(fused, flag), reference):
            assert ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() <= tol, flag


@pytest.mark.parametrize("flag", ["1", "0"])
def test_fused_gru_passes_gradcheck(monkeypatch, flag):
    monkeypatch.setenv("NLPBOOK_KERNELS", flag)
    torch.manual_seed(8)
    model = GRU(2, 3, fast=True, dtype=torch.float64)
    x = torch.randn(2, 5, 2, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(1, 2, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b: model(a, b)[0], (x, h0))
    assert torch.autograd.gradcheck(lambda a, b: model(a, b)[1], (x, h0))


def test_fast_must_be_a_known_mode():
    with pytest.raises(ValueError, match="fast must be True, False or 'autograd'"):
        GRU(2, 3, fast="yes")

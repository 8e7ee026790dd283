"""nlpbook.rnn.lstm against nn.LSTM (float64, weights copied), fast path against explicit."""
from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from nlpbook.rnn.lstm import LSTM, lstm_cell, lstm_parameter_count

F64 = torch.float64


@pytest.mark.parametrize("fast", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_matches_nn_lstm(fast, num_layers):
    torch.manual_seed(0)
    ref = nn.LSTM(3, 5, num_layers=num_layers, batch_first=True, dtype=F64)
    ours = LSTM(3, 5, num_layers, fast=fast, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(4, 7, 3, dtype=F64, requires_grad=True)
    state = (torch.randn(num_layers, 4, 5, dtype=F64, requires_grad=True),
             torch.randn(num_layers, 4, 5, dtype=F64, requires_grad=True))
    out_ref, (h_ref, c_ref) = ref(x, state)
    out, (h, c) = ours(x, state)
    for a, b in ((out, out_ref), (h, h_ref), (c, c_ref)):
        torch.testing.assert_close(a, b)

    def grads(o, hn, cn, params):
        w = torch.linspace(-1, 1, o.numel(), dtype=F64).view_as(o)
        return torch.autograd.grad((o * w).sum() + (hn ** 2).sum() + cn.sum(), [x, *state, *params])

    for a, b in zip(grads(out, h, c, list(ours.parameters())), grads(out_ref, h_ref, c_ref, list(ref.parameters()))):
        torch.testing.assert_close(a, b)


def test_cell_path_gradient_is_the_forget_gate():
    """dc_t/dc_{t-1} = diag(f_t): check against autograd for one step."""
    torch.manual_seed(1)
    H = 3
    w_ih, w_hh = torch.randn(4 * H, 2, dtype=F64), torch.randn(4 * H, H, dtype=F64)
    b_ih, b_hh = torch.randn(4 * H, dtype=F64), torch.randn(4 * H, dtype=F64)
    x, h = torch.randn(1, 2, dtype=F64), torch.randn(1, H, dtype=F64)
    c = torch.randn(1, H, dtype=F64)
    jac = torch.autograd.functional.jacobian(lambda c_: lstm_cell(x, (h, c_), w_ih, w_hh, b_ih, b_hh)[1], c)
    f = torch.sigmoid(x @ w_ih[H:2 * H].T + b_ih[H:2 * H] + h @ w_hh[H:2 * H].T + b_hh[H:2 * H])
    torch.testing.assert_close(jac.reshape(H, H), torch.diag(f[0]))


@pytest.mark.parametrize("layers", [1, 2])
def test_parameter_count_formula(layers):
    counted = sum(p.numel() for p in nn.LSTM(7, 11, num_layers=layers).parameters())
    assert lstm_parameter_count(7, 11, layers) == counted
    assert sum(p.numel() for p in LSTM(7, 11, layers).parameters()) == counted


def test_bad_inputs_raise_clear_errors():
    lstm = LSTM(3, 4, 2)
    with pytest.raises(ValueError, match=r"x is \(2, 5, 4\) but I = 3 \(input_size\) in dimension 2"):
        lstm(torch.randn(2, 5, 4))
    with pytest.raises(ValueError, match=r"c0 is \(1, 2, 4\) but L = 2 \(num_layers\)"):
        lstm(torch.randn(2, 5, 3), (torch.zeros(2, 2, 4), torch.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match="pair"):
        lstm(torch.randn(2, 5, 3), torch.zeros(2, 2, 4))
    with pytest.raises(TypeError, match="float64"):
        lstm(torch.randn(2, 5, 3, dtype=F64))
    for fast in (False, True):   # the fast LSTM used to cast a float64 or int64 state silently
        for dtype in (F64, torch.int64):
            with pytest.raises(TypeError, match="h0 has dtype .* but the layer's weights are float32"):
                LSTM(3, 4, 2, fast=fast)(torch.randn(2, 5, 3), (torch.zeros(2, 2, 4, dtype=dtype),) * 2)


def test_fast_path_without_state_gradients_and_under_no_grad():
    """Only the output used (h_n, c_n get no gradient), and inference without autograd."""
    torch.manual_seed(2)
    ref = nn.LSTM(3, 4, batch_first=True, dtype=F64)
    ours = LSTM(3, 4, fast=True, dtype=F64)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(2, 6, 3, dtype=F64, requires_grad=True)
    g_ours = torch.autograd.grad(ours(x)[0][:, -1].sum(), x)[0]
    g_ref = torch.autograd.grad(ref(x)[0][:, -1].sum(), x)[0]
    torch.testing.assert_close(g_ours, g_ref)
    with torch.no_grad():
        torch.testing.assert_close(ours(x)[0], ref(x)[0])


def test_fast_path_passes_gradcheck():
    torch.manual_seed(3)
    ours = LSTM(2, 3, fast=True, dtype=F64)
    x = torch.randn(2, 4, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(1, 2, 3, dtype=F64, requires_grad=True)
    c0 = torch.randn(1, 2, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: ours(a, (b, c))[0], (x, h0, c0))


@pytest.mark.parametrize("T", [1, 6])
def test_fast_path_matches_explicit_with_state_two_layers(T):
    """Fused forward/backward (gates reordered inside, per-step kernels in place) against the
    explicit cell-by-cell LSTM in float64: outputs, final state and every gradient."""
    torch.manual_seed(4)
    explicit = LSTM(3, 4, 2, fast=False, dtype=F64)
    fast = LSTM(3, 4, 2, fast=True, dtype=F64)
    fast.load_state_dict(explicit.state_dict())
    x = torch.randn(5, T, 3, dtype=F64, requires_grad=True)
    h0 = torch.randn(2, 5, 4, dtype=F64, requires_grad=True)
    c0 = torch.randn(2, 5, 4, dtype=F64, requires_grad=True)

    def run(model):
        out, (hn, cn) = model(x, (h0, c0))
        w = torch.linspace(-1, 2, out.numel(), dtype=F64).view_as(out)
        loss = (out * w).sum() + (hn * hn.detach()).sum() + (cn ** 3).sum()
        return (out, hn, cn, *torch.autograd.grad(loss, [x, h0, c0, *model.parameters()]))

    for a, b in zip(run(fast), run(explicit)):
        torch.testing.assert_close(a, b)


# The fused layer's per-step loops run in C++ when nlpbook.kernels can build them
# (nlpbook/rnn/lstm_compiled.py) and in Python otherwise ($NLPBOOK_KERNELS=0): both must agree.
@pytest.mark.parametrize("dtype, tol", [(torch.float32, 2e-6), (F64, 1e-13)])
def test_compiled_and_python_step_loops_agree(monkeypatch, dtype, tol):
    torch.manual_seed(5)
    layer = LSTM(6, 8, 2, fast=True, dtype=dtype)
    x = torch.randn(3, 9, 6, dtype=dtype, requires_grad=True)
    state = tuple(torch.randn(2, 3, 8, dtype=dtype, requires_grad=True) for _ in range(2))

    def run(flag):
        monkeypatch.setenv("NLPBOOK_KERNELS", flag)
        out, (hn, cn) = layer(x, state)
        loss = (out * torch.linspace(-1, 1, out.numel(), dtype=dtype).view_as(out)).sum() + hn.sum() + (cn ** 2).sum()
        return (out, hn, cn, *torch.autograd.grad(loss, [x, *state, *layer.parameters()]))

    for a, b in zip(run("1"), run("0")):
        assert ((a - b).abs().max() / b.abs().max().clamp_min(1e-30)).item() <= tol


def test_compiled_loops_pass_gradcheck(monkeypatch):
    monkeypatch.setenv("NLPBOOK_KERNELS", "1")
    torch.manual_seed(6)
    ours = LSTM(2, 3, fast=True, dtype=F64)
    x = torch.randn(2, 5, 2, dtype=F64, requires_grad=True)
    h0 = torch.randn(1, 2, 3, dtype=F64, requires_grad=True)
    c0 = torch.randn(1, 2, 3, dtype=F64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda a, b, c: ours(a, (b, c))[0], (x, h0, c0))


def test_the_compiled_loops_are_built_where_a_compiler_is(monkeypatch):
    """With a C++ compiler and ninja (as `make install` provides) the kernel must build; without
    one the layer falls back to the Python loops and says so."""
    import shutil
    import sys

    from nlpbook import kernels
    from nlpbook.rnn import lstm_compiled

    monkeypatch.setenv("NLPBOOK_KERNELS", "1")
    venv_ninja = shutil.which("ninja") or shutil.which("ninja", path=os.path.dirname(sys.executable))
    if shutil.which("c++") and venv_ninja:
        assert kernels.load(lstm_compiled.KERNEL) is not None, "the C++ step loops did not build"
        assert lstm_compiled.step_loops()[0].__module__ != "nlpbook.rnn.lstm"
    else:
        with pytest.warns(RuntimeWarning, match="using the PyTorch code"):
            assert kernels.load(lstm_compiled.KERNEL) is None
    monkeypatch.setenv("NLPBOOK_KERNELS", "0")
    assert kernels.load(lstm_compiled.KERNEL) is None

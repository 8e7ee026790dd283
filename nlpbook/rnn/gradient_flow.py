r"""Measure how gradients travel back through time: ``||dL/dh_k||`` and Jacobian products.

For a tanh RNN $h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b)$ one step back is the Jacobian

$$J_t = \frac{\partial h_t}{\partial h_{t-1}} = \operatorname{diag}(1 - h_t^2)\, W_{hh} \qquad (H \times H),$$

and a loss $L$ computed from $h_T$ reaches $h_k$ through the product

$$\frac{\partial h_T}{\partial h_k} = J_T J_{T-1} \cdots J_{k+1}, \qquad \Big\lVert \frac{\partial h_T}{\partial h_k} \Big\rVert_2 \le \prod_{j=k+1}^{T} \lVert \operatorname{diag}(1-h_j^2) \rVert_2 \, \sigma_{\max}(W_{hh}) \le \sigma_{\max}(W_{hh})^{T-k}.$$

Three tools:

* :func:`rnn_jacobian_products` computes the products explicitly from the formula above
  (tanh RNN only), for checking against autograd;
* :func:`state_gradient_norms` measures $\lVert \partial L / \partial s_k \rVert$ with
  autograd for any batch-first recurrent module with ``nn.RNN``'s calling convention
  (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``, :class:`nlpbook.rnn.rnn.RNN`, the book's GRU and
  LSTM); the state $s_k$ is $h_k$, or $(h_k, c_k)$ for an LSTM;
* :func:`set_recurrent_spectral_radius` and :func:`set_carry_gate_bias` put a module into a
  chosen regime (every recurrent block $\rho Q$ with $Q$ orthogonal; a gate bias).
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import InputError, InputTypeError, check_batch_first, check_finite, check_positive, check_tensor

__all__ = ["rnn_jacobian_products", "state_gradient_norms", "set_recurrent_spectral_radius",
           "set_carry_gate_bias", "GATE_BLOCKS"]

# How many H x H blocks PyTorch stacks in weight_hh: one for nn.RNN, (r, z, n) for nn.GRU,
# (i, f, g, o) for nn.LSTM.
GATE_BLOCKS = {nn.RNN: 1, nn.GRU: 3, nn.LSTM: 4}


def rnn_jacobian_products(weight_hh: torch.Tensor, hidden_states: torch.Tensor) -> torch.Tensor:
    r"""The products $\partial h_T / \partial h_k = J_T \cdots J_{k+1}$ for a tanh RNN.

    ``weight_hh`` is $W_{hh}$ ``(H, H)``; ``hidden_states`` are $h_1 \dots h_T$,
    shape ``(B, T, H)`` (an RNN layer's outputs). Returns ``(B, T+1, H, H)``: entry ``k`` is
    $\partial h_T / \partial h_k$ for ``k = 0..T`` (``k = T`` is the identity, ``k = 0``
    the initial state).
    """
    dims = {}
    check_tensor("weight_hh", weight_hh, ("H", "H"), dims=dims, dtype="float")
    check_tensor("hidden_states", hidden_states, ("B", "T", "H"), dims=dims, like=("weight_hh", weight_hh))
    weight_hh, hidden_states = weight_hh.detach(), hidden_states.detach()   # a measurement, not a graph
    B, T, H = hidden_states.shape
    # J_t = diag(1 - h_t^2) W_hh: row i of W_hh scaled by tanh'(pre_t)_i = 1 - h_{t,i}^2.
    jacobians = (1 - hidden_states**2).unsqueeze(-1) * weight_hh            # (B, T, H, H); [:, t-1] is J_t
    products = [torch.eye(H, dtype=weight_hh.dtype, device=weight_hh.device).expand(B, H, H)]
    for t in range(T, 0, -1):                                              # P_{t-1} = P_t J_t
        products.append(products[-1] @ jacobians[:, t - 1])
    return torch.stack(products[::-1], dim=1)                              # (B, T+1, H, H)


def state_gradient_norms(module: nn.Module, x: torch.Tensor, direction: torch.Tensor | None = None,
                         generator: torch.Generator | None = None) -> torch.Tensor:
    r"""Per example, $\lVert \partial L / \partial s_k \rVert_2$ for ``k = 0..T``, shape ``(B, T+1)``.

    The loss is $L = u^\top h_T$ with a fixed unit vector $u$ (``direction``, random
    if not given), so $\lVert \partial L/\partial h_T \rVert = 1$ and column ``k`` shows how
    much of that unit gradient is left ``T - k`` steps back. The module runs one step at a
    time so each state $s_k$ is a tensor autograd can report on; $s_0$ is the zero
    initial state; column ``T`` is 1 by construction. Batch elements do not interact, so one
    backward pass gives every row.
    """
    check_batch_first("module", module)
    weight = next(module.parameters())
    dims = {"D": (module.input_size, "module.input_size")} if hasattr(module, "input_size") else {}
    check_tensor("x", x, ("B", "T", "D"), dims=dims, like=("the module's weights", weight))
    B, T, _ = x.shape
    H, L = module.hidden_size, getattr(module, "num_layers", 1)
    if direction is not None:
        check_tensor("direction", direction, (H,), dtype="float")
        check_finite("direction", direction)
        if not bool(direction.norm() > 0):
            raise InputError("direction is the zero vector; it must have a nonzero norm")
    # An LSTM-like module carries a pair (h, c); ask the module instead of checking its class,
    # so any implementation with nn.LSTM's convention works.
    with torch.no_grad():
        _, first_state = module(x[:, :1])
    is_lstm = isinstance(first_state, tuple)
    if direction is None:
        direction = torch.randn(H, generator=generator, dtype=torch.float64).to(x)
    direction = direction.to(x) / direction.to(x).norm()

    def fresh_state():
        zeros = x.new_zeros(L, B, H, requires_grad=True)
        return (zeros, x.new_zeros(L, B, H, requires_grad=True)) if is_lstm else zeros

    state = fresh_state()
    states = [state]
    for t in range(T):
        _, state = module(x[:, t:t + 1], state)
        for s in (state if is_lstm else (state,)):
            s.retain_grad()                      # keep dL/ds_t, which autograd would free
        states.append(state)
    h_top = (state[0] if is_lstm else state)[-1]  # the top layer's h_T (B, H), equal to out[:, -1]
    loss = (h_top @ direction).sum()              # L = sum_b u^T h_T^(b)
    loss.backward()
    norms = []
    for s in states:
        parts = s if is_lstm else (s,)
        # ||dL/ds_k|| over every layer (and h and c for an LSTM), one number per example.
        # A state the loss does not read has no .grad (the LSTM's last c_T: L reads h_T only): 0.
        squared = sum(p.grad.pow(2).sum(dim=(0, 2)) for p in parts if p.grad is not None)
        norms.append(squared.sqrt())
    return torch.stack(norms, dim=1).detach()    # (B, T+1)


def set_recurrent_spectral_radius(module: nn.Module, rho: float, generator: torch.Generator | None = None) -> nn.Module:
    r"""Set every ``H x H`` recurrent block of every layer to $\rho Q$, $Q$ random orthogonal.

    All singular values of each block are then exactly $\rho$, so its spectral radius
    and its largest singular value both equal $\rho$. Works on ``nn.RNN``, ``nn.GRU``,
    ``nn.LSTM`` (each gate block) and :class:`nlpbook.rnn.rnn.RNN`.
    """
    check_positive("rho", rho)
    if not isinstance(module, nn.Module):
        raise InputTypeError(f"module must be an nn.Module, got {type(module).__name__}")
    weights = [p for name, p in module.named_parameters() if name.split(".")[-1].startswith("weight_hh")]
    if not weights:
        raise InputError(f"module ({type(module).__name__}) has no weight_hh parameters")
    with torch.no_grad():                              # an in-place re-initialisation
        for w in weights:
            H = w.shape[1]
            if w.shape[0] % H:
                raise ValueError(f"weight_hh of shape {tuple(w.shape)} is not a stack of H x H blocks")
            for block in w.split(H, dim=0):
                gaussian = torch.randn(H, H, generator=generator, dtype=torch.float64)
                q, r = torch.linalg.qr(gaussian)
                q = q * torch.sign(torch.diagonal(r))  # Haar-distributed orthogonal matrix
                block.copy_(rho * q)
    return module


def set_carry_gate_bias(module: nn.Module, bias: float) -> nn.Module:
    r"""Bias the gate that carries the old state: the LSTM forget gate ``f``, the GRU update gate ``z``.

    Sets that gate's block of ``bias_ih`` to ``bias`` and of ``bias_hh`` to 0, in every layer,
    so at a zero input and state the gate is $\sigma(\text{bias})$ (bias 3 gives 0.95).
    PyTorch's blocks: GRU ``(r, z, n)`` with $h_t = (1 - z) n + z h_{t-1}$; LSTM ``(i, f, g, o)``.
    """
    check_finite("bias", bias)
    if isinstance(module, nn.LSTM):
        index = 1                                  # f in (i, f, g, o)
    elif isinstance(module, nn.GRU):
        index = 1                                  # z in (r, z, n)
    else:
        raise InputTypeError(f"module must be an nn.LSTM or nn.GRU, got {type(module).__name__}")
    if not module.bias:
        raise InputError("module was built with bias=False")
    H = module.hidden_size
    with torch.no_grad():                              # an in-place re-initialisation
        for layer in range(module.num_layers):
            getattr(module, f"bias_ih_l{layer}")[index * H:(index + 1) * H].fill_(bias)
            getattr(module, f"bias_hh_l{layer}")[index * H:(index + 1) * H].zero_()
    return module

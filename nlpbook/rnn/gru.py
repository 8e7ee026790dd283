r"""The gated recurrent unit (GRU), in two forms: the seed's and PyTorch's.

Both forms use the same parameters, laid out exactly as ``torch.nn.GRU`` lays them out, so a
state dict copies across with ``load_state_dict``. For layer ``k`` (``I`` = the layer's input
size, ``H`` = hidden size), with the gate rows stacked in PyTorch's order **r, z, n**::

    weight_ih_l{k}  (3H, I)  = [W_ir; W_iz; W_in]      bias_ih_l{k}  (3H,)
    weight_hh_l{k}  (3H, H)  = [W_hr; W_hz; W_hn]      bias_hh_l{k}  (3H,)

**PyTorch's form** (the reset gate acts *after* the recurrent matrix; ``z`` keeps the old state):

$$r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})$$
$$z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})$$
$$n_t = \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big)$$
$$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$$

**The seed's form** (the reset gate acts *before* the recurrent matrix, as in Cho et al. 2014;
``z`` takes the new candidate, as in Chung et al. 2014). The seed writes ``W·[h_{t-1}, x_t]``
without biases; we keep PyTorch's two biases per gate so that both forms have the same
parameters:

$$z_t = \sigma(W_{iz} x_t + b_{iz} + W_{hz} h_{t-1} + b_{hz})$$
$$r_t = \sigma(W_{ir} x_t + b_{ir} + W_{hr} h_{t-1} + b_{hr})$$
$$\tilde h_t = \tanh\big(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn}\big)$$
$$h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$$

The ``z`` difference is a reparametrisation (:func:`seed_state_dict_from_pytorch` negates the
``z`` rows, since :math:`\sigma(-a) = 1 - \sigma(a)`); the ``r`` difference is not: no copy of
weights turns :math:`W_{hn}(r \odot h)` into :math:`r \odot (W_{hn} h)` for every ``h``.

Layout: batch first. ``x`` is ``(B, T, I)``, the initial state ``h0`` is ``(L, B, H)`` as in
``nn.GRU`` (``L`` layers), the output is ``(B, T, H)`` (the last layer at every step) and the
final state ``(L, B, H)``. No inter-layer dropout, no bidirectional mode.
"""
from __future__ import annotations

import torch

from ..validate import InputError, InputTypeError, check_positive, check_tensor
from .gru_fused import FusedGRULayer
from .stacked import StackedGateWeights

__all__ = ["gru_cell", "seed_gru_cell", "GRU", "seed_state_dict_from_pytorch", "gru_parameter_count"]


def check_cell_inputs(x, h, w_ih, w_hh, b_ih, b_hh, gates: int, c=None) -> None:
    """The shapes of one cell step: ``x`` (B, I), ``h`` (and ``c``) (B, H), ``w_ih`` (G·H, I),
    ``w_hh`` (G·H, H), biases (G·H,), all of one dtype and device (``G`` gate blocks)."""
    check_tensor("w_hh", w_hh, (None, "H"), dtype="float")
    H = w_hh.shape[1]
    dims = {"H": (H, "w_hh.shape[1]"), "GH": (gates * H, f"{gates} gates x H = {gates} x {H}")}
    check_tensor("w_hh", w_hh, ("GH", "H"), dims=dims)
    like = ("w_hh", w_hh)
    check_tensor("x", x, ("B", "I"), dims=dims, like=like)
    check_tensor("h", h, ("B", "H"), dims=dims, like=like)
    if c is not None:
        check_tensor("c", c, ("B", "H"), dims=dims, like=like)
    check_tensor("w_ih", w_ih, ("GH", "I"), dims=dims, like=like)
    check_tensor("b_ih", b_ih, ("GH",), dims=dims, like=like)
    check_tensor("b_hh", b_hh, ("GH",), dims=dims, like=like)


def gru_cell(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
             b_ih: torch.Tensor, b_hh: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""One step of PyTorch's GRU, gate by gate: ``x`` (B, I), ``h`` (B, H) -> ``h_t`` (B, H).

    $$n_t = \tanh\big(W_{in} x_t + b_{in} + r_t \odot (W_{hn} h_{t-1} + b_{hn})\big),\quad
    h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$$

    ``check=False`` skips the input checks (:class:`GRU` checks once, then loops with it).
    """
    if check:
        check_cell_inputs(x, h, w_ih, w_hh, b_ih, b_hh, gates=3)
    H = h.shape[1]
    W_ir, W_iz, W_in = w_ih[:H], w_ih[H:2 * H], w_ih[2 * H:]
    W_hr, W_hz, W_hn = w_hh[:H], w_hh[H:2 * H], w_hh[2 * H:]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)        # reset gate   (B, H)
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)        # update gate  (B, H)
    n = torch.tanh(x @ W_in.T + b_in + r * (h @ W_hn.T + b_hn))     # r AFTER the matrix
    return (1 - z) * n + z * h                                      # z keeps the OLD state


def seed_gru_cell(x: torch.Tensor, h: torch.Tensor, w_ih: torch.Tensor, w_hh: torch.Tensor,
                  b_ih: torch.Tensor, b_hh: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""One step of the seed's GRU: ``x`` (B, I), ``h`` (B, H) -> (B, H).

    $$\tilde h_t = \tanh\big(W_{in} x_t + b_{in} + W_{hn} (r_t \odot h_{t-1}) + b_{hn}\big),\quad
    h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$$

    ``check=False`` skips the input checks (:class:`GRU` checks once, then loops with it).
    """
    if check:
        check_cell_inputs(x, h, w_ih, w_hh, b_ih, b_hh, gates=3)
    H = h.shape[1]
    W_ir, W_iz, W_in = w_ih[:H], w_ih[H:2 * H], w_ih[2 * H:]
    W_hr, W_hz, W_hn = w_hh[:H], w_hh[H:2 * H], w_hh[2 * H:]
    b_ir, b_iz, b_in = b_ih[:H], b_ih[H:2 * H], b_ih[2 * H:]
    b_hr, b_hz, b_hn = b_hh[:H], b_hh[H:2 * H], b_hh[2 * H:]
    z = torch.sigmoid(x @ W_iz.T + b_iz + h @ W_hz.T + b_hz)        # update gate  (B, H)
    r = torch.sigmoid(x @ W_ir.T + b_ir + h @ W_hr.T + b_hr)        # reset gate   (B, H)
    h_tilde = torch.tanh(x @ W_in.T + b_in + (r * h) @ W_hn.T + b_hn)  # r BEFORE the matrix
    return (1 - z) * h + z * h_tilde                                # z takes the NEW candidate


def _pytorch_layer_fast(x: torch.Tensor, h: torch.Tensor, w_ih, w_hh, b_ih, b_hh) -> tuple[torch.Tensor, torch.Tensor]:
    """PyTorch-form GRU over a whole sequence, fused: ``x`` (B, T, I) -> ((B, T, H), (B, H)).

    Same equations as :func:`gru_cell`, arranged for speed: the input projection of every
    time step is one matmul ``X W_ih^T`` (it does not depend on ``h``), and each step needs
    one ``(B, H) x (H, 3H)`` matmul for all three gates. The backward pass is written by hand
    (:class:`nlpbook.rnn.gru_fused.FusedGRULayer`), its per-step loops in C++ where they are
    built; :func:`_pytorch_layer_autograd` is the same forward with autograd's backward.
    """
    return FusedGRULayer.apply(x, h, w_ih, w_hh, b_ih, b_hh)


def _pytorch_layer_autograd(x: torch.Tensor, h: torch.Tensor, w_ih, w_hh, b_ih, b_hh) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`_pytorch_layer_fast`'s loop in plain PyTorch ops, its backward recorded by autograd."""
    # unbind, not gates_x[:, t]: the backward of T slices would write T zero tensors of the
    # full (B, T, 3H) size (quadratic in T); unbind's backward stacks the T gradients once.
    gates_x = (torch.matmul(x, w_ih.T) + b_ih).unbind(1)            # T x (B, 3H), all steps at once
    outputs = []
    for gx in gates_x:
        gh = torch.addmm(b_hh, h, w_hh.T)                           # (B, 3H), one matmul per step
        x_r, x_z, x_n = gx.chunk(3, dim=1)
        h_r, h_z, h_n = gh.chunk(3, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = n + z * (h - n)                                         # = (1 - z) n + z h
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


def _seed_layer_fast(x: torch.Tensor, h: torch.Tensor, w_ih, w_hh, b_ih, b_hh) -> tuple[torch.Tensor, torch.Tensor]:
    """Seed-form GRU over a whole sequence, fused: ``x`` (B, T, I) -> ((B, T, H), (B, H)).

    The candidate needs ``r_t`` before its recurrent matmul, so each step has two matmuls:
    ``h W_{h[r,z]}^T`` (B, 2H), then ``(r h) W_{hn}^T`` (B, H).
    """
    H = h.shape[1]
    gates_x = (torch.matmul(x, w_ih.T) + b_ih).unbind(1)            # T x (B, 3H)
    w_hrz, b_hrz = w_hh[:2 * H], b_hh[:2 * H]
    w_hn, b_hn = w_hh[2 * H:], b_hh[2 * H:]
    outputs = []
    for gx in gates_x:
        x_r, x_z, x_n = gx.chunk(3, dim=1)
        h_r, h_z = torch.addmm(b_hrz, h, w_hrz.T).chunk(2, dim=1)
        r = torch.sigmoid(x_r + h_r)
        z = torch.sigmoid(x_z + h_z)
        h_tilde = torch.tanh(x_n + torch.addmm(b_hn, r * h, w_hn.T))
        h = h + z * (h_tilde - h)                                   # = (1 - z) h + z h~
        outputs.append(h)
    return torch.stack(outputs, dim=1), h


class GRU(StackedGateWeights):
    """A multi-layer, batch-first GRU with ``nn.GRU``'s parameter names and shapes.

    ``form="pytorch"`` computes ``nn.GRU``'s equations, ``form="seed"`` the seed's (see the
    module docstring). ``fast=False`` runs the explicit cell (:func:`gru_cell` or
    :func:`seed_gru_cell`) step by step; ``fast=True`` runs the fused layer (for the PyTorch form
    with a hand-written backward; ``fast="autograd"``: the same loop with autograd's backward, as
    the seed form's fused layer has), which gives the
    same numbers (checked in float64 by the tests) in less time.

    ``forward(x (B, T, I), h0 (L, B, H) or None) -> (output (B, T, H), h_n (L, B, H))``.
    """

    FORMS = ("pytorch", "seed")

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, *,
                 form: str = "pytorch", fast: bool | str = False, dtype: torch.dtype | None = None):
        if form not in self.FORMS:
            raise ValueError(f"form must be one of {self.FORMS}, got {form!r}")
        if not (isinstance(fast, bool) or fast == "autograd"):
            raise InputError(f"fast must be True, False or 'autograd', got {fast!r}")
        super().__init__(input_size, hidden_size, num_layers, gates=3, dtype=dtype)  # r, z, n
        self.form, self.fast = form, fast

    def _check(self, x: torch.Tensor, h0: torch.Tensor | None) -> torch.Tensor:
        dims = self.check_input(x)
        if h0 is None:
            return x.new_zeros(self.num_layers, x.shape[0], self.hidden_size)
        return self.check_state("h0", h0, dims)

    def forward(self, x: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        h0 = self._check(x, h0)
        layer_input, finals = x, []
        for k in range(self.num_layers):
            weights = self.layer_weights(k)
            if self.fast:
                fused = (_seed_layer_fast if self.form == "seed" else
                         _pytorch_layer_autograd if self.fast == "autograd" else _pytorch_layer_fast)
                layer_input, h = fused(layer_input, h0[k], *weights)
            else:
                cell = gru_cell if self.form == "pytorch" else seed_gru_cell
                h, outputs = h0[k], []
                for x_t in layer_input.unbind(1):                   # explicit: one cell call per step
                    h = cell(x_t, h, *weights, check=False)     # checked once, above
                    outputs.append(h)
                layer_input = torch.stack(outputs, dim=1)           # (B, T, H) feeds the next layer
            finals.append(h)
        return layer_input, torch.stack(finals, dim=0)

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
                f"form={self.form!r}, fast={self.fast}")


def seed_state_dict_from_pytorch(state_dict: dict) -> dict:
    r"""Map a PyTorch-form GRU's weights to the seed form's ``z`` convention.

    PyTorch's ``z`` keeps the old state, the seed's takes the new one; since
    :math:`\sigma(-a) = 1 - \sigma(a)`, negating the ``z`` rows (``H:2H``) of every weight and
    bias turns one into the other. The reset-gate placement is *not* mapped by this (or any)
    copy; the two forms agree only where :math:`r_t \equiv 1`.
    ``state_dict`` must be a GRU's (every entry ``3H`` rows, ``H = weight_hh_l0.shape[1]``).
    """
    _check_gru_state_dict(state_dict)
    out = {}
    for name, value in state_dict.items():
        value = value.clone()
        H = value.shape[0] // 3
        value[H:2 * H] = -value[H:2 * H]
        out[name] = value
    return out


def _check_gru_state_dict(state_dict) -> None:
    if not isinstance(state_dict, dict) or "weight_hh_l0" not in state_dict:
        raise InputTypeError(f"state_dict must be a GRU's state dict (with weight_hh_l0), got "
                             f"{type(state_dict).__name__}" + (f" with keys {list(state_dict)[:4]}"
                                                               if isinstance(state_dict, dict) else ""))
    for name, value in state_dict.items():
        if not isinstance(value, torch.Tensor):
            raise InputTypeError(f"state_dict[{name!r}] must be a tensor, got {type(value).__name__}")
    H = state_dict["weight_hh_l0"].shape[-1]
    for name, value in state_dict.items():
        if value.dim() == 0 or value.shape[0] != 3 * H:
            raise InputError(f"state_dict[{name!r}] is {tuple(value.shape)} but a GRU's has 3H = {3 * H} rows "
                             f"(H = {H}); an LSTM's has 4H, an RNN's H: pass a GRU's state dict")


def gru_parameter_count(input_size: int, hidden_size: int, num_layers: int = 1) -> int:
    r"""$3\,(H (I + H) + 2H)$ per layer: three gates, each an input matrix, a recurrent matrix
    and two biases; layers after the first have ``I = H``."""
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
        check_positive(name, value, integer=True)
    H = hidden_size
    return sum(3 * (H * ((input_size if k == 0 else H) + H) + 2 * H) for k in range(num_layers))

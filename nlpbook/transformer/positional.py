r"""Positional information: the sinusoidal encoding and a learned positional embedding.

Sinusoidal (Vaswani et al. 2017), with $\omega_i = 10000^{-2i/D}$ for $i = 0 \dots D/2 - 1$:

$$PE_{(pos,\,2i)} = \sin(pos\,\omega_i), \qquad PE_{(pos,\,2i+1)} = \cos(pos\,\omega_i)$$

(sin on even, cos on odd indices: the *interleaved* layout of the paper; the *concatenated*
layout ``[sin ... sin, cos ... cos]`` used by some code bases is the same vector up to a fixed
permutation, :func:`layout_permutation`). Each pair $(\sin, \cos)$ at one frequency rotates
with the position, so a shift by $k$ is one fixed linear map for every position:

$$PE(pos + k) = M_k\,PE(pos), \qquad M_k = \mathrm{diag}_i\begin{pmatrix}\cos k\omega_i & \sin k\omega_i\\
-\sin k\omega_i & \cos k\omega_i\end{pmatrix}$$

(:func:`shift_matrix`), and $PE(pos)\cdot PE(pos+k) = \sum_i \cos(k\omega_i)$ depends on $k$
only. Every entry lies in $[-1, 1]$.

Both modules add the encoding to ``x`` ``(B, T, D)`` at positions ``offset .. offset + T - 1``
(``offset`` is the number of tokens already decoded, for a key/value cache) and refuse a
sequence longer than their table (``max_len``).
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import InputError, check_choice, check_number, check_positive, check_tensor

__all__ = ["sinusoidal_table", "shift_matrix", "layout_permutation", "SinusoidalPositionalEncoding",
           "LearnedPositionalEmbedding"]

LAYOUTS = ("interleaved", "concatenated")


def _check_d_model(d_model: int) -> None:
    check_positive("d_model", d_model, integer=True)
    if d_model % 2:
        raise InputError(f"d_model must be even for the sinusoidal encoding (sin/cos pairs), got {d_model}")


def _frequencies(d_model: int, base: float, dtype, device) -> torch.Tensor:
    r"""$\omega_i = \mathrm{base}^{-2i/D}$, ``(D/2,)``."""
    return base ** (-torch.arange(0, d_model, 2, dtype=dtype, device=device) / d_model)


def sinusoidal_table(max_len: int, d_model: int, *, layout: str = "interleaved", base: float = 10000.0,
                     dtype=torch.float32, device=None) -> torch.Tensor:
    """The encoding of positions ``0 .. max_len - 1``: ``(max_len, d_model)`` (equations above)."""
    check_positive("max_len", max_len, integer=True)
    _check_d_model(d_model)
    check_choice("layout", layout, LAYOUTS)
    check_positive("base", base)
    # compute in float64, then cast: positions up to thousands times omega lose digits in float32
    angles = torch.arange(max_len, dtype=torch.float64, device=device)[:, None] * \
        _frequencies(d_model, base, torch.float64, device)[None, :]          # (max_len, D/2)
    sin, cos = angles.sin(), angles.cos()
    if layout == "interleaved":
        table = torch.stack([sin, cos], dim=-1).reshape(max_len, d_model)   # sin, cos, sin, cos ...
    else:
        table = torch.cat([sin, cos], dim=-1)                                # sin ... sin, cos ... cos
    return table.to(dtype)


def shift_matrix(k: int, d_model: int, *, base: float = 10000.0, dtype=torch.float64, device=None) -> torch.Tensor:
    r"""$M_k$ ``(D, D)``, block diagonal, with $PE(pos + k) = M_k\,PE(pos)$ (interleaved layout)."""
    check_number("k", k, integer=True)
    _check_d_model(d_model)
    theta = k * _frequencies(d_model, base, torch.float64, device)           # (D/2,)
    c, s = theta.cos(), theta.sin()
    blocks = torch.stack([torch.stack([c, s], -1), torch.stack([-s, c], -1)], -2)   # (D/2, 2, 2)
    return torch.block_diag(*blocks).to(dtype)


def layout_permutation(d_model: int, *, device=None) -> torch.Tensor:
    """``perm`` with ``interleaved[:, perm] == concatenated``: ``[0, 2, 4, ..., 1, 3, 5, ...]``."""
    _check_d_model(d_model)
    return torch.cat([torch.arange(0, d_model, 2, device=device), torch.arange(1, d_model, 2, device=device)])


def _check_positions(module, x: torch.Tensor, offset: int) -> None:
    check_tensor("x", x, ("B", "T", "D"), dims={"D": (module.d_model, "d_model")}, dtype="float")
    check_number("offset", offset, low=0, integer=True)
    if offset + x.shape[1] > module.max_len:
        raise InputError(f"x has T = {x.shape[1]} positions from offset {offset}, beyond the table of "
                         f"max_len = {module.max_len} positions; build the module with a larger max_len")


class SinusoidalPositionalEncoding(nn.Module):
    """``x + PE[offset : offset + T]``, then dropout; ``x`` ``(B, T, D)``. The table is a buffer."""

    def __init__(self, d_model: int, max_len: int = 5000, dropout: float = 0.0, *, layout: str = "interleaved",
                 base: float = 10000.0):
        super().__init__()
        check_number("dropout", dropout, low=0, high=1, high_open=True)
        self.d_model, self.max_len = d_model, max_len
        self.register_buffer("table", sinusoidal_table(max_len, d_model, layout=layout, base=base),
                             persistent=False)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, offset: int = 0, *, check: bool = True) -> torch.Tensor:
        if check:
            _check_positions(self, x, offset)
        return self.dropout(x + self.table[offset:offset + x.shape[1]].to(x.dtype))


class LearnedPositionalEmbedding(nn.Module):
    """``x + P[offset : offset + T]`` with a trained table ``P`` ``(max_len, D)``, then dropout."""

    def __init__(self, max_len: int, d_model: int, dropout: float = 0.0):
        super().__init__()
        check_positive("max_len", max_len, integer=True)
        check_positive("d_model", d_model, integer=True)
        check_number("dropout", dropout, low=0, high=1, high_open=True)
        self.d_model, self.max_len = d_model, max_len
        self.embedding = nn.Embedding(max_len, d_model)
        nn.init.normal_(self.embedding.weight, std=d_model ** -0.5)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, offset: int = 0, *, check: bool = True) -> torch.Tensor:
        if check:
            _check_positions(self, x, offset)
        positions = self.embedding.weight[offset:offset + x.shape[1]]        # (T, D): rows, no lookup needed
        return self.dropout(x + positions)

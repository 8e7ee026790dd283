r"""What one attention head does, in numbers: entropy, positional shares, diagonal alignment.

For the weights $A \in \mathbb{R}^{T \times S}$ of one head on one sentence (rows sum to 1,
no padding rows or columns):

* **entropy** of query row $t$, $H_t = -\sum_s A_{ts} \log A_{ts}$ (nats), reported as the
  mean over rows and as a fraction of the uniform row's $\log S$ (1 = spread evenly, 0 = all on
  one key);
* **offset share** (self-attention, $T = S$): the weight on the key at $t + o$,
  $\frac{1}{|R_o|} \sum_{t \in R_o} A_{t, t+o}$ over the rows $R_o$ where $t + o$ exists
  ($o = 0$: the token itself, $o = -1$: the previous one, $o = +1$: the next one);
* **diagonal share** (cross-attention): the weight within ``band`` keys of the scaled diagonal
  $s^*(t) = \mathrm{round}(t \, (S - 1) / (T - 1))$, the alignment of a translation that keeps
  the word order;
* **max weight**: the mean over rows of $\max_s A_{ts}$.

A head that spreads its weight over all keys has entropy fraction near 1 and shares near
$1/S$; the shares are means over rows, so they are comparable across sentences of one length
only roughly (a uniform row of length $S$ gives $1/S$).
"""
from __future__ import annotations

import math

import torch

from ..validate import InputError, check_finite, check_number, check_tensor, check_type

__all__ = ["row_entropy", "offset_share", "diagonal_share", "head_summary"]


def _check(weights: torch.Tensor, square: bool = False) -> None:
    """Attention weights ``(T, S)`` or ``(h, T, S)``: float, finite, >= 0, rows summing to 1."""
    check_tensor("weights", weights, dtype="float")
    if weights.dim() not in (2, 3):
        raise InputError(f"weights must be (T, S) or (h, T, S), got {weights.dim()}-D shape {tuple(weights.shape)}")
    if square and weights.shape[-1] != weights.shape[-2]:
        raise InputError(f"weights is {tuple(weights.shape)}: self-attention weights must be square (T = S)")
    check_finite("weights", weights)
    if bool((weights < 0).any()):
        raise InputError("weights holds negative values: attention weights are probabilities")
    worst = float((weights.sum(-1) - 1).abs().max())
    if worst > 1e-4:
        raise InputError(f"weights has rows that do not sum to 1 (off by up to {worst:.3g}): pass softmax outputs")


def row_entropy(weights: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""$H_t = -\sum_s A_{ts} \log A_{ts}$ in nats, ``([h,] T, S)`` -> ``([h,] T)`` ($0 \log 0 = 0$)."""
    if check:
        _check(weights)
    logw = torch.where(weights > 0, weights.clamp_min(1e-300).log(), torch.zeros_like(weights))
    return -(weights * logw).sum(-1)


def offset_share(weights: torch.Tensor, offset: int, *, check: bool = True) -> torch.Tensor:
    """Mean weight on key ``t + offset`` over the rows where it exists: ``([h,] T, T)`` -> ``([h],)``."""
    if check:
        _check(weights, square=True)
        check_number("offset", offset, integer=True)
        if abs(offset) >= weights.shape[-1]:
            raise InputError(f"offset = {offset} leaves no query row with a key at t + offset (T = {weights.shape[-1]})")
    return torch.diagonal(weights, offset=offset, dim1=-2, dim2=-1).mean(-1)


def diagonal_share(weights: torch.Tensor, band: int = 1, *, check: bool = True) -> torch.Tensor:
    r"""Mean over rows of the weight within ``band`` of $s^*(t)$: ``([h,] T, S)`` -> ``([h],)``."""
    if check:
        _check(weights)
        check_number("band", band, low=0, integer=True)
    T, S = weights.shape[-2:]
    t = torch.arange(T, device=weights.device, dtype=torch.float64)
    centre = torch.round(t * (S - 1) / max(T - 1, 1))                          # (T,)
    s = torch.arange(S, device=weights.device, dtype=torch.float64)
    near = (s[None, :] - centre[:, None]).abs() <= band                        # (T, S)
    return (weights * near.to(weights.dtype)).sum(-1).mean(-1)


def head_summary(weights: torch.Tensor, *, self_attention: bool, band: int = 1) -> dict:
    """Per-head statistics of ``(h, T, S)`` weights of one sentence: a dict of ``(h,)`` tensors.

    Keys: ``entropy`` (mean nats), ``entropy_frac`` (of $\\log S$), ``max_weight``; for
    self-attention ``same``, ``previous``, ``next`` (offset shares 0, -1, +1); for
    cross-attention ``diagonal`` (:func:`diagonal_share` with ``band``).
    """
    check_tensor("weights", weights, ("h", "T", "S"), dtype="float")
    check_type("self_attention", self_attention, bool)
    _check(weights, square=self_attention)
    check_number("band", band, low=0, integer=True)
    S = weights.shape[-1]
    if S < 2:
        raise InputError(f"weights has S = {S} key: a head over one key has no statistics")
    H = row_entropy(weights, check=False).mean(-1)
    out = {"entropy": H, "entropy_frac": H / math.log(S), "max_weight": weights.max(-1).values.mean(-1)}
    if self_attention:
        out |= {"same": offset_share(weights, 0, check=False), "previous": offset_share(weights, -1, check=False),
                "next": offset_share(weights, 1, check=False)}
    else:
        out["diagonal"] = diagonal_share(weights, band, check=False)
    return out

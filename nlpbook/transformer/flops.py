r"""The cost of multi-head attention: matmul FLOPs and parameters, by formula and by count.

For ``T`` queries, ``S`` keys, width $D$ and $h$ heads of $d_k = D / h$ (one multiply-add = 2 FLOPs):

$$\begin{aligned}
\text{projections:}\quad & 2TD^2 \;(Q) + 2 \cdot 2SD^2 \;(K, V) + 2TD^2 \;(W^O) \\
\text{attention:}\quad & h \cdot 2TSd_k \;(QK^\top) + h \cdot 2TSd_k \;(AV) = 4TSD
\end{aligned}$$

so the total $4(T + S)D^2 + 4TSD$ does not depend on $h$: $h$ heads of width $D/h$ cost what
one head of width $D$ costs. The parameters, $4D^2 + 4D$ (with biases), do not depend on $h$
either. What does grow with $h$ is the size of the attention matrices, $h \cdot T \cdot S$
scores (memory, softmax and masking work; not matmul FLOPs).

:func:`mha_matmul_flops` is the formula; :func:`count_flops` counts what PyTorch actually runs
(``torch.utils.flop_counter.FlopCounterMode``, which counts matmul-like ops only).
"""
from __future__ import annotations

from typing import Callable

from torch.utils.flop_counter import FlopCounterMode

from ..validate import InputError, InputTypeError, check_positive

__all__ = ["mha_matmul_flops", "count_flops"]


def mha_matmul_flops(T: int, S: int, D: int, h: int) -> dict:
    """Matmul FLOPs of one multi-head attention call (batch 1), by part: a dict of ints, ``"total"`` included."""
    for name, value in (("T", T), ("S", S), ("D", D), ("h", h)):
        check_positive(name, value, integer=True)
    if D % h:
        raise InputError(f"D ({D}) must be divisible by h ({h})")
    d_k = D // h
    parts = {"Q projection": 2 * T * D * D, "K, V projections": 2 * 2 * S * D * D,
             "scores QK^T": h * 2 * T * S * d_k, "weights x V": h * 2 * T * S * d_k,
             "output W^O": 2 * T * D * D}
    parts["total"] = sum(parts.values())
    return parts


def count_flops(fn: Callable[[], object]) -> int:
    """FLOPs PyTorch's flop counter sees while ``fn()`` runs (matmuls, linear, bmm, attention kernels)."""
    if not callable(fn):
        raise InputTypeError(f"fn must be callable, got {type(fn).__name__}")
    with FlopCounterMode(display=False) as counter:
        fn()
    return int(counter.get_total_flops())

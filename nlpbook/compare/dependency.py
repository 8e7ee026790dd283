r"""Which inputs an output depends on, and through how many sequential operations.

A sequence model is a directed acyclic graph of **states**: the inputs $x_0, \dots, x_{T-1}$,
then the states each operation computes (a layer's output at each position, or an RNN's
hidden state at each step). A state's **parents** are the states it reads directly. We do not
take the graph from a diagram: we *measure* it with autograd. For each operation we feed it
detached copies of its inputs that require gradients, and a parent is an input whose gradient
$\partial (v^\top s) / \partial p$ (for a fixed random $v$) is nonzero.

From the graph:

* the **path length** from $x_s$ to position $t$ is the fewest operations on any chain
  $x_s \to \dots \to$ (a state at position $t$); ``-1`` where there is no chain at all;
* the **sequential operations** are the longest chain: operations that cannot start before the
  previous one has finished, however many processors there are.

For a GRU (hidden state $h_t = f(x_t, h_{t-1})$) the path length is $t - s + 1$ and the
sequential operations grow as $T$; for a stack of $L$ layers both are at most $L$, but a
convolution stack reaches only $R$ positions back (its receptive field). The gradient support
of the whole model, :func:`gradient_support`, is the end-to-end check of the same structure.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..validate import InputError, check_batch_first, check_tensor, check_type

__all__ = ["DependencyGraph", "stack_graph", "recurrent_graph", "gradient_support", "support_matrix",
           "gru_cells"]


@dataclass(frozen=True)
class DependencyGraph:
    """Nodes ``0 .. T-1`` are the inputs; every later node lists its parents (earlier nodes)."""

    length: int                               # T
    positions: tuple[int, ...]                # node -> sequence position
    parents: tuple[tuple[int, ...], ...]      # node -> its parents (empty for the inputs)

    def path_lengths(self) -> np.ndarray:
        """``P[t, s]``: fewest operations from input ``s`` to a state at position ``t``; -1 if none."""
        T, n = self.length, len(self.positions)
        dist = np.full((n, T), np.inf)
        dist[np.arange(T), np.arange(T)] = 0
        for node in range(T, n):
            if self.parents[node]:
                dist[node] = dist[list(self.parents[node])].min(axis=0) + 1
        best = np.full((T, T), np.inf)
        for node in range(T, n):
            t = self.positions[node]
            best[t] = np.minimum(best[t], dist[node])
        return np.where(np.isinf(best), -1, best).astype(int)

    def sequential_operations(self) -> int:
        """The longest chain of operations (the critical path) from any input."""
        depth = np.zeros(len(self.positions), dtype=int)
        for node in range(self.length, len(self.positions)):
            depth[node] = 1 + max((depth[p] for p in self.parents[node]), default=-1)
        return int(depth.max())


def _projection(width: int, like: torch.Tensor) -> torch.Tensor:
    generator = torch.Generator().manual_seed(12345)      # drawn on the CPU, the same everywhere
    return torch.randn(width, generator=generator, dtype=like.dtype).to(like.device)


@torch.enable_grad()
def stack_graph(layers, h: torch.Tensor) -> DependencyGraph:
    """Measure the graph of a stack of ``(B, T, C) -> (B, T, C)`` operations, run on ``h``.

    ``layers``: the operations in order (a conv stack's or Transformer's ``layers``); ``h``:
    ``(1, T, C)``, the input states (an embedded sequence). One backward pass per state.
    """
    check_tensor("h", h, (1, "T", "C"), dtype="float")
    if not hasattr(layers, "__iter__"):
        raise InputError(f"layers must be a list of modules, got {type(layers).__name__}")
    layers = list(layers)
    if not layers:
        raise InputError("layers must hold at least one operation, got none")
    T = h.shape[1]
    positions, parents = list(range(T)), [() for _ in range(T)]
    below = list(range(T))                        # node ids of the states the next layer reads
    for layer in layers:
        inp = h.detach().requires_grad_(True)
        out = layer(inp)
        v = _projection(out.shape[-1], out)
        here = []
        for t in range(T):
            (grad,) = torch.autograd.grad(out[0, t] @ v, inp, retain_graph=t < T - 1)
            reads = torch.nonzero(grad[0].abs().sum(-1) > 0).flatten().tolist()
            here.append(len(positions))
            positions.append(t)
            parents.append(tuple(below[s] for s in reads))
        below, h = here, out.detach()
    return DependencyGraph(T, tuple(positions), tuple(parents))


def gru_cells(gru: nn.GRU) -> list[nn.GRUCell]:
    """One ``nn.GRUCell`` per layer of ``gru`` with its weights copied (same device and dtype)."""
    check_type("gru", gru, nn.GRU)
    check_batch_first("gru", gru)
    if gru.bidirectional:
        raise InputError("gru must be unidirectional (bidirectional=False)")
    cells = []
    for layer in range(gru.num_layers):
        w = getattr(gru, f"weight_ih_l{layer}")
        cell = nn.GRUCell(w.shape[1], gru.hidden_size, bias=gru.bias).to(device=w.device, dtype=w.dtype)
        with torch.no_grad():
            for name in ("weight_ih", "weight_hh") + (("bias_ih", "bias_hh") if gru.bias else ()):
                getattr(cell, name).copy_(getattr(gru, f"{name}_l{layer}"))
        cells.append(cell)
    return cells


@torch.enable_grad()
def recurrent_graph(gru: nn.GRU, x: torch.Tensor) -> DependencyGraph:
    """Measure the graph of ``gru`` (``batch_first``) unrolled on ``x`` of shape ``(1, T, I)``.

    Each step of each layer is one operation $h^\\ell_t = \\operatorname{cell}_\\ell(h^{\\ell-1}_t, h^\\ell_{t-1})$.
    """
    check_type("gru", gru, nn.GRU)
    check_tensor("x", x, (1, "T", gru.input_size), dtype="float", like=("gru's weights", gru.weight_ih_l0))
    cells = gru_cells(gru)
    T = x.shape[1]
    positions, parents = list(range(T)), [() for _ in range(T)]
    below, inputs = list(range(T)), [x[:, t].detach() for t in range(T)]
    for cell in cells:
        here, states = [], []
        h_prev = torch.zeros(1, gru.hidden_size, dtype=x.dtype, device=x.device)
        for t in range(T):
            x_t = inputs[t].detach().requires_grad_(True)
            h_in = h_prev.detach().requires_grad_(True)
            h_t = cell(x_t, h_in)
            gx, gh = torch.autograd.grad(h_t[0] @ _projection(h_t.shape[-1], h_t), (x_t, h_in))
            reads = ([below[t]] if bool(gx.abs().sum() > 0) else []) + ([here[-1]] if t > 0 and bool(gh.abs().sum() > 0) else [])
            here.append(len(positions))
            positions.append(t)
            parents.append(tuple(reads))
            states.append(h_t.detach())
            h_prev = h_t
        below, inputs = here, states
    return DependencyGraph(T, tuple(positions), tuple(parents))


@torch.enable_grad()
def gradient_support(fn, x: torch.Tensor, t: int) -> torch.Tensor:
    r"""$\lVert \partial (v^\top y_t) / \partial x_s \rVert_1$ for every $s$: shape ``(T,)``, on ``x``'s device.

    ``fn``: ``(1, T, D) -> (1, T, D')``; ``x``: ``(1, T, D)``; ``t``: the output position.
    """
    if not callable(fn):
        raise InputError(f"fn must be a function (1, T, D) -> (1, T, D'), got {type(fn).__name__}")
    check_tensor("x", x, (1, "T", None), dtype="float")
    if isinstance(t, bool) or not isinstance(t, int) or not 0 <= t < x.shape[1]:
        raise InputError(f"t must be an int in [0, {x.shape[1]}), got {t!r}")
    inp = x.detach().requires_grad_(True)
    y = fn(inp)
    (grad,) = torch.autograd.grad(y[0, t] @ _projection(y.shape[-1], y), inp)
    return grad[0].abs().sum(-1).detach()


def support_matrix(fn, x: torch.Tensor) -> torch.Tensor:
    """``S[t, s]`` = :func:`gradient_support` of output ``t`` at input ``s``: ``(T, T)``."""
    check_tensor("x", x, (1, "T", None), dtype="float")
    return torch.stack([gradient_support(fn, x, t) for t in range(x.shape[1])])

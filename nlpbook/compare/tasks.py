r"""Two synthetic tagging tasks: one needs a token far back, one needs a local n-gram.

Both draw i.i.d. uniform tokens $x_t \in \{0, \dots, V-1\}$ and ask for a label at every
position; positions without a defined label have target ``-100`` (ignored by the loss).

* **Copy back** (long range): $y_t = x_{t-d}$ for $t \ge d$. Nothing between the two positions
  helps, and chance accuracy is $1/V$. A model solves it only if position $t$ depends on
  position $t - d$ (a CNN needs $R > d$) *and* it can tell which position is $d$ back.
* **n-gram lookup** (local): $y_t = \tau(x_{t-n+1}, \dots, x_t)$ for a fixed random table
  $\tau: \{0..V-1\}^n \to \{0..C-1\}$ and $t \ge n-1$: an arbitrary function of the last $n$
  tokens *in order*, so it needs local order and nothing else. Chance accuracy is about $1/C$.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..validate import InputError, check_positive, check_tensor, check_type

__all__ = ["copy_back_batch", "ngram_table", "ngram_batch", "masked_accuracy", "tagging_loss", "fit_tagger"]

IGNORE = -100


def _check_sizes(batch_size, length, vocab_size):
    check_positive("batch_size", batch_size, integer=True)
    check_positive("length", length, integer=True)
    check_positive("vocab_size", vocab_size, integer=True)


def copy_back_batch(batch_size: int, length: int, distance: int, vocab_size: int,
                    generator: torch.Generator | None = None, *, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, targets)``, both ``(B, T)`` int64: ``targets[:, t] = ids[:, t - distance]``, -100 before."""
    _check_sizes(batch_size, length, vocab_size)
    check_positive("distance", distance, integer=True)
    if distance >= length:
        raise InputError(f"distance must be < length = {length}, got {distance}")
    ids = torch.randint(vocab_size, (batch_size, length), generator=generator)
    targets = torch.full_like(ids, IGNORE)
    targets[:, distance:] = ids[:, :-distance]
    return ids.to(device), targets.to(device)


def ngram_table(vocab_size: int, n: int, classes: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """A random label in ``[0, classes)`` for each of the $V^n$ n-grams: ``(V ** n,)`` int64 (CPU)."""
    check_positive("vocab_size", vocab_size, integer=True)
    check_positive("n", n, integer=True)
    check_positive("classes", classes, integer=True)
    return torch.randint(classes, (vocab_size ** n,), generator=generator)


def ngram_batch(batch_size: int, length: int, table: torch.Tensor, vocab_size: int, n: int,
                generator: torch.Generator | None = None, *, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, targets)``: ``targets[:, t] = table[x_{t-n+1} V^{n-1} + ... + x_t]`` for ``t >= n-1``."""
    _check_sizes(batch_size, length, vocab_size)
    check_positive("n", n, integer=True)
    if n > length:
        raise InputError(f"n must be <= length = {length}, got {n}")
    check_tensor("table", table, (vocab_size ** n,), dtype="integer")
    ids = torch.randint(vocab_size, (batch_size, length), generator=generator)
    code = torch.zeros(batch_size, length - n + 1, dtype=torch.int64)
    for j in range(n):
        code = code * vocab_size + ids[:, j:length - n + 1 + j]
    targets = torch.full_like(ids, IGNORE)
    targets[:, n - 1:] = table.cpu()[code]
    return ids.to(device), targets.to(device)


def tagging_loss(model: nn.Module, batch) -> torch.Tensor:
    """Mean cross-entropy over the positions whose target is not -100."""
    ids, targets = batch
    logits = model(ids)
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), ignore_index=IGNORE)


@torch.no_grad()
def masked_accuracy(logits: torch.Tensor, targets: torch.Tensor) -> float:
    """Share of positions with a target (not -100) where the arg-max class is right."""
    check_tensor("logits", logits, ("B", "T", None), dtype="float")
    check_tensor("targets", targets, (logits.shape[0], logits.shape[1]), dtype="integer")
    keep = targets != IGNORE
    if not bool(keep.any()):
        raise InputError("targets has no position with a label (all -100)")
    return float((logits.argmax(-1)[keep] == targets[keep]).float().mean())


def fit_tagger(model: nn.Module, make_batch, steps: int, *, lr: float = 3e-3, test_batch=None, progress=None) -> dict:
    """Adam on ``tagging_loss`` for ``steps`` fresh batches ``make_batch()``; test accuracy at the end.

    Returns ``{"loss": [...], "accuracy": float}`` (accuracy on ``test_batch``, or on a fresh batch).
    """
    from ..training import train           # the book's training loop (NaN check, progress bar)

    check_type("model", model, nn.Module)
    if not callable(make_batch):
        raise InputError(f"make_batch must be a function () -> (ids, targets), got {type(make_batch).__name__}")
    check_positive("steps", steps, integer=True)
    check_positive("lr", lr)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    history = train(model, optimizer, lambda epoch: (make_batch() for _ in range(steps)), tagging_loss,
                    clip_grad_norm=1.0, desc=type(model).__name__, progress=progress)
    model.eval()
    ids, targets = test_batch if test_batch is not None else make_batch()
    accuracy = masked_accuracy(model(ids), targets)
    model.train()
    return {"loss": list(history.losses), "accuracy": accuracy}

"""A small training loop the chapters share: progress bar, loss history, a NaN/inf guard.

Each chapter first writes its loop out in full, once; afterwards it calls :func:`train`,
which is that same loop::

    for epoch in range(epochs):
        for batch in batches:
            loss = loss_fn(model, batch)        # a scalar tensor
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip_grad_norm: clip_grad_norm_(model.parameters(), clip_grad_norm)
            optimizer.step()
"""
from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

import torch
from tqdm import tqdm

from .validate import InputTypeError, check_positive, check_type


class NonFiniteLossError(FloatingPointError):
    """Training produced a NaN or infinite loss; the message says where and what to try.

    ``history`` holds the run up to the failure, so a chapter can plot what led to it.
    """

    def __init__(self, message: str, history: "History | None" = None):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """What :func:`train` recorded: one loss per step, the mean per epoch, optional grad norms."""

    losses: list[float] = field(default_factory=list)
    epoch_losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0

    def smoothed(self, window: int = 50) -> list[float]:
        """A running mean of the step losses, for plotting noisy curves."""
        out, total = [], 0.0
        for i, value in enumerate(self.losses):
            total += value
            if i >= window:
                total -= self.losses[i - window]
            out.append(total / min(i + 1, window))
        return out


def _progress_enabled(progress: bool | None) -> bool:
    if progress is not None:
        return progress
    return os.environ.get("NLPBOOK_PROGRESS", "1") != "0"


def train(
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    batches: Iterable | Callable[[int], Iterable],
    loss_fn: Callable[[torch.nn.Module, object], torch.Tensor],
    *,
    epochs: int = 1,
    clip_grad_norm: float | None = None,
    record_grad_norm: bool = False,
    scheduler: object | None = None,
    desc: str = "train",
    progress: bool | None = None,
) -> History:
    """Train ``model`` for ``epochs`` passes over ``batches`` and return the :class:`History`.

    ``batches`` is a re-iterable (a list, a DataLoader) or a function ``epoch -> iterable``
    (to reshuffle each epoch). ``loss_fn(model, batch)`` returns a scalar loss tensor.
    A NaN or infinite loss stops training at once with :class:`NonFiniteLossError`;
    the parameters are left as they were before that step.
    """
    check_type("model", model, torch.nn.Module)
    check_type("optimizer", optimizer, torch.optim.Optimizer)
    if not callable(loss_fn):
        raise InputTypeError(f"loss_fn must be a function (model, batch) -> loss, got {type(loss_fn).__name__}")
    if not callable(batches) and not hasattr(batches, "__iter__"):
        raise InputTypeError(f"batches must be an iterable of batches or a function epoch -> iterable, "
                             f"got {type(batches).__name__}")
    check_positive("epochs", epochs, integer=True)
    if clip_grad_norm is not None:
        check_positive("clip_grad_norm", clip_grad_norm)
    history = History()
    model.train()
    start = time.perf_counter()
    bar = tqdm(total=None, desc=desc, unit="step", file=sys.stdout, mininterval=1.0,
               disable=not _progress_enabled(progress), dynamic_ncols=False, ncols=100)
    try:
        for epoch in range(epochs):
            epoch_batches = batches(epoch) if callable(batches) else batches
            total, count = 0.0, 0
            for batch in epoch_batches:
                loss = loss_fn(model, batch)
                if loss.dim() != 0:
                    raise ValueError(f"loss_fn must return a scalar, got shape {tuple(loss.shape)}")
                value = loss.item()
                if not math.isfinite(value):
                    last = f"{history.losses[-1]:.4g}" if history.losses else "none yet"
                    raise NonFiniteLossError(
                        f"{desc}: loss is {value} at epoch {epoch}, step {history.steps} "
                        f"(last finite loss: {last}). Lower the learning rate, clip gradients "
                        f"(clip_grad_norm=...), or check the inputs for NaN/inf.", history)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                if clip_grad_norm is not None or record_grad_norm:
                    norm = torch.nn.utils.clip_grad_norm_(
                        model.parameters(), clip_grad_norm if clip_grad_norm is not None else math.inf)
                    history.grad_norms.append(float(norm))
                optimizer.step()
                if scheduler is not None:
                    scheduler.step()
                history.losses.append(value)
                history.steps += 1
                total, count = total + value, count + 1
                bar.update(1)
                if history.steps % 20 == 0:
                    bar.set_postfix(epoch=epoch, loss=f"{total / count:.4f}", refresh=False)
            if count == 0:
                raise ValueError(f"{desc}: epoch {epoch} had no batches")
            history.epoch_losses.append(total / count)
    finally:
        bar.close()
        history.seconds = time.perf_counter() - start
    return history

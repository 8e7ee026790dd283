r"""What one training step costs: forward + backward throughput and peak memory.

:func:`step_cost` times ``loss.backward()`` of a tagging loss on one batch of ``B`` sequences of
length ``T`` with :func:`nlpbook.timing.measure` (repeats, median, spread) and reports
$B T / \text{median seconds}$ tokens/s. It then runs one more step to measure **peak memory
above the start of the step** (parameters and the batch, allocated before, are not counted;
activations kept for backward, temporaries and gradients are):

* on CUDA, ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``, minus the
  memory allocated before the step;
* on the CPU, ``torch.profiler`` with ``profile_memory=True``: its allocator records every
  allocation (+bytes) and free (-bytes) with a time stamp, and the peak is the largest running
  sum. This counts tensors only (not Python objects or allocator caches).
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ..timing import Timing, measure
from ..validate import check_positive, check_tensor, check_type
from .tasks import tagging_loss

__all__ = ["StepCost", "step_cost", "peak_memory_bytes", "loglog_slope"]


@dataclass(frozen=True)
class StepCost:
    timing: Timing           # seconds per forward + backward
    tokens: int              # B * T
    peak_bytes: int          # peak tensor memory above the start of one step

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.timing.median


@contextlib.contextmanager
def _quiet_stderr():
    """Silence the profiler's start/stop lines, which its C++ side writes straight to file descriptor 2."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def _cpu_peak(fn) -> int:
    from torch.profiler import ProfilerActivity, profile
    with _quiet_stderr():
        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            fn()
    events = sorted((e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"),
                    key=lambda e: e.start_ns())
    running, peak = 0, 0
    for e in events:
        running += e.nbytes()
        peak = max(peak, running)
    return int(peak)


def peak_memory_bytes(fn, device) -> int:
    """Peak tensor memory (bytes) that ``fn()`` allocates on ``device`` above what was allocated before."""
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    device = torch.device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        before = torch.cuda.memory_allocated(device)
        torch.cuda.reset_peak_memory_stats(device)
        fn()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    return _cpu_peak(fn)


def step_cost(model: nn.Module, ids: torch.Tensor, targets: torch.Tensor, *, repeats: int = 5,
              warmup: int = 1) -> StepCost:
    """Time forward + backward of :func:`tagging_loss` on ``(ids, targets)`` (both ``(B, T)``)."""
    check_type("model", model, nn.Module)
    check_tensor("ids", ids, ("B", "T"), dtype="integer")
    check_tensor("targets", targets, tuple(ids.shape), dtype="integer", like=("ids", ids))
    check_positive("repeats", repeats, integer=True)
    device = next(model.parameters()).device

    def step():
        model.zero_grad(set_to_none=True)
        tagging_loss(model, (ids, targets)).backward()

    timing = measure(step, repeats=repeats, warmup=warmup, device=device)
    model.zero_grad(set_to_none=True)
    peak = peak_memory_bytes(step, device)
    model.zero_grad(set_to_none=True)
    return StepCost(timing, int(ids.numel()), peak)


def loglog_slope(x, y) -> float:
    """Least-squares slope of log y against log x (1: linear growth, 2: quadratic)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.size < 2 or np.any(x <= 0) or np.any(y <= 0):
        raise ValueError(f"x and y must be positive arrays of the same length >= 2, got shapes {x.shape} and {y.shape}")
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])

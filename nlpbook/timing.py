"""Timings a claim can rest on: repeat, take the median, report the spread.

A single wall-clock measurement on a shared machine varies by tens of percent between runs, so a
sentence built from one ("59.6x more per pair" on one run, "106x" on the next) is not a finding.
:func:`measure` repeats a call and keeps every sample; prose quotes the median and the spread, and
the chapter asserts the claim (a ratio or a slope above a bound) that must hold on every rerun.
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass(frozen=True)
class Timing:
    """Seconds per call over ``len(samples)`` repeats."""

    samples: tuple[float, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def low(self) -> float:
        return min(self.samples)

    @property
    def high(self) -> float:
        return max(self.samples)

    @property
    def spread(self) -> float:
        """(max - min) / median: 0.1 means the repeats lay within 10% of the median."""
        return (self.high - self.low) / self.median if self.median > 0 else 0.0

    def __str__(self) -> str:
        return f"{self.median * 1e3:.3g} ms (median of {len(self.samples)}, range {self.low * 1e3:.3g}–{self.high * 1e3:.3g} ms)"


def _synchronise(device) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def measure(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, number: int = 1,
            device=None) -> Timing:
    """Call ``fn()`` ``warmup`` times, then time ``repeats`` samples of ``number`` calls each.

    Each sample is seconds per call. ``device`` (e.g. ``run.device``) makes the timer wait for
    CUDA kernels to finish, which a CPU timer otherwise does not see.
    """
    for name, value, least in (("repeats", repeats, 1), ("warmup", warmup, 0), ("number", number, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__}")
    for _ in range(warmup):
        fn()
    _synchronise(device)
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        _synchronise(device)
        samples.append((time.perf_counter() - start) / number)
    return Timing(tuple(samples))

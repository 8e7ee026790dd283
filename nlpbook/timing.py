r"""Timings a claim can rest on: repeat, take the median, report the spread.

A single wall-clock measurement on a shared machine varies by tens of percent between runs, so a
sentence built from one ("59.6x more per pair" on one run, "106x" on the next) is not a finding.
:func:`measure` repeats a call and keeps every sample; prose quotes the median and the spread, and
the chapter asserts the claim (a ratio or a slope above a bound) that must hold on every rerun.

Comparing two calls measured one after the other still lets a burst of load from another process
land on one of them only. :func:`measure_interleaved` makes the candidates take turns: round
$k$ times every candidate once, in the same order, and :func:`paired_ratio` compares ``a`` with
``b`` through the per-round ratios

$$\rho_k = \frac{t_k(a)}{t_k(b)},\qquad k = 1, \dots, K,$$

reported as their median and range. ::

    timings = measure_interleaved({"fast": f, "slow": g}, rounds=9, device=run.device)
    ratio = paired_ratio(timings["slow"], timings["fast"])   # slow / fast, per round
    ratio.median, ratio.low, ratio.high
"""
from __future__ import annotations

import contextlib
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Mapping

import torch

from .validate import InputError, InputTypeError, check_number, check_type


@dataclass(frozen=True)
class Samples:
    """Repeated measurements: their median, lowest, highest and relative spread."""

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


class Timing(Samples):
    """Seconds per call over ``len(samples)`` repeats."""

    def __str__(self) -> str:
        return f"{self.median * 1e3:.3g} ms (median of {len(self.samples)}, range {self.low * 1e3:.3g}–{self.high * 1e3:.3g} ms)"


class Ratio(Samples):
    """Per-round ratios of two interleaved timings."""

    def __str__(self) -> str:
        return (f"{self.median:.2f}× (median of {len(self.samples)} rounds, "
                f"range {self.low:.2f}–{self.high:.2f}×)")


def _synchronise(device) -> None:
    if device is not None and torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _check_counts(**counts: tuple[int, int]) -> None:
    for name, (value, least) in counts.items():
        check_number(name, value, low=least, integer=True, what=f"an int >= {least}")


@contextlib.contextmanager
def cpu_threads(count: int):
    """Run the ``with`` block on ``count`` CPU threads (torch's intra-op pool), then restore the count.

    A timing that should measure the work, not how a machine's thread pool splits small matrices,
    runs on one thread: with many cores the per-call overhead then stops hiding the work, so a
    slope fitted on a 64-core server and on a 2-core laptop measures the same thing.
    """
    check_number("count", count, low=1, integer=True, what="an int >= 1")
    saved = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(saved)


def measure(fn: Callable[[], object], *, repeats: int = 5, warmup: int = 1, number: int = 1,
            device=None) -> Timing:
    """Call ``fn()`` ``warmup`` times, then time ``repeats`` samples of ``number`` calls each.

    Each sample is seconds per call. ``device`` (e.g. ``run.device``) makes the timer wait for
    CUDA kernels to finish, which a CPU timer otherwise does not see.
    """
    _check_counts(repeats=(repeats, 1), warmup=(warmup, 0), number=(number, 1))
    if not callable(fn):
        raise InputTypeError(f"fn must be callable, got {type(fn).__name__}")
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


def measure_interleaved(fns: Mapping[str, Callable[[], object]], *, rounds: int = 5, number: int = 1,
                        warmup: int = 1, device=None) -> dict[str, Timing]:
    """Time every callable of ``fns`` once per round, ``rounds`` times, taking turns.

    ``warmup`` untimed calls of each come first. Sample ``k`` of every returned :class:`Timing`
    is seconds per call in round ``k`` (``number`` calls), so samples of two candidates with the
    same index were taken side by side.
    """
    check_type("fns", fns, Mapping, "a mapping of name -> callable")
    if not fns:
        raise InputError("fns is empty: give at least one name -> callable")
    for name, fn in fns.items():
        if not callable(fn):
            raise InputTypeError(f"fns[{name!r}] must be callable, got {type(fn).__name__}")
    _check_counts(rounds=(rounds, 1), number=(number, 1), warmup=(warmup, 0))
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(measure(fn, repeats=1, warmup=0, number=number, device=device).samples[0])
    return {name: Timing(tuple(values)) for name, values in samples.items()}


def paired_ratio(numerator: Timing, denominator: Timing) -> Ratio:
    """``numerator.samples[k] / denominator.samples[k]`` for every round ``k``."""
    check_type("numerator", numerator, Timing, "an nlpbook.timing.Timing")
    check_type("denominator", denominator, Timing, "an nlpbook.timing.Timing")
    if len(numerator.samples) != len(denominator.samples):
        raise InputError(f"numerator has {len(numerator.samples)} rounds, denominator "
                         f"{len(denominator.samples)}: pair timings from one measure_interleaved call")
    if any(t <= 0 for t in denominator.samples):
        raise InputError("denominator has a non-positive time; nothing can be divided by it")
    return Ratio(tuple(a / b for a, b in zip(numerator.samples, denominator.samples)))

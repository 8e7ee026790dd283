r"""Paired timings: compare code paths round by round, so that load on the machine hits them alike.

:func:`nlpbook.timing.measure` times one call repeatedly. Comparing two calls measured one after
the other lets a burst of load from another process land on one of them only. Here the
candidates take turns: round :math:`k` times every candidate once (``number`` calls each), in
the same order, and the comparison of ``a`` with ``b`` uses the per-round ratios

$$\rho_k = \frac{t_k(a)}{t_k(b)},\qquad k = 1, \dots, K,$$

reported as their median and range. A claim ("the fast path is at least 1.5× faster") is then
asserted against the median, with the range printed beside it.

Shapes: none (callables and seconds). ::

    timings = measure_interleaved({"fast": f, "slow": g}, rounds=9, device=run.device)
    ratio = paired_ratio(timings["slow"], timings["fast"])   # slow / fast, per round
    ratio.median, ratio.low, ratio.high
"""
from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Callable, Mapping

from .timing import Timing, measure

__all__ = ["measure_interleaved", "paired_ratio", "Ratio"]


def measure_interleaved(fns: Mapping[str, Callable[[], object]], *, rounds: int = 5, number: int = 1,
                        warmup: int = 1, device=None) -> dict[str, Timing]:
    """Time every callable of ``fns`` once per round, ``rounds`` times, taking turns.

    ``warmup`` untimed calls of each come first. Sample ``k`` of every returned
    :class:`~nlpbook.timing.Timing` is seconds per call in round ``k`` (``number`` calls), so
    samples of two candidates with the same index were taken side by side.
    ``device`` (e.g. ``run.device``) makes the timer wait for CUDA kernels.
    """
    if not isinstance(fns, Mapping) or not fns:
        raise ValueError("fns must be a non-empty mapping of name -> callable")
    for name, fn in fns.items():
        if not callable(fn):
            raise TypeError(f"fns[{name!r}] must be callable, got {type(fn).__name__}")
    for name, value, least in (("rounds", rounds, 1), ("number", number, 1), ("warmup", warmup, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"{name} must be an int >= {least}, got {value!r}")
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            samples[name].append(measure(fn, repeats=1, warmup=0, number=number, device=device).samples[0])
    return {name: Timing(tuple(values)) for name, values in samples.items()}


@dataclass(frozen=True)
class Ratio:
    """Per-round ratios of two interleaved timings."""

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

    def __str__(self) -> str:
        return (f"{self.median:.2f}× (median of {len(self.samples)} rounds, "
                f"range {self.low:.2f}–{self.high:.2f}×)")


def paired_ratio(numerator: Timing, denominator: Timing) -> Ratio:
    """``numerator.samples[k] / denominator.samples[k]`` for every round ``k``."""
    if not isinstance(numerator, Timing) or not isinstance(denominator, Timing):
        raise TypeError("numerator and denominator must be nlpbook.timing.Timing objects")
    if len(numerator.samples) != len(denominator.samples):
        raise ValueError(f"numerator has {len(numerator.samples)} rounds, denominator "
                         f"{len(denominator.samples)}: pair timings from one measure_interleaved call")
    if any(t <= 0 for t in denominator.samples):
        raise ValueError("denominator has a non-positive time; nothing can be divided by it")
    return Ratio(tuple(a / b for a, b in zip(numerator.samples, denominator.samples)))

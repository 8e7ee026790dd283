r"""Small statistics the chapters share.

**Wilson score interval** of a proportion $\hat p = k / n$ (Wilson 1927): the set of $p$ whose
normal test does not reject $\hat p$,

$$\frac{\hat p + \frac{z^2}{2n} \pm z \sqrt{\frac{\hat p (1 - \hat p)}{n} + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}},$$

which, unlike $\hat p \pm z \sqrt{\hat p(1 - \hat p)/n}$, stays inside $[0, 1]$ and does not
collapse to a point at $k = 0$ or $k = n$.
"""
from __future__ import annotations

import math

from .validate import check_number, check_positive

__all__ = ["wilson_interval"]


def wilson_interval(correct: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval ``(low, high)`` for ``correct`` successes out of ``n`` (95% at ``z = 1.96``)."""
    check_positive("n", n, integer=True)
    check_number("correct", correct, low=0, high=n, integer=True, what=f"an int in [0, n = {n}]")
    check_positive("z", z)
    p = correct / n
    centre = p + z * z / (2 * n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    denom = 1 + z * z / n
    return max(0.0, (centre - half) / denom), min(1.0, (centre + half) / denom)

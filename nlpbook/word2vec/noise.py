"""The noise distribution of negative sampling, and two ways to draw from it.

word2vec draws its negatives from the unigram distribution raised to the power 3/4:

$$P_n(w) = \\frac{c(w)^{\\alpha}}{\\sum_{w'} c(w')^{\\alpha}}, \\qquad \\alpha = 0.75,$$

where $c(w)$ is the corpus count of word $w$. With $\\alpha = 1$ this is the unigram
distribution, with $\\alpha = 0$ the uniform one; $3/4$ lies between, so frequent words are
drawn *less* often than their frequency and rare words *more* often.

Two samplers, the explicit one first:

* :meth:`NoiseDistribution.sample_multinomial`: ``torch.multinomial`` on the probabilities,
  exact, but it rebuilds its internal cumulative table on every call.
* :meth:`NoiseDistribution.sample`: word2vec.c's *unigram table*, a long array in which word
  $w$ fills a share $P_n(w)$ of the cells; one uniform integer per draw picks a cell. A draw
  costs one random integer and one memory read, which is why word2vec uses it. The table
  quantises $P_n(w)$ to multiples of ``1 / table_size``; we place the cells with the exact
  cumulative distribution (``searchsorted``), so each word's share is off by less than one cell.
"""
from __future__ import annotations

import numpy as np
import torch

from ..validate import InputError, InputTypeError, check_ids, check_positive, check_probabilities

DEFAULT_POWER = 0.75
DEFAULT_TABLE_SIZE = 10_000_000


def as_counts(counts) -> np.ndarray:
    """``counts`` as a float64 array, or a clear error if it is not numbers."""
    try:
        return np.asarray(counts, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError(f"counts must be a 1-D array of word counts, got {type(counts).__name__}") from None


def noise_probabilities(counts, power: float = DEFAULT_POWER) -> np.ndarray:
    """$P_n(w) = c(w)^\\alpha / \\sum_{w'} c(w')^\\alpha$ as float64, shape ``(V,)``."""
    counts = as_counts(counts)
    check_positive("power", power, allow_zero=True)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}")
    if not np.all(np.isfinite(counts)) or np.any(counts < 0):
        raise ValueError("counts must be finite and non-negative")
    if not counts.any():
        raise ValueError("counts are all zero: there is nothing to sample")
    weights = np.where(counts > 0, counts ** power, 0.0)  # a zero count stays impossible, even for power 0
    return weights / weights.sum()


class NoiseDistribution:
    """$P_n(w) \\propto c(w)^{0.75}$ over a vocabulary, with a cached unigram table.

    ``counts``: shape ``(V,)``, the corpus count of each word id (``Vocab.counts``).
    """

    def __init__(self, counts, power: float = DEFAULT_POWER, table_size: int = DEFAULT_TABLE_SIZE,
                 device: torch.device | str = "cpu"):
        check_positive("table_size", table_size, integer=True)
        self.power = float(power)
        self.probs = noise_probabilities(counts, power)            # (V,) float64
        self.device = torch.device(device)
        # Cell j of the table holds the word whose cumulative interval contains (j + 0.5) / size.
        cumulative = np.cumsum(self.probs)
        cumulative[-1] = 1.0                                         # guard against rounding
        centres = (np.arange(table_size, dtype=np.float64) + 0.5) / table_size
        table = np.searchsorted(cumulative, centres, side="right")
        # int32 halves the table's memory (40 MB for 10M cells); draws are widened to int64.
        self.table = torch.from_numpy(table.astype(np.int32)).to(self.device)       # (table_size,)
        self._probs_t = torch.from_numpy(self.probs).to(self.device)

    def __len__(self) -> int:
        return len(self.probs)

    def sample(self, shape, generator: torch.Generator | None = None) -> torch.Tensor:
        """Negatives of the given shape (e.g. ``(B, K)``), int64 word ids, from the unigram table."""
        _check_shape(shape)
        cells = torch.randint(len(self.table), tuple(shape), generator=generator, device=self.device)
        return self.table.index_select(0, cells.reshape(-1)).view(cells.shape).long()  # index_select: faster than t[cells]

    def sample_multinomial(self, shape, generator: torch.Generator | None = None) -> torch.Tensor:
        """The same distribution drawn exactly with ``torch.multinomial`` (slower; the reference)."""
        shape = _check_shape(shape)
        n = int(np.prod(shape)) if shape else 1
        draws = torch.multinomial(self._probs_t, n, replacement=True, generator=generator)
        return draws.reshape(shape)


def _check_shape(shape) -> tuple:
    if isinstance(shape, int) and not isinstance(shape, bool):
        shape = (shape,)
    if not isinstance(shape, (tuple, list, torch.Size)) or not all(
            isinstance(n, (int, np.integer)) and not isinstance(n, bool) and n >= 0 for n in shape):
        raise InputError(f"shape must be a tuple of non-negative ints, e.g. (B, K), got {shape!r}")
    return tuple(int(n) for n in shape)


def chi_square_test(draws: torch.Tensor, probs, n_bins: int = 100):
    """Pearson's chi-square test of ``draws`` (word ids) against the distribution ``probs (V,)``.

    Rare words have expected counts far below the 5 the test needs, so words are grouped, in id
    order, into about ``n_bins`` bins of roughly equal probability; the test compares the observed
    count of each bin with ``len(draws) * P(bin)``. Returns scipy's result (``statistic``, ``pvalue``).
    """
    from scipy import stats

    probs = check_probabilities("probs", probs)
    check_ids("draws", draws, len(probs), vocab_from="len(probs)")
    check_positive("n_bins", n_bins, integer=True)
    draws = draws.reshape(-1).cpu().numpy()
    start = np.concatenate([[0.0], np.cumsum(probs)[:-1]])            # probability mass before each word
    bins = np.minimum((start * n_bins).astype(np.int64), n_bins - 1)  # (V,) bin of each word
    _, bins = np.unique(bins, return_inverse=True)                     # drop empty bins
    expected = np.bincount(bins, weights=probs) * draws.size
    observed = np.bincount(bins[draws], minlength=len(expected))
    expected *= observed.sum() / expected.sum()                        # remove float rounding
    return stats.chisquare(observed, expected)

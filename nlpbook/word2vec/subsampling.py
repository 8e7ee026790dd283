"""Subsampling of frequent words: drop some occurrences of "the", "of", "and" before training.

Mikolov et al. (2013, "Distributed Representations of Words and Phrases") discard each
occurrence of word $w$ with probability

$$P_{\\text{discard}}(w) = 1 - \\sqrt{t / f(w)}, \\qquad f(w) = c(w) / N,$$

with a threshold $t$ around $10^{-5}$. The released word2vec.c (and gensim, which copies it)
uses a different rule: it *keeps* an occurrence with probability

$$P_{\\text{keep}}(w) = \\left(\\sqrt{\\frac{c(w)}{sN}} + 1\\right)\\frac{sN}{c(w)}
                    = \\sqrt{\\frac{s}{f(w)}} + \\frac{s}{f(w)},$$

capped at 1, with ``sample`` $s$ around $10^{-3}$. gensim gives ``sample >= 1`` a second
meaning, a threshold in counts rather than a share of the corpus: $sN$ is replaced by
$\\lfloor s (3 + \\sqrt5) / 2 \\rfloor$ (``Word2Vec.prepare_vocab``); we do the same. Both keep about $\\sqrt{s/f}$ of a very
frequent word; the code form adds $s/f$, so words near the threshold are kept more often,
and every word with $f(w) \\le s\\,(1+\\sqrt5)^2/4 \\approx 2.6\\,s$ is always kept.

We implement the **word2vec.c / gensim form**, because the chapter trains gensim side by side
with the same ``sample`` value: one rule means one meaning of ``sample`` for both.
"""
from __future__ import annotations

import numpy as np
import torch

from ..validate import InputError, check_ids, check_positive, check_tensor
from .noise import as_counts


def _check(counts, sample: float, name: str = "sample") -> np.ndarray:
    check_positive(name, sample, allow_zero=True)
    counts = as_counts(counts)
    if counts.ndim != 1 or counts.size == 0:
        raise ValueError(f"counts must be a non-empty 1-D array, got shape {counts.shape}")
    if np.any(counts <= 0) or not np.all(np.isfinite(counts)):
        raise ValueError("counts must all be finite positive numbers (a word in the vocabulary occurs)")
    return counts


def keep_probability(counts, sample: float = 1e-3) -> np.ndarray:
    """word2vec.c's keep probability, shape ``(V,)`` float64; ``sample=0`` keeps everything.

    $P_{keep}(w) = \\min\\{1, (\\sqrt{c(w)/(sN)} + 1)\\, sN / c(w)\\}$, $N = \\sum_w c(w)$.
    ``sample >= 1`` is gensim's count threshold: $sN$ becomes $\\lfloor s (3 + \\sqrt5)/2 \\rfloor$.
    """
    counts = _check(counts, sample)
    if sample == 0:
        return np.ones_like(counts)
    if sample < 1:
        threshold = sample * counts.sum()                   # s N, in counts
    else:                                                   # gensim: a threshold count, not a share
        threshold = float(int(sample * (3 + np.sqrt(5)) / 2))
    return np.minimum(1.0, (np.sqrt(counts / threshold) + 1.0) * threshold / counts)


def paper_discard_probability(counts, t: float = 1e-5) -> np.ndarray:
    """The paper's rule $P_{discard}(w) = \\max\\{0, 1 - \\sqrt{t / f(w)}\\}$, shape ``(V,)`` (for comparison)."""
    counts = _check(counts, t, "t")
    frequency = counts / counts.sum()
    return np.maximum(0.0, 1.0 - np.sqrt(t / frequency))


def subsample(ids: torch.Tensor, keep: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
    """A boolean mask, shape of ``ids``: True where the occurrence is kept.

    ``ids``: int64 word ids, any shape. ``keep``: ``(V,)`` keep probabilities (float).
    Each occurrence is kept independently with probability ``keep[id]``.
    """
    check_tensor("keep", keep, ("V",), dtype="float")
    if bool((keep < 0).any() | (keep > 1).any() | keep.isnan().any()):
        raise InputError("keep must hold probabilities in [0, 1]")
    check_ids("ids", ids, len(keep), vocab_from="len(keep)", allow_empty=True)
    uniform = torch.rand(ids.shape, generator=generator, device=ids.device, dtype=keep.dtype)
    return uniform < keep[ids]

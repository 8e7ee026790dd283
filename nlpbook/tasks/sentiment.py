r"""Fresh vs rotten: the Rotten Tomatoes snippets split by movie, accuracy intervals, baselines.

**The split.** A critic's snippets of one movie share its title, its actors and its plot words;
put some in training and others in the test set and a classifier can score by remembering the
movie. :func:`movie_split` assigns every *movie* to one split, never a snippet: the movies are
ordered by $\mathrm{sha256}(\text{salt} \Vert \text{movie})$ (a fixed pseudo-random order that
does not depend on the file's order or on Python's hash seed) and cut at the cumulative
fractions. So no movie is in two splits, by construction, and the same salt gives the same
split on every machine.

**The interval.** Accuracy $\hat p = k / n$ on $n$ test snippets; the Wilson score interval
(Wilson 1927) at $z = 1.96$ is

$$\frac{\hat p + \frac{z^2}{2n} \pm z\sqrt{\frac{\hat p(1-\hat p)}{n} + \frac{z^2}{4n^2}}}{1 + \frac{z^2}{n}} .$$

It treats the snippets as independent; snippets of one movie are not quite (one movie can be
hard for every critic), so :func:`movie_bootstrap` resamples whole *movies* (a cluster
bootstrap) for a difference of two classifiers evaluated on the same snippets.

**Baselines.** :func:`bag_of_words` (counts over a training vocabulary) and
:func:`glove_average` (the mean GloVe vector of the known words) turn texts into features for
the same logistic regression (:class:`nlpbook.bert.classify.LogisticRegression`).
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import numpy as np
import torch

from ..validate import InputError, check_number, check_positive, check_tensor, check_type

__all__ = ["SPLITS", "SentimentData", "movie_split", "fresh_rotten", "movie_bootstrap",
           "bag_of_words", "glove_average"]

SPLITS = ("train", "validation", "test")


def _movie_order(movies, salt: str) -> list[str]:
    return sorted(set(movies), key=lambda m: (hashlib.sha256(f"{salt}\0{m}".encode("utf-8")).hexdigest(), m))


def movie_split(movies, fractions=(0.8, 0.05, 0.15), *, salt: str = "nlpbook") -> dict[str, str]:
    """``{movie: "train" | "validation" | "test"}``: each movie in exactly one split.

    ``movies`` an iterable of movie names (repeats allowed: one per snippet); ``fractions`` the
    share of *movies* per split (they must sum to 1). The movies are ordered by
    ``sha256(salt + movie)`` and cut at ``round(cumulative fraction * number of movies)``.
    """
    if isinstance(movies, str):
        raise InputError("movies must be an iterable of movie names, got one string")
    movies = list(movies) if not isinstance(movies, list) else movies
    if not movies:
        raise InputError("movies is empty: give at least one movie name")
    for m in movies[:1] + movies[-1:]:
        check_type("movies", m, str, "movie names (str)")
    check_type("fractions", fractions, (tuple, list), f"{len(SPLITS)} fractions (train, validation, test)")
    if len(fractions) != len(SPLITS):
        raise InputError(f"fractions must have {len(SPLITS)} entries (train, validation, test), got {len(fractions)}")
    for f in fractions:
        check_number("fractions", f, low=0, high=1)
    if abs(sum(fractions) - 1) > 1e-9:
        raise InputError(f"fractions must sum to 1, got {sum(fractions):g}")
    check_type("salt", salt, str)
    order = _movie_order(movies, salt)
    n = len(order)
    cuts = [0] + [round(n * sum(fractions[:i + 1])) for i in range(len(SPLITS))]
    cuts[-1] = n
    return {m: split for split, lo, hi in zip(SPLITS, cuts, cuts[1:]) for m in order[lo:hi]}


@dataclass
class SentimentData:
    """The snippets of one split: ``texts``, ``labels`` (1 = fresh, 0 = rotten) and ``movies``."""

    texts: list[str]
    labels: list[int]
    movies: list[str]

    def __len__(self) -> int:
        return len(self.texts)

    def subset(self, indices) -> "SentimentData":
        indices = [int(i) for i in indices]
        return SentimentData([self.texts[i] for i in indices], [self.labels[i] for i in indices],
                             [self.movies[i] for i in indices])

    def sample(self, n: int, *, seed: int) -> "SentimentData":
        """``n`` snippets drawn without replacement (all of them if ``n >= len``), in a seeded order."""
        check_positive("n", n, integer=True)
        perm = torch.randperm(len(self), generator=torch.Generator().manual_seed(seed))
        return self.subset(sorted(perm[:min(n, len(self))].tolist()))


def fresh_rotten(rows, fractions=(0.8, 0.05, 0.15), *, salt: str = "nlpbook") -> dict[str, SentimentData]:
    """``{"train", "validation", "test"}`` -> :class:`SentimentData` from ``(text, label, movie)`` rows.

    ``rows`` as :func:`nlpbook.data.rotten_tomatoes` returns them with ``movies=True``. Plot
    summaries are dropped (the task is the critic's verdict); fresh = 1, rotten = 0. The split
    is :func:`movie_split` over the movies that have reviews.
    """
    check_type("rows", rows, (list, tuple), "a list of (text, label, movie) rows")
    reviews = []
    for i, row in enumerate(rows):
        if not (isinstance(row, tuple) and len(row) == 3):
            raise InputError(f"rows[{i}] must be a (text, label, movie) tuple, got {row!r:.60}; "
                             "call rotten_tomatoes(movies=True)")
        if row[1] in ("fresh", "rotten"):
            reviews.append(row)
        elif row[1] != "plot":
            raise InputError(f"rows[{i}] has label {row[1]!r}; expected fresh, rotten or plot")
    if not reviews:
        raise InputError("rows has no fresh or rotten snippet")
    split_of = movie_split([m for _, _, m in reviews], fractions, salt=salt)
    out = {s: SentimentData([], [], []) for s in SPLITS}
    for text, label, movie in reviews:
        d = out[split_of[movie]]
        d.texts.append(text)
        d.labels.append(int(label == "fresh"))
        d.movies.append(movie)
    return out


def movie_bootstrap(correct_a, correct_b, movies, *, resamples: int = 2000, seed: int = 0,
                    level: float = 0.95) -> tuple[float, float, float]:
    """Accuracy difference ``a - b`` on the same snippets and its movie-cluster bootstrap interval.

    ``correct_a``, ``correct_b`` ``(N,)`` bool tensors (or 0/1) of two classifiers on the same
    ``N`` test snippets, ``movies`` the ``N`` movie names. Each resample draws the movies with
    replacement and takes every snippet of each drawn movie. Returns ``(difference, low, high)``.
    """
    a = torch.as_tensor(correct_a) if not isinstance(correct_a, torch.Tensor) else correct_a
    b = torch.as_tensor(correct_b) if not isinstance(correct_b, torch.Tensor) else correct_b
    dims: dict = {}
    check_tensor("correct_a", a, ("N",), dims=dims)
    check_tensor("correct_b", b, ("N",), dims=dims)
    check_type("movies", movies, (list, tuple), "a list of N movie names")
    if len(movies) != a.shape[0]:
        raise InputError(f"movies has {len(movies)} names but correct_a has N = {a.shape[0]} snippets")
    check_positive("resamples", resamples, integer=True)
    check_number("level", level, low=0, high=1, low_open=True, high_open=True)
    diff = (a.double().cpu() - b.double().cpu()).numpy()
    names = sorted(set(movies))
    index = {m: i for i, m in enumerate(names)}
    group = np.array([index[m] for m in movies])
    sums = np.bincount(group, weights=diff, minlength=len(names))      # per movie: sum of differences
    counts = np.bincount(group, minlength=len(names)).astype(float)    # per movie: snippets
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(len(names), np.full(len(names), 1 / len(names)), size=resamples)  # (R, movies)
    stats = (draws @ sums) / (draws @ counts)
    alpha = (1 - level) / 2
    low, high = np.quantile(stats, [alpha, 1 - alpha])
    return float(diff.mean()), float(low), float(high)


def bag_of_words(token_lists, vocab: dict[str, int], *, device=None) -> torch.Tensor:
    """``(N, V)`` float32 counts of each vocabulary word (unknown words are dropped), on ``device``."""
    check_type("token_lists", token_lists, (list, tuple), "a list of token lists")
    check_type("vocab", vocab, dict, "a {word: column} dict")
    if not vocab:
        raise InputError("vocab is empty")
    if not token_lists:
        raise InputError("token_lists is empty")
    rows, cols = [], []
    for i, tokens in enumerate(token_lists):
        check_type(f"token_lists[{i}]", tokens, (list, tuple), "a list of tokens")
        for w in tokens:
            j = vocab.get(w)
            if j is not None:
                rows.append(i)
                cols.append(j)
    out = torch.zeros(len(token_lists), len(vocab), device=device)
    if rows:
        idx = torch.tensor(rows, device=device) * len(vocab) + torch.tensor(cols, device=device)
        out.view(-1).index_add_(0, idx, torch.ones(len(rows), device=device))
    return out


def glove_average(token_lists, words: list[str], vectors, *, device=None) -> torch.Tensor:
    r"""``(N, D)``: $\frac{1}{|S|}\sum_{w \in S} v_w$ over the known words $S$ of each text (zeros if none)."""
    check_type("token_lists", token_lists, (list, tuple), "a list of token lists")
    if not token_lists:
        raise InputError("token_lists is empty")
    V = torch.as_tensor(np.asarray(vectors)) if not isinstance(vectors, torch.Tensor) else vectors
    check_tensor("vectors", V, ("W", "D"), dtype="float")
    if len(words) != V.shape[0]:
        raise InputError(f"words has {len(words)} entries but vectors has {V.shape[0]} rows")
    index = {w: i for i, w in enumerate(words)}
    rows, ids = [], []
    for i, tokens in enumerate(token_lists):
        check_type(f"token_lists[{i}]", tokens, (list, tuple), "a list of tokens")
        for w in tokens:
            j = index.get(w)
            if j is not None:
                rows.append(i)
                ids.append(j)
    N, D = len(token_lists), V.shape[1]
    ids_t = torch.tensor(ids, dtype=torch.long)
    used = V[ids_t].to(device=device, dtype=torch.float32)                    # (M, D): the known words' vectors
    rows_t = torch.tensor(rows, dtype=torch.long, device=device)
    sums = torch.zeros(N, D, device=device).index_add_(0, rows_t, used)
    counts = torch.zeros(N, device=device).index_add_(0, rows_t, torch.ones(len(rows), device=device))
    return sums / counts.clamp(min=1)[:, None]


def word_counts(token_lists) -> Counter:
    """Word frequencies over ``token_lists`` (to build a training vocabulary for :func:`bag_of_words`)."""
    return Counter(w for tokens in token_lists for w in tokens)

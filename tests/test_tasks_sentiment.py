"""Fresh vs rotten: the movie split is leak-free and deterministic; the intervals and baselines are right."""
from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
import torch

from nlpbook.data import rotten_tomatoes
from nlpbook.tasks.sentiment import (SPLITS, bag_of_words, fresh_rotten, glove_average, movie_bootstrap, movie_split)
from nlpbook.stats import wilson_interval
from nlpbook.validate import InputError


@pytest.fixture(scope="module")
def rows():
    return rotten_tomatoes(movies=True)


def test_loader_keeps_the_movie_and_agrees_with_the_plain_loader(rows):
    plain = rotten_tomatoes()
    assert [(t, l) for t, l, _ in rows] == plain
    reviews = [r for r in rows if r[1] != "plot"]
    assert len({m for _, _, m in reviews}) == 508                        # the 508 movies with reviews
    assert Counter(l for _, l, _ in rows) == {"fresh": 7403, "rotten": 5405, "plot": 1083}   # 14 plots have no text
    assert all(m for _, _, m in rows)


def test_split_is_leak_free_and_covers_every_review(rows):
    splits = fresh_rotten(rows)
    movies = {s: set(d.movies) for s, d in splits.items()}
    for a in SPLITS:
        for b in SPLITS:
            if a < b:
                assert not movies[a] & movies[b], f"{a} and {b} share movies"
    assert sum(len(d) for d in splits.values()) == sum(1 for r in rows if r[1] != "plot")
    n_movies = sum(len(m) for m in movies.values())
    assert n_movies == 508
    assert [len(movies[s]) for s in SPLITS] == [round(508 * 0.8), round(508 * 0.85) - round(508 * 0.8),
                                                508 - round(508 * 0.85)]
    for d in splits.values():
        assert len(d.texts) == len(d.labels) == len(d.movies) and set(d.labels) <= {0, 1}


def test_split_is_deterministic_and_independent_of_row_order(rows):
    a = fresh_rotten(rows)
    b = fresh_rotten(list(reversed(rows)))
    for s in SPLITS:
        assert set(a[s].movies) == set(b[s].movies)
        assert sorted(a[s].texts) == sorted(b[s].texts)
    other = fresh_rotten(rows, salt="another salt")
    assert set(other["test"].movies) != set(a["test"].movies)           # the salt matters


def test_movie_split_small_cases():
    split = movie_split(["a", "b", "a", "c", "d"], (0.5, 0.25, 0.25))
    assert sorted(split) == ["a", "b", "c", "d"]
    assert Counter(split.values()) == {"train": 2, "validation": 1, "test": 1}
    with pytest.raises(InputError, match="fractions"):
        movie_split(["a"], (0.5, 0.5, 0.5))
    with pytest.raises(InputError, match="movies"):
        movie_split([])


def test_sample_is_seeded_and_without_replacement(rows):
    train = fresh_rotten(rows)["train"]
    a, b, c = train.sample(100, seed=1), train.sample(100, seed=1), train.sample(100, seed=2)
    assert a.texts == b.texts and a.texts != c.texts and len(set(a.texts)) == len(a) == 100


def test_wilson_interval_matches_the_formula_and_known_values():
    low, high = wilson_interval(81, 100)
    p, n, z = 0.81, 100, 1.96
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    assert low == pytest.approx(centre - half) and high == pytest.approx(centre + half)
    for end in (low, high):      # the interval inverts the score test: |p_hat - p| = z sqrt(p (1 - p) / n)
        assert (p - end) ** 2 == pytest.approx(z * z * end * (1 - end) / n)
    lo0, hi0 = wilson_interval(0, 10)
    assert lo0 == 0 and 0.25 < hi0 < 0.35                              # not the Wald interval's [0, 0]
    with pytest.raises(InputError, match="correct"):
        wilson_interval(11, 10)


def test_movie_bootstrap_resamples_whole_movies():
    a = torch.tensor([1, 1, 1, 1, 0, 0], dtype=torch.bool)
    b = torch.tensor([0, 0, 0, 0, 0, 0], dtype=torch.bool)
    movies = ["x", "x", "x", "x", "y", "y"]
    diff, low, high = movie_bootstrap(a, b, movies, resamples=4000, seed=0)
    assert diff == pytest.approx(4 / 6)
    # a resample is {x, x}: 1, {y, y}: 0, or {x, y}: 4/6; nothing else can come out
    assert low == pytest.approx(0.0) and high == pytest.approx(1.0)
    same = movie_bootstrap(a, a, movies)
    assert same == (0.0, 0.0, 0.0)


def test_bag_of_words_counts_and_glove_average_means():
    vocab = {"good": 0, "bad": 1}
    X = bag_of_words([["good", "good", "film"], ["bad"], ["plot"]], vocab)
    assert X.tolist() == [[2.0, 0.0], [0.0, 1.0], [0.0, 0.0]]
    words, vectors = ["good", "bad", "film"], np.array([[1, 0], [0, 1], [3, 3]], dtype=np.float32)
    G = glove_average([["good", "film", "unknown"], ["zzz"]], words, vectors)
    assert torch.allclose(G, torch.tensor([[2.0, 1.5], [0.0, 0.0]]))

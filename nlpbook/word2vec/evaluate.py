"""Intrinsic evaluation of word vectors: analogies, word-pair similarity, nearest neighbours.

One code path scores every model in the chapter (ours, gensim's, GloVe), so differences in
the numbers are differences in the vectors, not in the evaluation.

**Analogies** (3CosAdd, Mikolov et al. 2013): for "$a$ is to $b$ as $c$ is to $d$", predict

$$\\hat d = \\arg\\max_{w \\notin \\{a, b, c\\}} \\cos\\big(x_w,\\; \\hat x_b - \\hat x_a + \\hat x_c\\big),
  \\qquad \\hat x = x / \\lVert x \\rVert,$$

and count the question correct when $\\hat d = d$. A question is *covered* when all four words
are in the vocabulary; accuracy is over covered questions only, and coverage is reported
beside it (gensim's ``evaluate_word_analogies`` does the same).

**Similarity**: Spearman's $\\rho$ between human scores and $\\cos(x_{w_1}, x_{w_2})$ over the
pairs whose two words are in the vocabulary, with coverage.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ..validate import InputError, InputTypeError, check_positive


def unit_rows(vectors) -> np.ndarray:
    """Rows scaled to unit length, float32 ``(V, D)``; an all-zero row stays zero."""
    if hasattr(vectors, "detach"):
        vectors = vectors.detach().cpu()
    try:
        vectors = np.asarray(vectors, dtype=np.float32)
    except (TypeError, ValueError):
        raise InputTypeError(f"vectors must be a (V, D) array of numbers, got {type(vectors).__name__}") from None
    if vectors.ndim != 2 or vectors.size == 0:
        raise InputError(f"vectors must be a non-empty (V, D) array, got shape {vectors.shape}")
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


@dataclass
class AnalogyResult:
    """Per-section and total analogy scores."""

    sections: dict          # section -> {"correct", "covered", "total"}
    correct: int
    covered: int
    total: int

    @property
    def accuracy(self) -> float:
        return self.correct / self.covered if self.covered else float("nan")

    @property
    def coverage(self) -> float:
        return self.covered / self.total if self.total else float("nan")


def analogy_accuracy(vectors, stoi: dict, questions: dict, restrict: int | None = None,
                     chunk: int = 1024) -> AnalogyResult:
    """3CosAdd accuracy of ``vectors (V, D)`` (rows indexed by ``stoi``) on ``questions``.

    ``questions``: ``{section: [(a, b, c, d), ...]}``, lowercased words.
    ``restrict``: only the first ``restrict`` rows (the most frequent words) are candidates
    and count as in the vocabulary, like gensim's ``restrict_vocab``.
    """
    unit = unit_rows(vectors)
    if restrict is not None:
        check_positive("restrict", restrict, integer=True)
        unit = unit[:restrict]
    check_positive("chunk", chunk, integer=True)
    if not isinstance(questions, dict):
        raise InputTypeError(f"questions must be a dict {{section: [(a, b, c, d), ...]}}, got {type(questions).__name__}")
    for section, items in questions.items():
        for q in items:
            if isinstance(q, str) or len(q) != 4:
                raise InputError(f"questions[{section!r}] holds {q!r}; each question is 4 words (a, b, c, d)")
    limit = unit.shape[0]
    chunk = max(1, min(chunk, 2 ** 24 // limit))  # keep the (chunk, V) score matrix under 64 MB
    sections, correct_all, covered_all, total_all = {}, 0, 0, 0
    for section, items in questions.items():
        rows = [[stoi.get(w, -1) for w in q] for q in items]
        rows = np.array(rows, dtype=np.int64).reshape(-1, 4)
        ok = ((rows >= 0) & (rows < limit)).all(1)
        rows = rows[ok]
        correct = 0
        for start in range(0, len(rows), chunk):
            a, b, c, d = rows[start:start + chunk].T
            query = unit[b] - unit[a] + unit[c]                         # (Q, D)
            scores = query @ unit.T                                     # (Q, V)
            q_index = np.arange(len(a))
            for excluded in (a, b, c):                                  # the question words never answer
                scores[q_index, excluded] = -np.inf
            correct += int((scores.argmax(1) == d).sum())
        sections[section] = {"correct": correct, "covered": int(ok.sum()), "total": len(items)}
        correct_all, covered_all, total_all = correct_all + correct, covered_all + int(ok.sum()), total_all + len(items)
    return AnalogyResult(sections, correct_all, covered_all, total_all)


@dataclass
class SimilarityResult:
    spearman: float
    covered: int
    total: int

    @property
    def coverage(self) -> float:
        return self.covered / self.total


def similarity_spearman(vectors, stoi: dict, pairs) -> SimilarityResult:
    """Spearman $\\rho$ of cosine similarity against human scores; ``pairs``: ``[(w1, w2, score)]``."""
    unit = unit_rows(vectors)
    if isinstance(pairs, str) or any(isinstance(p, str) or len(p) != 3 for p in pairs):
        raise InputError("pairs must be a list of (word1, word2, score) triples")
    model, human = [], []
    for w1, w2, score in pairs:
        if w1 in stoi and w2 in stoi:
            model.append(float(unit[stoi[w1]] @ unit[stoi[w2]]))
            human.append(float(score))
    if len(model) < 3:
        return SimilarityResult(float("nan"), len(model), len(pairs))
    return SimilarityResult(float(stats.spearmanr(human, model).statistic), len(model), len(pairs))


def nearest_neighbours(vectors, itos, stoi: dict, word: str, k: int = 5) -> list[tuple[str, float]]:
    """The ``k`` words with the highest cosine similarity to ``word`` (itself excluded)."""
    if word not in stoi:
        raise KeyError(f"word {word!r} is not in the vocabulary")
    check_positive("k", k, integer=True)
    unit = unit_rows(vectors)
    scores = unit @ unit[stoi[word]]
    scores[stoi[word]] = -np.inf
    best = np.argsort(-scores)[:k]
    return [(itos[i], float(scores[i])) for i in best]

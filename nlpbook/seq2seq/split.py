"""A leak-free train / valid / test split of the German→English sentence pairs.

The dictionary lists the same sentence under several headwords, often with another
translation (``Halt den Mund!`` appears four times; ``Good luck!`` translates three German
sentences). A split by pairs would put one copy in training and another in the test set, and
the test would measure memory. So we split by **connected components**: two pairs are
linked when they share a source sentence or a target sentence (compared after
:func:`sentence_key`: lowercase, letters and digits only, so ``Good luck!`` and ``good luck.``
are one sentence), and every component goes whole to one split. Then no source sentence and
no target sentence of the test (or valid) split occurs in training.

Assignment is deterministic: components are ordered by a sha256 of their first pair and the
``seed``, and taken in that order into test, then valid, until each holds its share of pairs;
the rest is training. ``max_len`` filters *after* the split, so the split of a sentence never
depends on it. Valid and test keep one pair per source sentence (the first in dictionary
order), so every test sentence counts once in BLEU; training keeps every pair.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from ..data.parallel import de_en_pairs
from ..validate import InputError, check_number, check_positive, check_type

__all__ = ["TranslationSplit", "sentence_key", "pair_components", "split_pairs", "de_en_split"]

_NON_WORD = re.compile(r"[\W_]+")


def sentence_key(sentence: str) -> str:
    """The form in which two sentences count as the same: lowercase words, no punctuation."""
    return " ".join(_NON_WORD.sub(" ", sentence.lower()).split())


@dataclass(frozen=True)
class TranslationSplit:
    """``train``, ``valid``, ``test``: lists of ``(source, target)`` pairs, disjoint by component."""

    train: list
    valid: list
    test: list

    def sizes(self) -> dict:
        return {"train": len(self.train), "valid": len(self.valid), "test": len(self.test)}


def pair_components(pairs: list[tuple[str, str]]) -> list[list[int]]:
    """Indices of ``pairs`` grouped into connected components of shared source or target sentences.

    Union–find over the pairs: pair ``i`` is joined to the first pair that had the same
    source key and to the first that had the same target key. Components are returned in
    the order of their first pair, each sorted.
    """
    parent = list(range(len(pairs)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first_of: dict = {}
    for i, (src, tgt) in enumerate(pairs):
        for key in (("src", sentence_key(src)), ("tgt", sentence_key(tgt))):
            j = first_of.setdefault(key, i)
            a, b = find(i), find(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict = {}
    for i in range(len(pairs)):
        groups.setdefault(find(i), []).append(i)
    return sorted(groups.values(), key=lambda g: g[0])


def _one_per_source(pairs: list) -> list:
    seen, out = set(), []
    for src, tgt in pairs:
        key = sentence_key(src)
        if key not in seen:
            seen.add(key)
            out.append((src, tgt))
    return out


def split_pairs(pairs: list[tuple[str, str]], valid_frac: float = 0.05, test_frac: float = 0.1,
                seed: int = 0, max_len: int | None = None) -> TranslationSplit:
    """Split ``pairs`` by connected component (see the module docstring) into train / valid / test."""
    check_type("pairs", pairs, (list, tuple))
    if not pairs:
        raise InputError("pairs is empty: nothing to split")
    for i, pair in enumerate(pairs[:3]):
        if not (isinstance(pair, tuple) and len(pair) == 2 and all(isinstance(s, str) for s in pair)):
            raise InputError(f"pairs[{i}] must be a (source, target) tuple of two str, got {pair!r}")
    check_number("valid_frac", valid_frac, low=0, high=1)
    check_number("test_frac", test_frac, low=0, high=1)
    if valid_frac + test_frac >= 1:
        raise InputError(f"valid_frac + test_frac must be < 1 (training needs pairs), got {valid_frac + test_frac}")
    check_number("seed", seed, integer=True)
    if max_len is not None:
        check_positive("max_len", max_len, integer=True)
    components = pair_components(list(pairs))

    def order(group: list[int]) -> str:
        src, tgt = pairs[group[0]]
        return hashlib.sha256(f"{seed}\t{src}\t{tgt}".encode()).hexdigest()

    targets = {"test": test_frac * len(pairs), "valid": valid_frac * len(pairs)}
    taken = {"test": [], "valid": [], "train": []}
    for group in sorted(components, key=order):
        name = next((n for n in ("test", "valid") if len(taken[n]) < targets[n]), "train")
        taken[name].extend(group)

    def pick(name: str) -> list:
        chosen = [pairs[i] for i in sorted(taken[name])]           # dictionary order
        if max_len is not None:
            chosen = [(a, b) for a, b in chosen if len(a.split()) <= max_len and len(b.split()) <= max_len]
        return chosen

    return TranslationSplit(pick("train"), _one_per_source(pick("valid")), _one_per_source(pick("test")))


def de_en_split(valid_frac: float = 0.05, test_frac: float = 0.1, seed: int = 0,
                max_len: int | None = None) -> TranslationSplit:
    """The German→English pairs of :func:`nlpbook.data.de_en_pairs`, split leak-free."""
    return split_pairs(de_en_pairs(), valid_frac=valid_frac, test_frac=test_frac, seed=seed, max_len=max_len)

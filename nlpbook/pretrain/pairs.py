r"""Next-sentence-prediction pairs: ``[CLS] A [SEP] B [SEP]``, B the true next sentence half of the time.

For a sentence $A = s_{d,i}$ of document $d$ (not its last), the pair is

$$(A, B, n) = \begin{cases}(s_{d,i},\ s_{d,i+1},\ \text{IsNext} = 0) & \text{half of the pairs}\\
(s_{d,i},\ s_{d',k},\ \text{NotNext} = 1),\ d' \ne d & \text{the other half}\end{cases}$$

with $(d, i)$ uniform over every sentence that has a successor and $s_{d',k}$ uniform over the
sentences of the other documents (drawn again in the rare case it equals the true next
sentence's text, so a NotNext pair never holds the true one). :func:`sample_pairs` makes exactly
$\lfloor n/2 \rfloor$ NotNext pairs out of $n$, in random order.

Encoding (:func:`encode_pair`): ``[CLS] A [SEP] B [SEP]`` with token type (segment) 0 for
``[CLS] A [SEP]`` and 1 for ``B [SEP]``, cut to ``max_length`` tokens by
:func:`truncate_seq_pair`, BERT's ``truncate_seq_pair``: while $|A| + |B| > \text{max\_length} - 3$,
drop one token from the longer side (from B on a tie), from its front or its back at random
(with ``rng``; its back without).
"""
from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from typing import Sequence

from ..validate import InputError, check_number, check_type
from .losses import IS_NEXT, NOT_NEXT

__all__ = ["SentencePair", "truncate_seq_pair", "sample_pairs", "encode_pair"]


@dataclass(frozen=True)
class SentencePair:
    """Sentence ``a`` (document ``doc``, index ``index``), sentence ``b`` and the NSP label (0 IsNext, 1 NotNext)."""

    a: Sequence
    b: Sequence
    label: int
    doc: int
    index: int
    b_doc: int


def truncate_seq_pair(a: Sequence, b: Sequence, max_num_tokens: int, rng: random.Random | None = None
                      ) -> tuple[list, list]:
    """Cut ``a`` and ``b`` to at most ``max_num_tokens`` together, one token at a time from the longer one."""
    check_type("a", a, (list, tuple))
    check_type("b", b, (list, tuple))
    check_number("max_num_tokens", max_num_tokens, low=2, integer=True, what="an int >= 2 (a token each side)")
    if rng is not None:
        check_type("rng", rng, random.Random)
    a, b = list(a), list(b)
    while len(a) + len(b) > max_num_tokens:
        longer = a if len(a) > len(b) else b
        if rng is not None and rng.random() < 0.5:
            del longer[0]
        else:
            longer.pop()
    return a, b


def _check_documents(documents) -> None:
    check_type("documents", documents, (list, tuple), "a list of documents (each a list of sentences)")
    for d, doc in enumerate(documents):
        if not isinstance(doc, (list, tuple)):
            raise InputError(f"documents[{d}] must be a list of sentences, got {type(doc).__name__}")
    if sum(len(doc) >= 2 for doc in documents) < 1 or sum(len(doc) >= 1 for doc in documents) < 2:
        raise InputError("documents must hold at least one document with two sentences and a second, "
                         "non-empty document (NotNext pairs take B from another document)")


def sample_pairs(documents: Sequence[Sequence], n: int, rng: random.Random, *, check: bool = True
                 ) -> list[SentencePair]:
    """``n`` pairs; exactly ``n // 2`` NotNext (B from another document), the rest IsNext, shuffled."""
    if check:
        _check_documents(documents)
        check_number("n", n, low=1, integer=True)
        check_type("rng", rng, random.Random)
    # every (document, index) with a successor, as cumulative counts for a uniform draw
    starts = [max(len(doc) - 1, 0) for doc in documents]
    cum_a = [0]
    for s in starts:
        cum_a.append(cum_a[-1] + s)
    sizes = [len(doc) for doc in documents]
    cum_s = [0]
    for s in sizes:
        cum_s.append(cum_s[-1] + s)
    labels = [NOT_NEXT] * (n // 2) + [IS_NEXT] * (n - n // 2)
    rng.shuffle(labels)
    out = []
    for label in labels:
        j = rng.randrange(cum_a[-1])
        d = bisect.bisect_right(cum_a, j) - 1
        i = j - cum_a[d]
        a, true_next = documents[d][i], documents[d][i + 1]
        if label == IS_NEXT:
            out.append(SentencePair(a, true_next, IS_NEXT, d, i, d))
            continue
        others = cum_s[-1] - sizes[d]
        for _ in range(100):
            k = rng.randrange(others)                       # a sentence of any other document
            k = k if k < cum_s[d] else k + sizes[d]
            e = bisect.bisect_right(cum_s, k) - 1
            b = documents[e][k - cum_s[e]]
            if b != true_next:
                break
        else:
            raise InputError("documents: every sentence of the other documents equals the true next sentence; "
                             "no NotNext pair can be drawn")
        out.append(SentencePair(a, b, NOT_NEXT, d, i, e))
    return out


def encode_pair(a: Sequence[int], b: Sequence[int], *, cls_id: int, sep_id: int, max_length: int,
                rng: random.Random | None = None) -> tuple[list[int], list[int]]:
    """``[CLS] A [SEP] B [SEP]`` ids and token types (0 ... 0 1 ... 1), at most ``max_length`` tokens."""
    check_number("max_length", max_length, low=5, integer=True, what="an int >= 5 ([CLS] a [SEP] b [SEP])")
    check_number("cls_id", cls_id, low=0, integer=True)
    check_number("sep_id", sep_id, low=0, integer=True)
    a, b = truncate_seq_pair(a, b, max_length - 3, rng)
    ids = [cls_id, *a, sep_id, *b, sep_id]
    types = [0] * (len(a) + 2) + [1] * (len(b) + 1)
    return ids, types

r"""A sentence-pair task from two English Bibles: is the WEB verse the same verse as the KJV one?

Every KJV verse (1769 English) and the WEB verse with the same reference (book, chapter, verse;
modern English) say the same thing in different words: a **positive** pair. Negatives pair a KJV
verse with another verse's WEB text:

* ``"random"``: a WEB verse from another chapter of the same split (easy: another topic);
* ``"neighbour"``: the next verse of the same chapter (or the previous one for a chapter's last
  verse): a **hard** negative, same topic, names and style, other content.

**Leak-free split**, deterministic: whole chapters go to ``train`` / ``valid`` / ``test`` by a
hash of ``"book chapter"`` (no random state), so a verse, its neighbours and its negatives all
lie in one split. Verses whose KJV or WEB text occurs more than once in the Bible (formulas like
"And the LORD spake unto Moses, saying,") are dropped, so no text is in two splits, and no
negative repeats its positive's text.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from ..validate import InputError, check_number, check_positive, check_type

__all__ = ["AlignedVerse", "VersePair", "aligned_verses", "chapter_split", "verse_pairs", "KINDS"]

KINDS = ("same", "random", "neighbour")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class AlignedVerse:
    ref: tuple[str, int, int]   # (book, chapter, verse)
    kjv: str
    web: str


@dataclass(frozen=True)
class VersePair:
    kjv: str
    web: str
    label: int                  # 1: the same verse, 0: another verse
    kind: str                   # "same", "random" or "neighbour"
    ref: tuple[str, int, int]   # the KJV verse's reference
    web_ref: tuple[str, int, int]


def aligned_verses(max_words: int | None = None) -> list[AlignedVerse]:
    """KJV verses with their WEB verse (same reference), in KJV order, unique texts on both sides.

    ``max_words`` keeps verses with at most that many whitespace words on both sides.
    """
    if max_words is not None:
        check_positive("max_words", max_words, integer=True)
    from collections import Counter

    from ..data.sword import read_bible
    kjv, web = read_bible("engKJV2006eb"), read_bible("engWEB2015eb")
    web_by_ref = {v.ref: v.text for v in web}
    counts = Counter(v.text for v in kjv) + Counter(v.text for v in web)
    out = []
    for v in kjv:
        w = web_by_ref.get(v.ref)
        if not v.text or not w or counts[v.text] > 1 or counts[w] > 1 or v.text == w:
            continue
        if max_words is not None and (len(v.text.split()) > max_words or len(w.split()) > max_words):
            continue
        out.append(AlignedVerse(v.ref, v.text, w))
    return out


def chapter_split(ref: tuple[str, int, int], fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> str:
    """``"train"``, ``"valid"`` or ``"test"`` for a verse, by a hash of its book and chapter only."""
    check_type("ref", ref, tuple)
    if len(ref) < 2:
        raise InputError(f"ref must be (book, chapter, verse), got {ref!r}")
    check_type("fractions", fractions, (tuple, list))
    if len(fractions) != 3 or any(not isinstance(f, (int, float)) or f < 0 for f in fractions) \
            or abs(sum(fractions) - 1) > 1e-9:
        raise InputError(f"fractions must be three non-negative numbers summing to 1, got {fractions!r}")
    digest = hashlib.sha256(f"{ref[0]} {ref[1]}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2 ** 64            # uniform in [0, 1), fixed per chapter
    if u < fractions[0]:
        return "train"
    return "valid" if u < fractions[0] + fractions[1] else "test"


def verse_pairs(verses: list[AlignedVerse], split: str, *, max_verses: int | None = None, seed: int = 0,
                fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)) -> list[VersePair]:
    """The pairs of one split: for each chosen KJV verse one ``same``, one ``random``, one ``neighbour`` pair.

    ``max_verses`` verses are taken evenly spaced over the split (all when ``None``); negatives are
    drawn from the whole split (``seed`` fixes the random ones). A verse without a neighbour in
    its chapter (a one-verse chapter after filtering) is skipped.
    """
    check_type("verses", verses, list)
    if not verses or not all(isinstance(v, AlignedVerse) for v in verses):
        raise InputError("verses must be a non-empty list of AlignedVerse (from aligned_verses())")
    if split not in SPLITS:
        raise InputError(f"split must be one of {SPLITS}, got {split!r}")
    if max_verses is not None:
        check_positive("max_verses", max_verses, integer=True)
    check_number("seed", seed, low=0, integer=True)
    mine = [v for v in verses if chapter_split(v.ref, fractions) == split]
    if len(mine) < 2:
        raise InputError(f"split {split!r} has {len(mine)} verses; give more verses")
    chapter_of = {}
    for i, v in enumerate(mine):
        chapter_of.setdefault(v.ref[:2], []).append(i)
    candidates = [i for i, v in enumerate(mine) if len(chapter_of[v.ref[:2]]) > 1]
    if max_verses is not None and max_verses < len(candidates):
        picks = np.linspace(0, len(candidates) - 1, max_verses).round().astype(int)
        candidates = [candidates[p] for p in picks]
    rng = np.random.default_rng(seed)
    out = []
    for i in candidates:
        v = mine[i]
        chapter = chapter_of[v.ref[:2]]
        pos = chapter.index(i)
        n = chapter[pos + 1] if pos + 1 < len(chapter) else chapter[pos - 1]
        while True:                                               # a verse of another chapter
            j = int(rng.integers(len(mine)))
            if mine[j].ref[:2] != v.ref[:2]:
                break
        out.append(VersePair(v.kjv, v.web, 1, "same", v.ref, v.ref))
        out.append(VersePair(v.kjv, mine[j].web, 0, "random", v.ref, mine[j].ref))
        out.append(VersePair(v.kjv, mine[n].web, 0, "neighbour", v.ref, mine[n].ref))
    return out

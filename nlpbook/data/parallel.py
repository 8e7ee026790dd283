"""Parallel sentences for translation and paraphrase: German–English, English–Spanish, KJV–WEB.

All three return ``(source sentence, target sentence)`` string pairs with case and punctuation
kept (tokenize them as the model needs). ``max_len`` keeps pairs whose two sides have at most
that many whitespace-separated words. ``max_pairs`` keeps that many pairs evenly spaced over
the whole filtered list (so a small subset of a Bible is not all Genesis and a small subset of
a dictionary is not all words starting with "A"); the order is the source's order.
"""
from __future__ import annotations

import os
import re

import numpy as np

from . import cache, sources
from .sword import read_bible

FORMAT_VERSION = 1
DE_EN_PATH = "usr/share/trans/de-en"

_ANNOTATION_RE = re.compile(r"\{[^{}]*\}|\[[^\[\]]*\]|\([^()]*\)")  # {m} [Am.] (sth.) (teilweise)
_SENTENCE_END = (".", "?", "!")
# A necessary condition for a kept pair, cheap to test first: somewhere an alternative ends in
# . ? ! (then maybe annotations) right before " | ", " :: ", "; " or the end of the line.
# Nine lines in ten fail it, which makes the parse three times faster.
_MAY_HOLD_SENTENCE_RE = re.compile(r"[.?!](?:\s*(?:\{[^}]*\}|\[[^\]]*\]|\([^)]*\)))*\s*(?:\||::|;|$)")


def _clean(text: str) -> str:
    text = _ANNOTATION_RE.sub(" ", text).replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"\s+", " ", text).strip()
    return re.sub(r" ([,.;:!?])", r"\1", text)


def _de_en_line_pairs(line: str) -> list[tuple[str, str]]:
    """Whole-sentence pairs of one dictionary line ``German :: English``.

    Both sides list the same alternatives separated by `` | ``, in the same order; each
    alternative may list synonyms separated by ``;`` (we keep the first). A pair is kept when
    both sides end like a sentence and neither offers ``/`` variants.
    """
    if line.startswith("#") or " :: " not in line or not _MAY_HOLD_SENTENCE_RE.search(line):
        return []
    german, english = line.rstrip("\n").split(" :: ", 1)
    de_alts, en_alts = german.split(" | "), english.split(" | ")
    if len(de_alts) != len(en_alts):
        return []  # misaligned alternatives: pairing them by position would be wrong
    pairs = []
    for de, en in zip(de_alts, en_alts):
        de, en = _clean(de.split("; ")[0]), _clean(en.split("; ")[0])
        if (de.endswith(_SENTENCE_END) and en.endswith(_SENTENCE_END) and " / " not in de + en
                and len(de.split()) >= 2 and len(en.split()) >= 2):
            pairs.append((de, en))
    return pairs


def _spaced(items: list, max_items: int | None) -> list:
    """``max_items`` items evenly spaced over ``items`` (all of them when ``None`` or enough)."""
    if max_items is None or max_items >= len(items):
        return items
    if max_items < 1:
        raise ValueError(f"max_pairs must be a positive int or None, got {max_items!r}")
    picks = np.linspace(0, len(items) - 1, max_items).round().astype(int)
    return [items[i] for i in picks]


def _short(pairs: list[tuple[str, str]], max_len: int | None) -> list[tuple[str, str]]:
    if max_len is None:
        return pairs
    if max_len < 1:
        raise ValueError(f"max_len must be a positive int or None, got {max_len!r}")
    return [(a, b) for a, b in pairs if len(a.split()) <= max_len and len(b.split()) <= max_len]


def _encode_pairs(pairs: list[tuple[str, str]]) -> str:
    return "\n".join(f"{a}\t{b}" for a, b in pairs)


def _decode_pairs(text: str) -> list[tuple[str, str]]:
    return [tuple(line.split("\t", 1)) for line in text.split("\n")] if text else []


def de_en_pairs(max_pairs: int | None = None, max_len: int | None = None) -> list[tuple[str, str]]:
    """``(German, English)`` example sentences from the trans-de-en dictionary (Ding), cleaned
    of ``{m}``, ``[Am.]``, ``(sth.)`` annotations, deduplicated, in dictionary order."""
    path = sources.apt_file("trans-de-en", DE_EN_PATH, "German-English dictionary")

    def build() -> str:
        seen, pairs = set(), []
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                for pair in _de_en_line_pairs(line):
                    if pair not in seen and "\t" not in pair[0] + pair[1]:
                        seen.add(pair)
                        pairs.append(pair)
        return _encode_pairs(pairs)

    text = cache.cached_text("de-en-pairs", FORMAT_VERSION, {"files": sources.file_signature(path)}, build)
    return _spaced(_short(_decode_pairs(text), max_len), max_pairs)


def kjv_rv1909_pairs(max_pairs: int | None = None, max_len: int | None = None) -> list[tuple[str, str]]:
    """``(English KJV verse, Spanish Reina-Valera 1909 verse)``. Both modules use the KJV
    versification, so verse ``i`` of one is verse ``i`` of the other (checked: the references
    must agree); verses empty in either are dropped."""
    kjv, rv = read_bible("engKJV2006eb"), read_bible("spaRV1909eb")
    if [v.ref for v in kjv] != [v.ref for v in rv]:
        raise ValueError("KJV and RV1909 do not share a versification: their verse references differ")
    pairs = [(a.text, b.text) for a, b in zip(kjv, rv) if a.text and b.text]
    return _spaced(_short(pairs, max_len), max_pairs)


def kjv_web_pairs(max_pairs: int | None = None) -> list[tuple[str, str]]:
    """``(KJV verse, WEB verse)`` with the same reference ``(book, chapter, verse)``: the same
    content in 1769 and in modern English. The WEB uses the NRSVA versification, so verses are
    matched by reference, not position; references only one of them has are dropped."""
    web = {v.ref: v.text for v in read_bible("engWEB2015eb")}
    pairs = [(v.text, web[v.ref]) for v in read_bible("engKJV2006eb") if v.text and web.get(v.ref)]
    return _spaced(pairs, max_pairs)

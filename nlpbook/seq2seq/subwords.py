"""Subword tokenization (BPE) with the ``tokenizers`` library, trained on the training split only.

Byte-pair encoding (Sennrich et al. 2016) starts from characters and repeatedly merges the
most frequent adjacent pair until the vocabulary has ``vocab_size`` entries, so a rare word
becomes a few frequent pieces instead of ``<unk>``. The pre-tokenizer marks word starts with
``▁`` (Metaspace) and splits punctuation off; the decoder undoes both, so
``decode(encode(s)) == s`` for any sentence made of characters seen in training (tested):
BLEU and chrF then score **detokenized** text, as sacrebleu expects.

Special tokens, with the same ids as :class:`nlpbook.data.Vocab`'s defaults::

    <pad> = 0   <unk> = 1   <bos> = 2   <eos> = 3

A trained tokenizer is stored in the data cache (:mod:`nlpbook.data.cache`: atomic writes,
sha256-checked manifest), keyed by the training sentences' sha256, ``vocab_size`` and the
``tokenizers`` version, so the same split never trains twice.
"""
from __future__ import annotations

import hashlib

import tokenizers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from ..data import cache
from ..validate import InputError, check_positive, check_type

__all__ = ["SPECIALS", "SubwordTokenizer", "train_bpe", "special_id"]

SPECIALS = ("<pad>", "<unk>", "<bos>", "<eos>")
FORMAT_VERSION = 1


def special_id(name: str) -> int:
    """The id of a special token; an unknown name is an :class:`~nlpbook.validate.InputError`."""
    if name not in SPECIALS:
        raise InputError(f"name must be one of the special tokens {', '.join(SPECIALS)}, got {name!r}")
    return SPECIALS.index(name)


class SubwordTokenizer:
    """A trained BPE tokenizer: ``encode(text) -> ids``, ``decode(ids) -> text``.

    Attributes ``pad_id``, ``unk_id``, ``bos_id``, ``eos_id`` (0..3) and ``vocab_size``.
    """

    pad_id, unk_id, bos_id, eos_id = (special_id(s) for s in SPECIALS)

    def __init__(self, tokenizer: Tokenizer):
        check_type("tokenizer", tokenizer, Tokenizer)
        for i, name in enumerate(SPECIALS):
            if tokenizer.token_to_id(name) != i:
                raise InputError(f"tokenizer must give {name} the id {i}, got {tokenizer.token_to_id(name)}")
        self.tokenizer = tokenizer
        self.vocab_size = tokenizer.get_vocab_size()

    def __len__(self) -> int:
        return self.vocab_size

    def __repr__(self) -> str:
        return f"SubwordTokenizer(BPE, vocab_size={self.vocab_size})"

    special_id = staticmethod(special_id)

    def encode(self, text: str, add_bos: bool = False, add_eos: bool = False) -> list[int]:
        """Ids of ``text``'s pieces, optionally with ``<bos>`` first and ``<eos>`` last."""
        check_type("text", text, str)
        ids = self.tokenizer.encode(text, add_special_tokens=False).ids
        return ([self.bos_id] if add_bos else []) + ids + ([self.eos_id] if add_eos else [])

    def encode_batch(self, texts: list[str], add_bos: bool = False, add_eos: bool = False) -> list[list[int]]:
        """:meth:`encode` for many texts at once (the library encodes them in parallel)."""
        check_type("texts", texts, (list, tuple))
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"texts[{i}] must be a str, got {type(t).__name__}")
        pre, post = [self.bos_id] if add_bos else [], [self.eos_id] if add_eos else []
        return [pre + e.ids + post for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=False)]

    def tokens(self, text: str) -> list[str]:
        """The pieces of ``text`` as strings (``▁`` marks a word start)."""
        check_type("text", text, str)
        return self.tokenizer.encode(text, add_special_tokens=False).tokens

    def decode(self, ids) -> str:
        """Detokenized text of ``ids``; special tokens are dropped, decoding stops at nothing."""
        ids = [int(i) for i in ids]
        bad = [i for i in ids if not 0 <= i < self.vocab_size]
        if bad:
            raise InputError(f"ids holds {bad[:3]}, outside the vocabulary 0..{self.vocab_size - 1}")
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def to_json(self) -> str:
        return self.tokenizer.to_str()

    @classmethod
    def from_json(cls, text: str) -> "SubwordTokenizer":
        return cls(Tokenizer.from_str(text))


def _build(texts: list[str], vocab_size: int) -> Tokenizer:
    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Metaspace(), pre_tokenizers.Punctuation()])
    tok.decoder = decoders.Metaspace()
    trainer = trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=list(SPECIALS), show_progress=False)
    tok.train_from_iterator(texts, trainer=trainer, length=len(texts))
    return tok


def train_bpe(texts: list[str], vocab_size: int, cache_name: str | None = "bpe") -> SubwordTokenizer:
    """A BPE tokenizer with at most ``vocab_size`` ids trained on ``texts`` (the training split only).

    ``cache_name`` stores it in the data cache under that name (``None``: train, store nothing).
    The library trains deterministically, so a cached and a fresh tokenizer agree.
    """
    check_type("texts", texts, (list, tuple))
    if not texts:
        raise InputError("texts is empty: a tokenizer needs training sentences")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            raise InputError(f"texts[{i}] must be a str, got {type(t).__name__}")
    check_positive("vocab_size", vocab_size, integer=True)
    if vocab_size <= len(SPECIALS):
        raise InputError(f"vocab_size must exceed the {len(SPECIALS)} special tokens, got {vocab_size}")
    texts = list(texts)
    if cache_name is None:
        return SubwordTokenizer(_build(texts, vocab_size))
    check_type("cache_name", cache_name, str)
    digest = hashlib.sha256("\n".join(texts).encode("utf-8")).hexdigest()
    params = {"texts_sha256": digest, "n_texts": len(texts), "vocab_size": vocab_size,
              "tokenizers": tokenizers.__version__, "model": "bpe-metaspace-punct"}
    text = cache.cached_text(cache_name, FORMAT_VERSION, params, lambda: _build(texts, vocab_size).to_str())
    return SubwordTokenizer.from_json(text)

r"""A small WordPiece vocabulary trained on the pretraining documents, for our tokenizer.

BERT's 30,522 pieces make a tiny model mostly embedding table (and its tied softmax): with
$H = 128$ that is 3.9 M parameters against 0.4 M in two Transformer layers. The zoo's models
use a vocabulary of a few thousand pieces trained on their own training documents instead.

Training uses the ``tokenizers`` library's ``WordPieceTrainer`` (a reference implementation; it
runs offline, in seconds), with the same normalisation and pre-tokenisation as our
:class:`~nlpbook.bert.wordpiece.WordPieceTokenizer` (``BertNormalizer``: clean, CJK, lower-case,
strip accents; ``BertPreTokenizer``: whitespace and punctuation). The trainer picks merges by
the WordPiece score $\mathrm{count}(ab) / (\mathrm{count}(a)\,\mathrm{count}(b))$; the result is
only a list of pieces, written one a line as a ``vocab.txt`` and loaded into **our** tokenizer,
which does the greedy longest-match-first segmentation itself. The list is cached atomically
(:func:`nlpbook.data.cache.cached_text`), keyed by a hash of the sentences and the settings.
"""
from __future__ import annotations

import hashlib

from ..bert.wordpiece import WordPieceTokenizer
from ..data.cache import cached_text
from ..validate import InputError, check_number, check_type

__all__ = ["train_wordpiece_vocab", "small_wordpiece"]

_FORMAT = 1


def train_wordpiece_vocab(sentences, vocab_size: int, *, min_frequency: int = 2) -> list[str]:
    """The pieces (specials ``[PAD] [UNK] [CLS] [SEP] [MASK]`` first, ids 0..4) of a WordPiece vocabulary of
    at most ``vocab_size`` trained on ``sentences`` (a list of str) with ``tokenizers``."""
    check_type("sentences", sentences, (list, tuple), "a list of str")
    if not sentences:
        raise InputError("sentences is empty: give at least one sentence")
    for s in (sentences[0], sentences[-1]):
        check_type("sentences", s, str, "a list of str")
    check_number("vocab_size", vocab_size, low=len(WordPieceTokenizer.SPECIALS) + 1, integer=True,
                 what=f"an int > {len(WordPieceTokenizer.SPECIALS)} (the special tokens and a piece)")
    check_number("min_frequency", min_frequency, low=1, integer=True)
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    tok = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=True,
                                                lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, min_frequency=min_frequency,
                                        special_tokens=list(WordPieceTokenizer.SPECIALS), show_progress=False,
                                        continuing_subword_prefix="##")
    tok.train_from_iterator(sentences, trainer=trainer)
    vocab = tok.get_vocab()
    pieces = sorted(vocab, key=vocab.get)
    if pieces[:5] != list(WordPieceTokenizer.SPECIALS):
        raise RuntimeError(f"tokenizers put the special tokens at {pieces[:5]}, not first")
    return pieces


def small_wordpiece(sentences, vocab_size: int, *, min_frequency: int = 2) -> WordPieceTokenizer:
    """Our :class:`WordPieceTokenizer` over :func:`train_wordpiece_vocab`'s pieces, trained once and cached."""
    check_type("sentences", sentences, (list, tuple), "a list of str")
    check_number("vocab_size", vocab_size, low=len(WordPieceTokenizer.SPECIALS) + 1, integer=True,
                 what=f"an int > {len(WordPieceTokenizer.SPECIALS)} (the special tokens and a piece)")
    digest = hashlib.sha256("\n".join(sentences).encode("utf-8")).hexdigest()
    import tokenizers
    params = {"sentences": digest, "n": len(sentences), "vocab_size": vocab_size, "min_frequency": min_frequency,
              "tokenizers": tokenizers.__version__}
    text = cached_text("zoo-wordpiece", _FORMAT, params,
                       lambda: "\n".join(train_wordpiece_vocab(sentences, vocab_size, min_frequency=min_frequency)))
    pieces = text.split("\n")
    return WordPieceTokenizer({p: i for i, p in enumerate(pieces)})

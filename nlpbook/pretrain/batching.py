r"""Pretraining batches: NSP pairs -> padded ``(B, T)`` tensors, then BERT's masking.

One batch is a dict of

* ``input_ids`` ``(B, T)`` int64: ``[CLS] A [SEP] B [SEP]``, masked (:func:`~nlpbook.pretrain.masking.mask_tokens`), then ``[PAD]``;
* ``token_type_ids`` ``(B, T)`` int64: 0 for ``[CLS] A [SEP]``, 1 for ``B [SEP]``, 0 on padding;
* ``attention_mask`` ``(B, T)`` bool: True at real tokens;
* ``labels`` ``(B, T)`` int64: the original id at the chosen positions, ``-100`` elsewhere;
* ``next_sentence_label`` ``(B,)`` int64: 0 IsNext, 1 NotNext;

$T$ is the longest pair of the batch (``pad_to`` to fix it). The names are ``transformers``'
``BertForPreTraining`` arguments, so one batch feeds both models.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch

from ..validate import InputError, check_number, check_type
from .masking import mask_tokens
from .pairs import SentencePair, encode_pair

__all__ = ["SpecialIds", "collate_pairs", "pretraining_batch"]


@dataclass(frozen=True)
class SpecialIds:
    """The ids of a WordPiece vocabulary's special tokens, and its size."""

    vocab_size: int
    pad_id: int
    cls_id: int
    sep_id: int
    mask_id: int
    unk_id: int

    def __post_init__(self):
        check_number("vocab_size", self.vocab_size, low=6, integer=True, what="an int >= 6 (5 specials and a word)")
        for name in ("pad_id", "cls_id", "sep_id", "mask_id", "unk_id"):
            check_number(name, getattr(self, name), low=0, high=self.vocab_size - 1, integer=True,
                         what=f"an id in 0..{self.vocab_size - 1} (vocab_size {self.vocab_size})")
        if len({self.pad_id, self.cls_id, self.sep_id, self.mask_id}) < 4:
            raise InputError("pad_id, cls_id, sep_id and mask_id must be four different ids, got "
                             f"{self.pad_id}, {self.cls_id}, {self.sep_id}, {self.mask_id}")

    @classmethod
    def from_tokenizer(cls, tokenizer) -> "SpecialIds":
        """From :class:`nlpbook.bert.wordpiece.WordPieceTokenizer` (or anything with the same attributes)."""
        names = ("pad_id", "cls_id", "sep_id", "mask_id", "unk_id", "__len__")
        if not all(hasattr(tokenizer, n) for n in names):
            raise InputError(f"tokenizer must be a WordPieceTokenizer (with {', '.join(names[:5])} and a length), "
                             f"got {type(tokenizer).__name__}")
        return cls(len(tokenizer), tokenizer.pad_id, tokenizer.cls_id, tokenizer.sep_id, tokenizer.mask_id,
                   tokenizer.unk_id)

    @property
    def never_chosen(self) -> tuple[int, ...]:
        """Never masked, never drawn as a random token: ``[PAD] [CLS] [SEP] [MASK] [UNK]``."""
        return tuple(sorted({self.pad_id, self.cls_id, self.sep_id, self.mask_id, self.unk_id}))


def collate_pairs(pairs: Sequence[SentencePair], specials: SpecialIds, *, max_length: int,
                  pad_to: int | None = None, rng: random.Random | None = None, device=None) -> dict:
    """Encode and pad: ``input_ids``, ``token_type_ids``, ``attention_mask`` ``(B, T)``, ``next_sentence_label`` ``(B,)``.

    ``pairs`` hold token ids (lists of ints). ``rng`` truncates from the front or the back at random.
    """
    check_type("pairs", pairs, (list, tuple))
    if not pairs:
        raise InputError("pairs is empty: give at least one SentencePair")
    for p in pairs:
        check_type("pairs", p, SentencePair, "a list of SentencePair")
    check_type("specials", specials, SpecialIds)
    check_number("max_length", max_length, low=5, integer=True, what="an int >= 5")
    encoded = [encode_pair(p.a, p.b, cls_id=specials.cls_id, sep_id=specials.sep_id, max_length=max_length, rng=rng)
               for p in pairs]
    T = max(len(ids) for ids, _ in encoded)
    if pad_to is not None:
        check_number("pad_to", pad_to, low=T, integer=True, what=f"an int >= {T} (the longest pair)")
        T = pad_to
    pad = [specials.pad_id] * T
    ids = torch.tensor([e + pad[len(e):] for e, _ in encoded], dtype=torch.long)           # (B, T)
    types = torch.tensor([t + [0] * (T - len(t)) for _, t in encoded], dtype=torch.long)   # 0 on padding
    lengths = torch.tensor([len(e) for e, _ in encoded])
    mask = torch.arange(T)[None] < lengths[:, None]                                        # (B, T): True = real
    if int(ids.max()) >= specials.vocab_size or int(ids.min()) < 0:
        raise InputError(f"pairs hold token ids outside 0..{specials.vocab_size - 1} (vocab_size of specials)")
    labels = torch.tensor([p.label for p in pairs], dtype=torch.long)
    return {"input_ids": ids.to(device), "token_type_ids": types.to(device), "attention_mask": mask.to(device),
            "next_sentence_label": labels.to(device)}


def pretraining_batch(pairs: Sequence[SentencePair], specials: SpecialIds, *, max_length: int,
                      generator: torch.Generator | None = None, rng: random.Random | None = None,
                      pad_to: int | None = None, rate: float = 0.15, mask_share: float = 0.8,
                      random_share: float = 0.1, device=None) -> dict:
    """:func:`collate_pairs`, then :func:`~nlpbook.pretrain.masking.mask_tokens`: adds ``labels`` ``(B, T)``.

    ``generator`` (a CPU ``torch.Generator``) draws the masks; the batch is built on the CPU and
    moved to ``device`` at the end, so the same seed gives the same batch on every device.
    """
    check_number("rate", rate, low=0, high=1, low_open=True)
    check_number("mask_share", mask_share, low=0, high=1)
    check_number("random_share", random_share, low=0, high=1)
    if mask_share + random_share > 1 + 1e-12:
        raise InputError(f"mask_share + random_share must be <= 1, got {mask_share} + {random_share}")
    if generator is not None:
        check_type("generator", generator, torch.Generator)
        if generator.device.type != "cpu":
            raise InputError(f"generator must be a CPU generator (the batch is masked on the CPU), got {generator.device}")
    batch = collate_pairs(pairs, specials, max_length=max_length, pad_to=pad_to, rng=rng)
    masked = mask_tokens(batch["input_ids"], batch["attention_mask"], vocab_size=specials.vocab_size,
                         mask_id=specials.mask_id, special_ids=specials.never_chosen, rate=rate,
                         mask_share=mask_share, random_share=random_share, generator=generator)
    batch["input_ids"], batch["labels"] = masked.input_ids, masked.labels
    return {k: v.to(device) for k, v in batch.items()}

r"""What a pretrained BERT knows about sentence pairs: its NSP head on held-out pairs, and frozen pair features.

**NSP accuracy.** $N$ pairs from held-out documents, drawn by :func:`~nlpbook.pretrain.pairs.sample_pairs`
(exactly $\lfloor N/2 \rfloor$ NotNext), encoded ``[CLS] A [SEP] B [SEP]`` *without* masking (as a
downstream task reads them) and scored by the NSP head on the pooled ``[CLS]`` state $h_0$:

$$\hat n_j = \arg\max_{c \in \{\text{IsNext},\ \text{NotNext}\}}
\big(W_s \tanh(W_p h^{(j)}_0 + b_p) + b_s\big)_c, \qquad
\text{acc} = \frac{1}{N}\sum_{j=1}^{N} [\hat n_j = n_j].$$

The classes are balanced, so chance is 1/2: a model pretrained without NSP (its head never trained)
should score near it, and a model that learnt NSP above it.

**Pair features** (:func:`pair_features`). From the encoder's last states $h$ ``(B, T, H)`` of
``[CLS] A [SEP] B [SEP]`` (segments 0 and 1), three vectors ``(B, H)`` per pair:

$$\texttt{cls} = h_0, \qquad \texttt{pooled} = \tanh(W_p h_0 + b_p), \qquad
\texttt{mean} = \frac{\sum_t m_t h_t}{\sum_t m_t},$$

$m_t = 1$ at real tokens. ``pooled`` is the NSP head's input: in pretraining only the NSP loss
trains $W_p, b_p$, so without NSP the pooler keeps its random initialisation.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Sequence

import torch

from ..bert.matching import cross_encode
from ..bert.model import BertModel
from ..validate import InputError, check_number, check_type
from .batching import SpecialIds, collate_pairs
from .heads import BertForPreTraining
from .pairs import _check_documents, sample_pairs

__all__ = ["NSPAccuracy", "nsp_logits", "nsp_accuracy", "FEATURES", "pair_features"]

FEATURES = ("cls", "pooled", "mean")


@dataclass
class NSPAccuracy:
    """``correct`` of ``n`` held-out pairs; the logits ``(n, 2)`` and labels ``(n,)`` (0 IsNext, 1 NotNext)."""

    correct: int
    n: int
    logits: torch.Tensor
    labels: torch.Tensor

    @property
    def accuracy(self) -> float:
        return self.correct / self.n

    def per_class(self) -> dict[str, float]:
        """Accuracy on the IsNext pairs and on the NotNext pairs separately."""
        pred = self.logits.argmax(-1)
        return {name: float((pred[self.labels == c] == c).float().mean()) for c, name in ((0, "IsNext"), (1, "NotNext"))}


def _device_of(model) -> torch.device:
    return next(model.parameters()).device


@torch.no_grad()
def nsp_logits(model: BertForPreTraining, pairs, specials: SpecialIds, *, max_length: int | None = None,
               batch_size: int = 64) -> torch.Tensor:
    """``(N, 2)`` NSP logits (IsNext, NotNext) of ``pairs`` (:class:`~nlpbook.pretrain.pairs.SentencePair` of ids), unmasked.

    ``max_length`` (tokens per pair, default: the model's positions) truncates as pretraining does.
    """
    check_type("model", model, BertForPreTraining)
    max_length = model.config.max_position_embeddings if max_length is None else max_length
    check_type("specials", specials, SpecialIds)
    if specials.vocab_size != model.config.vocab_size:
        raise InputError(f"specials has vocab_size {specials.vocab_size} but the model {model.config.vocab_size}")
    check_number("max_length", max_length, low=5, high=model.config.max_position_embeddings, integer=True,
                 what=f"an int in 5..{model.config.max_position_embeddings} (the model's positions)")
    check_number("batch_size", batch_size, low=1, integer=True)
    check_type("pairs", pairs, (list, tuple))
    if not pairs:
        raise InputError("pairs is empty: give at least one SentencePair")
    device, was_training = _device_of(model), model.training
    model.eval()
    out = []
    try:
        for start in range(0, len(pairs), batch_size):
            b = collate_pairs(pairs[start:start + batch_size], specials, max_length=max_length, device=device)
            pooled = model.bert(b["input_ids"], b["attention_mask"], b["token_type_ids"], check=False).pooler_output
            out.append(model.nsp(pooled, check=False))                              # (b, 2)
    finally:
        model.train(was_training)
    return torch.cat(out)


def nsp_accuracy(model: BertForPreTraining, documents: Sequence, specials: SpecialIds, *, n: int, seed: int = 0,
                 max_length: int | None = None, batch_size: int = 64) -> NSPAccuracy:
    """The NSP head's accuracy on ``n`` pairs of ``documents`` (held-out, tokenized), drawn with ``seed``."""
    check_type("model", model, BertForPreTraining)
    _check_documents(documents)
    check_number("n", n, low=2, integer=True, what="an int >= 2 (IsNext and NotNext pairs)")
    check_number("seed", seed, low=0, integer=True)
    pairs = sample_pairs(documents, n, random.Random(seed), check=False)
    logits = nsp_logits(model, pairs, specials, max_length=max_length, batch_size=batch_size)
    labels = torch.tensor([p.label for p in pairs], device=logits.device)
    return NSPAccuracy(int((logits.argmax(-1) == labels).sum()), n, logits, labels)


@torch.no_grad()
def pair_features(model, tokenizer, first: list[str], second: list[str], *, batch_size: int = 64,
                  max_length: int | None = None) -> dict[str, torch.Tensor]:
    """``{"cls", "pooled", "mean"}`` -> ``(N, H)`` features of ``[CLS] first_i [SEP] second_i [SEP]``,
    in eval mode (:func:`nlpbook.bert.matching.cross_encode`, which keeps them all, with the inputs of the top layer).

    ``model``: a :class:`~nlpbook.bert.model.BertModel` or a :class:`BertForPreTraining` (its encoder is used).
    ``max_length``: tokens per pair (the tokenizer truncates), default the model's positions.
    """
    from ..bert.wordpiece import WordPieceTokenizer
    check_type("model", model, (BertModel, BertForPreTraining))
    bert = model.bert if isinstance(model, BertForPreTraining) else model
    max_length = bert.config.max_position_embeddings if max_length is None else max_length
    check_type("tokenizer", tokenizer, WordPieceTokenizer)
    for name, texts in (("first", first), ("second", second)):
        check_type(name, texts, (list, tuple))
        if not texts or not all(isinstance(t, str) for t in texts):
            raise InputError(f"{name} must be a non-empty list of str")
    if len(first) != len(second):
        raise InputError(f"first has {len(first)} texts but second has {len(second)}")
    check_number("batch_size", batch_size, low=1, integer=True)
    check_number("max_length", max_length, low=5, high=bert.config.max_position_embeddings, integer=True,
                 what=f"an int in 5..{bert.config.max_position_embeddings} (the model's positions)")
    if len(tokenizer) > bert.config.vocab_size:
        raise InputError(f"tokenizer has {len(tokenizer)} pieces but the model's vocabulary {bert.config.vocab_size}")
    was_training = bert.training
    bert.eval()
    try:
        enc = cross_encode(bert, tokenizer, list(first), list(second), batch_size=batch_size, max_length=max_length)
    finally:
        bert.train(was_training)
    return {k: getattr(enc, k) for k in FEATURES}

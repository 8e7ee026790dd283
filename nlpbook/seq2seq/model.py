"""The encoder–decoder (seq2seq) model, with or without attention, and its input checks.

``Seq2Seq(config)`` builds an :class:`~nlpbook.seq2seq.encoder.Encoder` and a
:class:`~nlpbook.seq2seq.decoder.Decoder` from a plain dict (JSON-able, so that
:mod:`nlpbook.checkpoints` can key a trained model by it)::

    config = dict(src_vocab=4000, tgt_vocab=4000, embed_size=128, hidden_size=256,
                  num_layers=1, attention="additive", max_len=64, rnn="nlpbook")

``attention`` is ``"additive"`` (the seed's Bahdanau score), ``"dot"``, ``"general"`` or
``None`` (the plain model). ``max_len`` bounds source and target lengths (in tokens,
``<eos>`` included): a longer batch is an error, not a silent truncation. Special ids follow
:data:`nlpbook.seq2seq.subwords.SPECIALS` (``<pad>`` 0, ``<unk>`` 1, ``<bos>`` 2, ``<eos>`` 3).

Shapes: ``src``/``src_mask`` ``(B, S)``, ``tgt_in`` ``(B, T)`` -> logits ``(B, T, V)``.
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import InputError, check_choice, check_ids, check_mask, check_mask_rows, check_positive, check_tensor
from .attention import SCORES, attention
from .batching import Batch
from .decoder import Decoder
from .encoder import Encoder, EncoderOutput
from .loss import masked_cross_entropy
from .subwords import SPECIALS

__all__ = ["DEFAULT_CONFIG", "Seq2Seq", "check_source", "check_prefix_mask"]

DEFAULT_CONFIG = dict(embed_size=128, hidden_size=256, num_layers=1, attention="additive",
                      attention_size=None, max_len=64, rnn="nlpbook")
PAD, UNK, BOS, EOS = range(len(SPECIALS))


def check_prefix_mask(name: str, mask: torch.Tensor) -> None:
    """A right-padded mask: every row is True..True False..False with at least one True."""
    check_mask_rows(name, mask, what="real token")
    if mask.shape[1] > 1 and bool((mask[:, 1:] & ~mask[:, :-1]).any()):
        raise InputError(f"{name} must be right-padded (True..True then False..False in every row); "
                         "a real token follows padding")


def check_source(model: "Seq2Seq", src, src_mask) -> dict:
    """Checks of a source batch against ``model``: ids, mask, device, length <= max_len."""
    dims: dict = {}
    check_ids("src", src, model.config["src_vocab"], ("B", "S"), dims=dims)
    check_mask("src_mask", src_mask, ("B", "S"), dims=dims)
    device = model.device
    for name, t in (("src", src), ("src_mask", src_mask)):
        check_tensor(name, t, device=device)
    check_prefix_mask("src_mask", src_mask)
    if src.shape[1] > model.max_len:
        raise InputError(f"src has {src.shape[1]} positions, more than the model's max_len={model.max_len}")
    return dims


class Seq2Seq(nn.Module):
    """Encoder + decoder; ``forward(src, src_mask, tgt_in) -> logits (B, T, V)``."""

    def __init__(self, config: dict):
        super().__init__()
        if not isinstance(config, dict):
            raise InputError(f"config must be a dict, got {type(config).__name__}")
        missing = [k for k in ("src_vocab", "tgt_vocab") if k not in config]
        if missing:
            raise InputError(f"config lacks {missing}")
        unknown = sorted(set(config) - set(DEFAULT_CONFIG) - {"src_vocab", "tgt_vocab"})
        if unknown:
            raise InputError(f"config has unknown keys {unknown}")
        config = {**DEFAULT_CONFIG, **config}
        for key in ("src_vocab", "tgt_vocab", "embed_size", "hidden_size", "num_layers", "max_len"):
            check_positive(f"config[{key!r}]", config[key], integer=True)
        check_choice("config['attention']", config["attention"], (None, *SCORES))
        self.config = config
        self.max_len = config["max_len"]
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = PAD, UNK, BOS, EOS
        E, H, L = config["embed_size"], config["hidden_size"], config["num_layers"]
        attn = None if config["attention"] is None else attention(config["attention"], H, H, config["attention_size"])
        self.encoder = Encoder(config["src_vocab"], E, H, L, pad_id=PAD, rnn=config["rnn"])
        self.decoder = Decoder(config["tgt_vocab"], E, H, L, attention=attn, pad_id=PAD, rnn=config["rnn"])

    @property
    def device(self) -> torch.device:
        return self.decoder.out.weight.device

    def encode(self, src: torch.Tensor, src_mask: torch.Tensor) -> EncoderOutput:
        """The checked source -> :class:`EncoderOutput` (its attention projection included)."""
        check_source(self, src, src_mask)
        return self.decoder.prepare(self.encoder(src, src_mask))

    def forward(self, src: torch.Tensor, src_mask: torch.Tensor, tgt_in: torch.Tensor,
                return_attention: bool = False):
        """Teacher-forced logits ``(B, T, V)`` (and attention weights ``(B, T, S)`` if asked)."""
        dims = check_source(self, src, src_mask)
        check_ids("tgt_in", tgt_in, self.config["tgt_vocab"], ("B", "T"), dims=dims)
        check_tensor("tgt_in", tgt_in, device=src.device)
        if tgt_in.shape[1] > self.max_len:
            raise InputError(f"tgt_in has {tgt_in.shape[1]} positions, more than the model's max_len={self.max_len}")
        memory = self.decoder.prepare(self.encoder(src, src_mask))
        return self.decoder(tgt_in, memory, return_attention=return_attention)

    def loss(self, batch: Batch) -> torch.Tensor:
        """Masked cross-entropy of a :class:`~nlpbook.seq2seq.batching.Batch` (teacher forcing)."""
        if not isinstance(batch, Batch):
            raise InputError(f"batch must be a nlpbook.seq2seq.batching.Batch, got {type(batch).__name__}")
        return masked_cross_entropy(self(batch.src, batch.src_mask, batch.tgt_in), batch.tgt_out, batch.tgt_mask)

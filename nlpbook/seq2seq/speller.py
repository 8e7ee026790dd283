r"""The seq2seq decoder conditioned on a vector that is not a sentence: spelling a word from its embedding.

The decoder of :mod:`nlpbook.seq2seq.decoder` needs only a context: an
:class:`~nlpbook.seq2seq.encoder.EncoderOutput` whose ``final`` state starts the GRU and is fed
at every step. Here the "encoder" is one layer on a word vector :math:`g \in \mathbb{R}^{50}`
(GloVe), and the decoder spells the word letter by letter:

$$c = \tanh(W_g g + b_g),\qquad p(y \mid g) = \prod_t p(y_t \mid y_{<t}, c)$$

the same factorisation as translation, with characters for subwords and a vector for the source.
Character ids: ``<pad>`` 0, ``<unk>`` 1, ``<bos>`` 2, ``<eos>`` 3, then the alphabet.
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import InputError, check_positive, check_tensor, check_type
from .decoder import Decoder
from .encoder import EncoderOutput
from .subwords import SPECIALS

__all__ = ["CharVocab", "VectorSpeller", "spell"]


class CharVocab:
    """Characters <-> ids, with the Part III special tokens first."""

    def __init__(self, alphabet: str):
        check_type("alphabet", alphabet, str)
        if not alphabet or len(set(alphabet)) != len(alphabet):
            raise InputError(f"alphabet must be a non-empty string of distinct characters, got {alphabet!r}")
        self.chars = list(SPECIALS) + list(alphabet)
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, word: str) -> list[int]:
        check_type("word", word, str)
        return [self.index.get(c, 1) for c in word]

    def decode(self, ids) -> str:
        return "".join(self.chars[i] for i in ids if i >= len(SPECIALS))


class VectorSpeller(nn.Module):
    """``forward(vectors (B, D), tgt_in (B, T)) -> logits (B, T, V)``: a vector in, characters out."""

    def __init__(self, vector_size: int, vocab_size: int, embed_size: int = 32, hidden_size: int = 128):
        super().__init__()
        for name, value in (("vector_size", vector_size), ("vocab_size", vocab_size),
                            ("embed_size", embed_size), ("hidden_size", hidden_size)):
            check_positive(name, value, integer=True)
        self.vector_size = vector_size
        self.project = nn.Linear(vector_size, hidden_size)              # W_g, b_g
        self.decoder = Decoder(vocab_size, embed_size, hidden_size, attention=None)

    def memory(self, vectors: torch.Tensor) -> EncoderOutput:
        """The context :math:`c` as an encoder output of one position."""
        check_tensor("vectors", vectors, ("B", self.vector_size), like=("the layer's weights", self.project.weight))
        c = torch.tanh(self.project(vectors))                          # (B, H)
        mask = torch.ones(c.shape[0], 1, dtype=torch.bool, device=c.device)
        return EncoderOutput(c[:, None, :], mask, c[None])

    def forward(self, vectors: torch.Tensor, tgt_in: torch.Tensor) -> torch.Tensor:
        return self.decoder(tgt_in, self.memory(vectors))


@torch.no_grad()
def spell(model: VectorSpeller, vectors: torch.Tensor, max_len: int = 20, bos_id: int = 2, eos_id: int = 3) -> list[list[int]]:
    """Greedy spelling of each row of ``vectors`` (B, D): character ids, ``<eos>`` excluded."""
    check_type("model", model, VectorSpeller)
    check_positive("max_len", max_len, integer=True)
    memory = model.memory(vectors)
    B = vectors.shape[0]
    y = torch.full((B,), bos_id, dtype=torch.long, device=vectors.device)
    state, done, out = memory.final, torch.zeros(B, dtype=torch.bool, device=vectors.device), []
    for _ in range(max_len):
        logits, state = model.decoder.step(y, state, memory)
        y = logits.argmax(-1)
        out.append(torch.where(done, torch.full_like(y, -1), y))
        done |= y == eos_id
        if bool(done.all()):
            break
    rows = torch.stack(out, 1).tolist()
    return [[t for t in row if t >= 0 and t != eos_id] for row in rows]

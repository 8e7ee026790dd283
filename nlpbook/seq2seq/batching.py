"""Batches for translation: batch-first ``(B, T)`` ids, padding masks, length buckets.

**The mask convention of Part III** (one convention, used by every seq2seq function):
a mask is a ``bool`` tensor of the ids' shape, **True where the token is real** and False
at padding. Sequences are padded on the right with ``<pad>``. So ``mask.sum(1)`` is each
sequence's length, and "ignore padding" is ``scores.masked_fill(~mask, -inf)``.

A :class:`Batch` holds, for source ``x`` and target ``y``::

    src      (B, S)   x_1 .. x_n <eos> <pad>..        src_mask  (B, S)
    tgt_in   (B, T)   <bos> y_1 .. y_m <pad>..        (the decoder's input, teacher forcing)
    tgt_out  (B, T)   y_1 .. y_m <eos> <pad>..        tgt_mask  (B, T)  (what it must predict)

Length bucketing: sentences of similar length go in one batch, so little of a batch is
padding; the order of the batches is shuffled (seeded) so training does not see short
sentences first. Tensors are created on ``device`` (default: the CPU), never moved later.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..validate import InputError, check_number, check_positive, check_type

__all__ = ["pad_ids", "Batch", "make_batch", "bucket_batches", "translation_batches"]


def _check_seqs(name: str, seqs) -> list[list[int]]:
    check_type(name, seqs, (list, tuple))
    if len(seqs) == 0:
        raise InputError(f"{name} is empty: a batch needs at least one sequence")
    for i, s in enumerate(seqs):
        if not isinstance(s, (list, tuple)):
            raise InputError(f"{name}[{i}] must be a list of int ids, got {type(s).__name__}")
    return seqs


def pad_ids(seqs: list[list[int]], pad_id: int, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Right-pad ``seqs`` into ``ids`` ``(B, T)`` int64 and ``mask`` ``(B, T)`` bool (True = real).

    ``T`` is the longest sequence; an empty sequence is an error (it has no real token).
    """
    _check_seqs("seqs", seqs)
    check_number("pad_id", pad_id, integer=True, low=0)
    lengths = [len(s) for s in seqs]
    if min(lengths) == 0:
        raise InputError(f"seqs[{lengths.index(0)}] is empty: every sequence needs a token")
    ids = np.full((len(seqs), max(lengths)), pad_id, dtype=np.int64)
    for i, s in enumerate(seqs):
        ids[i, :len(s)] = s
    ids = torch.from_numpy(ids).to(device)
    mask = torch.arange(ids.shape[1], device=ids.device) < torch.tensor(lengths, device=ids.device)[:, None]
    return ids, mask


@dataclass
class Batch:
    """A padded translation batch (see the module docstring for the layout)."""

    src: torch.Tensor
    src_mask: torch.Tensor
    tgt_in: torch.Tensor
    tgt_out: torch.Tensor
    tgt_mask: torch.Tensor

    def to(self, device) -> "Batch":
        return Batch(*(t.to(device) for t in (self.src, self.src_mask, self.tgt_in, self.tgt_out, self.tgt_mask)))

    def __len__(self) -> int:
        return self.src.shape[0]

    @property
    def n_target_tokens(self) -> int:
        return int(self.tgt_mask.sum())


def make_batch(src_seqs: list[list[int]], tgt_seqs: list[list[int]], pad_id: int, bos_id: int,
               eos_id: int, device=None) -> Batch:
    """One :class:`Batch`: ``<eos>`` closes every source; the target is shifted for teacher forcing."""
    _check_seqs("src_seqs", src_seqs)
    _check_seqs("tgt_seqs", tgt_seqs)
    if len(src_seqs) != len(tgt_seqs):
        raise InputError(f"src_seqs has {len(src_seqs)} sequences but tgt_seqs has {len(tgt_seqs)}")
    for name, value in (("bos_id", bos_id), ("eos_id", eos_id)):
        check_number(name, value, integer=True, low=0)
    src, src_mask = pad_ids([list(s) + [eos_id] for s in src_seqs], pad_id, device)
    tgt_in, tgt_mask = pad_ids([[bos_id] + list(t) for t in tgt_seqs], pad_id, device)
    tgt_out, _ = pad_ids([list(t) + [eos_id] for t in tgt_seqs], pad_id, device)
    return Batch(src, src_mask, tgt_in, tgt_out, tgt_mask)


def bucket_batches(lengths, batch_size: int, shuffle: bool = True, seed: int = 0) -> list[list[int]]:
    """Index lists of at most ``batch_size`` items, each of similar ``lengths``.

    Sort by length (ties broken at random when ``shuffle``), cut into consecutive batches,
    then shuffle the order of the batches. Same ``seed`` → same batches.
    """
    lengths = np.asarray(lengths)
    if lengths.ndim != 1 or lengths.size == 0:
        raise InputError(f"lengths must be a non-empty 1-D sequence of ints, got shape {lengths.shape}")
    check_positive("batch_size", batch_size, integer=True)
    check_number("seed", seed, integer=True)
    rng = np.random.default_rng(seed)
    tiebreak = rng.random(lengths.size) if shuffle else np.arange(lengths.size)
    order = np.lexsort((tiebreak, lengths))
    batches = [order[i:i + batch_size].tolist() for i in range(0, order.size, batch_size)]
    if shuffle:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def translation_batches(src_ids: list[list[int]], tgt_ids: list[list[int]], batch_size: int, *,
                        pad_id: int, bos_id: int, eos_id: int, shuffle: bool = True, seed: int = 0,
                        device=None) -> list[Batch]:
    """All of a data set as length-bucketed :class:`Batch` es (bucketed by source + target length)."""
    _check_seqs("src_ids", src_ids)
    _check_seqs("tgt_ids", tgt_ids)
    if len(src_ids) != len(tgt_ids):
        raise InputError(f"src_ids has {len(src_ids)} sequences but tgt_ids has {len(tgt_ids)}")
    lengths = [max(len(s), len(t)) for s, t in zip(src_ids, tgt_ids)]
    return [make_batch([src_ids[i] for i in b], [tgt_ids[i] for i in b], pad_id, bos_id, eos_id, device)
            for b in bucket_batches(lengths, batch_size, shuffle=shuffle, seed=seed)]

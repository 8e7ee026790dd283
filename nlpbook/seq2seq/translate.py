"""Translate sentences with a trained :class:`~nlpbook.seq2seq.model.Seq2Seq`: text in, text out.

Sentences are encoded with the source tokenizer (``<eos>`` appended), decoded in
length-sorted batches on the model's device (greedy when ``beam_size == 1``, else beam
search), and detokenized with the target tokenizer, in the input order. The output is
ready for :func:`nlpbook.seq2seq.metrics.corpus_bleu`.
"""
from __future__ import annotations

from ..validate import InputError, check_positive, check_type
from .batching import pad_ids
from .decoding import beam_search, greedy_decode
from .model import Seq2Seq

__all__ = ["translate"]


def translate(model: Seq2Seq, src_tokenizer, tgt_tokenizer, sentences: list[str], *, beam_size: int = 1,
              batch_size: int = 64, max_len: int | None = None, length_penalty: float = 1.0) -> list[str]:
    """Detokenized translations of ``sentences`` (a list of str)."""
    check_type("model", model, Seq2Seq)
    check_type("sentences", sentences, (list, tuple))
    if not sentences:
        raise InputError("sentences is empty: nothing to translate")
    check_positive("beam_size", beam_size, integer=True)
    check_positive("batch_size", batch_size, integer=True)
    ids = src_tokenizer.encode_batch(list(sentences), add_eos=True)
    too_long = [i for i, s in enumerate(ids) if len(s) > model.max_len]
    if too_long:
        raise InputError(f"sentences[{too_long[0]}] has {len(ids[too_long[0]])} tokens with <eos>, more than the "
                         f"model's max_len={model.max_len} ({len(too_long)} sentences are too long)")
    order = sorted(range(len(ids)), key=lambda i: len(ids[i]))
    out = [None] * len(ids)
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            src, mask = pad_ids([ids[i] for i in chunk], model.pad_id, device=model.device)
            if beam_size == 1:
                hyps = greedy_decode(model, src, mask, max_len=max_len, length_penalty=length_penalty)
            else:
                hyps = beam_search(model, src, mask, beam_size=beam_size, max_len=max_len,
                                   length_penalty=length_penalty)
            for i, h in zip(chunk, hyps.ids):
                out[i] = tgt_tokenizer.decode(h)
    finally:
        model.train(was_training)
    return out

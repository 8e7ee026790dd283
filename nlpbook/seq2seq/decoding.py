r"""Decoding: greedy search and beam search with length normalisation.

A translation is generated one token at a time, each step feeding the last token back.
**Greedy** takes :math:`\arg\max_y p(y \mid y_{<t}, x)` at every step. **Beam search** keeps
the ``K`` best partial translations by log-probability; a hypothesis that emits ``<eos>``
is finished and ranked by its **length-normalised** score

$$s(y) = \frac{\log p(y \mid x)}{|y|^{\alpha}} = \frac{1}{|y|^{\alpha}} \sum_{t=1}^{|y|} \log p(y_t \mid y_{<t}, x)$$

(:math:`|y|` counts the generated tokens, ``<eos>`` included; :math:`\alpha = 0` is the raw
log-probability, which favours short outputs; :math:`\alpha = 1` the mean per token).
At each step the ``2K`` best continuations are taken: those ending in ``<eos>`` among the
first ``K`` are finished, the best ``K`` others stay alive. A sentence stops when it has
``K`` finished hypotheses, or at ``max_len`` tokens, when its live hypotheses are finished
as they are (without ``<eos>``). With ``K = 1`` this is exactly greedy search (tested).

Both return :class:`Hypotheses`: per sentence the token ids (no ``<bos>``; ``<eos>`` last if
it was generated), the normalised score and the raw log-probability. :func:`score_sequences`
recomputes the same score with teacher forcing (the tests check that the two agree).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..validate import InputError, InputTypeError, check_number, check_positive, check_type
from .loss import sequence_log_probs
from .model import Seq2Seq

__all__ = ["Hypotheses", "greedy_decode", "beam_search", "beam_search_loop", "score_sequences", "normalised"]


@dataclass
class Hypotheses:
    """``ids[b]``: generated ids of sentence ``b``; ``scores[b]``: normalised; ``log_probs[b]``: raw."""

    ids: list
    scores: list
    log_probs: list

    def __len__(self) -> int:
        return len(self.ids)


def normalised(log_prob: float, length: int, length_penalty: float) -> float:
    r"""$\log p / |y|^{\alpha}$ with $\alpha$ = ``length_penalty``."""
    return log_prob / (max(length, 1) ** length_penalty)


def _check(model, max_len, length_penalty) -> int:
    check_type("model", model, Seq2Seq)
    check_number("length_penalty", length_penalty, low=0)
    if max_len is None:
        return model.max_len
    check_positive("max_len", max_len, integer=True)
    if max_len > model.max_len:
        raise InputError(f"max_len={max_len} is more than the model's max_len={model.max_len}")
    return max_len


@torch.no_grad()
def greedy_decode(model: Seq2Seq, src: torch.Tensor, src_mask: torch.Tensor, max_len: int | None = None,
                  length_penalty: float = 1.0) -> Hypotheses:
    """The most probable next token at every step, for a batch ``src`` (B, S); stops at ``<eos>`` or ``max_len``."""
    max_len = _check(model, max_len, length_penalty)
    memory = model.encode(src, src_mask)
    B = src.shape[0]
    y = torch.full((B,), model.bos_id, dtype=torch.long, device=src.device)
    state, done = memory.final, torch.zeros(B, dtype=torch.bool, device=src.device)
    total = torch.zeros(B, dtype=torch.float64, device=src.device)
    steps = []
    for _ in range(max_len):
        logits, state = model.decoder.step(y, state, memory)
        logp = torch.log_softmax(logits.double(), dim=-1)                 # (B, V)
        y = logp.argmax(-1)
        total += torch.where(done, torch.zeros_like(total), logp.gather(1, y[:, None])[:, 0])
        steps.append(torch.where(done, torch.full_like(y, -1), y))       # -1: after <eos>
        done |= y == model.eos_id
        if bool(done.all()):
            break
    rows = torch.stack(steps, 1).tolist()
    ids = [[t for t in row if t >= 0] for row in rows]
    log_probs = total.tolist()
    return Hypotheses(ids, [normalised(lp, len(s), length_penalty) for lp, s in zip(log_probs, ids)], log_probs)


@torch.no_grad()
def beam_search(model: Seq2Seq, src: torch.Tensor, src_mask: torch.Tensor, beam_size: int = 4,
                max_len: int | None = None, length_penalty: float = 1.0) -> Hypotheses:
    """Beam search of width ``beam_size`` over a batch ``src`` (B, S); see the module docstring."""
    max_len = _check(model, max_len, length_penalty)
    check_positive("beam_size", beam_size, integer=True)
    K = beam_size
    memory = model.encode(src, src_mask).repeat_interleave(K)           # (B*K, ...)
    decoder = {"state": memory.final}

    def step(y):
        logits, decoder["state"] = model.decoder.step(y, decoder["state"], memory)
        return torch.log_softmax(logits.double(), -1)

    def keep(flat):
        decoder["state"] = decoder["state"][:, flat]

    return beam_search_loop(step, keep, src.shape[0], K, model.bos_id, model.eos_id, max_len, length_penalty,
                            src.device)


def beam_search_loop(step, keep, batch_size: int, beam_size: int, bos_id: int, eos_id: int, max_len: int,
                     length_penalty: float, device) -> Hypotheses:
    """The search itself, for any decoder (the recurrent one above, the Transformer's in Part IV).

    ``step(y)`` feeds token ``y`` ``(B*K,)`` to every beam and returns the log-probabilities of the
    next token ``(B*K, V)``; ``keep(flat)`` keeps the decoder state of beams ``flat`` ``(B*K,)``, the
    survivors of a step in their new order. Beams of source ``b`` are rows ``b*K .. b*K + K - 1``.
    """
    for name, fn in (("step", step), ("keep", keep)):
        if not callable(fn):
            raise InputTypeError(f"{name} must be callable, got {type(fn).__name__}")
    for name, value in (("batch_size", batch_size), ("beam_size", beam_size), ("max_len", max_len)):
        check_positive(name, value, integer=True)
    check_number("length_penalty", length_penalty, low=0)
    B, K = batch_size, beam_size
    y = torch.full((B * K,), bos_id, dtype=torch.long, device=device)
    beam_logp = torch.full((B, K), float("-inf"), dtype=torch.float64, device=device)
    beam_logp[:, 0] = 0.0                                                # one live beam to start
    prefixes = [[[] for _ in range(K)] for _ in range(B)]
    finished = [[] for _ in range(B)]                                    # (score, log_prob, ids)
    for t in range(max_len):
        logp = step(y).double()
        V = logp.shape[-1]
        cand = beam_logp[:, :, None] + logp.view(B, K, V)
        top_val, top_idx = cand.view(B, K * V).topk(min(2 * K, K * V), dim=1)   # (B, 2K)
        vals, beams, toks = top_val.tolist(), (top_idx // V).tolist(), (top_idx % V).tolist()
        new_beam = torch.zeros(B, K, dtype=torch.long)
        new_tok = torch.full((B, K), eos_id, dtype=torch.long)
        new_logp = torch.full((B, K), float("-inf"), dtype=torch.float64)
        new_prefixes = []
        for b in range(B):
            alive = []
            if len(finished[b]) < K:
                for rank, (v, k, tok) in enumerate(zip(vals[b], beams[b], toks[b])):
                    if v == float("-inf"):
                        break
                    if tok == eos_id:
                        if rank < K:
                            ids = prefixes[b][k] + [tok]
                            finished[b].append((normalised(v, len(ids), length_penalty), v, ids))
                    elif len(alive) < K:
                        alive.append((v, k, tok))
                    if len(alive) == K:
                        break
            if len(finished[b]) >= K:
                alive = []                                               # done: keep it idle
            for j, (v, k, tok) in enumerate(alive):
                new_beam[b, j], new_tok[b, j], new_logp[b, j] = k, tok, v
            new_prefixes.append([prefixes[b][k] + [tok] for v, k, tok in alive] + [[]] * (K - len(alive)))
        prefixes = new_prefixes
        beam_logp = new_logp.to(device)
        if all(len(f) >= K for f in finished):
            break
        keep((torch.arange(B)[:, None] * K + new_beam).view(-1).to(device))
        y = new_tok.view(-1).to(device)
    out_ids, out_scores, out_logp = [], [], []
    live = beam_logp.tolist()
    for b in range(B):
        if len(finished[b]) < K:                                         # max_len reached
            finished[b] += [(normalised(v, len(p), length_penalty), v, p)
                            for v, p in zip(live[b], prefixes[b]) if v != float("-inf")]
        score, logp_b, ids = max(finished[b], key=lambda f: f[0])
        out_ids.append(ids), out_scores.append(score), out_logp.append(logp_b)
    return Hypotheses(out_ids, out_scores, out_logp)


@torch.no_grad()
def score_sequences(model: Seq2Seq, src: torch.Tensor, src_mask: torch.Tensor, ids: list,
                    length_penalty: float = 1.0) -> Hypotheses:
    """Teacher-forced scores of given outputs ``ids`` (one list per sentence, as decoding returns them)."""
    _check(model, None, length_penalty)
    check_type("ids", ids, (list, tuple))
    if len(ids) != src.shape[0]:
        raise InputError(f"ids has {len(ids)} sequences but src has {src.shape[0]} sentences")
    if any(len(s) == 0 for s in ids):
        raise InputError("ids holds an empty sequence: there is nothing to score")
    T = max(len(s) for s in ids)
    device = src.device
    tgt_in = torch.full((len(ids), T), model.pad_id, dtype=torch.long)
    tgt_out = torch.full((len(ids), T), model.pad_id, dtype=torch.long)
    for b, s in enumerate(ids):
        tgt_in[b, 0], tgt_in[b, 1:len(s)] = model.bos_id, torch.tensor(s[:-1], dtype=torch.long)
        tgt_out[b, :len(s)] = torch.tensor(s, dtype=torch.long)
    mask = torch.arange(T)[None, :] < torch.tensor([len(s) for s in ids])[:, None]
    tgt_in, tgt_out, mask = tgt_in.to(device), tgt_out.to(device), mask.to(device)
    logits = model(src, src_mask, tgt_in).double()
    log_probs = sequence_log_probs(logits, tgt_out, mask).tolist()
    return Hypotheses([list(s) for s in ids], [normalised(lp, len(s), length_penalty) for lp, s in zip(log_probs, ids)],
                      log_probs)

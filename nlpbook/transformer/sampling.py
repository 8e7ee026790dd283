r"""Sampling the next token from the output softmax: temperature and top-k.

The decoder's last state $h_t \in \mathbb{R}^D$ becomes a distribution over the vocabulary by a
linear layer and a softmax, $p = \mathrm{softmax}(z)$ with logits $z = W h_t \in \mathbb{R}^V$.
Instead of taking $\arg\max_v z_v$ (greedy), sampling draws the next token from

$$p_T(v) = \frac{\exp(z_v / T)}{\sum_{u \in \mathcal{K}} \exp(z_u / T)} \quad (v \in \mathcal{K}),
\qquad p_T(v) = 0 \quad (v \notin \mathcal{K}),$$

with **temperature** $T > 0$ ($T = 1$: the model's distribution; $T < 1$ sharpens it, $T \to 0$
puts all the mass on the argmax; $T > 1$ flattens it) and **top-k** truncation: $\mathcal{K}$ is
the set of the $k$ largest logits (all $V$ when ``top_k`` is ``None``; $k = 1$ is greedy).
``temperature=0`` is accepted and means the limit, the argmax (greedy decoding).

:func:`sampling_distribution` returns $p_T$ (``(B, V)``), :func:`sample_next` draws from it,
:func:`sample_decode` generates with a :class:`~nlpbook.transformer.model.Transformer` one token
per step over the key/value cache. Ties in the top-k cut are broken as ``torch.topk`` breaks them.
"""
from __future__ import annotations

import torch

from ..validate import InputError, check_number, check_positive, check_tensor, check_type
from .kv_cache import KVCache
from .model import Transformer

__all__ = ["sampling_distribution", "sample_next", "sample_decode"]


def _check_args(logits, temperature, top_k, generator=None) -> None:
    check_tensor("logits", logits, ("B", "V"), dtype="float")
    check_number("temperature", temperature, low=0)
    if top_k is not None:
        check_positive("top_k", top_k, integer=True)
        if top_k > logits.shape[-1]:
            raise InputError(f"top_k = {top_k} is more than the vocabulary ({logits.shape[-1]} logits)")
    if generator is not None:
        check_type("generator", generator, torch.Generator)
        if generator.device.type != logits.device.type:
            raise InputError(f"generator is on {generator.device} but logits are on {logits.device}: "
                             f"make it with torch.Generator(device=logits.device)")


def _filtered(logits: torch.Tensor, temperature: float, top_k: int | None) -> torch.Tensor:
    """``logits / T`` with every logit outside the top ``k`` set to $-\\infty$ (``T > 0``)."""
    z = logits / temperature
    if top_k is not None and top_k < z.shape[-1]:
        kth = z.topk(top_k, dim=-1).values[:, -1:]                  # (B, 1): the k-th largest
        z = z.masked_fill(z < kth, float("-inf"))
    return z


def sampling_distribution(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                          *, check: bool = True) -> torch.Tensor:
    r"""$p_T$ over ``(B, V)`` logits: ``softmax(logits / T)`` restricted to the top ``k``; rows sum to 1.

    ``temperature=0`` gives the one-hot of the argmax. (With ties in the top-k cut every tied
    logit stays, so more than ``k`` entries may be non-zero.)
    """
    if check:
        _check_args(logits, temperature, top_k)
    if temperature == 0:
        return torch.zeros_like(logits).scatter_(-1, logits.argmax(-1, keepdim=True), 1.0)
    return torch.softmax(_filtered(logits, temperature, top_k), dim=-1)


def sample_next(logits: torch.Tensor, temperature: float = 1.0, top_k: int | None = None,
                generator: torch.Generator | None = None, *, check: bool = True) -> torch.Tensor:
    """One token id per row, ``(B,)`` long, drawn from :func:`sampling_distribution`.

    ``temperature=0`` and ``top_k=1`` return the argmax without drawing (greedy); ``top_k=1``
    keeps exactly the ``torch.topk`` winner.
    """
    if check:
        _check_args(logits, temperature, top_k, generator)
    if temperature == 0:
        return logits.argmax(-1)
    if top_k == 1:
        return logits.topk(1, dim=-1).indices[:, 0]
    p = torch.softmax(_filtered(logits.double(), temperature, top_k), dim=-1)
    return torch.multinomial(p, 1, generator=generator)[:, 0]


@torch.no_grad()
def sample_decode(model: Transformer, src: torch.Tensor, bos_id: int, max_new_tokens: int,
                  src_mask: torch.Tensor | None = None, *, eos_id: int | None = None, temperature: float = 1.0,
                  top_k: int | None = None, generator: torch.Generator | None = None) -> torch.Tensor:
    """``ids (B, 1 + n)``: ``bos_id`` then ``n <= max_new_tokens`` sampled tokens, one per step, with a KV cache.

    As :meth:`Transformer.greedy_decode` (which it equals with ``temperature=0`` or ``top_k=1``):
    stops when every row has produced ``eos_id``, after which a row repeats ``eos_id``.
    """
    check_type("model", model, Transformer)
    model._check_ids("src", src, model.src_vocab_size, {}, src_mask, "src_mask")
    check_number("bos_id", bos_id, low=0, high=model.tgt_vocab_size - 1, integer=True)
    if eos_id is not None:
        check_number("eos_id", eos_id, low=0, high=model.tgt_vocab_size - 1, integer=True)
    check_positive("max_new_tokens", max_new_tokens, integer=True)
    if max_new_tokens + 1 > model.max_len:
        raise InputError(f"max_new_tokens = {max_new_tokens} needs {max_new_tokens + 1} positions, beyond "
                         f"max_len = {model.max_len}")
    _check_args(torch.empty(1, model.tgt_vocab_size, device=src.device), temperature, top_k, generator)
    memory = model.encode(src, src_mask, check=False)
    B = src.shape[0]
    ids = torch.full((B, 1), bos_id, dtype=torch.long, device=src.device)
    done = torch.zeros(B, dtype=torch.bool, device=src.device)
    cache = KVCache(len(model.decoder.layers))
    for _ in range(max_new_tokens):
        logits = model.decode(ids[:, -1:], memory, src_mask, cache=cache, check=False)[:, -1]    # (B, V)
        nxt = sample_next(logits, temperature, top_k, generator, check=False)
        if eos_id is not None:
            nxt = torch.where(done, torch.full_like(nxt, eos_id), nxt)
            done = done | (nxt == eos_id)
        ids = torch.cat([ids, nxt[:, None]], dim=1)
        if eos_id is not None and bool(done.all()):
            break
    return ids

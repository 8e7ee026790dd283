r"""Scaled dot-product attention, explicit and fast, with padding and causal masks.

$$\mathrm{Attention}(Q, K, V) = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d_k}}\right) V$$

Shapes (batch first): ``query`` ``(B, T, d_k)`` or ``(B, h, T, d_k)``, ``key`` ``(B, S, d_k)``
or ``(B, h, S, d_k)``, ``value`` ``(B, S, d_v)`` or ``(B, h, S, d_v)``; the output is
``(B, [h,] T, d_v)`` and the weights ``(B, [h,] T, S)``.

Masks (True = may attend, see :mod:`nlpbook.transformer`):

* ``key_padding_mask`` ``(B, S)``: True at real keys, False at padding;
* ``mask`` ``(T, S)``, ``(B, T, S)`` or ``(B, h, T, S)`` (4-D queries): True where query ``t``
  may attend to key ``s``;
* ``causal=True``: query ``t`` sees keys ``s <= t + (S - T)`` (the last query is aligned with
  the last key, so a decoding step with a cache of ``S - T`` earlier keys sees them all).

They combine with AND. A masked score is set to :math:`-\infty` before the softmax, so a masked
key gets **exactly** zero weight. A query row whose masks leave no key has no distribution to
take: :func:`scaled_dot_product_attention` raises :class:`~nlpbook.validate.InputError` (with
``check=True``, the default); it never returns a row of NaN. (``nn.MultiheadAttention`` and
``F.scaled_dot_product_attention`` return NaN there; with ``check=False``, which callers that
checked already use, so does ours.)

The fast path (``fast=True``) calls ``F.scaled_dot_product_attention``, whose boolean
``attn_mask`` uses the same convention (True = take part in attention); it does not return
the weights.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..validate import InputError, check_mask, check_number, check_tensor, check_type, shape_str

__all__ = ["causal_mask", "combine_masks", "check_attention_masks", "scaled_dot_product_attention"]


def causal_mask(query_len: int, key_len: int | None = None, *, device=None) -> torch.Tensor:
    r"""``(T, S)`` bool, True where $s \le t + (S - T)$: query ``t`` may attend to key ``s``.

    ``key_len`` defaults to ``query_len`` (lower triangle). With ``S > T`` (a decoder step
    after ``S - T`` cached tokens) the last query is aligned with the last key.
    """
    _check_positive_int("query_len", query_len)
    key_len = query_len if key_len is None else key_len
    _check_positive_int("key_len", key_len)
    if key_len < query_len:
        raise InputError(f"key_len must be >= query_len for a causal mask, got key_len {key_len} < "
                         f"query_len {query_len}")
    return torch.ones(query_len, key_len, dtype=torch.bool, device=device).tril(key_len - query_len)


def _check_positive_int(name, value):
    check_number(name, value, low=1, integer=True, what="a positive int")


def combine_masks(query: torch.Tensor, key: torch.Tensor, mask: torch.Tensor | None = None,
                  key_padding_mask: torch.Tensor | None = None, causal: bool = False) -> torch.Tensor | None:
    """The AND of the masks, broadcastable to ``(B, [h,] T, S)``; ``None`` when there is none.

    Unchecked (see :func:`check_attention_masks`); built on ``query.device``.
    """
    T, S = query.shape[-2], key.shape[-2]
    out = None
    if causal and T > 1:                # one query aligned with the last key sees every key: no mask
        out = causal_mask(T, S, device=query.device)
    if mask is not None:
        out = mask if out is None else out & mask
    if key_padding_mask is not None:
        kpm = key_padding_mask.view(key_padding_mask.shape[0], *([1] * (query.dim() - 2)), S)
        out = kpm if out is None else out & kpm
    return out


def check_attention_masks(query: torch.Tensor, key: torch.Tensor, mask=None, key_padding_mask=None,
                          causal=False, *, names=("mask", "key_padding_mask", "causal"),
                          batch_dims: int | None = None) -> torch.Tensor | None:
    """Check the masks against ``query`` ``(B, [h,] T, d)`` and ``key`` ``(B, [h,] S, d)``.

    Shapes, dtype bool, device, and that every query row keeps at least one key (one device
    sync when a mask is given). ``names`` are the caller's argument names, for the messages.
    Returns the combined mask (:func:`combine_masks`).
    """
    mask_name, kpm_name, causal_name = names
    B, T, S = query.shape[0], query.shape[-2], key.shape[-2]
    check_type(causal_name, causal, bool)
    if causal and S < T:
        raise InputError(f"{causal_name}=True needs at least as many keys as queries, got {S} keys "
                         f"for {T} queries")
    if mask is not None:
        check_mask(mask_name, mask)
        check_tensor(mask_name, mask, device=query.device)
        lead = tuple(query.shape[:-2])
        ok = 2 <= mask.dim() <= query.dim() and tuple(mask.shape[-2:]) == (T, S) and all(
            m in (1, q) for m, q in zip(mask.shape[:-2][::-1], lead[::-1]))
        if not ok:
            heads = "" if query.dim() == 3 else ", h"
            raise InputError(f"{mask_name} is {shape_str(mask.shape)} but must be (T, S) = ({T}, {S}), "
                             f"(B, T, S) or (B{heads}, T, S) with B = {B} (True = may attend)")
    if key_padding_mask is not None:
        check_mask(kpm_name, key_padding_mask, (B, S))
        check_tensor(kpm_name, key_padding_mask, device=query.device)
    combined = combine_masks(query, key, mask, key_padding_mask, causal)
    if combined is not None and (mask is not None or key_padding_mask is not None):
        shape = list(query.shape[:-1])                                    # (B, [h,] T): count per
        own = [1] * (query.dim() - combined.dim()) + list(combined.shape)  # head only where masks vary
        shape[1:-1] = own[1:-2]
        empty = (~combined.any(dim=-1)).expand(shape)
        if bool(empty.any()):
            given = [n for n, m in ((mask_name, mask), (kpm_name, key_padding_mask),
                                    (causal_name, causal or None)) if m is not None]
            raise InputError(f"{' and '.join(given)} leave {int(empty.sum())} query row(s) with no key to attend "
                             "to (softmax over nothing is undefined); every query needs at least one real, "
                             "allowed key (masks here are True = may attend)")
    return combined


def _check_qkv(query, key, value) -> None:
    for name, x in (("query", query), ("key", key), ("value", value)):
        if not isinstance(x, torch.Tensor) or x.dim() not in (3, 4):
            raise InputError(f"{name} must be a 3-D (B, T, d) or 4-D (B, h, T, d) tensor, got "
                             f"{shape_str(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    for name, x in (("key", key), ("value", value)):
        if x.dim() != query.dim():
            raise InputError(f"{name} is {x.dim()}-D {shape_str(x.shape)} but query is {query.dim()}-D "
                             f"{shape_str(query.shape)}; query, key and value must all be (B, T, d) "
                             "or all (B, h, T, d)")
    lead = ("B",) if query.dim() == 3 else ("B", "h")
    dims: dict = {}
    check_tensor("query", query, lead + ("T", "d_k"), dims=dims, dtype="float")
    check_tensor("key", key, lead + ("S", "d_k"), dims=dims, like=("query", query))
    check_tensor("value", value, lead + ("S", "d_v"), dims=dims, like=("query", query))


def scaled_dot_product_attention(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
                                 mask: torch.Tensor | None = None, *, key_padding_mask: torch.Tensor | None = None,
                                 causal: bool = False, dropout_p: float = 0.0, fast: bool = False,
                                 need_weights: bool = True, check: bool = True
                                 ) -> tuple[torch.Tensor, torch.Tensor | None]:
    r"""``(output, weights)``: $\mathrm{softmax}(QK^\top/\sqrt{d_k} + \text{mask})\,V$ and the softmax.

    Shapes and masks: module docstring. ``dropout_p`` drops attention weights (pass 0 in
    evaluation). ``fast=True`` calls ``F.scaled_dot_product_attention`` (weights ``None``);
    ``need_weights=False`` also returns ``None``. ``check=False`` skips every input check,
    including the fully-masked-row error (a fully masked row is then NaN).
    """
    if check:
        _check_qkv(query, key, value)
        check_number("dropout_p", dropout_p, low=0, high=1, high_open=True)
        check_type("fast", fast, bool)
        combined = check_attention_masks(query, key, mask, key_padding_mask, causal)
    if fast and causal and mask is None and key_padding_mask is None and query.shape[-2] == key.shape[-2]:
        return F.scaled_dot_product_attention(query, key, value, dropout_p=dropout_p, is_causal=True), None
    if not check:
        combined = combine_masks(query, key, mask, key_padding_mask, causal)
    if fast:
        return F.scaled_dot_product_attention(query, key, value, attn_mask=combined, dropout_p=dropout_p), None
    # (B, [h,] T, d_k) @ (B, [h,] d_k, S) -> scores (B, [h,] T, S)
    scores = query @ key.transpose(-2, -1) / math.sqrt(query.shape[-1])
    if combined is not None:
        scores = scores.masked_fill(~combined, float("-inf"))      # exactly zero weight after softmax
    weights = torch.softmax(scores, dim=-1)                        # rows sum to 1 over allowed keys
    dropped = F.dropout(weights, dropout_p) if dropout_p > 0 else weights
    output = dropped @ value                                        # (B, [h,] T, S) @ (B, [h,] S, d_v)
    return output, (weights if need_weights else None)

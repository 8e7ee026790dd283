r"""BERT's input sum as linear algebra: one-hot codes, one stacked table, and offset structure.

**The sum is a linear map of concatenated one-hot codes.** With $V$ tokens, $S$ segments and
$P$ positions, write $u_x \in \{0,1\}^V$, $u_s \in \{0,1\}^S$, $u_t \in \{0,1\}^P$ for the
one-hot codes of token $x$, segment $s$ and position $t$. Then

$$W^{tok}_x + W^{seg}_s + W^{pos}_t
  = \underbrace{\begin{pmatrix} W^{tok} \\ W^{seg} \\ W^{pos} \end{pmatrix}^{\!\top}}_{W^\top,\ (H,\ V+S+P)}
    \begin{pmatrix} u_x \\ u_s \\ u_t \end{pmatrix}$$

(:func:`one_hot_codes` and :func:`stacked_table`; :func:`embedding_sum` is the left side,
before BERT's LayerNorm). A linear map of a concatenation has no product terms
$u_{x} u_{t}^\top$: the sum *crosses* no features. In particular the effect of changing the
token, $e(x, s, t) - e(x', s, t) = W^{tok}_x - W^{tok}_{x'}$, is the same at every position and
in every segment.

**Offset structure of a position table.** For a square similarity matrix $G$ ``(P, P)`` (e.g.
cosine similarities of position vectors), the best approximation by a function of the offset
$|i - j|$ alone is the mean over each pair of diagonals, $g_k = \mathrm{mean}_{|i-j|=k} G_{ij}$;
:func:`offset_profile` returns $g$ and the share of $G$'s variance it explains,

$$R^2 = 1 - \frac{\sum_{ij} (G_{ij} - g_{|i-j|})^2}{\sum_{ij} (G_{ij} - \bar G)^2},$$

which is exactly 1 for the sinusoidal table (its dot products depend on the offset only).
"""
from __future__ import annotations

import torch

from ..validate import InputError, check_ids, check_positive, check_tensor, check_type
from .embeddings import BertEmbeddings

__all__ = ["embedding_sum", "one_hot_codes", "stacked_table", "offset_profile"]


def embedding_sum(embeddings: BertEmbeddings, input_ids: torch.Tensor,
                  token_type_ids: torch.Tensor | None = None) -> torch.Tensor:
    r"""$W^{tok}_{x_{bt}} + W^{seg}_{s_{bt}} + W^{pos}_t$ ``(B, T, H)``: BERT's input before LayerNorm and dropout."""
    check_type("embeddings", embeddings, BertEmbeddings)
    embeddings.check_inputs(input_ids, token_type_ids)
    if token_type_ids is None:
        token_type_ids = torch.zeros_like(input_ids)
    positions = torch.arange(input_ids.shape[1], device=input_ids.device)
    return (embeddings.word_embeddings(input_ids) + embeddings.token_type_embeddings(token_type_ids)
            + embeddings.position_embeddings(positions)[None])


def one_hot_codes(input_ids: torch.Tensor, token_type_ids: torch.Tensor, *, vocab_size: int, type_vocab_size: int,
                  max_position_embeddings: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    r"""$[u_x; u_s; u_t]$ for every token: ``(B, T, V + S + P)``, exactly three ones per row.

    ``input_ids`` and ``token_type_ids`` ``(B, T)``; the positions are ``0 .. T-1``.
    """
    for name, size in (("vocab_size", vocab_size), ("type_vocab_size", type_vocab_size),
                       ("max_position_embeddings", max_position_embeddings)):
        check_positive(name, size, integer=True)
    dims: dict = {}
    check_ids("input_ids", input_ids, vocab_size, ("B", "T"), dims=dims, vocab_from="vocab_size")
    check_tensor("token_type_ids", token_type_ids, ("B", "T"), dims=dims, device=input_ids.device)
    check_ids("token_type_ids", token_type_ids, type_vocab_size, vocab_from="type_vocab_size")
    check_type("dtype", dtype, torch.dtype)
    if not dtype.is_floating_point:
        raise InputError(f"dtype must be a floating dtype, got {dtype}")
    B, T = input_ids.shape
    if T > max_position_embeddings:
        raise InputError(f"input_ids has {T} tokens per sequence but max_position_embeddings is "
                         f"{max_position_embeddings}")
    V, S = vocab_size, type_vocab_size
    codes = torch.zeros(B, T, V + S + max_position_embeddings, dtype=dtype, device=input_ids.device)
    positions = torch.arange(T, device=input_ids.device).expand(B, T)
    for offset, index in ((0, input_ids), (V, token_type_ids), (V + S, positions)):
        codes.scatter_(2, (index + offset).unsqueeze(2), 1.0)           # one 1 per block
    return codes


def stacked_table(embeddings: BertEmbeddings) -> torch.Tensor:
    r"""$W = [W^{tok}; W^{seg}; W^{pos}]$ ``(V + S + P, H)``, rows in the order of :func:`one_hot_codes`."""
    check_type("embeddings", embeddings, BertEmbeddings)
    return torch.cat([embeddings.word_embeddings.weight, embeddings.token_type_embeddings.weight,
                      embeddings.position_embeddings.weight], dim=0)


def offset_profile(similarity: torch.Tensor) -> tuple[torch.Tensor, float]:
    r"""$g_k = \mathrm{mean}_{|i-j|=k} G_{ij}$ ``(P,)`` and the $R^2$ of $G_{ij} \approx g_{|i-j|}$.

    ``similarity`` ``(P, P)`` float, ``P >= 2``, not constant (its variance is the denominator).
    """
    check_tensor("similarity", similarity, ("P", "P"), dtype="float")
    P = similarity.shape[0]
    if P < 2:
        raise InputError(f"similarity is {P} x {P}: need at least 2 x 2 for an offset profile")
    idx = torch.arange(P, device=similarity.device)
    offset = (idx[:, None] - idx[None, :]).abs()                                 # (P, P): |i - j|
    sums = torch.zeros(P, dtype=similarity.dtype, device=similarity.device).scatter_add_(
        0, offset.reshape(-1), similarity.reshape(-1))
    counts = torch.bincount(offset.reshape(-1), minlength=P).to(similarity.dtype)
    profile = sums / counts                                                      # g_k, k = 0 .. P-1
    total = (similarity - similarity.mean()).pow(2).sum()
    if not bool(torch.isfinite(total)) or float(total) == 0.0:
        raise InputError("similarity must be finite and not constant (R^2 divides by its variance)")
    residual = (similarity - profile[offset]).pow(2).sum()
    return profile, float(1.0 - residual / total)

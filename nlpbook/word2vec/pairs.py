"""Training examples for word2vec: (center, context) pairs and CBOW context windows.

The API, used by both word2vec chapters (shapes in brackets, ``N`` tokens, ``W`` the window)::

    ids, sentence_ids = concat_sentences(encoded_sentences)          # (N,), (N,)
    windows = draw_effective_windows(N, W, generator)                # (N,) in 1..W
    centers, contexts = skipgram_pairs(ids, W, generator, sentence_ids=sentence_ids)   # (P,), (P,)
    contexts, mask, centers = cbow_windows(ids, W, generator, pad_id=0, sentence_ids=...)
                                                                     # (P, 2W), (P, 2W), (P,)
    for centers_b, contexts_b in shuffled_batches(centers, contexts, batch_size=..., generator=g): ...
    context_ids, used = context_grid(ids, W, generator, sentence_ids=...)  # (N, 2W), (N, 2W): both read off this

**Dynamic window.** word2vec.c does not use every word within ``W`` positions of the center.
For each center position it draws ``b = next_random % W`` and uses the context positions
``t + j`` with ``0 < |j| <= W - b``: the *effective window* ``w_t = W - b`` is uniform in
``1..W``, so a word ``d`` positions away is used with probability ``(W - d + 1) / W`` and near
words count more than far ones. :func:`draw_effective_windows` draws ``w_t`` from a seeded
``torch.Generator``; every function here also accepts ``effective_windows`` directly, so a test
can hand the same draws to the fast code and to the slow reference. CBOW uses the same window
for a center as skip-gram would.

**Sentence boundaries.** A context never crosses a sentence: token ``t + j`` is a context of
``t`` only if both carry the same ``sentence_ids`` value (default: the whole of ``ids`` is one
sentence).

**Order.** Pairs come out center by center (position ``t`` ascending) and, for one center,
offset ``j`` ascending from ``-w_t`` to ``w_t``: word2vec.c's order, and the order of the
explicit loops in :func:`skipgram_pairs_reference` and :func:`cbow_windows_reference`.
"""
from __future__ import annotations

from typing import Iterator, Sequence

import torch

from ..validate import InputError, InputTypeError, check_number, check_positive, check_tensor

__all__ = [
    "concat_sentences", "draw_effective_windows", "skipgram_pairs", "skipgram_pairs_reference",
    "cbow_windows", "cbow_windows_reference", "context_grid", "shuffled_batches",
]


def concat_sentences(sentences: Sequence[Sequence[int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Join encoded sentences into one stream: ``ids`` (N,) and ``sentence_ids`` (N,), both int64.

    ``sentence_ids[t]`` is the index of the sentence token ``t`` came from; empty sentences
    contribute nothing.
    """
    lengths = torch.tensor([len(s) for s in sentences], dtype=torch.long)
    if len(sentences) == 0 or int(lengths.sum()) == 0:
        raise ValueError("concat_sentences: no tokens (every sentence is empty)")
    ids = torch.cat([torch.as_tensor(list(s), dtype=torch.long) for s in sentences if len(s)])
    sentence_ids = torch.repeat_interleave(torch.arange(len(sentences)), lengths)
    return ids, sentence_ids


def draw_effective_windows(n: int, window: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """The effective window of each of ``n`` positions, (n,) int64, uniform in ``1..window``.

    word2vec.c: ``b = next_random % window``, effective window ``window - b``.
    """
    _check_window(window)
    check_number("n", n, low=0, integer=True, what="a non-negative int")
    b = torch.randint(0, window, (n,), generator=generator)
    return window - b


def _check_window(window: int) -> None:
    check_positive("window", window, integer=True)


def _check_inputs(ids, window, sentence_ids, effective_windows, generator):
    """Validate the shared inputs; return (ids, sentence_ids, effective_windows) as int64 (N,)."""
    _check_window(window)
    if not isinstance(ids, torch.Tensor) or ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D tensor of token ids (N,), got "
                         f"{type(ids).__name__} of shape {tuple(getattr(ids, 'shape', ()))}")
    if ids.dtype not in (torch.int64, torch.int32):
        raise TypeError(f"ids must be an integer tensor, got dtype {ids.dtype}")
    n = ids.numel()
    ids = ids.long()
    dims = {"N": (n, "len(ids)")}
    if sentence_ids is None:
        sentence_ids = torch.zeros(n, dtype=torch.long, device=ids.device)
    else:
        check_tensor("sentence_ids", sentence_ids, ("N",), dims=dims, dtype="integer", allow_empty=True)
    if effective_windows is None:
        effective_windows = draw_effective_windows(n, window, generator).to(ids.device)
    else:
        check_tensor("effective_windows", effective_windows, ("N",), dims=dims, dtype="integer", allow_empty=True)
        if n and (int(effective_windows.min()) < 1 or int(effective_windows.max()) > window):
            raise ValueError(f"effective_windows must lie in 1..{window}, got values in "
                             f"{int(effective_windows.min())}..{int(effective_windows.max())}")
    return ids, sentence_ids.long(), effective_windows.long()


def context_grid(ids: torch.Tensor, window: int, generator: torch.Generator | None = None, *,
                 sentence_ids: torch.Tensor | None = None,
                 effective_windows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """For every position t and offset j in -W..-1, 1..W: the context id and whether it is used.

    Returns ``context_ids`` (N, 2W) and ``used`` (N, 2W) bool, where column k holds offset
    ``offsets[k]`` (ascending, 0 skipped) and ``used[t, k]`` means position ``t + offsets[k]``
    exists, lies in the same sentence, and ``|offsets[k]| <= effective_windows[t]``.
    Skip-gram and CBOW examples are both read off this grid.
    """
    ids, sentence_ids, effective_windows = _check_inputs(ids, window, sentence_ids, effective_windows, generator)
    n = ids.numel()
    offsets = torch.cat([torch.arange(-window, 0), torch.arange(1, window + 1)]).to(ids.device)  # (2W,)
    positions = torch.arange(n, device=ids.device)[:, None] + offsets[None, :]                   # (N, 2W)
    inside = (positions >= 0) & (positions < n)
    safe = positions.clamp(0, max(n - 1, 0))                 # any valid index; `used` masks it out
    used = (inside
            & (sentence_ids[safe] == sentence_ids[:, None])  # never cross a sentence
            & (offsets.abs()[None, :] <= effective_windows[:, None]))
    return ids[safe], used


def skipgram_pairs(ids: torch.Tensor, window: int, generator: torch.Generator | None = None, *,
                   sentence_ids: torch.Tensor | None = None,
                   effective_windows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Skip-gram examples: ``centers`` (P,) and ``contexts`` (P,), one row per (center, context) pair.

    Vectorised: one (N, 2W) grid of candidate contexts, masked, then flattened row by row, so
    the order is word2vec.c's (see the module docstring). ``effective_windows`` (N,) fixes the
    window draws; otherwise they come from ``generator``.
    """
    context_ids, used = context_grid(ids, window, generator, sentence_ids=sentence_ids,
                                     effective_windows=effective_windows)
    centers = ids.long()[:, None].expand_as(context_ids)[used]   # boolean indexing walks row-major
    return centers, context_ids[used]


def skipgram_pairs_reference(ids: Sequence[int], window: int, effective_windows: Sequence[int],
                             sentence_ids: Sequence[int] | None = None) -> list[tuple[int, int]]:
    """The same pairs, by the explicit loop of word2vec.c (slow; for checking :func:`skipgram_pairs`)."""
    ids, windows = [int(i) for i in ids], [int(w) for w in effective_windows]
    sentence_ids = [0] * len(ids) if sentence_ids is None else [int(s) for s in sentence_ids]
    pairs = []
    for t in range(len(ids)):
        for j in range(-windows[t], windows[t] + 1):
            if j == 0 or not 0 <= t + j < len(ids) or sentence_ids[t + j] != sentence_ids[t]:
                continue
            pairs.append((ids[t], ids[t + j]))
    return pairs


def cbow_windows(ids: torch.Tensor, window: int, generator: torch.Generator | None = None, *,
                 pad_id: int = 0, sentence_ids: torch.Tensor | None = None,
                 effective_windows: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CBOW examples: ``contexts`` (P, 2W) padded with ``pad_id``, ``mask`` (P, 2W) bool, ``centers`` (P,).

    Row ``p`` holds the context of one center, in offset order ``-W..-1, 1..W``; ``mask`` marks
    the real context words (padding is any unused slot: outside the effective window, outside
    the sentence, or past either end). Positions with no context at all (a one-word sentence)
    yield no row, as in word2vec.c (``if (cw)``). The model must use ``mask``, not ``pad_id``,
    to tell padding apart: ``pad_id`` may be a real word's id.
    """
    context_ids, used = context_grid(ids, window, generator, sentence_ids=sentence_ids,
                                     effective_windows=effective_windows)
    keep = used.any(dim=1)
    contexts = torch.where(used, context_ids, torch.full_like(context_ids, pad_id))
    return contexts[keep], used[keep], ids.long()[keep]


def cbow_windows_reference(ids: Sequence[int], window: int, effective_windows: Sequence[int],
                           sentence_ids: Sequence[int] | None = None) -> list[tuple[list[int], int]]:
    """The CBOW examples by an explicit loop: ``[(context word ids in offset order, center id), ...]``."""
    ids, windows = [int(i) for i in ids], [int(w) for w in effective_windows]
    sentence_ids = [0] * len(ids) if sentence_ids is None else [int(s) for s in sentence_ids]
    examples = []
    for t in range(len(ids)):
        context = [ids[t + j] for j in range(-windows[t], windows[t] + 1)
                   if j != 0 and 0 <= t + j < len(ids) and sentence_ids[t + j] == sentence_ids[t]]
        if context:
            examples.append((context, ids[t]))
    return examples


def shuffled_batches(*tensors: torch.Tensor, batch_size: int,
                     generator: torch.Generator | None = None) -> Iterator[tuple[torch.Tensor, ...]]:
    """Yield the rows of ``tensors`` (all with the same first dimension) in a random order, in batches.

    The last batch may be smaller. With a seeded ``generator`` the order repeats.
    """
    if not tensors:
        raise InputError("tensors: shuffled_batches needs at least one tensor")
    for i, t in enumerate(tensors):
        if not isinstance(t, torch.Tensor) or t.dim() == 0:
            raise InputTypeError(f"tensors[{i}] must be a tensor with a first dimension, got {type(t).__name__}")
    check_positive("batch_size", batch_size, integer=True)
    n = tensors[0].shape[0]
    if any(t.shape[0] != n for t in tensors):
        raise InputError(f"tensors must all have the same first dimension, got {[tuple(t.shape) for t in tensors]}")
    order = torch.randperm(n, generator=generator)
    for start in range(0, n, batch_size):
        rows = order[start:start + batch_size]
        yield tuple(t[rows] for t in tensors)

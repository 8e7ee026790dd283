"""Skip-gram and CBOW with negative sampling (SGNS), the explicit models and a fast trainer.

**Skip-gram with negative sampling.** For a centre word $c$ with input vector $v_c$, an
observed context word $o$ with output vector $u_o$, and $K$ negatives $w_1..w_K \\sim P_n$,
the loss of one pair is (Mikolov et al. 2013, eq. 4, negated)

$$\\ell = -\\log\\sigma(u_o^\\top v_c) - \\sum_{k=1}^{K} \\log\\sigma(-u_{w_k}^\\top v_c).$$

With $\\sigma'(x) = \\sigma(x)(1-\\sigma(x))$ and $\\frac{d}{dx}\\log\\sigma(x) = 1 - \\sigma(x)$:

$$\\frac{\\partial \\ell}{\\partial v_c} = (\\sigma(u_o^\\top v_c) - 1)\\,u_o + \\sum_k \\sigma(u_{w_k}^\\top v_c)\\,u_{w_k},\\quad
  \\frac{\\partial \\ell}{\\partial u_o} = (\\sigma(u_o^\\top v_c) - 1)\\,v_c,\\quad
  \\frac{\\partial \\ell}{\\partial u_{w_k}} = \\sigma(u_{w_k}^\\top v_c)\\,v_c.$$

Every gradient is "prediction minus label" times the other vector: with targets
$t_0 = o$ (label 1) and $t_k = w_k$ (label 0), $g_j = \\sigma(u_{t_j}^\\top v_c) - y_j$.

**CBOW with negative sampling.** The context is averaged, $h = \\frac{1}{|C|}\\sum_{j\\in C} v_j$,
and $h$ takes the place of $v_c$ with the centre word as the positive target. word2vec.c and
gensim (``cbow_mean=1``) then add $\\partial\\ell/\\partial h$ to *every* context vector, not
$\\frac{1}{|C|}\\partial\\ell/\\partial h$ (the true gradient of the mean); we do the same and test it.

**The fast path.** word2vec.c updates one pair at a time from many threads without locks
(Hogwild). Python cannot loop over tens of millions of pairs, so :func:`sgns_step` takes a
batch of $B$ pairs at once: gathers of the rows it needs, batched matrix products, the
hand-derived gradients above, and ``index_add_`` of the updates into the two weight
matrices. ``index_add_`` sums the updates of a word that occurs several times in a batch,
exactly what SGD on the summed loss does; no autograd graph and no dense gradient of the
$(V, D)$ matrices is ever built. That is why it beats ``nn.Embedding(sparse=True)`` with an
optimizer, which builds a sparse gradient, coalesces it, then applies it (the chapter times both).
Groups of $P$ pairs share their $K$ negatives (``share_negatives``), which makes the negative
scores one batched matrix product and cuts the scattered rows $P$-fold. The trainer shuffles
each chunk's pairs (``shuffle``), so a group's pairs have different centre words and a batch
holds pairs from all over the chunk; in corpus order (``shuffle=False``) it builds each group
from pairs far apart in the batch (``spread_groups``): groups of consecutive pairs, which mostly
share a centre word, measurably lowered analogy accuracy in our development runs.

Limits of batching: the $n$ updates of a word repeated $n$ times in a batch are computed
from the same starting vectors, as one step $n$ times larger, where word2vec.c takes $n$
small steps that each see the last. In corpus order the ~6 pairs of every centre occurrence
share a batch; shuffled, they fall in different batches (``benchmarks/word2vec.py``, one worker:
WS-353 rose by about 7 %, mean of 10 seeds). With a vocabulary of tens of thousands of words and
batches of about a thousand pairs this costs little (the book measures it against gensim);
with a vocabulary not much larger than the batch it diverges like a too-large learning rate.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..validate import (InputError, check_choice, check_ids, check_mask, check_mask_rows, check_number,
                        check_positive, check_tensor, check_type)
from . import sgns_compiled
from .noise import NoiseDistribution
from .pairs import cbow_windows, skipgram_pairs
from .subsampling import keep_probability


# ----------------------------------------------------------------------------------------------
# The explicit models: autograd computes the gradients. Used for teaching and as the reference.
# ----------------------------------------------------------------------------------------------

def init_word2vec_weights(vocab_size: int, dim: int, generator: torch.Generator | None = None,
                          dtype=torch.float32, device="cpu") -> tuple[torch.Tensor, torch.Tensor]:
    """word2vec.c's initialisation: input vectors $U(-0.5/D, 0.5/D)$, output vectors zero.

    Returns ``(in_vectors (V, D), out_vectors (V, D))``.
    """
    check_positive("vocab_size", vocab_size, integer=True)
    check_positive("dim", dim, integer=True)
    in_vectors = (torch.rand(vocab_size, dim, generator=generator, dtype=dtype) - 0.5) / dim
    return in_vectors.to(device), torch.zeros(vocab_size, dim, dtype=dtype, device=device)


class SkipGramNS(nn.Module):
    """Skip-gram with negative sampling; ``forward`` returns the loss of each pair, shape ``(B,)``."""

    def __init__(self, vocab_size: int, dim: int, generator: torch.Generator | None = None):
        super().__init__()
        in_vectors, out_vectors = init_word2vec_weights(vocab_size, dim, generator)
        self.in_vectors = nn.Embedding.from_pretrained(in_vectors, freeze=False)    # v: (V, D)
        self.out_vectors = nn.Embedding.from_pretrained(out_vectors, freeze=False)  # u: (V, D)

    def forward(self, center: torch.Tensor, context: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """``center (B,)``, ``context (B,)``, ``negatives (B, K)`` -> loss ``(B,)``.

        $\\ell = -\\log\\sigma(u_o^\\top v_c) - \\sum_k \\log\\sigma(-u_{w_k}^\\top v_c)$, where, as in
        word2vec.c, a negative that happens to be the positive word itself is skipped.
        """
        V = self.in_vectors.num_embeddings
        dims = {}
        check_ids("center", center, V, ("B",), dims=dims)
        check_ids("context", context, V, ("B",), dims=dims)
        check_ids("negatives", negatives, V, ("B", "K"), dims=dims)
        v_c = self.in_vectors(center)                                   # (B, D)
        u_o = self.out_vectors(context)                                 # (B, D)
        u_neg = self.out_vectors(negatives)                             # (B, K, D)
        positive = (u_o * v_c).sum(-1)                                  # (B,)
        negative = torch.bmm(u_neg, v_c.unsqueeze(2)).squeeze(2)        # (B, K)
        real = (negatives != context.unsqueeze(1)).to(negative.dtype)   # (B, K): 0 where w_k = o
        return -F.logsigmoid(positive) - (F.logsigmoid(-negative) * real).sum(-1)


class CBOWNS(nn.Module):
    """CBOW with negative sampling: the mean of the context vectors predicts the centre word."""

    def __init__(self, vocab_size: int, dim: int, generator: torch.Generator | None = None):
        super().__init__()
        in_vectors, out_vectors = init_word2vec_weights(vocab_size, dim, generator)
        self.in_vectors = nn.Embedding.from_pretrained(in_vectors, freeze=False)
        self.out_vectors = nn.Embedding.from_pretrained(out_vectors, freeze=False)

    def forward(self, context: torch.Tensor, context_mask: torch.Tensor, center: torch.Tensor,
                negatives: torch.Tensor) -> torch.Tensor:
        """``context (B, C)`` ids, ``context_mask (B, C)`` bool (False = padding), ``center (B,)``,
        ``negatives (B, K)`` -> loss ``(B,)``.

        $h = \\frac{1}{|C|}\\sum_{j \\in C} v_j$, $\\ell = -\\log\\sigma(u_c^\\top h) - \\sum_k \\log\\sigma(-u_{w_k}^\\top h)$
        """
        V = self.in_vectors.num_embeddings
        dims = {}
        check_ids("context", context, V, ("B", "C"), dims=dims)
        check_mask("context_mask", context_mask, ("B", "C"), dims=dims)
        check_mask_rows("context_mask", context_mask, "context word")
        check_ids("center", center, V, ("B",), dims=dims)
        check_ids("negatives", negatives, V, ("B", "K"), dims=dims)
        counts = context_mask.sum(1, keepdim=True)
        mask = context_mask.unsqueeze(2).to(self.in_vectors.weight.dtype)
        h = (self.in_vectors(context) * mask).sum(1) / counts            # (B, D)
        u_c = self.out_vectors(center)                                   # (B, D)
        u_neg = self.out_vectors(negatives)                              # (B, K, D)
        positive = (u_c * h).sum(-1)
        negative = torch.bmm(u_neg, h.unsqueeze(2)).squeeze(2)
        real = (negatives != center.unsqueeze(1)).to(negative.dtype)    # skip w_k = c, as word2vec.c
        return -F.logsigmoid(positive) - (F.logsigmoid(-negative) * real).sum(-1)


# ----------------------------------------------------------------------------------------------
# The hand-derived gradients and the fused update (the fast path).
# ----------------------------------------------------------------------------------------------

def sgns_gradients(v: torch.Tensor, u_pos: torch.Tensor, u_neg: torch.Tensor,
                   negative_is_positive: torch.Tensor | None = None, want_loss: bool = True, *,
                   check: bool = True):
    """Loss and gradients of a batch, from the formulas in the module docstring.

    ``v (B, D)``: the input vector of each example ($v_c$, or $h$ for CBOW);
    ``u_pos (B, D)``: the output vector of its positive target;
    ``u_neg (G, K, D)``: $K$ negatives for each of $G$ groups of $P = B / G$ consecutive examples.
    $G = B$ is word2vec's own scheme (every example draws its own $K$ negatives); $G < B$ lets
    the $P$ examples of a group share theirs (see :func:`sgns_step`).
    ``negative_is_positive (G, P, K)`` bool: negatives to skip because they are the example's
    own positive word (word2vec.c skips them); ``None`` skips none.
    Returns ``(loss (B,) or None, grad_v (B, D), grad_pos (B, D), grad_neg (G, K, D))``.

    $g^+ = \\sigma(u_o^\\top v) - 1$, $g_k = \\sigma(u_{w_k}^\\top v)$;
    $\\partial\\ell/\\partial v = g^+ u_o + \\sum_k g_k u_{w_k}$, $\\partial\\ell/\\partial u_o = g^+ v$,
    $\\partial\\ell/\\partial u_{w_k} = g_k v$ (summed over the examples that share $w_k$).
    ``check=False`` skips the input checks (:func:`sgns_step` has made them).
    """
    if check:
        dims = {}
        check_tensor("v", v, ("B", "D"), dims=dims, dtype="float")
        check_tensor("u_pos", u_pos, ("B", "D"), dims=dims, like=("v", v))
        check_tensor("u_neg", u_neg, ("G", "K", "D"), dims=dims, like=("v", v))
        if v.shape[0] % u_neg.shape[0]:
            raise InputError(f"u_neg is {tuple(u_neg.shape)}: its G = {u_neg.shape[0]} groups do not divide "
                             f"the batch of B = {v.shape[0]} in v")
        if negative_is_positive is not None:
            dims["P"] = (v.shape[0] // u_neg.shape[0], "B / G")
            check_mask("negative_is_positive", negative_is_positive, ("G", "P", "K"), dims=dims)
    B, D = v.shape
    G, K, _ = u_neg.shape
    v_grouped = v.view(G, B // G, D)                                    # (G, P, D)
    score_pos = (v * u_pos).sum(1)                                      # (B,)
    score_neg = torch.bmm(v_grouped, u_neg.transpose(1, 2))             # (G, P, K)
    g_pos = torch.sigmoid(score_pos) - 1.0                              # d loss / d score_pos
    g_neg = torch.sigmoid(score_neg)                                    # d loss / d score_neg
    if negative_is_positive is not None:
        g_neg = g_neg.masked_fill(negative_is_positive, 0.0)
    grad_v = torch.bmm(g_neg, u_neg).view(B, D).addcmul_(g_pos.unsqueeze(1), u_pos)
    grad_pos = g_pos.unsqueeze(1) * v
    grad_neg = torch.bmm(g_neg.transpose(1, 2), v_grouped)             # (G, K, D)
    loss = None
    if want_loss:  # -log sigma(s) = softplus(-s): stable for large |s|
        negative_loss = F.softplus(score_neg)
        if negative_is_positive is not None:
            negative_loss = negative_loss.masked_fill(negative_is_positive, 0.0)
        loss = F.softplus(-score_pos) + negative_loss.sum(2).view(B)
    return loss, grad_v, grad_pos, grad_neg


def _check_step(in_vectors, out_vectors, lr, positive_ids: dict, negatives) -> dict:
    """The shared checks of :func:`sgns_step` and :func:`cbow_step`; returns the named dims."""
    dims = {}
    check_tensor("in_vectors", in_vectors, ("V", "D"), dims=dims, dtype="float")
    check_tensor("out_vectors", out_vectors, ("V", "D"), dims=dims, like=("in_vectors", in_vectors))
    V = in_vectors.shape[0]
    for name, (ids, shape) in positive_ids.items():
        check_ids(name, ids, V, shape, dims=dims)
    check_ids("negatives", negatives, V, ("G", "K"), dims=dims)
    if dims["B"][0] % negatives.shape[0]:
        raise InputError(f"negatives must be (G, K) with G dividing the batch size {dims['B'][0]}, "
                         f"got {tuple(negatives.shape)}")
    check_positive("lr", lr)
    return dims


def _fused_step(in_vectors, out_vectors, center, context, negatives):
    """The compiled step when it is built and the tensors are what it reads (CPU, contiguous, int64 ids)."""
    if not (in_vectors.device.type == "cpu" and in_vectors.dtype in (torch.float32, torch.float64)
            and in_vectors.is_contiguous() and out_vectors.is_contiguous()
            and all(t.dtype == torch.int64 and t.is_contiguous() and t.device.type == "cpu"
                    for t in (center, context, negatives))):
        return None
    module = sgns_compiled.load()
    return None if module is None else module.sgns_step_fused


@torch.no_grad()
def sgns_step(in_vectors: torch.Tensor, out_vectors: torch.Tensor, center: torch.Tensor,
              context: torch.Tensor, negatives: torch.Tensor, lr: float, want_loss: bool = False, *,
              check: bool = True):
    """One SGD step of skip-gram on a batch of pairs, in place: $W \\leftarrow W - \\eta\\,\\partial L/\\partial W$, $L = \\sum_b \\ell_b$.

    ``in_vectors, out_vectors (V, D)``; ``center, context (B,)``; ``negatives (G, K)``.
    With ``G == B`` each pair has its own $K$ negatives (word2vec.c). With ``G < B`` the
    $P = B/G$ consecutive pairs of a group share them: every pair still sees $K$ independent
    draws from $P_n$, so the expected gradient is unchanged, but the $(B, K, D)$ gather, outer
    product and scatter shrink to $(G, K, D)$ and the scores become one batched matrix
    product (Ji et al. 2016, "Parallelizing Word2Vec in Shared and Distributed Memory", share
    negatives the same way). Groups are consecutive rows here; :func:`train_word2vec` fills
    each group with pairs of different centre words (``spread_groups``).
    Returns the summed loss of the batch as a 0-d tensor when ``want_loss`` (no device sync), else ``None``.
    ``check=False`` skips the input checks (the id range checks cost a sync; the trainer checks once).
    """
    if check:
        _check_step(in_vectors, out_vectors, lr, {"center": (center, ("B",)), "context": (context, ("B",))},
                    negatives)
    fused = _fused_step(in_vectors, out_vectors, center, context, negatives)
    if fused is not None:   # the same step in one C++ pass (nlpbook/word2vec/sgns_compiled.py)
        loss = fused(in_vectors, out_vectors, center, context, negatives, float(lr), want_loss)
        return torch.tensor(loss, dtype=in_vectors.dtype) if want_loss else None
    v = in_vectors.index_select(0, center)                              # (B, D)
    u_pos = out_vectors.index_select(0, context)                        # (B, D)
    flat_negatives = negatives.reshape(-1)
    u_neg = out_vectors.index_select(0, flat_negatives).view(*negatives.shape, -1)  # (G, K, D)
    skip = negatives.unsqueeze(1) == context.view(negatives.shape[0], -1, 1)   # (G, P, K)
    loss, grad_v, grad_pos, grad_neg = sgns_gradients(v, u_pos, u_neg, skip, want_loss, check=False)
    in_vectors.index_add_(0, center, grad_v, alpha=-lr)
    out_vectors.index_add_(0, context, grad_pos, alpha=-lr)
    out_vectors.index_add_(0, flat_negatives, grad_neg.view(-1, grad_neg.shape[-1]), alpha=-lr)
    return loss.sum() if want_loss else None


@torch.no_grad()
def cbow_step(in_vectors: torch.Tensor, out_vectors: torch.Tensor, context: torch.Tensor,
              context_mask: torch.Tensor, center: torch.Tensor, negatives: torch.Tensor, lr: float,
              want_loss: bool = False, *, check: bool = True):
    """One SGD step of CBOW (``cbow_mean=1``, word2vec.c's update) on a batch, in place.

    ``context (B, C)`` with ``context_mask (B, C)``; ``center (B,)``; ``negatives (G, K)`` as in
    :func:`sgns_step`. Every context word receives $-\\eta\\,\\partial\\ell/\\partial h$ (word2vec.c, gensim).
    Every row needs at least one context word (``context_mask`` True). ``check=False`` skips the checks.
    """
    if check:
        dims = _check_step(in_vectors, out_vectors, lr, {"context": (context, ("B", "C")),
                                                         "center": (center, ("B",))}, negatives)
        check_mask("context_mask", context_mask, ("B", "C"), dims=dims)
        check_mask_rows("context_mask", context_mask, "context word")
    counts = context_mask.sum(1, keepdim=True).to(in_vectors.dtype)   # (B, 1)
    flat_context = context[context_mask]                                # (M,) the real context words
    rows = torch.arange(context.shape[0], device=context.device).unsqueeze(1).expand_as(context)[context_mask]
    h = torch.zeros(context.shape[0], in_vectors.shape[1], dtype=in_vectors.dtype, device=in_vectors.device)
    h.index_add_(0, rows, in_vectors.index_select(0, flat_context))
    h /= counts                                                         # (B, D)
    u_pos = out_vectors.index_select(0, center)
    flat_negatives = negatives.reshape(-1)
    u_neg = out_vectors.index_select(0, flat_negatives).view(*negatives.shape, -1)
    skip = negatives.unsqueeze(1) == center.view(negatives.shape[0], -1, 1)    # (G, P, K)
    loss, grad_h, grad_pos, grad_neg = sgns_gradients(h, u_pos, u_neg, skip, want_loss, check=False)
    in_vectors.index_add_(0, flat_context, grad_h.index_select(0, rows), alpha=-lr)
    out_vectors.index_add_(0, center, grad_pos, alpha=-lr)
    out_vectors.index_add_(0, flat_negatives, grad_neg.view(-1, grad_neg.shape[-1]), alpha=-lr)
    return loss.sum() if want_loss else None


# ----------------------------------------------------------------------------------------------
# Examples straight from the token stream, vectorised (the trainer's input pipeline).
# ----------------------------------------------------------------------------------------------

def skipgram_examples(ids, sentence, window, generator=None):
    """``(center (P,), context (P,))`` for a chunk of kept tokens, in corpus order.

    The pairs are chapter 1's :func:`~nlpbook.word2vec.pairs.skipgram_pairs` (word2vec.c's
    dynamic window, no pair across a sentence); the windows are drawn here on ``ids.device``
    so the whole pipeline stays on the GPU when there is one.
    """
    windows = torch.randint(1, window + 1, ids.shape, generator=generator, device=ids.device)
    return skipgram_pairs(ids, window, sentence_ids=sentence, effective_windows=windows)


def cbow_examples(ids, sentence, window, generator=None):
    """``(context (P, 2W), mask (P, 2W), center (P,))`` from :func:`~nlpbook.word2vec.pairs.cbow_windows`."""
    windows = torch.randint(1, window + 1, ids.shape, generator=generator, device=ids.device)
    return cbow_windows(ids, window, sentence_ids=sentence, effective_windows=windows)


def spread_order(size: int, groups: int, device="cpu") -> torch.Tensor:
    """The permutation that puts pairs ``g, g + G, g + 2G, ...`` into group ``g``, shape ``(size,)``.

    After ``batch[spread_order(B, G)]``, consecutive rows ``g*P .. g*P + P - 1`` (one group of
    :func:`sgns_step`) hold pairs that were ``G`` apart in corpus order.
    """
    check_positive("size", size, integer=True)
    check_positive("groups", groups, integer=True)
    if size % groups:
        raise InputError(f"groups = {groups} does not divide a batch of size {size}")
    return torch.arange(size, device=device).view(size // groups, groups).t().reshape(-1)


def _batch_plan(n_examples: int, batch_size: int, share_negatives: int) -> list[tuple[int, int, int]]:
    """``(first, size, groups)`` of each batch of ``n_examples``: ``groups = size / share_negatives``
    examples share each set of negatives, or every example has its own when that does not divide."""
    check_positive("n_examples", n_examples, integer=True, allow_zero=True)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("share_negatives", share_negatives, integer=True)
    plan = []
    for first in range(0, n_examples, batch_size):
        size = min(batch_size, n_examples - first)
        plan.append((first, size, size // share_negatives if size % share_negatives == 0 else size))
    return plan


def _chunk_spread_order(plan: list[tuple[int, int, int]], device="cpu") -> torch.Tensor:
    """One permutation of a chunk's examples: :func:`spread_order` within every batch of ``plan``."""
    pieces, full = [], [(f, s, g) for f, s, g in plan if s == plan[0][1]]
    if full:    # the batches of the full size: one reshape for all of them
        count, size, groups = len(full), plan[0][1], plan[0][2]
        pieces.append(torch.arange(count * size, device=device).view(count, size // groups, groups)
                      .transpose(1, 2).reshape(-1))
    for first, size, groups in plan[len(full):]:
        pieces.append(first + spread_order(size, groups, device))
    return torch.cat(pieces) if pieces else torch.zeros(0, dtype=torch.long, device=device)


# ----------------------------------------------------------------------------------------------
# The trainer.
# ----------------------------------------------------------------------------------------------

@dataclass
class Word2VecConfig:
    """The hyperparameters, named as in gensim's ``Word2Vec`` so the two can be set alike."""

    vector_size: int = 100
    window: int = 5
    negative: int = 5
    epochs: int = 5
    sample: float = 1e-3
    sg: int = 1                 # 1 skip-gram, 0 CBOW
    alpha: float | None = None  # start learning rate; None: 0.025 for skip-gram, 0.05 for CBOW (word2vec.c's)
    min_alpha: float = 1e-4
    batch_size: int = 1024      # pairs (skip-gram) or windows (CBOW) per step
    share_negatives: int = 4    # examples per group sharing K negatives (1 = word2vec.c's scheme)
    spread_groups: bool = True  # without shuffle: a group takes pairs B/P apart in the batch, not consecutive ones
    shuffle: bool = True        # a chunk's examples in random order (False: corpus order, as word2vec.c)
    chunk_tokens: int = 200_000  # tokens turned into examples at once (bounds memory)
    ns_exponent: float = 0.75
    noise_table_size: int = 10_000_000  # word2vec.c uses 1e8; 1e7 keeps every share within 1e-7
    threads: int | None = None  # torch intra-op threads while training (None: leave the setting alone)
    workers: int = 1            # Hogwild worker threads, each on its own chunks (word2vec.c's scheme)
    seed: int = 0

    def __post_init__(self):
        self.check()

    def check(self) -> None:
        """Every field in its range (called on construction and again by :func:`train_word2vec`)."""
        for name in ("vector_size", "window", "negative", "epochs", "batch_size", "share_negatives",
                     "chunk_tokens", "noise_table_size", "workers"):
            check_positive(name, getattr(self, name), integer=True)
        if self.threads is not None:
            check_positive("threads", self.threads, integer=True)
        if self.alpha is not None:
            check_positive("alpha", self.alpha)
        for name in ("min_alpha", "sample", "ns_exponent"):
            check_positive(name, getattr(self, name), allow_zero=True)
        check_choice("sg", self.sg, (0, 1))
        for name in ("shuffle", "spread_groups"):
            check_type(name, getattr(self, name), bool)
        check_number("seed", self.seed, integer=True)
        if self.batch_size % self.share_negatives:
            raise InputError(f"batch_size {self.batch_size} must be a multiple of share_negatives "
                             f"{self.share_negatives}")

    def start_alpha(self) -> float:
        return self.alpha if self.alpha is not None else (0.025 if self.sg else 0.05)


@dataclass
class TrainResult:
    """The trained vectors and what the run measured."""

    in_vectors: torch.Tensor          # (V, D): the word vectors
    out_vectors: torch.Tensor         # (V, D)
    seconds: float
    raw_words: int                    # corpus tokens x epochs (before subsampling)
    kept_words: int                   # tokens left after subsampling, summed over epochs
    examples: int                     # pairs (skip-gram) or windows (CBOW)
    losses: list[float] = field(default_factory=list)   # mean pair loss over each `loss_every` steps
    progress: list[float] = field(default_factory=list)  # fraction of training done at each of them

    @property
    def words_per_second(self) -> float:
        """Raw corpus tokens (times epochs) per second of training, counted as for gensim in the book."""
        return self.raw_words / self.seconds


def _learning_rate(start_alpha: float, min_alpha: float, done: float, total: float) -> float:
    """word2vec.c's schedule: $\\eta = \\max(\\eta_{min}, \\eta_0 - (\\eta_0 - \\eta_{min})\\,\\text{done}/\\text{total})$,
    linear in the tokens processed (``done`` of ``total``, over all epochs)."""
    return max(min_alpha, start_alpha - (start_alpha - min_alpha) * done / total)


def flatten_corpus(sentences, stoi) -> tuple[torch.Tensor, torch.Tensor, int]:
    """Token lists -> ``(ids (N,), sentence (N,), n_raw)`` keeping only in-vocabulary words.

    Out-of-vocabulary words are dropped before windowing, as in word2vec.c and gensim.
    ``n_raw`` counts every token, as gensim's raw-word count does.
    """
    ids, sentence, n_raw = [], [], 0
    for number, tokens in enumerate(sentences):
        n_raw += len(tokens)
        kept = [stoi[t] for t in tokens if t in stoi]
        ids.extend(kept)
        sentence.extend([number] * len(kept))
    if not ids:
        raise ValueError("no token of the corpus is in the vocabulary")
    return torch.tensor(ids, dtype=torch.int64), torch.tensor(sentence, dtype=torch.int64), n_raw


def train_word2vec(ids: torch.Tensor, sentence: torch.Tensor, counts, config: Word2VecConfig,
                   device="cpu", n_raw: int | None = None, loss_every: int = 50) -> TrainResult:
    """Train skip-gram or CBOW with negative sampling on a flat corpus; return the vectors.

    ``ids, sentence (N,)`` from :func:`flatten_corpus`; ``counts (V,)``: vocabulary counts
    (for subsampling and the noise distribution). The learning rate falls linearly from
    ``alpha`` to ``min_alpha`` over all epochs, by the share of tokens processed, batch by batch
    (word2vec.c and gensim lower it every 10,000 words).
    """
    device = torch.device(device)
    check_type("config", config, Word2VecConfig)
    config.check()
    counts = np.asarray(counts)
    if counts.ndim != 1 or counts.size == 0 or counts.dtype.kind not in "iuf":
        raise InputError(f"counts must be a non-empty 1-D array of word counts, got {counts.dtype} "
                         f"of shape {counts.shape}")
    vocab_size = len(counts)
    dims = {}
    check_ids("ids", ids, vocab_size, ("N",), dims=dims, vocab_from="len(counts)")
    check_tensor("sentence", sentence, ("N",), dims=dims, dtype="integer")
    cpu_generator = torch.Generator().manual_seed(config.seed)
    in_vectors, out_vectors = init_word2vec_weights(vocab_size, config.vector_size, cpu_generator, device=device)
    noise = NoiseDistribution(counts, config.ns_exponent, config.noise_table_size, device=device)
    keep = torch.from_numpy(keep_probability(counts, config.sample)).float().to(device)
    ids, sentence = ids.to(device), sentence.to(device)
    n = ids.shape[0]
    start_alpha = config.start_alpha()
    total = n * config.epochs
    result = TrainResult(in_vectors, out_vectors, 0.0, (n_raw or n) * config.epochs, 0, 0)
    # The work: every chunk of every epoch, in order. The learning rate of a batch depends only
    # on its place in the corpus, as in word2vec.c (which decays it by words processed), so it
    # is the same with any number of workers.
    tasks = [(epoch, begin) for epoch in range(config.epochs) for begin in range(0, n, config.chunk_tokens)]
    next_task = iter(range(len(tasks)))
    lock = threading.Lock()
    failures: list[BaseException] = []

    # Skip-gram on the CPU runs sgns_step's C++ pass where it is built (nlpbook.word2vec.sgns_compiled).
    fused = _fused_step(in_vectors, out_vectors, ids[:1], ids[:1], ids[:1].view(1, 1)) if config.sg else None

    def work(worker: int):
        generator = torch.Generator(device=device).manual_seed(config.seed + worker)
        step, running_loss, running_count = 0, 0.0, 0
        while not failures:
            with lock:
                index = next(next_task, None)
            if index is None:
                return
            epoch, begin = tasks[index]
            chunk = slice(begin, min(begin + config.chunk_tokens, n))
            kept = torch.rand(chunk.stop - chunk.start, generator=generator, device=device) < keep[ids[chunk]]
            chunk_ids, chunk_sentence = ids[chunk][kept], sentence[chunk][kept]
            make_examples = skipgram_examples if config.sg else cbow_examples
            examples = make_examples(chunk_ids, chunk_sentence, config.window, generator)
            n_examples = examples[-1].shape[0]
            # The chunk's batches: (first, size, groups sharing negatives) each. Their spread order
            # and negatives are made for the whole chunk at once: a few large ops, not many small ones.
            plan = _batch_plan(n_examples, config.batch_size, config.share_negatives)
            if config.shuffle:
                # The chunk's examples in random order: a batch then holds pairs from all over the
                # chunk, not the ~6 pairs of each of ~170 consecutive centre words, so the updates
                # of one centre occurrence fall in different steps, each seeing the last, as in
                # word2vec.c, and a group's pairs have different centre words too.
                order = torch.randperm(n_examples, generator=generator, device=device)
                examples = [t.index_select(0, order) for t in examples]
            elif config.spread_groups:
                # Consecutive pairs mostly share a centre word; if they shared negatives too, each
                # centre occurrence would meet fewer distinct negatives than in word2vec.c. Group g
                # of a batch takes its pairs g, g + G, g + 2G, ... instead (spread_order).
                order = _chunk_spread_order(plan, device)
                examples = [t.index_select(0, order) for t in examples]
            all_negatives = noise.sample((sum(groups for _, _, groups in plan), config.negative), generator)
            used = 0
            for first, size, groups in plan:
                batch = [t[first:first + size] for t in examples]
                negatives = all_negatives[used:used + groups]
                used += groups
                # The learning rate at this batch's place in the corpus (its share of the chunk's
                # examples stands for its share of the chunk's tokens): it falls within a chunk too.
                alpha = _learning_rate(start_alpha, config.min_alpha,
                                      epoch * n + begin + (chunk.stop - chunk.start) * first / n_examples, total)
                if fused is not None:       # sgns_step's compiled pass, called directly (a float back)
                    loss = fused(in_vectors, out_vectors, batch[0], batch[1], negatives, alpha, True)
                elif config.sg:
                    loss = sgns_step(in_vectors, out_vectors, batch[0], batch[1], negatives, alpha, True, check=False)
                else:
                    loss = cbow_step(in_vectors, out_vectors, batch[0], batch[1], batch[2], negatives, alpha, True,
                                     check=False)
                running_loss, running_count = running_loss + loss, running_count + size
                step += 1
                if step % loss_every == 0:  # the mean over the last `loss_every` steps: one sync
                    mean = float(running_loss) / running_count
                    if not math.isfinite(mean):
                        raise FloatingPointError(f"loss is {mean} at step {step}; lower alpha or batch_size")
                    done = begin + (chunk.stop - chunk.start) * (first + size) / n_examples
                    with lock:
                        result.losses.append(mean)
                        result.progress.append((epoch * n + done) / total)
                    running_loss, running_count = 0.0, 0
            with lock:
                result.kept_words += int(chunk_ids.shape[0])
                result.examples += n_examples

    def guarded(worker: int):
        try:
            work(worker)
        except BaseException as err:  # re-raised in the caller's thread below
            failures.append(err)

    previous_threads = torch.get_num_threads()
    if config.workers > 1:
        torch.set_num_threads(1)        # parallelism comes from the workers, not inside each op
    elif config.threads is not None:
        torch.set_num_threads(config.threads)
    start = time.perf_counter()
    try:
        if config.workers == 1:
            work(0)                     # in this thread: deterministic for a given seed
        else:
            threads = [threading.Thread(target=guarded, args=(w,)) for w in range(config.workers)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if failures:
                raise failures[0]
            order = np.argsort(result.progress, kind="stable")   # workers append out of order
            result.losses = [result.losses[i] for i in order]
            result.progress = [result.progress[i] for i in order]
        if device.type == "cuda":
            torch.cuda.synchronize()
        result.seconds = time.perf_counter() - start
    finally:
        torch.set_num_threads(previous_threads)
    return result

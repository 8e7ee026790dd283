r"""Two ways to score a sentence pair with one BERT: a bi-encoder and a cross-encoder.

**Bi-encoder** (sentence-transformers' way, the one all-MiniLM-L6-v2 was trained for): encode each
sentence alone, mean-pool the real tokens' last hidden states and compare by cosine,

$$u = \frac{\sum_t m_t h_t}{\sum_t m_t}, \qquad s(A, B) = \frac{u_A^\top u_B}{\lVert u_A\rVert\,\lVert u_B\rVert},$$

declared "the same" when $s > \theta$, $\theta$ chosen on validation pairs (:func:`best_threshold`).
For retrieval of the best of $M$ candidates for $N$ queries it needs $N + M$ forward passes.

**Cross-encoder** (BERT's own sentence-pair input): one forward pass reads
``[CLS] A [SEP] B [SEP]`` (segments 0 and 1), so every token of A attends to every token of B;
a logistic regression on the final ``[CLS]`` state (a *linear probe*, the encoder frozen) gives
$p(\text{same} \mid A, B) = \sigma(w^\top h_{[CLS]} + b)$. Retrieval needs $N \cdot M$ forward passes.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .classify import mean_pool
from ..validate import InputError, check_mask, check_number, check_positive, check_tensor, check_type

__all__ = ["sentence_embeddings", "CrossEncoded", "cross_encode", "cross_features",
           "TopLayerCrossEncoder", "fine_tune_top_layer", "fit_linear_probe", "best_threshold",
           "bi_encoder_scores", "cross_encoder_scores", "recall_at_1"]


def _batches(n: int, batch_size: int):
    for start in range(0, n, batch_size):
        yield slice(start, min(n, start + batch_size))


def _check_common(model, tokenizer, batch_size, max_length):
    from .model import BertModel
    from .wordpiece import WordPieceTokenizer
    check_type("model", model, BertModel)
    check_type("tokenizer", tokenizer, WordPieceTokenizer)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("max_length", max_length, integer=True)
    if max_length < 4:
        raise InputError(f"max_length must be >= 4 (room for [CLS] A [SEP] B [SEP]), got {max_length}")


def _check_texts(name, texts):
    check_type(name, texts, (list, tuple))
    if not texts or not all(isinstance(t, str) for t in texts):
        raise InputError(f"{name} must be a non-empty list of str")


@torch.no_grad()
def sentence_embeddings(model, tokenizer, texts: list[str], *, batch_size: int = 64,
                        max_length: int = 128) -> torch.Tensor:
    """Bi-encoder: ``(N, H)`` mean-pooled last hidden states, one forward pass per text (in batches)."""
    _check_common(model, tokenizer, batch_size, max_length)
    _check_texts("texts", texts)
    device = model.embeddings.word_embeddings.weight.device
    out = []
    for s in _batches(len(texts), batch_size):
        b = tokenizer.batch(list(texts[s]), max_length=max_length, device=device)
        h = model(**b, check=False).last_hidden_state
        out.append(mean_pool(h, b["attention_mask"]))
    return torch.cat(out)


@dataclass
class CrossEncoded:
    """Pairs read by the frozen encoder: the final ``[CLS]`` states, the pooler's output, the mean of the
    final states over real tokens, and, per batch, layer ``L-1``'s output."""

    cls: torch.Tensor                                         # (N, H): final [CLS] states
    penultimate: list[tuple[torch.Tensor, torch.Tensor]]      # per batch: (states (b, T, H), mask (b, T) bool)
    pooled: torch.Tensor                                      # (N, H): tanh(W_p h_[CLS] + b_p)
    mean: torch.Tensor                                        # (N, H): sum_t m_t h_t / sum_t m_t

    def __len__(self) -> int:
        return self.cls.shape[0]


@torch.no_grad()
def cross_encode(model, tokenizer, first: list[str], second: list[str], *, batch_size: int = 64,
                 max_length: int = 256) -> CrossEncoded:
    """Cross-encoder inputs ``[CLS] first_i [SEP] second_i [SEP]`` (segments 0 / 1), one forward pass per pair."""
    _check_common(model, tokenizer, batch_size, max_length)
    _check_texts("first", first)
    _check_texts("second", second)
    if len(first) != len(second):
        raise InputError(f"first has {len(first)} texts but second has {len(second)}")
    device = model.embeddings.word_embeddings.weight.device
    cls, penultimate, pooled, mean = [], [], [], []
    for s in _batches(len(first), batch_size):
        b = tokenizer.batch(list(first[s]), list(second[s]), max_length=max_length, device=device)
        out = model(**b, output_hidden_states=True, check=False)
        cls.append(out.last_hidden_state[:, 0])
        penultimate.append((out.hidden_states[-2], b["attention_mask"]))
        pooled.append(out.pooler_output)
        mean.append(mean_pool(out.last_hidden_state, b["attention_mask"], check=False))
    return CrossEncoded(torch.cat(cls), penultimate, torch.cat(pooled), torch.cat(mean))


def cross_features(model, tokenizer, first: list[str], second: list[str], *, batch_size: int = 64,
                   max_length: int = 256) -> torch.Tensor:
    """Cross-encoder: ``(N, H)`` final ``[CLS]`` states of ``[CLS] first_i [SEP] second_i [SEP]``."""
    return cross_encode(model, tokenizer, first, second, batch_size=batch_size, max_length=max_length).cls


class TopLayerCrossEncoder(nn.Module):
    r"""A trainable copy of the encoder's last layer and a logit on its ``[CLS]`` output.

    $	ext{logit} = w^	op \mathrm{Layer}_L(h^{(L-1)})_{[CLS]} + b$: fine-tuning only the top layer
    lets the frozen layers' outputs $h^{(L-1)}$ be computed once (:func:`cross_encode`).
    """

    def __init__(self, model):
        super().__init__()
        from .model import BertModel
        check_type("model", model, BertModel)
        self.layer = copy.deepcopy(model.encoder.layer[-1])
        self.head = nn.Linear(model.config.hidden_size, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(b, T, H)`` layer-``L-1`` states, ``(b, T)`` bool mask -> ``(b,)`` logits. Unchecked."""
        return self.head(self.layer(states, mask[:, None, None, :])[:, 0])[:, 0]

    @torch.no_grad()
    def logits(self, encoded: CrossEncoded) -> torch.Tensor:
        """``(N,)`` logits of every pair of ``encoded``, in evaluation mode."""
        check_type("encoded", encoded, CrossEncoded)
        was = self.training
        self.eval()
        out = torch.cat([self(s, m) for s, m in encoded.penultimate])
        self.train(was)
        return out


def fine_tune_top_layer(model, encoded: CrossEncoded, labels: torch.Tensor, *, epochs: int = 3, lr: float = 1e-4,
                        batch_size: int = 32, seed: int = 0) -> TopLayerCrossEncoder:
    """Train :class:`TopLayerCrossEncoder` (binary cross-entropy, Adam, shuffled mini-batches) on ``encoded`` pairs."""
    check_type("encoded", encoded, CrossEncoded)
    check_tensor("labels", labels, (len(encoded),), dtype="integer", device=encoded.cls.device)
    if bool(((labels != 0) & (labels != 1)).any()):
        raise InputError("labels must be 0 or 1")
    check_positive("epochs", epochs, integer=True)
    check_positive("lr", lr)
    check_positive("batch_size", batch_size, integer=True)
    check_number("seed", seed, low=0, integer=True)
    top = TopLayerCrossEncoder(model).to(encoded.cls.device).train()
    rows = [s[i, :int(m[i].sum())] for s, m in encoded.penultimate for i in range(s.shape[0])]  # real tokens (a prefix)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(top.parameters(), lr=lr)
    y = labels.to(encoded.cls.dtype)
    with torch.enable_grad():
        for _ in range(epochs):
            order = torch.randperm(len(rows), generator=g).tolist()
            for start in range(0, len(order), batch_size):
                idx = order[start:start + batch_size]
                T = max(rows[i].shape[0] for i in idx)                 # pad to the longest row of this batch
                states = torch.stack([F.pad(rows[i], (0, 0, 0, T - rows[i].shape[0])) for i in idx])
                lengths = torch.tensor([rows[i].shape[0] for i in idx], device=states.device)
                mask = torch.arange(T, device=states.device)[None] < lengths[:, None]       # (b, T)
                loss = F.binary_cross_entropy_with_logits(top(states, mask), y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
    return top.eval()


def fit_linear_probe(features: torch.Tensor, labels: torch.Tensor, *, weight_decay: float = 1e-3,
                     steps: int = 200) -> torch.nn.Linear:
    r"""Logistic regression ``(N, H) -> 1`` logit: standardised features, L-BFGS on the mean
    cross-entropy $+\ \lambda\lVert w\rVert^2$. Returns an ``nn.Linear(H, 1)`` that takes the raw features."""
    check_tensor("features", features, ("N", "H"), dtype="float")
    check_tensor("labels", labels, (features.shape[0],), dtype="integer", device=features.device)
    if bool(((labels != 0) & (labels != 1)).any()):
        raise InputError("labels must be 0 or 1")
    check_positive("steps", steps, integer=True)
    if not (isinstance(weight_decay, (int, float)) and math.isfinite(weight_decay) and weight_decay >= 0):
        raise InputError(f"weight_decay must be a finite number >= 0, got {weight_decay!r}")
    x = features.detach()
    mu, sd = x.mean(0), x.std(0).clamp_min(1e-6)
    z, y = (x - mu) / sd, labels.to(x.dtype)
    w = torch.zeros(x.shape[1], device=x.device, dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), device=x.device, dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=steps, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.binary_cross_entropy_with_logits(z @ w + b, y) + weight_decay * (w * w).sum()
        loss.backward()
        return loss

    with torch.enable_grad():
        opt.step(closure)
    probe = torch.nn.Linear(x.shape[1], 1).to(device=x.device, dtype=x.dtype)
    with torch.no_grad():                                     # fold the standardisation into the layer
        probe.weight.copy_((w / sd)[None])
        probe.bias.copy_((b - (w * mu / sd).sum())[None])
    return probe


def best_threshold(scores: torch.Tensor, labels: torch.Tensor) -> float:
    """The threshold $\\theta$ maximising accuracy of ``score > theta`` (midpoint between neighbouring scores)."""
    check_tensor("scores", scores, ("N",), dtype="float")
    check_tensor("labels", labels, (scores.shape[0],), dtype="integer", device=scores.device)
    if bool(((labels != 0) & (labels != 1)).any()):
        raise InputError("labels must be 0 or 1")
    s, order = scores.detach().sort()
    y = labels[order].to(torch.long)
    # threshold below s[k]: positives predicted for k..N-1; accuracy = negatives below + positives above
    neg_below = torch.cat([torch.zeros(1, dtype=torch.long, device=s.device), (1 - y).cumsum(0)])
    pos_above = torch.cat([y.flip(0).cumsum(0).flip(0), torch.zeros(1, dtype=torch.long, device=s.device)])
    k = int((neg_below + pos_above).argmax())
    if k == 0:
        return float(s[0]) - 1.0
    if k == len(s):
        return float(s[-1]) + 1.0
    return float((s[k - 1] + s[k]) / 2)


def bi_encoder_scores(model, tokenizer, queries: list[str], candidates: list[str], *, batch_size: int = 64,
                      max_length: int = 128) -> torch.Tensor:
    """``(N, M)`` cosine similarities from ``N + M`` forward passes (each text encoded once)."""
    u = sentence_embeddings(model, tokenizer, queries, batch_size=batch_size, max_length=max_length)
    v = sentence_embeddings(model, tokenizer, candidates, batch_size=batch_size, max_length=max_length)
    return F.normalize(u, dim=-1) @ F.normalize(v, dim=-1).T


def cross_encoder_scores(model, tokenizer, scorers: dict, queries: list[str], candidates: list[str], *,
                         batch_size: int = 64, max_length: int = 256) -> dict[str, torch.Tensor]:
    """``{name: (N, M) scores}`` from ``N * M`` forward passes (every query paired with every candidate).

    ``scorers`` maps a name to a function of the :class:`CrossEncoded` pairs returning ``(N * M,)`` scores
    (e.g. a linear probe on ``.cls``, or :meth:`TopLayerCrossEncoder.logits`).
    """
    check_type("scorers", scorers, dict)
    if not scorers or not all(callable(f) for f in scorers.values()):
        raise InputError("scorers must be a non-empty dict of name -> callable(CrossEncoded)")
    _check_texts("queries", queries)
    _check_texts("candidates", candidates)
    N, M = len(queries), len(candidates)
    first = [q for q in queries for _ in range(M)]           # pair (i, j) at row i * M + j
    second = [c for _ in range(N) for c in candidates]
    enc = cross_encode(model, tokenizer, first, second, batch_size=batch_size, max_length=max_length)
    with torch.no_grad():
        return {name: f(enc).reshape(N, M) for name, f in scorers.items()}


def recall_at_1(scores: torch.Tensor, gold: torch.Tensor) -> float:
    """Fraction of rows ``i`` whose highest score is at column ``gold[i]``."""
    check_tensor("scores", scores, ("N", "M"), dtype="float")
    check_tensor("gold", gold, (scores.shape[0],), dtype="integer", device=scores.device)
    if bool((gold < 0).any()) or bool((gold >= scores.shape[1]).any()):
        raise InputError(f"gold must hold column indices in 0..{scores.shape[1] - 1}")
    return float((scores.argmax(1) == gold).float().mean())

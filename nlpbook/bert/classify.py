r"""A BERT encoder for sentence classification, two ways: frozen features or fine-tuning.

**Feature extraction** keeps the encoder's parameters $\theta$ fixed. Each text $x$ is encoded
once into a vector $\phi_l(x)$ from layer $l$ (``l = 0`` the embeddings, ``L`` the last layer):
the ``[CLS]`` state $h^{(l)}_{0}$ or the mean over the real (unpadded) tokens,

$$\phi^{\mathrm{cls}}_l(x) = h^{(l)}_{0}, \qquad
\phi^{\mathrm{mean}}_l(x) = \frac{\sum_t m_t\, h^{(l)}_{t}}{\sum_t m_t},$$

and a linear classifier $p(y \mid x) = \mathrm{softmax}(W \tilde\phi(x) + b)$ on the standardised
features $\tilde\phi = (\phi - \mu) / \sigma$ is fitted by minimising the convex

$$J(W, b) = -\frac1N \sum_{i} \log p(y_i \mid x_i) + \frac{\lambda}{2} \lVert W \rVert_F^2$$

with L-BFGS (:class:`LogisticRegression`).

**Fine-tuning** trains $\theta$ and the head together on the same cross-entropy,
$p(y \mid x) = \mathrm{softmax}(W\,\mathrm{Dropout}(\phi_L(x; \theta)) + b)$, with AdamW, a
linear warm-up to the peak learning rate over the first steps and a linear decay to 0
(:func:`fine_tune`); every step runs the encoder forward *and* backward.

Batches are built from texts of similar length (:func:`length_batches`), so little is padding;
ids are ``(B, T)``, the mask ``(B, T)`` bool (True = real token), hidden states ``(B, T, H)``.
"""
from __future__ import annotations

import math
import time

import torch
import torch.nn.functional as F
from torch import nn

from ..display import progress as progress_bar
from ..validate import InputError, check_choice, check_ids, check_mask, check_number, check_positive, check_tensor, \
    check_type
from .model import BertConfig, BertModel
from .wordpiece import WordPieceTokenizer

__all__ = ["encode_texts", "length_batches", "pad_batch", "mean_pool", "extract_features", "LogisticRegression",
           "SentenceClassifier", "init_bert_weights", "fine_tune", "predict"]

POOLINGS = ("cls", "mean")


def encode_texts(tokenizer: WordPieceTokenizer, texts, *, max_length: int) -> list[list[int]]:
    """``[CLS] pieces [SEP]`` ids of each text, cut to at most ``max_length`` pieces."""
    check_type("tokenizer", tokenizer, WordPieceTokenizer)
    check_type("texts", texts, (list, tuple), "a list of texts")
    if not texts:
        raise InputError("texts is empty: give at least one text")
    check_number("max_length", max_length, low=3, integer=True, what="an int >= 3 ([CLS] x [SEP])")
    return [tokenizer.encode(t, max_length=max_length).ids for t in texts]


def _check_id_lists(name: str, id_lists) -> None:
    check_type(name, id_lists, (list, tuple), "a list of id lists")
    if not id_lists:
        raise InputError(f"{name} is empty: give at least one sequence")
    for i in (0, len(id_lists) - 1):
        check_type(f"{name}[{i}]", id_lists[i], (list, tuple), "a list of ids")
        if not id_lists[i]:
            raise InputError(f"{name}[{i}] is empty: every sequence needs at least one id")


def length_batches(lengths, batch_size: int, *, generator: torch.Generator | None = None) -> list[list[int]]:
    """Index batches of similar length: sort by length, cut into ``batch_size`` chunks.

    With a ``generator`` (training), ties are broken at random and the chunks come in a random
    order; without one (evaluation), the order is deterministic.
    """
    check_type("lengths", lengths, (list, tuple), "a list of sequence lengths")
    if not lengths:
        raise InputError("lengths is empty")
    check_positive("batch_size", batch_size, integer=True)
    n = len(lengths)
    if generator is None:
        order = sorted(range(n), key=lambda i: lengths[i])
    else:
        check_type("generator", generator, torch.Generator)
        perm = torch.randperm(n, generator=generator).tolist()
        order = sorted(perm, key=lambda i: lengths[i])                    # stable: random among equal lengths
    chunks = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if generator is not None:
        chunks = [chunks[i] for i in torch.randperm(len(chunks), generator=generator).tolist()]
    return chunks


def pad_batch(id_lists, pad_id: int, *, device=None) -> tuple[torch.Tensor, torch.Tensor]:
    """``(input_ids, attention_mask)``, both ``(B, T)`` with ``T`` the longest; padding is ``pad_id``/False."""
    _check_id_lists("id_lists", id_lists)
    check_number("pad_id", pad_id, low=0, integer=True)
    T = max(len(s) for s in id_lists)
    ids = torch.full((len(id_lists), T), pad_id, dtype=torch.long)
    mask = torch.zeros(len(id_lists), T, dtype=torch.bool)
    for i, s in enumerate(id_lists):
        ids[i, :len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, :len(s)] = True
    return ids.to(device), mask.to(device)


def mean_pool(hidden: torch.Tensor, mask: torch.Tensor, *, check: bool = True) -> torch.Tensor:
    r"""$\sum_t m_t h_t / \sum_t m_t$: ``hidden`` ``(B, T, H)``, ``mask`` ``(B, T)`` bool -> ``(B, H)``."""
    if check:
        dims: dict = {}
        check_tensor("hidden", hidden, ("B", "T", "H"), dims=dims, dtype="float")
        check_mask("mask", mask, ("B", "T"), dims=dims)
        check_tensor("mask", mask, device=hidden.device)
        if not bool(mask.any(1).all()):
            raise InputError("mask has a row with no real token (True): its mean is undefined")
    m = mask.to(hidden.dtype)[..., None]                                       # (B, T, 1)
    return (hidden * m).sum(1) / m.sum(1)


@torch.no_grad()
def extract_features(model: BertModel, id_lists, *, pad_id: int = 0, batch_size: int = 64, device=None,
                     progress: bool | None = None) -> dict[str, torch.Tensor]:
    """Frozen features of every text at every layer: ``{"cls", "mean"}`` -> ``(L + 1, N, H)`` float32 (CPU).

    One forward pass per length batch (eval mode, no gradient); row ``n`` is text ``n``.
    """
    check_type("model", model, BertModel)
    _check_id_lists("id_lists", id_lists)
    check_positive("batch_size", batch_size, integer=True)
    device = next(model.parameters()).device if device is None else torch.device(device)
    was_training = model.training
    model.eval()
    L, H, N = model.config.num_hidden_layers, model.config.hidden_size, len(id_lists)
    out = {p: torch.zeros(L + 1, N, H) for p in POOLINGS}
    batches = length_batches([len(s) for s in id_lists], batch_size)
    for idx in progress_bar(batches, progress=progress, desc="features", leave=False):
        ids, mask = pad_batch([id_lists[i] for i in idx], pad_id, device=device)
        states = torch.stack(model(ids, mask, output_hidden_states=True).hidden_states)   # (L + 1, B, T, H)
        m = mask.to(states.dtype)[None, :, :, None]                                        # (1, B, T, 1)
        rows = torch.tensor(idx)
        out["cls"][:, rows] = states[:, :, 0].float().cpu()
        out["mean"][:, rows] = ((states * m).sum(2) / m.sum(2)).float().cpu()
    model.train(was_training)
    return out


class LogisticRegression(nn.Module):
    r"""Softmax regression on standardised features, fitted to the optimum of $J$ by L-BFGS.

    ``LogisticRegression(D, C)``; :meth:`fit` on ``X`` ``(N, D)`` float and ``y`` ``(N,)`` ids in
    ``0..C-1`` sets $\mu, \sigma$ from ``X`` ($\sigma$ at least $10^{-6}$: a constant feature stays 0) and minimises $J(W, b)$; ``forward`` returns logits ``(N, C)``.
    """

    def __init__(self, num_features: int, num_classes: int = 2):
        super().__init__()
        check_positive("num_features", num_features, integer=True)
        check_number("num_classes", num_classes, low=2, integer=True, what="an int >= 2")
        self.linear = nn.Linear(num_features, num_classes)
        nn.init.zeros_(self.linear.weight)
        nn.init.zeros_(self.linear.bias)
        self.register_buffer("mean", torch.zeros(num_features))
        self.register_buffer("std", torch.ones(num_features))

    def _check_x(self, X) -> None:
        check_tensor("X", X, ("N", self.linear.in_features), dtype="float", like=("the classifier's weights",
                                                                                   self.linear.weight))

    def forward(self, X: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        if check:
            self._check_x(X)
        return self.linear((X - self.mean) / self.std)

    def objective(self, X: torch.Tensor, y: torch.Tensor, l2: float) -> torch.Tensor:
        """$J(W, b)$ on standardised ``X`` (unchecked)."""
        return F.cross_entropy(self(X, check=False), y) + 0.5 * l2 * self.linear.weight.pow(2).sum()

    def fit(self, X: torch.Tensor, y: torch.Tensor, *, l2: float = 1e-3, max_iter: int = 500) -> dict:
        """Fit to ``(X, y)``; returns ``{"objective", "iterations", "seconds"}``."""
        self._check_x(X)
        check_ids("y", y, self.linear.out_features, (X.shape[0],))
        check_tensor("y", y, device=X.device)
        check_positive("l2", l2, allow_zero=True)
        check_positive("max_iter", max_iter, integer=True)
        start = time.perf_counter()
        with torch.no_grad():
            self.mean.copy_(X.mean(0))
            self.std.copy_(X.std(0, unbiased=False).clamp(min=1e-6))
            self.linear.weight.zero_()
            self.linear.bias.zero_()
        opt = torch.optim.LBFGS(self.parameters(), lr=1.0, max_iter=max_iter, history_size=20,
                                tolerance_grad=1e-9, tolerance_change=1e-12, line_search_fn="strong_wolfe")

        def closure():
            opt.zero_grad()
            loss = self.objective(X, y, l2)
            loss.backward()
            return loss

        value = math.inf
        for _ in range(20):                     # L-BFGS stops early on a flat objective: restart until it stalls
            opt.step(closure)
            with torch.no_grad():
                new = float(self.objective(X, y, l2))
            grad = max(float(p.grad.abs().max()) for p in self.parameters())
            if grad < 1e-7 or value - new < 1e-12 * max(1.0, abs(new)):
                value = new
                break
            value = new
        state = opt.state[opt._params[0]]
        return {"objective": value, "iterations": int(state.get("n_iter", 0)), "seconds": time.perf_counter() - start}


class SentenceClassifier(nn.Module):
    """A :class:`BertModel`, dropout and a linear head on the pooled last layer (``"mean"`` or ``"cls"``)."""

    def __init__(self, bert: BertModel, num_classes: int = 2, *, pooling: str = "mean", dropout: float = 0.1):
        super().__init__()
        check_type("bert", bert, BertModel)
        check_number("num_classes", num_classes, low=2, integer=True, what="an int >= 2")
        check_choice("pooling", pooling, POOLINGS)
        check_number("dropout", dropout, low=0, high=1, high_open=True)
        self.bert, self.pooling = bert, pooling
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.hidden_size, num_classes)
        nn.init.normal_(self.head.weight, std=0.02)
        nn.init.zeros_(self.head.bias)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, *, check: bool = True) -> torch.Tensor:
        """``(B, T)`` ids and mask -> logits ``(B, C)``."""
        hidden = self.bert(input_ids, attention_mask, check=check).last_hidden_state       # (B, T, H)
        pooled = hidden[:, 0] if self.pooling == "cls" else mean_pool(hidden, attention_mask, check=False)
        return self.head(self.dropout(pooled))


def init_bert_weights(model: nn.Module, *, std: float = 0.02, seed: int = 0) -> nn.Module:
    r"""BERT's initialisation, in place: every Linear and Embedding weight $\sim \mathcal N(0, 0.02^2)$,
    biases 0, LayerNorm $\gamma = 1, \beta = 0$ (the from-scratch baseline starts here)."""
    check_type("model", model, nn.Module)
    check_positive("std", std)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.rsplit(".", 1)[-1]
            is_norm = "norm" in name.lower() and leaf in ("weight", "bias")
            if is_norm:
                p.fill_(1.0 if leaf == "weight" else 0.0)
            elif leaf == "bias" or p.dim() == 1:
                p.zero_()
            else:
                p.copy_(torch.randn(p.shape, generator=g) * std)
    return model


def _schedule(step: int, total: int, warmup: int) -> float:
    """Linear warm-up to 1 over ``warmup`` steps, then linear decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return max(0.0, (total - step) / max(1, total - warmup))


def fine_tune(classifier: SentenceClassifier, id_lists, labels, *, pad_id: int = 0, epochs: int = 1,
              lr: float = 5e-5, warmup_fraction: float = 0.1, batch_size: int = 32, weight_decay: float = 0.01,
              seed: int = 0, progress: bool | None = None) -> dict:
    """Train every parameter of ``classifier`` on ``(id_lists, labels)``, in place, with AdamW.

    Length-bucketed batches in a seeded random order, ``epochs`` passes, the learning rate
    warmed up linearly over ``warmup_fraction`` of the steps and decayed linearly to 0.
    Returns ``{"losses": per-step loss, "steps", "seconds", "examples"}``.
    """
    check_type("classifier", classifier, SentenceClassifier)
    _check_id_lists("id_lists", id_lists)
    check_type("labels", labels, (list, tuple), "a list of class ids")
    if len(labels) != len(id_lists):
        raise InputError(f"labels has {len(labels)} entries but id_lists has {len(id_lists)}")
    C = classifier.head.out_features
    if not all(isinstance(v, int) and 0 <= v < C for v in labels):
        raise InputError(f"labels must be ints in 0..{C - 1}")
    check_positive("epochs", epochs, integer=True)
    check_positive("lr", lr)
    check_number("warmup_fraction", warmup_fraction, low=0, high=1)
    check_positive("batch_size", batch_size, integer=True)
    check_positive("weight_decay", weight_decay, allow_zero=True)
    check_type("seed", seed, int)
    device = next(classifier.parameters()).device
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)                                               # dropout masks
    lengths = [len(s) for s in id_lists]
    steps_per_epoch = math.ceil(len(id_lists) / batch_size)
    total = epochs * steps_per_epoch
    warmup = max(1, round(warmup_fraction * total)) if warmup_fraction > 0 else 0
    decay = [p for n, p in classifier.named_parameters() if p.dim() > 1]  # no decay on biases and LayerNorm
    rest = [p for n, p in classifier.named_parameters() if p.dim() <= 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}],
                            lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: _schedule(s, total, warmup) if warmup else
                                              max(0.0, (total - s) / total))
    y_all = torch.tensor(labels, dtype=torch.long)
    classifier.train()
    losses, start = [], time.perf_counter()
    bar = progress_bar(total=total, progress=progress, desc="fine-tune", leave=False)
    for _ in range(epochs):
        for idx in length_batches(lengths, batch_size, generator=gen):
            ids, mask = pad_batch([id_lists[i] for i in idx], pad_id, device=device)
            y = y_all[idx].to(device)
            loss = F.cross_entropy(classifier(ids, mask, check=False), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            bar.update(1)
    bar.close()
    classifier.eval()
    if not all(math.isfinite(v) for v in losses):
        raise FloatingPointError(f"fine_tune: a non-finite loss at step {next(i for i, v in enumerate(losses) if not math.isfinite(v))}")
    return {"losses": losses, "steps": total, "seconds": time.perf_counter() - start,
            "examples": epochs * len(id_lists)}


@torch.no_grad()
def predict(classifier: SentenceClassifier, id_lists, *, pad_id: int = 0, batch_size: int = 64) -> torch.Tensor:
    """Predicted class ``(N,)`` of every text (eval mode), on the classifier's device, in input order."""
    check_type("classifier", classifier, SentenceClassifier)
    _check_id_lists("id_lists", id_lists)
    check_positive("batch_size", batch_size, integer=True)
    device = next(classifier.parameters()).device
    classifier.eval()
    out = torch.zeros(len(id_lists), dtype=torch.long, device=device)
    for idx in length_batches([len(s) for s in id_lists], batch_size):
        ids, mask = pad_batch([id_lists[i] for i in idx], pad_id, device=device)
        out[torch.tensor(idx, device=device)] = classifier(ids, mask, check=False).argmax(-1)
    return out

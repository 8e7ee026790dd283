r"""A character-level language model: vocabulary, batches, the model, and bits per character.

The model reads characters :math:`x_1 \dots x_T` and predicts each next one,

$$p(x_{t+1} \mid x_{\le t}) = \operatorname{softmax}(W_{\text{out}} h_t + b_{\text{out}}),\qquad
h_t = \operatorname{RNN}(\operatorname{Embed}(x_t), h_{t-1}).$$

Its quality on held-out text is the mean negative log-likelihood per character,
:math:`\ell = -\frac{1}{N}\sum_t \ln p(x_{t+1} \mid x_{\le t})` in nats, reported as

$$\text{bits per character} = \ell / \ln 2,\qquad \text{perplexity} = e^{\ell}.$$

Any recurrent layer with the ``nn.LSTM`` / ``nn.GRU`` calling convention works:
``rnn(x (B, T, E), state) -> (output (B, T, H), state)`` with ``batch_first=True``.
"""
from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ..training import train
from ..validate import (InputError, InputTypeError, IdRangeError, check_batch_first, check_ids, check_number,
                        check_positive, check_tensor, check_type)

__all__ = ["CharVocab", "CharLM", "split_ids", "random_windows", "evaluate", "LMRecord", "train_char_lm"]


class CharVocab:
    """Characters seen at least ``min_count`` times get an id; every other character maps to
    the unknown id 0 (shown as ``"\ufffd"``)."""

    UNK = "\ufffd"

    def __init__(self, chars: list[str]):
        self.itos = [self.UNK] + [c for c in chars if c != self.UNK]
        self.stoi = {c: i for i, c in enumerate(self.itos)}

    @classmethod
    def build(cls, text: str, min_count: int = 1) -> "CharVocab":
        if not isinstance(text, str) or not text:
            raise InputError(f"text must be a non-empty string, got {text!r:.40}")
        check_positive("min_count", min_count, integer=True)
        counts = Counter(text)
        return cls(sorted(c for c, n in counts.items() if n >= min_count))

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, text: str) -> torch.Tensor:
        """``text`` -> a 1-D LongTensor of ids (unknown characters -> 0)."""
        check_type("text", text, str)
        return torch.tensor([self.stoi.get(c, 0) for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        """Ids (a 1-D integer tensor or a list of ints) -> text; an id outside the vocabulary raises."""
        if isinstance(ids, torch.Tensor):
            check_ids("ids", ids, len(self), ("N",), allow_empty=True)
            ids = ids.tolist()
        elif isinstance(ids, (str, bytes)) or not hasattr(ids, "__iter__"):
            raise InputTypeError(f"ids must be a tensor or a list of int ids, got {type(ids).__name__}")
        out = []
        for position, i in enumerate(ids):
            if isinstance(i, torch.Tensor) and i.numel() == 1 and not i.is_floating_point():
                i = int(i)
            if not isinstance(i, (int, np.integer)) or isinstance(i, bool):
                raise InputTypeError(f"ids must hold int ids, got {i!r} at position {position}")
            if not 0 <= i < len(self):
                raise IdRangeError(f"ids holds id {i} at position {position}, outside the vocabulary "
                                   f"0..{len(self) - 1}")
            out.append(self.itos[i])
        return "".join(out)


def split_ids(ids: torch.Tensor, valid_fraction: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``1 - valid_fraction`` of the text to train on, the last part held out."""
    check_tensor("ids", ids, ("N",), dtype="integer")
    check_number("valid_fraction", valid_fraction, low=0, high=1, low_open=True, high_open=True)
    cut = int(len(ids) * (1 - valid_fraction))
    return ids[:cut], ids[cut:]


def random_windows(ids: torch.Tensor, batch_size: int, seq_len: int,
                   generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of the text: inputs ``x`` (B, T) and next characters ``y`` (B, T)."""
    check_tensor("ids", ids, ("N",), dtype="integer")
    check_positive("batch_size", batch_size, integer=True)
    check_positive("seq_len", seq_len, integer=True)
    if generator is not None:
        check_type("generator", generator, torch.Generator)
    if len(ids) < seq_len + 2:
        raise InputError(f"ids: a text of {len(ids)} characters is too short for windows of seq_len {seq_len} + 1")
    starts = torch.randint(0, len(ids) - seq_len - 1, (batch_size,), generator=generator)
    offsets = torch.arange(seq_len + 1)
    windows = ids[starts[:, None] + offsets]                      # (B, T + 1)
    return windows[:, :-1], windows[:, 1:]


class CharLM(nn.Module):
    """Embedding -> recurrent layer -> linear read-out: ``x`` (B, T) ids -> logits (B, T, V)."""

    def __init__(self, vocab_size: int, rnn: nn.Module, embed_dim: int, hidden_size: int):
        super().__init__()
        check_positive("vocab_size", vocab_size, integer=True)
        check_positive("embed_dim", embed_dim, integer=True)
        check_positive("hidden_size", hidden_size, integer=True)
        check_batch_first("rnn", rnn)
        if getattr(rnn, "input_size", embed_dim) != embed_dim:
            raise InputError(f"rnn reads input_size {rnn.input_size} but embed_dim is {embed_dim}")
        if getattr(rnn, "hidden_size", hidden_size) != hidden_size:
            raise InputError(f"rnn has hidden_size {rnn.hidden_size} but hidden_size is {hidden_size}")
        self.embed = nn.Embedding(vocab_size, embed_dim)
        self.rnn = rnn
        self.out = nn.Linear(hidden_size, vocab_size)

    def forward(self, x: torch.Tensor, state=None):
        check_ids("x", x, self.embed.num_embeddings, ("B", "T"))
        output, state = self.rnn(self.embed(x), state)              # (B, T, H)
        return self.out(output), state                              # (B, T, V)


def _detach(state):
    if state is None:
        return None
    if isinstance(state, (tuple, list)):
        return type(state)(s.detach() for s in state)
    return state.detach()


@torch.no_grad()
def evaluate(model: CharLM, ids: torch.Tensor, batch_size: int = 16, seq_len: int = 128) -> dict:
    """Held-out quality over ``ids``: ``{"nats", "bpc", "perplexity", "chars"}``.

    The text is cut into ``batch_size`` contiguous streams read in chunks of ``seq_len``,
    carrying the recurrent state from chunk to chunk, so every character (but the first of
    each stream) is predicted with all the context before it in its stream.
    """
    check_type("model", model, nn.Module)
    check_ids("ids", ids, model.out.out_features, ("N",))
    check_positive("batch_size", batch_size, integer=True)
    check_positive("seq_len", seq_len, integer=True)
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    per_stream = (len(ids) - 1) // batch_size
    if per_stream < 2:
        raise InputError(f"ids: {len(ids)} held-out characters are too few for batch_size {batch_size} streams")
    inputs = ids[:per_stream * batch_size].view(batch_size, per_stream).to(device)
    targets = ids[1:per_stream * batch_size + 1].view(batch_size, per_stream).to(device)
    total, count, state = 0.0, 0, None
    for start in range(0, per_stream, seq_len):
        x, y = inputs[:, start:start + seq_len], targets[:, start:start + seq_len]
        logits, state = model(x, state)
        total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1), reduction="sum").item()
        count += y.numel()
    model.train(was_training)
    nats = total / count
    return {"nats": nats, "bpc": nats / math.log(2), "perplexity": math.exp(nats), "chars": count}


@dataclass
class LMRecord:
    """One training run: held-out bits per char at each evaluation step, losses, time."""

    steps: list[int] = field(default_factory=list)
    valid_bpc: list[float] = field(default_factory=list)
    train_losses: list[float] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def final_bpc(self) -> float:
        return self.valid_bpc[-1]

    @property
    def seconds_per_step(self) -> float:
        return self.seconds / max(1, len(self.train_losses))


def train_char_lm(model: CharLM, train_ids: torch.Tensor, valid_ids: torch.Tensor, *, steps: int,
                  eval_every: int, batch_size: int = 32, seq_len: int = 64, lr: float = 3e-3,
                  clip_grad_norm: float | None = 1.0, seed: int = 0, eval_chars: int | None = None) -> LMRecord:
    """Adam on random windows for ``steps`` steps (via :func:`nlpbook.train`), evaluating the
    held-out bits per char every ``eval_every`` steps and at the end.

    ``seed`` fixes the order of the training windows, so two models given the same seed see
    the same batches. ``seconds`` counts training only, not evaluation.
    """
    check_type("model", model, nn.Module)
    for name, value in (("steps", steps), ("eval_every", eval_every), ("batch_size", batch_size),
                        ("seq_len", seq_len)):
        check_positive(name, value, integer=True)
    check_positive("lr", lr)
    if clip_grad_norm is not None:
        check_positive("clip_grad_norm", clip_grad_norm)
    if eval_chars is not None:
        check_positive("eval_chars", eval_chars, integer=True)
    check_number("seed", seed, integer=True)
    check_ids("train_ids", train_ids, model.out.out_features, ("N",))
    check_ids("valid_ids", valid_ids, model.out.out_features, ("N",))
    device = next(model.parameters()).device
    generator = torch.Generator().manual_seed(seed)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    valid_ids = valid_ids if eval_chars is None else valid_ids[:eval_chars]
    vocab_size = model.out.out_features

    def loss_fn(m, batch):
        x, y = (t.to(device) for t in batch)
        logits, _ = m(x)
        return F.cross_entropy(logits.reshape(-1, vocab_size), y.reshape(-1))

    record = LMRecord()
    done = 0
    while done < steps:
        chunk = min(eval_every, steps - done)
        batches = [random_windows(train_ids, batch_size, seq_len, generator) for _ in range(chunk)]
        start = time.perf_counter()
        history = train(model, optimizer, batches, loss_fn, epochs=1, clip_grad_norm=clip_grad_norm,
                        desc="char LM", progress=False)
        record.seconds += time.perf_counter() - start
        record.train_losses += history.losses
        done += chunk
        record.steps.append(done)
        record.valid_bpc.append(evaluate(model, valid_ids)["bpc"])
    return record

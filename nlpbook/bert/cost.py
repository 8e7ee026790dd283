r"""What a BERT forward pass costs as the input grows: FLOPs by formula, time and memory measured.

**FLOPs of one post-LN layer** on ``T`` tokens of width ``H`` with FFN width ``I`` (a multiply-add
counts 2; softmax, LayerNorm, GELU and biases are lower order and left out):

$$\begin{aligned}
F_{\text{linear}}(T) &= \underbrace{2\,T\,H\cdot 3H}_{W^Q, W^K, W^V} + \underbrace{2\,T\,H\cdot H}_{W^O}
  + \underbrace{2\,T\,H\,I + 2\,T\,I\,H}_{W_1,\ W_2} = 8\,T H^2 + 4\,T H I \;=\; 24\,T H^2 \ (I = 4H)\\
F_{\text{attention}}(T) &= \underbrace{2\,T^2 H}_{Q K^\top} + \underbrace{2\,T^2 H}_{A V} = 4\,T^2 H
\end{aligned}$$

The quadratic part equals the linear part at

$$T^\ast = \frac{8H^2 + 4HI}{4H} = 2H + I \;=\; 6H \quad (I = 4H),$$

so below $T^\ast$ a forward pass grows *almost linearly* in ``T``: $T^\ast$ = 2,304 for MiniLM
(H = 384) and 4,608 for BERT-base (H = 768), both beyond BERT's 512 positions.

**Measured**: :func:`length_sweep` times every model on batches of ``B`` rows of running text cut
to each length (``nlpbook.timing.measure_interleaved``: the models take turns, medians and ranges)
and measures the peak tensor memory of one more call
(:func:`nlpbook.compare.cost.peak_memory_bytes`). :func:`fit_linear_quadratic` fits
$t(T) = c + aT + bT^2$ by least squares, whose measured crossover is $a / b$;
:func:`nlpbook.compare.cost.loglog_slope` fits the exponent over the long end.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np
import torch

from ..compare.cost import loglog_slope, peak_memory_bytes
from ..timing import Timing, measure_interleaved
from ..validate import InputError, check_positive, check_type

__all__ = ["layer_flops", "crossover_length", "forward_flops", "LengthCost", "length_sweep",
           "fit_linear_quadratic", "running_text_batch", "loglog_slope"]


def layer_flops(T: int, H: int, I: int | None = None) -> dict[str, float]:
    """``{"linear": 8TH^2 + 4THI, "attention": 4T^2H}`` FLOPs of one layer on one sequence (``I`` default 4H)."""
    check_positive("T", T, integer=True)
    check_positive("H", H, integer=True)
    I = 4 * H if I is None else I
    check_positive("I", I, integer=True)
    return {"linear": float(8 * T * H * H + 4 * T * H * I), "attention": float(4 * T * T * H)}


def crossover_length(H: int, I: int | None = None) -> float:
    """$T^\\ast = 2H + I$ (6H when I = 4H): the length where attention's FLOPs equal the linear layers'."""
    check_positive("H", H, integer=True)
    I = 4 * H if I is None else I
    check_positive("I", I, integer=True)
    return float(2 * H + I)


def forward_flops(T: int, H: int, layers: int, I: int | None = None, batch: int = 1) -> float:
    """FLOPs of the encoder stack: ``batch * layers * (linear + attention)``."""
    check_positive("layers", layers, integer=True)
    check_positive("batch", batch, integer=True)
    f = layer_flops(T, H, I)
    return float(batch * layers * (f["linear"] + f["attention"]))


@dataclass(frozen=True)
class LengthCost:
    """One model at one length: seconds per forward pass and peak tensor memory of one pass."""

    name: str
    T: int
    timing: Timing
    peak_bytes: int


def length_sweep(models: Mapping[str, Callable[[dict], object]], batches: Mapping[int, dict], *,
                 rounds: int = 5, warmup: int = 1, device=None, memory: bool = True) -> list[LengthCost]:
    """Time ``models[name](batches[T])`` for every length ``T``, the models taking turns, under ``no_grad``.

    ``batches`` maps a length to the keyword arguments of one call (``input_ids`` ``(B, T)``,
    ...). Returns one :class:`LengthCost` per (model, length), lengths in increasing order.
    """
    check_type("models", models, Mapping, "a mapping of name -> callable(batch)")
    check_type("batches", batches, Mapping, "a mapping of length -> batch (dict)")
    if not models or not batches:
        raise InputError("models and batches must not be empty")
    for name, fn in models.items():
        if not callable(fn):
            raise InputError(f"models[{name!r}] must be callable, got {type(fn).__name__}")
    for T, b in batches.items():
        check_positive("batches' lengths", T, integer=True)
        check_type(f"batches[{T}]", b, dict)
    check_positive("rounds", rounds, integer=True)
    out = []
    with torch.no_grad():
        for T in sorted(batches):
            b = batches[T]
            calls = {name: (lambda fn=fn: fn(b)) for name, fn in models.items()}
            timings = measure_interleaved(calls, rounds=rounds, warmup=warmup, device=device)
            for name, call in calls.items():
                peak = peak_memory_bytes(call, device if device is not None else "cpu") if memory else 0
                out.append(LengthCost(name, T, timings[name], peak))
    return out


def fit_linear_quadratic(T, seconds) -> dict[str, float]:
    """Least squares $t = c + aT + bT^2$: ``{"c", "a", "b", "crossover" (a / b, inf if b <= 0)}``."""
    T, t = np.asarray(T, dtype=float), np.asarray(seconds, dtype=float)
    if T.shape != t.shape or T.ndim != 1 or T.size < 3:
        raise InputError(f"T and seconds must be 1-D arrays of the same length >= 3, got {T.shape} and {t.shape}")
    if np.any(T <= 0) or not np.all(np.isfinite(t)):
        raise InputError("T must be positive and seconds finite")
    scale = T.max()
    X = np.stack([np.ones_like(T), T / scale, (T / scale) ** 2], axis=1)
    c, a, b = np.linalg.lstsq(X, t, rcond=None)[0]
    a, b = a / scale, b / scale ** 2
    return {"c": float(c), "a": float(a), "b": float(b), "crossover": float(a / b) if b > 0 else float("inf")}


def running_text_batch(tokenizer, texts: list[str], B: int, T: int, device=None) -> dict[str, torch.Tensor]:
    """``B`` rows of ``T`` tokens: ``[CLS]`` + consecutive WordPiece tokens of ``texts`` + ``[SEP]``, no padding.

    Raises if the texts hold fewer than ``B * (T - 2)`` tokens.
    """
    check_positive("B", B, integer=True)
    check_positive("T", T, integer=True)
    if T < 3:
        raise InputError(f"T must be >= 3 ([CLS] x [SEP]), got {T}")
    check_type("texts", texts, (list, tuple))
    body, need = T - 2, B * (T - 2)
    ids: list[int] = []
    for text in texts:
        ids += tokenizer.convert_tokens_to_ids(tokenizer.tokenize(text))
        if len(ids) >= need:
            break
    if len(ids) < need:
        raise InputError(f"texts hold {len(ids)} tokens but B * (T - 2) = {need} are needed")
    rows = [[tokenizer.cls_id] + ids[i * body:(i + 1) * body] + [tokenizer.sep_id] for i in range(B)]
    input_ids = torch.tensor(rows, device=device)
    return {"input_ids": input_ids, "attention_mask": torch.ones(B, T, dtype=torch.bool, device=device),
            "token_type_ids": torch.zeros(B, T, dtype=torch.long, device=device)}

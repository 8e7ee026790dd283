r"""A GRU and a Transformer encoder behind one interface, a token tagger, and matched widths.

Every encoder maps ``(B, T, C) -> (B, T, C)`` and exposes what the dependency measurement
needs: :class:`GRUEncoder` its ``nn.GRU`` (``.rnn``), :class:`TransformerStack` and
:class:`nlpbook.compare.conv.ConvStack` their ``layers``.

The Transformer adds the sinusoidal positional encoding of Vaswani et al. (2017),

$$\mathrm{PE}_{t, 2i} = \sin(t / 10000^{2i/C}), \qquad \mathrm{PE}_{t, 2i+1} = \cos(t / 10000^{2i/C}),$$

to its input, or nothing when ``positional=False``; its layers are
``nn.TransformerEncoderLayer`` (pre-norm, no dropout). Part IV builds our own.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..validate import InputError, check_ids, check_positive, check_tensor, check_type

__all__ = ["GRUEncoder", "TransformerStack", "SequenceTagger", "sinusoidal_encoding",
           "parameter_count", "width_for_parameter_count"]


def sinusoidal_encoding(length: int, width: int, *, device=None, dtype=torch.float32) -> torch.Tensor:
    """The ``(T, C)`` sinusoidal positional encoding (``width`` even)."""
    check_positive("length", length, integer=True)
    check_positive("width", width, integer=True)
    if width % 2:
        raise InputError(f"width must be even for the sinusoidal encoding, got {width}")
    t = torch.arange(length, dtype=torch.float64, device=device)[:, None]
    freq = torch.exp(-math.log(10000.0) * torch.arange(0, width, 2, dtype=torch.float64, device=device) / width)
    pe = torch.zeros(length, width, dtype=torch.float64, device=device)
    pe[:, 0::2], pe[:, 1::2] = torch.sin(t * freq), torch.cos(t * freq)
    return pe.to(dtype)


class GRUEncoder(nn.Module):
    """``layers`` stacked GRU layers of width ``width``: ``(B, T, C) -> (B, T, C)``."""

    def __init__(self, width: int, layers: int = 1):
        super().__init__()
        check_positive("width", width, integer=True)
        check_positive("layers", layers, integer=True)
        self.width = width
        self.rnn = nn.GRU(width, width, num_layers=layers, batch_first=True)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        check_tensor("h", h, ("B", "T", self.width), dtype="float", like=("the layer's weights", self.rnn.weight_ih_l0))
        return self.rnn(h)[0]


class TransformerStack(nn.Module):
    """``layers`` ``nn.TransformerEncoderLayer`` s (``heads`` heads, FFN ``2 * width``, pre-norm).

    ``positional``: add the sinusoidal encoding to the input (``False``: none, and the stack is
    permutation-equivariant). No mask: every position attends to every position.
    """

    def __init__(self, width: int, layers: int = 2, heads: int = 2, positional: bool = True):
        super().__init__()
        check_positive("width", width, integer=True)
        check_positive("layers", layers, integer=True)
        check_positive("heads", heads, integer=True)
        check_type("positional", positional, bool)
        if width % heads or width % 2:
            raise InputError(f"width must be even and a multiple of heads = {heads}, got {width}")
        self.width, self.positional = width, positional
        self.layers = nn.ModuleList(
            nn.TransformerEncoderLayer(width, heads, dim_feedforward=2 * width, dropout=0.0,
                                       batch_first=True, norm_first=True) for _ in range(layers))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        check_tensor("h", h, ("B", "T", self.width), dtype="float",
                     like=("the layer's weights", self.layers[0].linear1.weight))
        if self.positional:
            h = h + sinusoidal_encoding(h.shape[1], self.width, device=h.device, dtype=h.dtype)
        for layer in self.layers:
            h = layer(h)
        return h


class SequenceTagger(nn.Module):
    """Embed token ids, encode, classify every position: ``(B, T)`` ids -> ``(B, T, classes)`` logits."""

    def __init__(self, vocab_size: int, encoder: nn.Module, classes: int):
        super().__init__()
        check_positive("vocab_size", vocab_size, integer=True)
        check_positive("classes", classes, integer=True)
        check_type("encoder", encoder, nn.Module)
        width = getattr(encoder, "width", None)
        if not isinstance(width, int):
            raise InputError("encoder must have an int attribute width (its C)")
        self.vocab_size = vocab_size
        self.embed, self.encoder, self.readout = nn.Embedding(vocab_size, width), encoder, nn.Linear(width, classes)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        check_ids("ids", ids, self.vocab_size, ("B", "T"))
        return self.readout(self.encoder(self.embed(ids)))


def parameter_count(model: nn.Module) -> int:
    check_type("model", model, nn.Module)
    return sum(p.numel() for p in model.parameters())


def width_for_parameter_count(build, target: int, *, multiple: int = 1, largest: int = 4096) -> int:
    """The width ``w`` (a multiple of ``multiple``) whose ``build(w)`` has the parameter count nearest ``target``."""
    if not callable(build):
        raise InputError(f"build must be a function width -> nn.Module, got {type(build).__name__}")
    check_positive("target", target, integer=True)
    check_positive("multiple", multiple, integer=True)
    best, best_gap = multiple, None
    for w in range(multiple, largest + 1, multiple):
        count = parameter_count(build(w))
        gap = abs(count - target)
        if best_gap is None or gap < best_gap:
            best, best_gap = w, gap
        if count > target:
            break
    return best

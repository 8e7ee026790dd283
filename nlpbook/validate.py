"""Input checks for nlpbook's public functions: one small module, one idea.

Every public function and module checks its arguments **at its boundary**, before any work,
with the functions below; a bad call then fails with a message that names the argument,
says what was expected and what it got::

    x is (3, 7, 5) but the layer expects I = 4 (input_size) in dimension 2; x must be (B, T, I)
    h0 has dtype float64 but the layer's weights are float32
    ids holds ids in -1..12, outside the vocabulary 0..9 (vocab_size 10)
    lr must be a positive finite number, got nan

Shapes are written with **named dimensions**. A name binds on first use in a ``dims`` dict
shared between the arguments of one call, so ``"B"`` must agree between ``x`` and ``h0``::

    dims = {"I": (self.input_size, "input_size")}       # known in advance: (value, where from)
    check_tensor("x", x, ("B", "T", "I"), dims=dims, like=("the layer's weights", w))
    check_tensor("h0", h0, (L, "B", H), dims=dims, like=("x", x))

A shape entry is an ``int`` (exact size), a ``str`` (a named dimension) or ``None`` (any).

Cost: shape, dtype and device checks read metadata only (no copy, no device sync). The value
checks (:func:`check_ids`' range, :func:`check_finite` on a tensor, :func:`check_mask_rows`)
need a reduction and, on a GPU, one sync each: they belong at the boundary of a public call,
never inside a per-step loop. Inner loops call the unchecked private helpers
(``_lstm_cell``, ``_sgns_step``...) that the public functions wrap.

Errors are :class:`InputError` (a ``ValueError``); wrong types and dtypes raise
:class:`InputTypeError` (also a ``TypeError``), ids out of range :class:`IdRangeError`
(also an ``IndexError``), so ``except ValueError`` catches every one of them.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = ["InputError", "InputTypeError", "IdRangeError", "check_tensor", "check_ids", "check_mask",
           "check_mask_rows", "check_positive", "check_number", "check_finite", "check_probabilities",
           "check_choice", "check_batch_first", "check_type", "shape_str"]


class InputError(ValueError):
    """A public nlpbook function got a bad argument; the message starts with the argument's name."""


class InputTypeError(InputError, TypeError):
    """The argument has the wrong type or dtype."""


class IdRangeError(InputError, IndexError):
    """Token or word ids outside ``0..vocab_size-1``."""


def shape_str(shape) -> str:
    """``(3, 7, 5)``, also for a 1-tuple (``(5,)``) and for named shapes (``(B, T, 4)``)."""
    parts = ["?" if s is None else str(s) for s in shape]
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _dtype_name(dtype: torch.dtype) -> str:
    return str(dtype).replace("torch.", "")


_DTYPE_KINDS = {
    "float": (torch.Tensor.is_floating_point, "a floating-point dtype"),
    "integer": (lambda t: not t.is_floating_point() and not t.is_complex() and t.dtype != torch.bool,
                "an integer dtype"),
    "bool": (lambda t: t.dtype == torch.bool, "dtype bool"),
}


def check_type(name: str, value, types, what: str | None = None):
    """``value`` must be an instance of ``types``; returns it."""
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in _as_tuple(types)):
        raise InputTypeError(f"{name} must be {what or _type_names(types)}, got {type(value).__name__}")
    return value


def _as_tuple(types) -> tuple:
    return types if isinstance(types, tuple) else (types,)


def _type_names(types) -> str:
    return " or ".join(t.__name__ for t in _as_tuple(types))


def check_tensor(name: str, x, shape=None, *, dims: dict | None = None, dtype=None,
                 like: tuple[str, torch.Tensor] | None = None, device=None,
                 allow_empty: bool = False) -> torch.Tensor:
    """``x`` must be a tensor of ``shape`` (named dims bound in ``dims``), ``dtype``, ``device``.

    ``dtype``: a ``torch.dtype``, a tuple of them, or ``"float"``, ``"integer"``, ``"bool"``.
    ``like=(description, tensor)``: same dtype and device as that tensor (typically the
    layer's weights), named in the message. ``allow_empty=False`` rejects a zero-size dimension.
    Returns ``x`` unchanged.
    """
    if not isinstance(x, torch.Tensor):
        raise InputTypeError(f"{name} must be a tensor{'' if shape is None else ' ' + shape_str(shape)}, "
                             f"got {type(x).__name__}")
    if shape is not None:
        _check_shape(name, x, tuple(shape), dims)
    if not allow_empty and x.numel() == 0:
        raise InputError(f"{name} is empty: shape {shape_str(x.shape)}")
    if dtype is not None:
        _check_dtype(name, x, dtype)
    if like is not None:
        other_name, other = like
        if x.dtype != other.dtype:
            raise InputTypeError(f"{name} has dtype {_dtype_name(x.dtype)} but {other_name} "
                                 f"{'are' if other_name.endswith('s') else 'is'} {_dtype_name(other.dtype)}")
        if x.device != other.device:
            raise InputError(f"{name} is on {x.device} but {other_name} "
                             f"{'are' if other_name.endswith('s') else 'is'} on {other.device}")
    if device is not None and x.device != torch.device(device):
        raise InputError(f"{name} is on {x.device}, expected {torch.device(device)}")
    return x


def _check_shape(name: str, x: torch.Tensor, shape: tuple, dims: dict | None) -> None:
    if x.dim() != len(shape):
        raise InputError(f"{name} must be {len(shape)}-D {shape_str(shape)}, got {x.dim()}-D "
                         f"shape {shape_str(x.shape)}")
    dims = {} if dims is None else dims
    for axis, (want, got) in enumerate(zip(shape, x.shape)):
        if want is None:
            continue
        if isinstance(want, str):
            if want not in dims:
                dims[want] = (got, name)            # bind: later tensors must agree
                continue
            value, source = dims[want] if isinstance(dims[want], tuple) else (dims[want], None)
            if got != value:
                origin = f" ({source})" if source else ""
                raise InputError(f"{name} is {shape_str(x.shape)} but {want} = {value}{origin} in dimension "
                                 f"{axis}; {name} must be {shape_str(shape)}")
        elif got != want:
            raise InputError(f"{name} is {shape_str(x.shape)} but dimension {axis} must be {want}; "
                             f"{name} must be {shape_str(shape)}")


def _check_dtype(name: str, x: torch.Tensor, dtype) -> None:
    if isinstance(dtype, str):
        test, words = _DTYPE_KINDS[dtype]
        if not test(x):
            raise InputTypeError(f"{name} must have {words}, got {_dtype_name(x.dtype)}")
        return
    allowed = _as_tuple(dtype)
    if x.dtype not in allowed:
        raise InputTypeError(f"{name} has dtype {_dtype_name(x.dtype)}, expected "
                             f"{' or '.join(_dtype_name(d) for d in allowed)}")


def check_ids(name: str, ids, vocab_size: int, shape=None, *, dims: dict | None = None,
              allow_empty: bool = False, vocab_from: str | None = None) -> torch.Tensor:
    """``ids`` must be an integer tensor (of ``shape``) with every id in ``0..vocab_size-1``.

    ``vocab_from`` says where ``vocab_size`` comes from (e.g. ``"len(counts)"``), for the message.

    The range check reads ``min`` and ``max`` (a device sync on a GPU): boundary only.
    """
    check_tensor(name, ids, shape, dims=dims, allow_empty=allow_empty)
    if ids.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise InputTypeError(f"{name} must hold integer ids (int64), got dtype {_dtype_name(ids.dtype)}")
    if ids.numel():
        low, high = torch.aminmax(ids)
        low, high = int(low), int(high)
        if low < 0 or high >= vocab_size:
            origin = f" = {vocab_from}" if vocab_from else ""
            raise IdRangeError(f"{name} holds ids in {low}..{high}, outside the vocabulary "
                               f"0..{vocab_size - 1} (vocab_size {vocab_size}{origin})")
    return ids


def check_mask(name: str, mask, shape=None, *, dims: dict | None = None) -> torch.Tensor:
    """``mask`` must be a bool tensor of ``shape``."""
    return check_tensor(name, mask, shape, dims=dims, dtype="bool")


def check_mask_rows(name: str, mask: torch.Tensor, what: str = "True entry") -> None:
    """Every row of a 2-D bool ``mask`` needs at least one True (a mean over none is undefined)."""
    empty = ~mask.any(dim=1)
    if bool(empty.any()):
        rows = torch.nonzero(empty).flatten()[:5].tolist()
        raise InputError(f"{name} has {int(empty.sum())} rows without a {what} (rows {rows}...); "
                         "every row needs at least one")


def _is_number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_number(name: str, value, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, high_open: bool = False, integer: bool = False,
                 finite: bool = True, what: str | None = None):
    """A real number (``int`` if ``integer``) in ``[low, high]`` (open ends if asked); returns it.

    Rejects bools, strings, tensors with more than one element, NaN, and (``finite``) inf.
    """
    if isinstance(value, torch.Tensor) and value.numel() == 1 and not integer:
        value = value.item()
    if isinstance(value, np.generic):
        value = value.item()
    kind = what or ("an integer" if integer else "a number")
    if integer and (not isinstance(value, numbers.Integral) or isinstance(value, bool)):
        raise InputTypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if not _is_number(value):
        raise InputTypeError(f"{name} must be {kind}, got {value!r} ({type(value).__name__})")
    if math.isnan(value) or (finite and math.isinf(value)):
        raise InputError(f"{name} must be a finite number, got {value}")
    bad_low = low is not None and (value <= low if low_open else value < low)
    bad_high = high is not None and (value >= high if high_open else value > high)
    if bad_low or bad_high:
        left = "any" if low is None else f"{'(' if low_open else '['}{low}"
        right = "" if high is None else f"{high}{')' if high_open else ']'}"
        interval = f"in {left}, {right}" if high is not None and low is not None else (
            f"{'>' if low_open else '>='} {low}" if low is not None else f"{'<' if high_open else '<='} {high}")
        raise InputError(f"{name} must be {what or interval}, got {value}")
    return value


def check_positive(name: str, value, *, integer: bool = False, allow_zero: bool = False):
    """A finite number > 0 (>= 0 with ``allow_zero``), an ``int`` if ``integer``; returns it."""
    what = ("a non-negative" if allow_zero else "a positive") + (" int" if integer else " finite number")
    return check_number(name, value, low=0, low_open=not allow_zero, integer=integer, what=what)


def check_finite(name: str, value):
    """A finite number, or a tensor / array whose every entry is finite (a sync for a tensor)."""
    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            raise InputError(f"{name} holds NaN or infinite values")
        return value
    if isinstance(value, np.ndarray):
        if value.dtype.kind == "f" and not np.all(np.isfinite(value)):
            raise InputError(f"{name} holds NaN or infinite values")
        return value
    return check_number(name, value)


def check_probabilities(name: str, p, *, atol: float = 1e-6) -> np.ndarray:
    """A 1-D, non-empty probability vector: finite, >= 0, summing to 1 within ``atol``; float64 array."""
    if isinstance(p, torch.Tensor):
        p = p.detach().cpu().numpy()
    try:
        p = np.asarray(p, dtype=np.float64)
    except (TypeError, ValueError):
        raise InputTypeError(f"{name} must be a 1-D array of probabilities, got {type(p).__name__}") from None
    if p.ndim != 1 or p.size == 0:
        raise InputError(f"{name} must be a non-empty 1-D probability vector, got shape {shape_str(p.shape)}")
    if not np.all(np.isfinite(p)):
        raise InputError(f"{name} holds NaN or infinite values")
    if np.any(p < 0):
        raise InputError(f"{name} holds negative probabilities (min {p.min():.3g})")
    if abs(p.sum() - 1.0) > atol:
        raise InputError(f"{name} must sum to 1, sums to {p.sum():.6g}")
    return p


def check_choice(name: str, value, choices):
    """``value`` must be one of ``choices``; returns it."""
    if value not in choices:
        raise InputError(f"{name} must be one of {', '.join(repr(c) for c in choices)}, got {value!r}")
    return value


def check_batch_first(name: str, module) -> None:
    """A recurrent module must read ``(B, T, D)``: ``nn.RNN/GRU/LSTM`` need ``batch_first=True``.

    Modules without a ``batch_first`` attribute (nlpbook's own layers) are batch first.
    """
    if not isinstance(module, torch.nn.Module):
        raise InputTypeError(f"{name} must be an nn.Module (a recurrent layer), got {type(module).__name__}")
    if getattr(module, "batch_first", True) is False:
        raise InputError(f"{name} was built with batch_first=False, so it would read the batch as time; "
                         f"build it with batch_first=True ({type(module).__name__}(..., batch_first=True))")

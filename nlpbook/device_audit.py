r"""The device audit: run a notebook on a *simulated second device* on a CPU-only machine.

On a GPU, a chapter that forgets ``model.to(run.device)`` or ``batch.to(run.device)`` fails
loudly (``Expected all tensors to be on the same device``) or, worse, silently computes on
the CPU. On a CPU-only machine both mistakes are invisible: every tensor is on the CPU.
``NLPBOOK_DEVICE_AUDIT=1`` makes them visible there.

With the variable set, :func:`nlpbook.setup` returns ``run.device == torch.device("cpu", 0)``
(an index that tells it apart from plain ``torch.device("cpu")``; torch computes on it as on
the CPU) and switches on :class:`DeviceAudit`, a ``TorchFunctionMode`` that sees every torch
call of the notebook's thread. It keeps a mark, "placed on run.device", on tensors:

* marked when created with ``device=run.device``; ``.to(run.device)`` or ``.to(marked)`` of an
  unmarked tensor returns a marked *alias* (a view; the original stays unmarked, as a CPU
  tensor stays on the CPU after ``.cuda()``); ``module.to(run.device)`` marks the parameters
  and buffers (through the ``param.data = ...`` that ``nn.Module._apply`` does); an
  ``nn.Parameter`` of a marked tensor is marked (``copy.deepcopy(model)`` keeps the marks);
* every output of an op with a marked input is marked (so ``p.grad``, ``p.data``, optimizer
  state and ``torch.zeros(..., device=x.device)`` follow), because ``x.device`` of a marked
  tensor reads ``run.device``;
* ``.cpu()`` and ``.to("cpu")`` return an unmarked alias.

and then behaves like CUDA would:

* an op mixing a marked tensor with an unmarked one raises
  ``RuntimeError("Expected all tensors to be on the same device ...")``, naming the op and the
  shapes; unmarked 0-dim tensors are allowed (CUDA takes CPU scalars), lists are looked into
  (``torch.cat``, ``_foreach_*``), indexing a marked tensor with a CPU index is allowed, and
  ``copy_`` / ``.to`` / ``pack_padded_sequence``'s lengths cross devices as on CUDA;
* ``.numpy()`` (and ``np.asarray``) of a marked tensor raises, as on CUDA: ``.cpu()`` first;
* a *heavy* op (:data:`HEAVY_OPS`: the matmul family, linear, embedding, convolutions, the
  recurrent kernels, attention, softmax and the losses over them) whose largest tensor input
  has at least :data:`HEAVY_MIN_NUMEL` elements and whose tensor inputs are all unmarked
  raises :class:`ComputedOnCPUError`. This is what catches a chapter that never moves anything.

Deliberate CPU work (a float64 analytic check, numpy statistics, gensim) goes inside
``with nlpbook.cpu_by_design("why"):``, which suspends the heavy-op check only: mixing devices
and ``.numpy()`` of a run-device tensor would fail on a real GPU too, so they still raise.

The audit is for CPU-only machines. Where CUDA or MPS is present, ``setup()`` ignores
``NLPBOOK_DEVICE_AUDIT`` and computes on the real device, which catches the same mistakes.

What it cannot catch: work in other threads (the mode is per thread; the multi-worker
word2vec trainer's workers run unaudited, their results land in tensors made in the main
thread), code that never calls torch (numpy, gensim), device-specific numerics (cuDNN's
float32 results, TF32), CUDA-only errors (a CPU ``torch.Generator`` passed with a CUDA
``device=``), memory limits, and mistakes in ops smaller than :data:`HEAVY_MIN_NUMEL`.
"""
from __future__ import annotations

import contextlib
import os
import sys
import threading
import warnings

import torch
from torch import nn
from torch.nn import functional as F
from torch.overrides import TorchFunctionMode

__all__ = ["AUDIT_ENV_VAR", "AUDIT_DEVICE", "HEAVY_MIN_NUMEL", "DeviceAudit", "DeviceMismatchError",
           "ComputedOnCPUError", "DeviceAuditWarning", "audit_requested", "enable", "disable", "is_enabled", "device_audit",
           "cpu_by_design", "on_run_device"]

AUDIT_ENV_VAR = "NLPBOOK_DEVICE_AUDIT"
AUDIT_DEVICE = torch.device("cpu", 0)
#: A heavy op whose largest tensor input is smaller than this may run on the CPU unremarked.
HEAVY_MIN_NUMEL = 256

_MARK = "_nlpbook_on_run_device"
_Tensor = torch.Tensor


class DeviceMismatchError(RuntimeError):
    """An op mixed tensors on run.device with tensors on the CPU (CUDA would refuse it too)."""


class ComputedOnCPUError(RuntimeError):
    """A heavy op ran with every input on the CPU while the run's device is elsewhere."""


def audit_requested() -> str | None:
    """What ``$NLPBOOK_DEVICE_AUDIT`` asks for: ``"raise"`` (``1``, ``true``, ``yes``, ``on``),
    ``"warn"`` (report every place once, raise nowhere), or ``None`` (unset, ``0``, ``false``, ...)."""
    value = os.environ.get(AUDIT_ENV_VAR, "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return None
    if value in ("1", "true", "yes", "on", "raise"):
        return "raise"
    if value in ("warn", "report"):
        return "warn"
    raise ValueError(f"{AUDIT_ENV_VAR}={value!r}: use 1 (raise at the first tensor off run.device), "
                     f"warn (report every place once) or 0 (off)")


def on_run_device(tensor: torch.Tensor) -> bool:
    """Whether the audit counts ``tensor`` as placed on run.device."""
    return getattr(tensor, _MARK, False)


def _mark(value) -> None:
    if isinstance(value, _Tensor):
        setattr(value, _MARK, True)
    elif isinstance(value, (tuple, list)):
        for item in value:
            if isinstance(item, _Tensor):
                setattr(item, _MARK, True)
            elif isinstance(item, (tuple, list)):
                _mark(item)


def _is_audit_device(device) -> bool:
    if device is None:
        return False
    if isinstance(device, str):
        device = torch.device(device)
    return isinstance(device, torch.device) and device == AUDIT_DEVICE


_CPU = torch.device("cpu")


def _is_audit_device_arg(value) -> bool:
    return isinstance(value, (str, torch.device)) and _is_audit_device(value)


def _name(func) -> str:
    owner = getattr(func, "__self__", None)
    if func.__class__.__name__ == "method-wrapper" and owner is not None:     # a property getter/setter
        return f"Tensor.{getattr(owner, '__name__', '?')}.{func.__name__}"
    qualname = getattr(func, "__qualname__", None) or getattr(func, "__name__", repr(func))
    if getattr(func, "__module__", None) == "torch.nn.functional":
        return f"torch.nn.functional.{qualname}"
    return qualname.replace("_VariableFunctionsClass.", "torch.").replace("TensorBase.", "Tensor.")


def _shapes(tensors) -> str:
    return ", ".join(str(tuple(t.shape)) for t in tensors[:4]) + (" ..." if len(tensors) > 4 else "")


def _heavy_ops() -> frozenset:
    ops = set()
    for name in ("matmul", "mm", "bmm", "addmm", "addbmm", "baddbmm", "addmv", "mv", "einsum", "tensordot",
                 "chain_matmul", "embedding", "embedding_bag", "conv1d", "conv2d", "conv3d",
                 "conv_transpose1d", "conv_transpose2d", "bilinear", "lstm", "gru", "rnn_tanh", "rnn_relu",
                 "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell", "softmax", "log_softmax"):
        if hasattr(torch, name):
            ops.add(getattr(torch, name))
    for name in ("linear", "bilinear", "embedding", "embedding_bag", "conv1d", "conv2d", "conv3d",
                 "scaled_dot_product_attention", "multi_head_attention_forward", "softmax", "log_softmax",
                 "cross_entropy", "nll_loss", "binary_cross_entropy_with_logits", "mse_loss"):
        if hasattr(F, name):
            ops.add(getattr(F, name))
    ops.add(torch.linalg.matmul)
    for name in ("matmul", "__matmul__", "__rmatmul__", "mm", "bmm", "addmm", "addmm_", "baddbmm",
                 "baddbmm_", "mv", "softmax", "log_softmax"):
        ops.add(getattr(_Tensor, name))
    return frozenset(ops)


#: The ops that must not run on the CPU in an audited notebook (outside ``cpu_by_design``).
HEAVY_OPS = _heavy_ops()

_state = threading.local()


def _cpu_depth() -> int:
    return getattr(_state, "cpu_depth", 0)


@contextlib.contextmanager
def cpu_by_design(reason: str):
    """Compute on the CPU on purpose, for ``reason`` (a float64 analytic check, numpy statistics).

    Under the device audit, heavy ops on CPU tensors inside the block do not raise. Mixing
    run.device and CPU tensors still raises, and so does ``.numpy()`` of a run.device tensor,
    because both fail on a real GPU too. Outside the audit it does nothing.
    """
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(f"cpu_by_design needs a reason (a non-empty string), got {reason!r}")
    _state.cpu_depth = _cpu_depth() + 1
    try:
        yield
    finally:
        _state.cpu_depth -= 1


def _alias(tensor: torch.Tensor) -> torch.Tensor:
    return tensor.view_as(tensor)


def _target_marked(args, kwargs):
    """For ``Tensor.to(*args, **kwargs)``: True (to run.device), False (to the CPU), None (no device)."""
    for value in list(args[1:]) + list(kwargs.values()):
        if isinstance(value, _Tensor):
            return on_run_device(value)
    device = kwargs.get("device")
    if device is None:
        for value in args[1:]:
            if isinstance(value, (str, torch.device, int)) and not isinstance(value, bool):
                device = value
                break
    if device is None:
        return None
    if isinstance(device, int):
        device = torch.device("cuda", device)
    return _is_audit_device(device)


def _to(func, args, kwargs):
    source = args[0]
    target = _target_marked(args, kwargs)
    # torch copies on .to("cpu:0") of a CPU tensor; CUDA's .to(x.device) of a tensor already
    # there copies nothing. Ask torch for plain "cpu" to get that behaviour.
    args = tuple(_CPU if _is_audit_device_arg(a) else a for a in args)
    if _is_audit_device_arg(kwargs.get("device")):
        kwargs = dict(kwargs, device=_CPU)
    result = func(*args, **kwargs)
    if target is None:                                # a dtype/memory-format change: stays where it is
        if on_run_device(source):
            _mark(result)
        return result
    if target == on_run_device(source):               # already there: like CUDA, the same tensor (or a copy)
        if target:
            _mark(result)
        return result
    if result is source:                              # moved: a new tensor, so the original keeps its place
        result = _alias(source)
    else:
        result.__dict__.pop(_MARK, None)
    if target:
        _mark(result)
    return result


def _cpu(func, args, kwargs):
    source = args[0]
    result = func(*args, **kwargs)
    if on_run_device(source) and result is source:
        result = _alias(source)
    return result


def _device_get(func, args, kwargs):
    return AUDIT_DEVICE if on_run_device(args[0]) else func(*args, **kwargs)


def _data_set(func, args, kwargs):
    result = func(*args, **kwargs)
    target, value = args[0], args[1]
    if on_run_device(value):
        setattr(target, _MARK, True)
    else:
        target.__dict__.pop(_MARK, None)
    return result


def _to_numpy(func, args, kwargs):
    if on_run_device(args[0]):
        _violation(TypeError(f"can't convert {AUDIT_DEVICE} (run.device under the device audit) tensor to "
                             f"numpy, as on a GPU. Use Tensor.cpu() to copy the tensor to host memory first."))
    return func(*args, **kwargs)


def _getitem(func, args, kwargs):
    source, index = args[0], args[1]
    if not on_run_device(source):
        indices = index if isinstance(index, tuple) else (index,)
        moved = [i for i in indices if isinstance(i, _Tensor) and on_run_device(i) and i.dim() > 0]
        if moved:
            _violation(DeviceMismatchError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{AUDIT_DEVICE} and cpu! (Tensor.__getitem__: a CPU tensor {tuple(source.shape)} indexed "
                f"by a run.device index {tuple(moved[0].shape)}; device audit)"))
    result = func(*args, **kwargs)
    if on_run_device(source):
        _mark(result)
    return result


def _plain(func, args, kwargs):                  # getters that return no tensor: the hot path
    return func(*args, **kwargs)


def _passthrough_keep(func, args, kwargs):      # copy_, __setitem__: cross-device as on CUDA
    return func(*args, **kwargs)


def _packing(func, args, kwargs):
    """``_pack_padded_sequence`` / ``_pad_packed_sequence``: the data goes to the device of the
    input; ``batch_sizes`` and ``lengths`` stay on the CPU, as PyTorch keeps them on CUDA."""
    result = func(*args, **kwargs)
    if on_run_device(args[0]):
        setattr(result[0], _MARK, True)
    return result


def _recurrent_kernel(func, args, kwargs):
    """``torch.lstm`` / ``gru`` / ``rnn_*``: a packed sequence passes its CPU ``batch_sizes`` as
    the second argument (as on CUDA); every other tensor follows the device rules."""
    checked = args
    if len(args) > 1 and isinstance(args[1], _Tensor) and not args[1].is_floating_point():
        checked = args[:1] + args[2:]
    marked, unmarked = _tensors(checked, kwargs)
    if marked and unmarked:
        _violation(_mismatch(func, checked, kwargs))
    elif not marked and unmarked and max(t.numel() for t in unmarked) >= HEAVY_MIN_NUMEL and not _cpu_depth():
        _violation(_on_cpu(func, checked, kwargs))
    result = func(*args, **kwargs)
    if marked:
        _mark(result)
    return result


def _register_hook(func, args, kwargs):
    """A hook on a run.device tensor receives its gradient marked (autograd makes it unaudited)."""
    tensor, hook = args[0], args[1]
    if on_run_device(tensor):
        def marked_hook(grad, _hook=hook):
            if isinstance(grad, _Tensor):
                setattr(grad, _MARK, True)
            return _hook(grad)
        args = (tensor, marked_hook) + tuple(args[2:])
    return func(*args, **kwargs)


_SPECIAL = {
    _Tensor.to: _to,
    _Tensor.cpu: _cpu,
    _Tensor.device.__get__: _device_get,
    _Tensor.data.__set__: _data_set,
    _Tensor.numpy: _to_numpy,
    _Tensor.__array__: _to_numpy,
    _Tensor.__getitem__: _getitem,
    _Tensor.__setitem__: _passthrough_keep,
    _Tensor.copy_: _passthrough_keep,
}
for _func in (getattr(torch, "_has_compatible_shallow_copy_type", None), _Tensor.is_set_to,
              getattr(torch, "is_same_size", None)):             # metadata only: no device rule
    if _func is not None:
        _SPECIAL[_func] = _passthrough_keep
for _getter in ("shape", "dtype", "requires_grad", "is_leaf", "ndim", "is_sparse", "layout", "names",
                "grad_fn", "_version", "is_cuda", "is_meta", "is_quantized", "is_nested"):
    _descriptor = getattr(_Tensor, _getter, None)
    if hasattr(_descriptor, "__get__"):
        _SPECIAL[_descriptor.__get__] = _plain
for _method in ("dim", "size", "numel", "item", "tolist", "is_contiguous", "is_floating_point",
                "is_complex", "element_size", "data_ptr", "stride", "storage_offset", "__len__",
                "__repr__", "__format__", "__bool__", "__float__", "__int__", "__index__", "__hash__",
                "requires_grad_", "retain_grad", "backward"):
    if hasattr(_Tensor, _method):
        _SPECIAL[getattr(_Tensor, _method)] = _plain
for _name_ in ("_pack_padded_sequence", "_pad_packed_sequence"):
    if hasattr(torch, _name_):
        _SPECIAL[getattr(torch, _name_)] = _packing
for _name_ in ("lstm", "gru", "rnn_tanh", "rnn_relu"):
    _SPECIAL[getattr(torch, _name_)] = _recurrent_kernel
_SPECIAL[_Tensor.register_hook] = _register_hook


def _tensors(args, kwargs) -> tuple[list, list]:
    """The tensor arguments (lists looked into): those on run.device, those on the CPU (not 0-dim)."""
    marked, unmarked = [], []
    for value in list(args) + list(kwargs.values()):
        for t in (value if isinstance(value, (list, tuple)) else (value,)):
            if isinstance(t, _Tensor):
                if on_run_device(t):
                    marked.append(t)
                elif t.dim():
                    unmarked.append(t)
    return marked, unmarked


def _on_cpu(func, args, kwargs) -> ComputedOnCPUError:
    return ComputedOnCPUError(
        f"{_name(func)} on CPU tensors {_shapes(_tensors(args, kwargs)[1])} was computed on the CPU, "
        f"not on run.device ({AUDIT_DEVICE} under the device audit): move the model/batch with "
        f".to(run.device), or wrap a deliberate CPU check in nlpbook.cpu_by_design(reason).")


def _mismatch(func, args, kwargs) -> DeviceMismatchError:
    marked, unmarked = _tensors(args, kwargs)
    return DeviceMismatchError(
        f"Expected all tensors to be on the same device, but found at least two devices, {AUDIT_DEVICE} and "
        f"cpu! ({_name(func)}: on run.device {_shapes(marked)}; on the CPU {_shapes(unmarked)}; device audit). "
        f"Move the CPU ones with .to(run.device) or create them with device=run.device.")


class DeviceAudit(TorchFunctionMode):
    """The torch function mode behind ``NLPBOOK_DEVICE_AUDIT``; see the module docstring.

    ``report_only=True`` (``NLPBOOK_DEVICE_AUDIT=warn``) warns once per place in the code instead
    of raising, so one run lists every place to fix.
    """

    def __init__(self, report_only: bool = False):
        super().__init__()
        self.report_only = report_only

    def __torch_function__(self, func, types, args=(), kwargs=None):
        special = _SPECIAL.get(func)
        if special is not None:
            if special is _plain:
                return func(*args, **(kwargs or {}))
            return special(func, args, kwargs or {})
        marked = unmarked = None
        biggest = 0
        for value in args:
            if isinstance(value, _Tensor):
                if getattr(value, _MARK, False):
                    marked = value if marked is None else marked
                elif value.dim():
                    unmarked = value if unmarked is None else unmarked
                    n = value.numel()
                    biggest = n if n > biggest else biggest
            elif type(value) in (list, tuple) and value and isinstance(value[0], _Tensor):
                for t in value:
                    if isinstance(t, _Tensor):
                        if getattr(t, _MARK, False):
                            marked = t if marked is None else marked
                        elif t.dim():
                            unmarked = t if unmarked is None else unmarked
                            n = t.numel()
                            biggest = n if n > biggest else biggest
        device = None
        if kwargs:
            device = kwargs.get("device")
            for value in kwargs.values():
                if isinstance(value, _Tensor):
                    if getattr(value, _MARK, False):
                        marked = value if marked is None else marked
                    elif value.dim():
                        unmarked = value if unmarked is None else unmarked
                        n = value.numel()
                        biggest = n if n > biggest else biggest
        else:
            kwargs = {}
        if marked is not None:
            if unmarked is not None:
                _violation(_mismatch(func, args, kwargs))
        elif biggest >= HEAVY_MIN_NUMEL and func in HEAVY_OPS and not _cpu_depth():
            _violation(_on_cpu(func, args, kwargs))
        result = func(*args, **kwargs)
        if device is not None:
            if _is_audit_device(device):
                _mark(result)
        elif marked is not None:
            _mark(result)
        return result


class DeviceAuditWarning(UserWarning):
    """What ``NLPBOOK_DEVICE_AUDIT=warn`` reports instead of raising."""


_reported: set = set()
_HERE = os.path.abspath(__file__)
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__))


def _user_frame() -> str:
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if name != _HERE and not name.startswith(_TORCH_DIR) and name != __file__:
            return f"{name}:{frame.f_lineno}"
        frame = frame.f_back
    return "?"


def _violation(error: Exception) -> None:
    if _mode is None or not _mode.report_only:
        raise error
    where = _user_frame()
    key = (type(error).__name__, where)
    if key not in _reported:
        _reported.add(key)
        warnings.warn(f"{type(error).__name__} at {where}: {error}", DeviceAuditWarning, stacklevel=3)


_mode: DeviceAudit | None = None
_original_parameter_new = nn.Parameter.__new__


def _parameter_new(cls, data=None, requires_grad=True):
    param = _original_parameter_new(cls, data, requires_grad)
    if data is not None and on_run_device(data):
        setattr(param, _MARK, True)
    return param


def is_enabled() -> bool:
    """Whether the audit is on in this thread."""
    return _mode is not None and threading.current_thread() is _mode_thread


_mode_thread = None


def enable(report_only: bool = False) -> None:
    """Switch the audit on in this thread until :func:`disable` (``setup()`` calls it). Idempotent.

    ``report_only``: warn once per place instead of raising (``NLPBOOK_DEVICE_AUDIT=warn``).
    """
    global _mode, _mode_thread
    if _mode is not None:
        _mode.report_only = report_only
        return
    mode = DeviceAudit(report_only)
    mode.__enter__()
    nn.Parameter.__new__ = _parameter_new
    _mode, _mode_thread = mode, threading.current_thread()


def disable() -> None:
    """Switch the audit off again (tests; a notebook keeps it to the end)."""
    global _mode, _mode_thread
    if _mode is None:
        return
    mode, _mode, _mode_thread = _mode, None, None
    nn.Parameter.__new__ = _original_parameter_new
    mode.__exit__(None, None, None)


@contextlib.contextmanager
def device_audit(report_only: bool = False):
    """``with device_audit():`` the audit on for a block (the tests use it); yields ``AUDIT_DEVICE``."""
    was_on = _mode is not None
    enable(report_only)
    try:
        yield AUDIT_DEVICE
    finally:
        if not was_on:
            disable()

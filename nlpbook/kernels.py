"""Small C++ loops compiled once on first use, cached, and a Python fallback when they cannot be.

Some of nlpbook's fast paths loop over time steps with a few small kernels per step (the fused
LSTM). At the sizes of this book each kernel takes microseconds, and the Python interpreter's
call overhead per kernel is of the same size, so the loop itself, not the arithmetic, sets
the time. The same loop written in C++ against ATen (the library under ``torch``) calls the same
kernels without the interpreter in between: the numbers are identical, only faster.

:func:`load` compiles such a source with ``torch.utils.cpp_extension.load_inline`` into
``$NLPBOOK_DATA/torch_extensions/<name>-<hash>/`` (the hash covers the source, the torch version
and the Python version, so a change to any of them builds anew) and returns the module. It
returns ``None``, and the caller runs its Python loop, when:

* ``$NLPBOOK_KERNELS`` is ``0`` (tests use it to compare both paths), or
* building fails (no C++ compiler or ``ninja``, as on some notebook hosts): a warning says so
  once; the Python loop gives the same numbers.

``make install`` builds every kernel ahead of time (``python -m nlpbook.kernels``), so the
notebooks never wait for a compiler; elsewhere the first call compiles (about a minute).
"""
from __future__ import annotations

import contextlib
import hashlib
import os
import platform
import sys
import warnings

import torch

from .validate import InputError, check_type

__all__ = ["load", "enabled", "disabled", "compiled_can_run", "ENV_VAR", "REGISTRY"]

ENV_VAR = "NLPBOOK_KERNELS"
# name -> (C++ source, function names); filled by the modules that own a kernel (register()).
REGISTRY: dict[str, tuple[str, tuple[str, ...]]] = {}
_loaded: dict[str, object] = {}
_failed: set[str] = set()


def enabled() -> bool:
    """Whether compiled kernels may be used (``$NLPBOOK_KERNELS`` is not ``0``)."""
    return os.environ.get(ENV_VAR, "1").strip() != "0"


@contextlib.contextmanager
def disabled():
    """Inside the ``with`` block every fast path runs its PyTorch code, as with ``$NLPBOOK_KERNELS=0``."""
    saved = os.environ.get(ENV_VAR)
    os.environ[ENV_VAR] = "0"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(ENV_VAR, None)
        else:
            os.environ[ENV_VAR] = saved


def compiled_can_run(tensor: torch.Tensor) -> bool:
    """Whether nlpbook's C++ loops can read ``tensor``: on the CPU, float32 or float64 (they read
    raw CPU memory; a GPU tensor, or a half-precision one, takes the PyTorch path)."""
    return tensor.device.type == "cpu" and tensor.dtype in (torch.float32, torch.float64)


def register(name: str, source: str, functions: tuple[str, ...]) -> None:
    """Declare a kernel (compiled lazily by :func:`load`, or ahead of time by ``python -m nlpbook.kernels``)."""
    check_type("name", name, str)
    check_type("source", source, str)
    if not functions or not all(isinstance(f, str) and f in source for f in functions):
        raise InputError(f"functions must name functions defined in the source, got {functions!r}")
    REGISTRY[name] = (source, tuple(functions))


# -march=native: the kernel is built on the machine that runs it (the CPU's flags are in the
# cache key). -fno-math-errno / -fno-trapping-math and __FAST_MATH__ let GCC vectorise exp and
# tanh through glibc's vector math library (libmvec, accurate to a few ulp) without the rest of
# -ffast-math (NaN and infinity keep their meaning). -fopenmp-simd honours `#pragma omp simd
# reduction(...)`, which lets a dot product be summed in vector lanes (no threads, no OpenMP runtime).
CFLAGS = ("-O3", "-march=native", "-fno-math-errno", "-fno-trapping-math", "-D__FAST_MATH__", "-fopenmp-simd")


def _cpu() -> str:
    """The CPU's model and instruction-set flags (a kernel built with -march=native runs only there)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as handle:
            lines = [line for line in handle if line.startswith(("model name", "flags"))]
        return "".join(sorted(set(lines)))
    except OSError:
        return platform.processor() or platform.machine()


def _build_directory(name: str, source: str) -> tuple[str, str]:
    from .data.cache import data_root

    digest = hashlib.sha256("\0".join([source, " ".join(CFLAGS), torch.__version__, platform.python_version(),
                                       sys.platform, _cpu()]).encode()).hexdigest()[:16]
    folder = os.path.join(data_root(), "torch_extensions", f"{name}-{digest}")
    os.makedirs(folder, exist_ok=True)
    return f"nlpbook_{name}_{digest}", folder


def _ninja_on_path() -> None:
    """torch finds ``ninja`` on PATH; the pip package puts it next to the venv's python."""
    import shutil

    venv_bin = os.path.dirname(sys.executable)
    if shutil.which("ninja") is None and os.path.exists(os.path.join(venv_bin, "ninja")):
        os.environ["PATH"] = venv_bin + os.pathsep + os.environ.get("PATH", "")


def load(name: str, *, verbose: bool = False):
    """The compiled module of the registered kernel ``name``, or ``None`` (see the module docstring)."""
    if name not in REGISTRY:
        raise InputError(f"name {name!r} is not a registered kernel; known: {sorted(REGISTRY)}")
    if not enabled() or name in _failed:
        return None
    if name in _loaded:
        return _loaded[name]
    source, functions = REGISTRY[name]
    _ninja_on_path()
    try:
        from torch.utils.cpp_extension import load_inline

        module_name, folder = _build_directory(name, source)
        if not any(f.endswith(".so") for f in os.listdir(folder)):     # first use here: say why it waits
            print(f"nlpbook: building its C++ loop {name!r} once (about a minute; cached in {folder})",
                  file=sys.stderr, flush=True)
        # A source with its own PYBIND11_MODULE binds its functions itself (e.g. to release the GIL).
        bind = None if "PYBIND11_MODULE" in source else list(functions)
        module = load_inline(name=module_name, cpp_sources=[source], functions=bind,
                             build_directory=folder, extra_cflags=list(CFLAGS), verbose=verbose)
    except Exception as error:  # noqa: BLE001 - any build failure means: use the Python loop
        _failed.add(name)
        warnings.warn(f"nlpbook could not compile its C++ kernel {name!r} ({type(error).__name__}: "
                      f"{str(error).strip().splitlines()[-1] if str(error).strip() else ''}); "
                      "using the PyTorch code instead (the same numbers to float rounding, slower)", RuntimeWarning, stacklevel=2)
        return None
    _loaded[name] = module
    return module


def build_all() -> dict[str, bool]:
    """Build every registered kernel now; ``{name: built}``."""
    from .rnn import gru_compiled, lstm_compiled  # noqa: F401  (importing an owner registers its kernel)
    from .word2vec import sgns_compiled  # noqa: F401

    return {name: load(name) is not None for name in sorted(REGISTRY)}


if __name__ == "__main__":
    # `python -m nlpbook.kernels` runs this file as __main__, a second copy of the module: use the
    # package's own, where the kernels register.
    from nlpbook import kernels as _package_kernels

    for _name, _built in _package_kernels.build_all().items():
        print(f"nlpbook.kernels: {_name}: " + ("built (cached)" if _built else
                                                "not built: the Python loop will be used"))
    # A missing compiler is not an install failure: the Python loop gives the same numbers.
    raise SystemExit(0)

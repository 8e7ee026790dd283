"""Device selection and seeding, in one call at the top of every chapter."""
from __future__ import annotations

import os
import warnings
import sys
import platform
import random
from dataclasses import dataclass

import numpy as np
import torch

from . import device_audit
from .display import use_book_style
from .profiles import Profile, resolve_profile

DEVICE_ENV_VAR = "NLPBOOK_DEVICE"
THREADS_ENV_VAR = "NLPBOOK_THREADS"


def get_device(name: str | None = None) -> torch.device:
    """CUDA if present, then Apple's MPS, then the CPU; ``$NLPBOOK_DEVICE`` or ``name`` overrides.

    Asking for a device this machine does not have is an error, not a silent fallback.
    """
    name = name or os.environ.get(DEVICE_ENV_VAR) or None
    if name is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(name)
    except RuntimeError as err:
        raise ValueError(f"{DEVICE_ENV_VAR}={name!r} is not a torch device name (try cpu, cuda, mps)") from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(f"device {name!r} was requested but CUDA is not available on this machine")
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError(f"device {name!r} was requested but MPS is not available on this machine")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, numpy and torch (every device), so a rerun repeats its numbers."""
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative int, got {seed!r}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)  # also seeds every CUDA device


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` chose: the profile, the device and the seed."""

    profile: Profile
    device: torch.device
    seed: int

    @property
    def audited(self) -> bool:
        """Whether this run computes on the device audit's simulated device (``NLPBOOK_DEVICE_AUDIT``)."""
        return self.device == device_audit.AUDIT_DEVICE

    def __str__(self) -> str:
        device = f"{self.device} (device audit)" if self.audited else str(self.device)
        return (f"nlpbook: profile={self.profile.name} device={device} seed={self.seed} "
                f"torch={torch.__version__} python={platform.python_version()} "
                f"threads={torch.get_num_threads()}")


def _quiet_library_progress_bars() -> None:
    """Where nlpbook's own bars are off (``NLPBOOK_PROGRESS=0``: the rendered book, the tests), turn off
    the ones ``transformers`` draws while it loads weights too, so none lands in a page."""
    from .display import progress_enabled

    if progress_enabled():
        return
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")     # read when transformers is imported
    # transformers imports tqdm.auto, which in a kernel without ipywidgets warns that it cannot draw
    # widget bars: there are none to draw here, so the warning would only print onto the page.
    warnings.filterwarnings("ignore", message="IProgress not found")
    if "transformers" in sys.modules:                              # already imported: tell it directly
        sys.modules["transformers"].utils.logging.disable_progress_bar()


def setup(profile: str | None = None, seed: int = 0, device: str | None = None,
          threads: int | None = None, quiet: bool = False) -> Setup:
    """Resolve the profile, pick the device, seed everything; print one line saying so.

    ``threads`` (or ``$NLPBOOK_THREADS``) sets torch's CPU threads. Small recurrent models run
    faster on one thread: their per-step matrices are too small to share, and two busy cores
    make each step wait for the slower one.

    ``$NLPBOOK_DEVICE_AUDIT=1`` on a machine whose chosen device is the CPU runs the rest of
    the notebook under :mod:`nlpbook.device_audit`: ``run.device`` is then ``cpu:0``, a
    simulated second device, and a model or batch left off it fails loudly, as on a GPU.
    Where CUDA or MPS is chosen the variable is ignored: the real device catches the same mistakes.
    ``$NLPBOOK_DEVICE_AUDIT=warn`` reports every such place once instead of stopping at the first.
    """
    threads = threads if threads is not None else os.environ.get(THREADS_ENV_VAR) or None
    if threads is not None:
        if not str(threads).isdigit() or int(threads) < 1:
            raise ValueError(f"threads must be a positive int (or ${THREADS_ENV_VAR}), got {threads!r}")
        torch.set_num_threads(int(threads))
    chosen_device = get_device(device)
    audit = device_audit.audit_requested()
    if audit and chosen_device.type == "cpu":
        device_audit.enable(report_only=audit == "warn")
        chosen_device = device_audit.AUDIT_DEVICE
    else:
        device_audit.disable()          # a setup() without the audit ends one an earlier call began
    chosen = Setup(Profile(resolve_profile(profile)), chosen_device, seed)
    seed_everything(seed)
    _quiet_library_progress_bars()
    use_book_style()
    if not quiet:
        print(chosen)
    return chosen


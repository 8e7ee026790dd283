"""nlpbook: the package behind the executable NLP book.

Every chapter starts with::

    import nlpbook
    run = nlpbook.setup(PROFILE, seed=SEED)   # profile, device, seeds: one line printed

and shows nlpbook's code with :func:`nlpbook.show_source` instead of copying it.
Layout: batch first everywhere, ``(B, T, D)``.
"""
from .device_audit import cpu_by_design
from .display import show_source, table
from .profiles import PROFILES, Profile, ProfileError, resolve_profile
from .runtime import Setup, get_device, seed_everything, setup
from .training import History, NonFiniteLossError, model_device, to_device, train

__version__ = "0.1.0"
__all__ = [
    "PROFILES", "Profile", "ProfileError", "resolve_profile",
    "Setup", "get_device", "seed_everything", "setup",
    "show_source", "table", "History", "NonFiniteLossError", "train", "to_device", "model_device",
    "cpu_by_design",
]

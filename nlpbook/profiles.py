"""Run profiles: how big a run is, never which checks it makes.

``smoke``  tests and CI: tiny data, seconds per notebook, every correctness assert still runs.
``book``   the default, what ``make book`` renders: real offline data, minutes per chapter on
           two CPU cores, quality thresholds asserted.
``full``   a GPU or a patient CPU: sized for one GPU (every model and batch on ``run.device``,
           larger corpora, models and seed counts than ``book``; minutes per chapter on one
           GPU, hours on a CPU). ``book`` stays sized for two CPU cores, GPU or not.

A notebook's parameters cell holds ``PROFILE = None`` (papermill may inject ``"smoke"``);
``None`` falls back to the ``NLPBOOK_PROFILE`` environment variable, then to ``"book"``.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

PROFILES = ("smoke", "book", "full")
DEFAULT_PROFILE = "book"
ENV_VAR = "NLPBOOK_PROFILE"


class ProfileError(ValueError):
    """An unknown profile name, or a setting with no value for the active profile."""


def resolve_profile(name: str | None = None) -> str:
    """The active profile: ``name`` if given, else ``$NLPBOOK_PROFILE``, else ``"book"``."""
    source = "argument"
    if name is None or name == "":
        name, source = os.environ.get(ENV_VAR, "") or DEFAULT_PROFILE, ENV_VAR
    name = str(name).strip().lower()
    if name not in PROFILES:
        raise ProfileError(f"unknown profile {name!r} (from {source}); choose one of {', '.join(PROFILES)}")
    return name


@dataclass(frozen=True)
class Profile:
    """The active profile, with :meth:`pick` to choose a setting by profile.

    >>> Profile("smoke").pick(smoke=1_000, book=100_000)
    1000
    """

    name: str

    def __post_init__(self) -> None:
        if self.name not in PROFILES:
            raise ProfileError(f"unknown profile {self.name!r}; choose one of {', '.join(PROFILES)}")

    def pick(self, *, smoke: Any, book: Any, full: Any = None) -> Any:
        """The value for the active profile; ``full`` defaults to the ``book`` value."""
        if self.name == "smoke":
            return smoke
        if self.name == "full" and full is not None:
            return full
        return book

    @property
    def is_smoke(self) -> bool:
        return self.name == "smoke"

    def __str__(self) -> str:
        return self.name

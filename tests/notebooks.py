"""Where the book's notebooks are, for the tests that execute and check them."""
from __future__ import annotations

import os

from nlpbook.book_map import toc_files

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TOC = os.path.join(ROOT, "_toc.yml")


def book_notebooks() -> list[str]:
    """Every .ipynb under book/, relative to the repository root, sorted."""
    found = []
    for folder, _, files in os.walk(os.path.join(ROOT, "book")):
        if ".ipynb_checkpoints" in folder:
            continue
        found += [os.path.relpath(os.path.join(folder, f), ROOT) for f in files if f.endswith(".ipynb")]
    return sorted(found)


def toc_notebooks() -> list[str]:
    """The notebooks the table of contents lists (pages that are .md are not notebooks)."""
    return [n for n in book_notebooks() if os.path.splitext(n)[0] in toc_files(TOC)]

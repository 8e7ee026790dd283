"""Pair every book/**/*.py (py:percent, the reviewed source) with its .ipynb, outputs stripped.

The .py file is the source of truth: the .ipynb is regenerated from it, so a notebook edited
in Jupyter must be saved back to .py first (jupytext pairs them when opened in Jupyter).
It also writes each chapter's Colab badge and setup cell from _config.yml and the Makefile
(tools/colab.py). Usage: python tools/sync_notebooks.py [files...]
"""
from __future__ import annotations

import glob
import hashlib
import os
import sys

import jupytext
import nbformat

import colab

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FORMATS = "ipynb,py:percent"


def notebook_sources(paths: list[str] | None = None) -> list[str]:
    if paths:
        return [os.path.abspath(p) for p in paths]
    return sorted(glob.glob(os.path.join(ROOT, "book", "**", "*.py"), recursive=True))


def sync(py_path: str) -> str:
    notebook = os.path.relpath(os.path.splitext(py_path)[0] + ".ipynb", ROOT).replace(os.sep, "/")
    with open(py_path, encoding="utf-8") as handle:
        text = handle.read()
    fixed = colab.rewrite_source(text, notebook)  # the badge and setup cell, from one place
    if fixed != text:
        with open(py_path + ".tmp", "w", encoding="utf-8") as handle:
            handle.write(fixed)
        os.replace(py_path + ".tmp", py_path)
    nb = jupytext.read(py_path, fmt="py:percent")
    nb.metadata.setdefault("jupytext", {})["formats"] = FORMATS
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(nb.cells):
        # Ids by position, not random: re-syncing an unchanged source leaves the .ipynb unchanged.
        cell.id = hashlib.sha1(f"{index}:{cell.cell_type}".encode()).hexdigest()[:8]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
        cell.metadata.pop("execution", None)
    ipynb_path = os.path.splitext(py_path)[0] + ".ipynb"
    text = nbformat.writes(nb, version=4)
    old = open(ipynb_path, encoding="utf-8").read() if os.path.exists(ipynb_path) else None
    if old != text + "\n" and old != text:
        tmp = ipynb_path + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text + "\n")
        os.replace(tmp, ipynb_path)
        return "written"
    return "unchanged"


if __name__ == "__main__":
    for path in notebook_sources(sys.argv[1:]):
        print(f"{sync(path):9s} {os.path.relpath(os.path.splitext(path)[0] + '.ipynb', ROOT)}")

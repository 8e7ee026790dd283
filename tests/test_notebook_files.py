"""Committed notebooks carry no outputs, have a py:percent twin in sync, and are in the book."""
from __future__ import annotations

import os
import re
import sys

import jupytext
import nbformat
import pytest

from notebooks import ROOT, TOC, book_notebooks
from nlpbook.book_map import toc_files

sys.path.insert(0, os.path.join(ROOT, "tools"))
import colab  # noqa: E402

NOTEBOOKS = book_notebooks()


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found under book/"


@pytest.mark.parametrize("nb_path", NOTEBOOKS)
def test_notebook_has_no_outputs(nb_path):
    nb = nbformat.read(os.path.join(ROOT, nb_path), as_version=4)
    dirty = [i for i, c in enumerate(nb.cells)
             if c.cell_type == "code" and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{nb_path}: cells {dirty} carry outputs or execution counts; run `make sync`"


@pytest.mark.parametrize("nb_path", NOTEBOOKS)
def test_notebook_matches_its_py_percent_twin(nb_path):
    py_path = os.path.join(ROOT, os.path.splitext(nb_path)[0] + ".py")
    assert os.path.exists(py_path), f"{nb_path} has no py:percent twin {os.path.relpath(py_path, ROOT)}"
    from_py = jupytext.read(py_path, fmt="py:percent")
    from_nb = nbformat.read(os.path.join(ROOT, nb_path), as_version=4)

    def cells(nb):
        return [(c.cell_type, c.source.strip(), sorted(c.metadata.get("tags", []))) for c in nb.cells]

    a, b = cells(from_py), cells(from_nb)
    assert len(a) == len(b), f"{nb_path}: {len(b)} cells but its .py has {len(a)}; run `make sync`"
    for i, (x, y) in enumerate(zip(a, b)):
        assert x == y, f"{nb_path}: cell {i} differs from its .py twin; run `make sync`\n.py: {x[1][:200]!r}\n.ipynb: {y[1][:200]!r}"


@pytest.mark.parametrize("nb_path", NOTEBOOKS)
def test_notebook_has_parameters_cell_and_setup(nb_path):
    nb = nbformat.read(os.path.join(ROOT, nb_path), as_version=4)
    params = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(params) == 1, f"{nb_path}: needs exactly one cell tagged 'parameters', found {len(params)}"
    assert "PROFILE = None" in params[0].source, f"{nb_path}: the parameters cell must default PROFILE = None"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert "nlpbook.setup(PROFILE" in code, f"{nb_path}: must call nlpbook.setup(PROFILE, ...)"


def test_every_notebook_is_in_the_toc():
    listed = toc_files(TOC)
    orphans = [n for n in NOTEBOOKS if os.path.splitext(n)[0] not in listed]
    assert not orphans, f"notebooks missing from _toc.yml: {orphans}"


def test_every_toc_entry_exists():
    for entry in toc_files(TOC):
        assert any(os.path.exists(os.path.join(ROOT, entry + ext)) for ext in (".ipynb", ".md")), \
            f"_toc.yml lists {entry} but neither {entry}.ipynb nor {entry}.md exists"


def tags(cell) -> set[str]:
    return set(cell.metadata.get("tags", []))


@pytest.mark.parametrize("nb_path", NOTEBOOKS)
def test_colab_badge_and_setup_cell_come_from_one_place(nb_path):
    nb = nbformat.read(os.path.join(ROOT, nb_path), as_version=4)
    assert colab.badge(nb_path) in nb.cells[0].source, \
        f"{nb_path}: its first cell needs the Colab badge {colab.badge(nb_path)}; run `make sync`"
    setup = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(colab.SETUP_CELL_FIRST_LINE)]
    assert len(setup) == 1, f"{nb_path}: needs exactly one Colab setup cell, found {len(setup)}"
    assert setup[0].source.strip() == colab.setup_cell().strip(), \
        f"{nb_path}: its Colab setup cell differs from tools/colab.py's (from _config.yml and the Makefile); run `make sync`"
    assert "remove-cell" in tags(setup[0]), f"{nb_path}: the Colab setup cell must be tagged remove-cell"
    first_code = next(c for c in nb.cells if c.cell_type == "code")
    assert first_code is setup[0], f"{nb_path}: the Colab setup cell must be the first code cell"


# Code that only builds prose, a table or a listing: the reader sees its output, not the code.
MACHINERY = re.compile(r"\bMarkdown\(|(?:^|[^\w.])(?:nlpbook\.)?table\(|show_source\(", re.M)


@pytest.mark.parametrize("nb_path", NOTEBOOKS)
def test_machinery_cells_are_hidden(nb_path):
    nb = nbformat.read(os.path.join(ROOT, nb_path), as_version=4)
    code = [(i, c) for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    shown = [f"cell {i}: {c.source.strip()[:80]!r}" for i, c in code
             if MACHINERY.search(c.source) and not tags(c) & {"remove-input", "remove-cell"}]
    assert not shown, (f"{nb_path}: cells that build prose, tables or listings must be tagged remove-input "
                       "(their output stays):\n" + "\n".join(shown))
    styled = [f"cell {i}" for i, c in code if re.search(r"\.style\b", c.source)]
    assert not styled, f"{nb_path}: pandas .style tables in {styled}; use nlpbook.table"
    params = [c for _, c in code if "parameters" in tags(c)]
    assert params and "remove-cell" in tags(params[0]), f"{nb_path}: tag the parameters cell remove-cell too"
    setup = [c for _, c in code if "nlpbook.setup(PROFILE" in c.source]
    assert setup and tags(setup[0]) & {"hide-input", "remove-input"}, \
        f"{nb_path}: the cell that calls nlpbook.setup(PROFILE, ...) must be tagged hide-input"

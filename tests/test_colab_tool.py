"""tools/colab.py rewrites a chapter's badge and setup cell and nothing else."""
import os
import sys

from notebooks import ROOT

sys.path.insert(0, os.path.join(ROOT, "tools"))
import colab  # noqa: E402

CHAPTER = '''# %% [markdown]
# # Title
#
# [![Open in Colab](https://example.org/badge.svg)](https://example.org/old.ipynb)

# %% tags=["remove-cell"]
# Setup: on Colab, install nlpbook and its data packages; locally this does nothing.
import old_setup
{gap}# %% tags=["parameters", "remove-cell"]
PROFILE = None
SEED = 0
'''


def test_rewrite_keeps_the_next_cell_with_or_without_a_blank_line():
    for gap in ("", "\n"):
        text = colab.rewrite_source(CHAPTER.format(gap=gap), "book/x/y.ipynb")
        assert colab.badge("book/x/y.ipynb") in text
        assert colab.setup_cell() in text and "old_setup" not in text
        assert '# %% tags=["parameters", "remove-cell"]\nPROFILE = None\nSEED = 0\n' in text
        assert colab.rewrite_source(text, "book/x/y.ipynb") == text  # a second run changes nothing


def test_colab_url_comes_from_the_config():
    url = colab.colab_url("book/rnn/gru.ipynb")
    assert url.startswith("https://colab.research.google.com/github/")
    assert url.endswith("/blob/" + colab.repository()["branch"] + "/book/rnn/gru.ipynb")

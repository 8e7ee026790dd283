import os

import nlpbook
from nlpbook import show_source
from nlpbook.display import source_of
from nlpbook.training import train


def test_show_source_shows_the_code_that_runs():
    md = show_source(train)
    text = md.data
    assert "```python" in text and "def train(" in text
    assert "nlpbook/training.py" in text
    source, rel, first = source_of(train)
    path = os.path.join(os.path.dirname(os.path.dirname(nlpbook.__file__)), rel)
    with open(path, encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    assert lines[first - 1].startswith("def train(")
    assert f"lines {first}–" in text


def test_show_source_fences_code_that_contains_backticks():
    text = show_source(nlpbook.training).data  # the module docstring has a ``::`` block
    fence = text.split("python\n", 1)[0].split("\n")[-1]
    assert fence.startswith("```")
    body = text.split(fence + "python\n", 1)[1]
    assert body.rstrip().endswith(fence)


def test_show_source_of_a_builtin_is_a_clear_error():
    import pytest
    with pytest.raises(TypeError, match="cannot show the source"):
        show_source(len)


def test_show_source_unwraps_decorators():
    import functools

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            return fn(*args, **kwargs)
        return wrapper

    @decorate
    def decorated_example():
        return "the body"

    assert "the body" in show_source(decorated_example).data


def test_table_formats_numbers_for_a_reader():
    from nlpbook import table

    text = table([{"model": "a|b", "tokens": 3510559263064, "share": 0.0028993, "ratio": 45243.8,
                   "loss": 0.28993, "norm": 1.0e-32, "missing": None}], percent=("share",)).data
    header, rule, row = text.strip().splitlines()
    assert header == "| model | tokens | share | ratio | loss | norm | missing |"
    assert rule == "|:---|---:|---:|---:|---:|---:|:---|"
    assert row == "| a\\|b | 3,510,559,263,064 | 0.3% | 45,244 | 0.2899 | 1.00e-32 | – |"


def test_table_accepts_a_dataframe_and_custom_formats():
    import pandas as pd
    from nlpbook import table

    text = table(pd.DataFrame({"x": [1.5, 2.25]}), formats={"x": "{:.1f} s"}).data
    assert "| 1.5 s |" in text and "| 2.2 s |" in text


def test_table_rejects_what_it_cannot_show():
    import pytest
    from nlpbook import table

    with pytest.raises(ValueError, match="rows is empty"):
        table([])
    with pytest.raises(TypeError, match="list of dicts"):
        table([1, 2])
    with pytest.raises(ValueError, match="not in the table"):
        table([{"a": 1}], percent=("b",))


def test_progress_follows_the_environment(monkeypatch):
    from nlpbook.display import progress, progress_enabled

    monkeypatch.setenv("NLPBOOK_PROGRESS", "0")
    assert not progress_enabled() and progress(range(3)).disable
    assert progress_enabled(True)
    monkeypatch.setenv("NLPBOOK_PROGRESS", "1")
    assert progress_enabled() and not progress(range(3)).disable


def test_setup_sets_the_book_figure_style():
    import matplotlib

    from nlpbook.display import FIGURE_MAX_WIDTH_IN

    nlpbook.setup("smoke", quiet=True)
    assert matplotlib.rcParams["figure.figsize"][0] <= FIGURE_MAX_WIDTH_IN

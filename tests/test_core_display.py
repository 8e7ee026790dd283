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

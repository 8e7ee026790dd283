"""tools/execute_book.py re-executes exactly the notebooks whose inputs changed, and never keeps a stale page.

A tiny book in a temporary folder (two notebooks that print what they read, a fake package file,
a toc): build, build again (nothing runs), change one chapter (only it runs), change the package
(both run), change the profile (both run), break a chapter (no copy of it is kept).
"""
from __future__ import annotations

import json
import os
import sys

import nbformat
import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tools"))

import execute_book  # noqa: E402


def write_notebook(path: str, code: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    nbformat.write(nb, path)


def printed(executed: str) -> str:
    with open(executed, encoding="utf-8") as handle:
        nb = json.load(handle)
    texts = [o.get("text", "") for c in nb["cells"] for o in c.get("outputs", [])]
    return "".join("".join(t) if isinstance(t, list) else t for t in texts)


@pytest.fixture
def tiny_book(tmp_path, monkeypatch):
    root = tmp_path / "book-root"
    (root / "nlpbook").mkdir(parents=True)
    (root / "nlpbook" / "module.py").write_text("VALUE = 1\n")
    (root / "pyproject.toml").write_text("[project]\nname = 'tiny'\n")
    (root / "_toc.yml").write_text("format: jb-book\nroot: book/a\nchapters:\n  - file: book/b\n")
    write_notebook(str(root / "book" / "a.ipynb"), "import os; print('a', 1, os.environ['NLPBOOK_PROFILE'])")
    write_notebook(str(root / "book" / "b.ipynb"), "print('b', 1)")
    for key in [k for k in os.environ if k.startswith("NLPBOOK_") and k not in execute_book.IGNORED_ENV]:
        monkeypatch.delenv(key)
    return root


def run(root, profile="smoke"):
    return execute_book.execute_stale(profile, root=str(root), notebooks=str(root / "_build" / "nb"),
                                      log=lambda *_: None)


def test_only_what_changed_executes_again(tiny_book):
    root, out = tiny_book, tiny_book / "_build" / "nb" / "book"
    assert run(root) == (["book/a.ipynb", "book/b.ipynb"], [])
    assert run(root) == ([], []), "nothing changed, nothing may execute"

    write_notebook(str(root / "book" / "b.ipynb"), "print('b', 2)")
    assert run(root) == (["book/b.ipynb"], [])
    assert printed(str(out / "b.ipynb")) == "b 2\n", "the page must show the changed chapter's output"

    (root / "nlpbook" / "module.py").write_text("VALUE = 2\n")
    assert run(root) == (["book/a.ipynb", "book/b.ipynb"], []), "a package change re-executes every chapter"

    assert run(root, profile="book") == (["book/a.ipynb", "book/b.ipynb"], [])
    assert printed(str(out / "a.ipynb")) == "a 1 book\n"
    assert json.load(open(out / "a.ipynb"))["metadata"]["nlpbook"]["profile"] == "book"
    assert run(root, profile="book") == ([], [])


def test_a_setting_change_executes_again(tiny_book, monkeypatch):
    run(tiny_book)
    monkeypatch.setenv("NLPBOOK_THREADS", "1")
    assert run(tiny_book) == (["book/a.ipynb", "book/b.ipynb"], [])
    monkeypatch.setenv("NLPBOOK_DATA", "/somewhere/else")       # where the cache is changes no result
    assert run(tiny_book) == ([], [])


def test_a_failing_chapter_leaves_no_page(tiny_book):
    out = tiny_book / "_build" / "nb" / "book"
    run(tiny_book)
    write_notebook(str(tiny_book / "book" / "b.ipynb"), "raise RuntimeError('broken chapter')")
    assert run(tiny_book) == ([], ["book/b.ipynb"])
    assert not (out / "b.ipynb").exists(), "the older page of a failing chapter must not be rendered"
    assert (out / "b.failed.ipynb").exists(), "the failed run is kept for the reader to inspect"
    assert (out / "a.ipynb").exists()
    assert run(tiny_book) == ([], ["book/b.ipynb"]), "a failed chapter runs again next time"
    write_notebook(str(tiny_book / "book" / "b.ipynb"), "print('b', 3)")
    assert run(tiny_book) == (["book/b.ipynb"], [])
    assert not (out / "b.failed.ipynb").exists()


def test_the_key_covers_the_notebook_and_the_environment(tiny_book):
    shared = execute_book.environment_key("smoke", str(tiny_book), env={})
    assert shared != execute_book.environment_key("book", str(tiny_book), env={})
    assert shared != execute_book.environment_key("smoke", str(tiny_book), env={"NLPBOOK_DEVICE": "cpu"})
    assert shared == execute_book.environment_key("smoke", str(tiny_book), env={"NLPBOOK_PROGRESS": "1"})
    a = execute_book.build_key(str(tiny_book / "book" / "a.ipynb"), shared)
    assert a != execute_book.build_key(str(tiny_book / "book" / "b.ipynb"), shared)
    assert a == execute_book.build_key(str(tiny_book / "book" / "a.ipynb"), shared)


def test_the_html_is_rebuilt_when_a_page_or_the_config_changes(tiny_book):
    notebooks = str(tiny_book / "_build" / "nb")
    run(tiny_book)
    before = execute_book.html_key(str(tiny_book), notebooks)
    assert before == execute_book.html_key(str(tiny_book), notebooks)
    write_notebook(str(tiny_book / "book" / "b.ipynb"), "print('b', 4)")
    run(tiny_book)
    after_page = execute_book.html_key(str(tiny_book), notebooks)
    assert after_page != before
    (tiny_book / "_config.yml").write_text("title: changed\n")
    assert execute_book.html_key(str(tiny_book), notebooks) != after_page

"""nlpbook.book_map agrees exactly with _toc.yml, so the intro's map can be shown without a checkout."""
import os
import re

import pytest

from notebooks import ROOT, TOC
from nlpbook import book_map
from nlpbook.book_map import PARTS, ROOT_PAGE, chapter_rows, map_markdown, toc_pages, toc_parts


def test_parts_are_the_toc_parts_in_order():
    assert [p.caption for p in PARTS] == [caption for caption, _ in toc_parts(TOC)]
    assert toc_pages(TOC)[0] == ROOT_PAGE


@pytest.mark.parametrize("part", PARTS, ids=lambda p: p.caption)
def test_written_chapters_are_exactly_the_toc_chapters_of_their_part(part):
    listed = dict(toc_parts(TOC))[part.caption]
    overview = [part.page] if part.page is not None else []
    written = [ch.file for ch in part.chapters if ch.written]
    assert listed == overview + written, (
        f"{part.caption}: _toc.yml lists {listed}, nlpbook.book_map has overview {overview} "
        f"and written chapters {written}: mark a chapter written exactly when _toc.yml lists it")


def test_every_toc_page_is_the_root_a_part_overview_or_a_written_chapter():
    known = {ROOT_PAGE} | {p.page for p in PARTS if p.page} | {ch.file for ch in book_map.written_chapters()}
    assert set(toc_pages(TOC)) == known


def test_every_written_chapter_is_a_notebook_and_every_overview_a_page():
    for ch in book_map.written_chapters():
        assert os.path.exists(os.path.join(ROOT, ch.file + ".ipynb")), ch.file
    for part in PARTS:
        if part.page:
            assert os.path.exists(os.path.join(ROOT, part.page + ".md")), part.page


def test_no_chapter_is_planned_twice():
    files = [r["file"] for r in chapter_rows()]
    assert len(files) == len(set(files)), "a chapter is planned twice"


def test_map_links_every_written_chapter_and_no_planned_one():
    text = map_markdown()
    targets = re.findall(r"\]\(([^)]+)\)", text)
    for ch in book_map.chapters():
        link = book_map.relative_link(ch.file)
        assert (link in targets) == ch.written, ch.file
    # every link resolves, relative to the page that shows the map
    for target in targets:
        assert os.path.exists(os.path.join(ROOT, os.path.dirname(ROOT_PAGE), target)), target
    # one table per part, each under its caption: the part is not repeated on every row
    assert text.count("| chapter | seed question | status |") == len(PARTS)
    for part in PARTS:
        assert text.count(f"**{part.caption}**") == 1


def test_relative_link():
    assert book_map.relative_link("book/rnn/gru") == "rnn/gru.ipynb"
    assert book_map.relative_link("book/data") == "data.ipynb"
    assert book_map.relative_link("book/part1", ".md") == "part1.md"
    assert book_map.relative_link("book/rnn/gru", start="book/word2vec/skipgram_cbow") == "../rnn/gru.ipynb"

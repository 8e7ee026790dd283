from notebooks import TOC
from nlpbook.book_map import PARTS, chapter_rows, toc_files


def test_map_has_five_parts_and_marks_only_toc_chapters_written():
    assert len(PARTS) == 5
    rows = chapter_rows(TOC)
    listed = toc_files(TOC)
    for row in rows:
        assert (row["status"] == "written") == (row["file"] in listed)
    files = [r["file"] for r in rows]
    assert len(files) == len(set(files)), "a chapter is planned twice"


def test_every_toc_chapter_is_in_the_map():
    planned = {r["file"] for r in chapter_rows(TOC)}
    pages = {f for f in toc_files(TOC) if f.count("/") > 1}  # chapters live in book/<part>/
    assert pages <= planned, f"chapters in _toc.yml missing from nlpbook.book_map: {pages - planned}"

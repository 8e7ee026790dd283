"""Read a Bible from a SWORD zText module (the format of Debian's ``sword-text-*`` packages).

A zText module stores each testament in three files:

* ``ot.bzv`` / ``nt.bzv``: the verse index, one 10-byte record ``<IIH`` per slot:
  ``(block number, start offset in the uncompressed block, size in bytes)``;
* ``ot.bzs`` / ``nt.bzs``: the block index, one 12-byte record ``<III`` per block:
  ``(offset in .bzz, compressed size, uncompressed size)``;
* ``ot.bzz`` / ``nt.bzz``: the zlib-compressed blocks (one block per book here).

Slot ``i`` of a testament is ``block[b][start:start+size]`` (UTF-8 OSIS markup). The slots
follow the module's versification: slot 0 is the module heading, slot 1 the testament
heading, then for every book one slot for its introduction and, for every chapter, one slot
for the chapter heading followed by one per verse. The chapter-heading slot carries a
``<chapter osisID="Gen.1"/>`` milestone, so the reader recovers ``(book, chapter, verse)``
from the markup itself; that works for any versification (KJV for the KJV and the
Reina-Valera 1909, NRSVA with the deuterocanon for the WEB) without a versification table.
"""
from __future__ import annotations

import html
import os
import re
import struct
import zlib
from dataclasses import dataclass

from . import cache, sources

FORMAT_VERSION = 2
SWORD_DIR = "usr/share/sword/modules/texts/ztext"

#: module name -> (Debian package, language, description)
MODULES = {
    "engKJV2006eb": ("sword-text-kjv", "en", "King James Version (1769 text)"),
    "engWEB2015eb": ("sword-text-web", "en", "World English Bible (modern English)"),
    "spaRV1909eb": ("sword-text-sparv", "es", "Reina-Valera 1909 (Spanish)"),
}

_CHAPTER_RE = re.compile(r'<chapter\b[^>]*\bosisID="([^".]+)\.(\d+)"')
_NOTE_RE = re.compile(r"<note\b.*?</note>", re.S)
_TITLE_RE = re.compile(r"<title\b.*?</title>", re.S)
_TAG_RE = re.compile(r"<[^>]*>")
_SPACE_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class Verse:
    book: str  # OSIS book id: "Gen", "Matt", ...
    chapter: int
    verse: int
    text: str

    @property
    def ref(self) -> tuple[str, int, int]:
        return (self.book, self.chapter, self.verse)


def read_ztext_slots(folder: str, testament: str) -> list[str]:
    """Every slot of one testament (``"ot"`` or ``"nt"``) as raw OSIS markup; empty slots are ``""``."""
    base = os.path.join(folder, testament)
    with open(base + ".bzs", "rb") as f:
        bzs = f.read()
    with open(base + ".bzv", "rb") as f:
        bzv = f.read()
    with open(base + ".bzz", "rb") as f:
        bzz = f.read()
    if len(bzs) % 12 or len(bzv) % 10:
        raise ValueError(f"{base}: index sizes {len(bzs)} (.bzs) and {len(bzv)} (.bzv) are not "
                         "multiples of 12 and 10 bytes: not a zText module")
    blocks = list(struct.iter_unpack("<III", bzs))  # (offset, compressed size, size)
    inflated: dict[int, bytes] = {}
    slots = []
    for block, start, size in struct.iter_unpack("<IIH", bzv):
        if size == 0:
            slots.append("")
            continue
        if block not in inflated:
            offset, compressed, expected = blocks[block]
            inflated[block] = zlib.decompress(bzz[offset:offset + compressed])
            if len(inflated[block]) != expected:
                raise ValueError(f"{base}.bzz block {block}: {len(inflated[block])} bytes, index says {expected}")
        slots.append(inflated[block][start:start + size].decode("utf-8"))
    return slots


def osis_to_text(markup: str) -> str:
    """Plain text of OSIS markup: notes and titles dropped, every tag replaced by a space.

    A space, not nothing: ``God<note>…</note>created`` must stay two words.
    """
    text = _NOTE_RE.sub(" ", markup)
    text = _TITLE_RE.sub(" ", text)
    text = _TAG_RE.sub(" ", text)
    text = html.unescape(text).replace("\u00b6", " ")  # ¶ paragraph marks
    text = _SPACE_RE.sub(" ", text).strip()
    # Tags between a word and its punctuation left a space before it ("earth ." -> "earth.").
    return re.sub(r" ([,.;:!?)\]’”])", r"\1", text)


def slots_to_verses(slots: list[str]) -> list[Verse]:
    """Walk a testament's slots, tracking the ``<chapter>`` milestones, and number the verses.

    The slot just before a chapter-1 heading is the next book's introduction, not a verse.
    Empty verses (a translation that omits one) are kept with ``text=""`` so positions align.
    """
    verses = []
    book, chapter, heading_slot = None, 0, 0
    for i, markup in enumerate(slots):
        if i < 2:  # module heading, testament heading
            continue
        m = _CHAPTER_RE.search(markup)
        if m:
            book, chapter, heading_slot = m.group(1), int(m.group(2)), i
            continue
        if book is None:
            continue
        if i + 1 < len(slots):
            nxt = _CHAPTER_RE.search(slots[i + 1])
            if nxt and int(nxt.group(2)) == 1:  # introduction of the next book
                continue
        # Back matter (the WEB's glossary) can follow the last verse in its slot, after the
        # chapter's end milestone: it is not part of the verse.
        markup = markup.split("<chapter eID=", 1)[0]
        verses.append(Verse(book, chapter, i - heading_slot, osis_to_text(markup)))
    return verses


def module_folder(module: str) -> str:
    if module not in MODULES:
        raise ValueError(f"unknown SWORD module {module!r}; known: {', '.join(MODULES)}")
    package = MODULES[module][0]
    return sources.apt_file(package, f"{SWORD_DIR}/{module}", what=f"SWORD module {module}")


def module_files(module: str) -> list[str]:
    """The six files of a zText module; :class:`MissingDataError` if the package is missing or
    half installed (the module folder there, a file not)."""
    folder = module_folder(module)
    files = [os.path.join(folder, f"{t}.{ext}") for t in ("ot", "nt") for ext in ("bzs", "bzv", "bzz")]
    package = MODULES[module][0]
    for path in files:
        if not os.path.isfile(path):
            raise sources.MissingDataError(package, sources.PACKAGES[package].install,
                                           f"SWORD module {module}, half installed", path)
    return files


def read_bible(module: str) -> list[Verse]:
    """All verses of a SWORD Bible module, in order, cached as ``book<TAB>chapter<TAB>verse<TAB>text``."""
    folder = module_folder(module)
    files = module_files(module)

    def build() -> str:
        verses = slots_to_verses(read_ztext_slots(folder, "ot")) + slots_to_verses(read_ztext_slots(folder, "nt"))
        return "\n".join(f"{v.book}\t{v.chapter}\t{v.verse}\t{v.text}" for v in verses)

    text = cache.cached_text(f"sword-{module}", FORMAT_VERSION, {"files": sources.file_signature(*files)}, build)
    out = []
    for line in text.split("\n"):
        book, chapter, verse, body = line.split("\t", 3)
        out.append(Verse(book, int(chapter), int(verse), body))
    return out

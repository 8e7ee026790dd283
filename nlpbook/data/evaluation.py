"""Word-embedding evaluation sets shipped with gensim: analogies, WordSim-353, SimLex-999.

Read from ``gensim/test/test_data`` (found with ``importlib``, not imported) and lowercased,
so they match the corpus tokens of :func:`nlpbook.data.word_tokenize`.
"""
from __future__ import annotations

import os

from . import sources


def _path(name: str) -> str:
    return sources.pip_file("gensim", os.path.join("test", "test_data", name), f"the evaluation file {name}")


def analogy_questions() -> dict[str, list[tuple[str, str, str, str]]]:
    """Google's analogy questions (``questions-words.txt``): ``{section: [(a, b, c, d), ...]}``,
    meaning *a is to b as c is to d*; sections and questions in file order, lowercased."""
    sections: dict[str, list[tuple[str, str, str, str]]] = {}
    current = None
    with open(_path("questions-words.txt"), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            if line.startswith(":"):
                current = line[1:].strip()
                sections.setdefault(current, [])
                continue
            words = line.lower().split()
            if current is None or len(words) != 4:
                raise ValueError(f"questions-words.txt line {number}: expected 4 words after a ': section' "
                                 f"line, got {line!r}")
            sections[current].append(tuple(words))
    return sections


def _pairs(name: str) -> list[tuple[str, str, float]]:
    out = []
    with open(_path(name), encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip() or line.startswith("#"):
                continue
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 3:
                raise ValueError(f"{name} line {number}: expected 'word1<TAB>word2<TAB>score', got {line!r}")
            out.append((parts[0].lower(), parts[1].lower(), float(parts[2])))
    return out


def wordsim353() -> list[tuple[str, str, float]]:
    """WordSim-353: ``(word1, word2, human relatedness 0–10)``, 353 pairs."""
    return _pairs("wordsim353.tsv")


def simlex999() -> list[tuple[str, str, float]]:
    """SimLex-999: ``(word1, word2, human similarity 0–10)``, 999 pairs (similarity, not relatedness)."""
    return _pairs("simlex999.txt")

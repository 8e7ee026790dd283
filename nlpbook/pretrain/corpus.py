r"""A corpus of documents for BERT pretraining, from the offline English data, with a held-out split.

BERT pretrains on *documents* (BooksCorpus and Wikipedia articles): NSP needs consecutive
sentences of one document, and sentences of *other* documents for NotNext. Offline we have:

* ``kjv``, ``web``: every **chapter** of the King James Version and of the World English Bible
  (SWORD modules, :func:`nlpbook.data.sword.read_bible`) is a document; its verses are joined and
  cut into sentences by :func:`nlpbook.data.split_sentences` (a verse may hold several sentences,
  a sentence may run over verses). 1,189 KJV chapters, more in the WEB (it has the deuterocanon).
* ``lee``: the 300 news articles of gensim's Lee background corpus, one document each.

**Split.** A document goes to the held-out part when the first 8 bytes of
$\mathrm{sha256}(\text{key})$, read as an integer $h$, satisfy $h / 2^{64} < \text{held\_out}$:
deterministic, independent of order and of which sources are read, and stable when a source
grows. The key of a Bible chapter is its reference (``bible:Gen.1``), **not** the translation,
so the KJV and WEB texts of one chapter always land on the same side: otherwise the model could
see a chapter in one translation and be "evaluated" on its paraphrase.

**Tokenizer.** The WordPiece tokenizer of :mod:`nlpbook.bert.wordpiece` with MiniLM's
``vocab.txt`` (the bert-base-uncased vocabulary, 30,522 pieces), not a small vocabulary trained
on this corpus: it is checked against ``transformers``' tokenizer already (Part V (a)), it is
BERT's own, its ids mean the same as in every BERT checkpoint (so an encoder trained here can be
compared with or initialised from MiniLM), and it needs no training step whose result would
depend on the corpus mix. Its cost: the decoder and the embeddings are $30522 \times H$, which
dominates a tiny model's parameters (the MLM head's logits are computed at the masked positions
only, :mod:`nlpbook.pretrain.heads`, which keeps the compute in check).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

from ..data import split_sentences
from ..validate import InputError, check_choice, check_number, check_type

__all__ = ["Document", "SOURCES", "bible_documents", "lee_documents", "split_documents", "pretraining_corpus",
           "tokenize_documents", "Corpus"]

SOURCES = ("kjv", "web", "lee")
_MODULES = {"kjv": "engKJV2006eb", "web": "engWEB2015eb"}


@dataclass(frozen=True)
class Document:
    """``key`` decides the split (``bible:Gen.1``, ``lee:17``); ``name`` says where it is from."""

    key: str
    name: str
    sentences: tuple[str, ...]

    def __post_init__(self):
        check_type("key", self.key, str)
        check_type("name", self.name, str)
        check_type("sentences", self.sentences, tuple, "a tuple of str")
        for s in self.sentences:
            check_type("sentences", s, str, "a tuple of str")


def bible_documents(source: str = "kjv") -> list[Document]:
    """Every chapter of the ``kjv`` or ``web`` Bible, as a document of sentences."""
    check_choice("source", source, tuple(_MODULES))
    from ..data.sword import read_bible
    chapters: dict[tuple[str, int], list[str]] = {}
    for verse in read_bible(_MODULES[source]):
        if verse.text:
            chapters.setdefault((verse.book, verse.chapter), []).append(verse.text)
    out = []
    for (book, chapter), verses in chapters.items():
        sentences = tuple(split_sentences(" ".join(verses)))
        if sentences:
            out.append(Document(f"bible:{book}.{chapter}", f"{source}:{book}.{chapter}", sentences))
    return out


def lee_documents() -> list[Document]:
    """The 300 Lee background news articles (gensim's test data), one document each."""
    from ..data.readers import gensim_file
    out = []
    with open(gensim_file("lee_background.cor"), encoding="utf-8", errors="replace") as f:
        for i, line in enumerate(f):
            sentences = tuple(split_sentences(line))
            if sentences:
                out.append(Document(f"lee:{i}", f"lee:{i}", sentences))
    return out


def _held_out_score(key: str) -> float:
    """The first 8 bytes of sha256(key) as a number in [0, 1)."""
    return int.from_bytes(hashlib.sha256(key.encode("utf-8")).digest()[:8], "big") / 2.0 ** 64


def split_documents(documents: list[Document], held_out: float = 0.05) -> tuple[list[Document], list[Document]]:
    """``(train, held_out)`` by the hash of each document's key (order kept within each part)."""
    check_type("documents", documents, (list, tuple))
    for d in documents:
        check_type("documents", d, Document, "a list of Document")
    check_number("held_out", held_out, low=0, high=1, high_open=True)
    train, held = [], []
    for d in documents:
        (held if _held_out_score(d.key) < held_out else train).append(d)
    return train, held


@dataclass
class Corpus:
    train: list[Document]
    held_out: list[Document]

    def counts(self) -> dict:
        return {part: {"documents": len(docs), "sentences": sum(len(d.sentences) for d in docs)}
                for part, docs in (("train", self.train), ("held_out", self.held_out))}


def pretraining_corpus(sources: tuple[str, ...] = ("kjv", "web", "lee"), held_out: float = 0.05,
                       max_documents: int | None = None) -> Corpus:
    """The documents of ``sources``, split by :func:`split_documents`; ``max_documents`` per source (the first)."""
    check_type("sources", sources, (tuple, list))
    if not sources:
        raise InputError(f"sources is empty: choose from {', '.join(SOURCES)}")
    for s in sources:
        check_choice("sources", s, SOURCES)
    check_number("held_out", held_out, low=0, high=1, high_open=True)
    if max_documents is not None:
        check_number("max_documents", max_documents, low=1, integer=True)
    documents = []
    for s in dict.fromkeys(sources):
        docs = lee_documents() if s == "lee" else bible_documents(s)
        documents += docs[:max_documents] if max_documents is not None else docs
    return Corpus(*split_documents(documents, held_out))


def tokenize_documents(documents: list[Document], tokenizer) -> list[list[list[int]]]:
    """Each document as a list of sentences, each a list of WordPiece ids (empty sentences dropped)."""
    check_type("documents", documents, (list, tuple))
    for d in documents:
        check_type("documents", d, Document, "a list of Document")
    if not hasattr(tokenizer, "tokenize") or not hasattr(tokenizer, "convert_tokens_to_ids"):
        raise InputError(f"tokenizer must be a WordPieceTokenizer (tokenize, convert_tokens_to_ids), got "
                         f"{type(tokenizer).__name__}")
    out = []
    for d in documents:
        sentences = [tokenizer.convert_tokens_to_ids(tokenizer.tokenize(s)) for s in d.sentences]
        out.append([s for s in sentences if s])
    return out

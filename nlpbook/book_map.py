"""The map of the whole book: its parts, every planned chapter, and which are written.

The map lives in the package, not in ``_toc.yml``, so that the intro notebook can show it where
the reader runs it (Colab, an empty directory) without a checkout of the repository.
``tests/test_book_map.py`` asserts that it agrees *exactly* with ``_toc.yml``: every chapter
marked ``written`` is listed there under its part, in the same order, and every chapter
``_toc.yml`` lists is marked written here. So the map can never claim a chapter the book lacks,
and never forget one.

:func:`toc_pages` and :func:`toc_files` read a ``_toc.yml``: the tools and tests that work on a
checkout use them.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Chapter:
    file: str             # path in the book, without suffix, as in _toc.yml ("book/rnn/gru")
    title: str
    seed_question: str    # the seed's heading, in the original Chinese
    written: bool = False  # True exactly when _toc.yml lists the chapter (a unit test checks it)


@dataclass(frozen=True)
class Part:
    caption: str          # as in _toc.yml
    page: str | None      # the part's overview page ("book/part1"), None for "Getting started"
    chapters: tuple[Chapter, ...]


PARTS: tuple[Part, ...] = (
    Part("Getting started", None, (
        Chapter("book/data", "The data: offline corpora, evaluation sets and weights",
                "在语料库中，各个词出现的频率是不一样的", written=True),
    )),
    Part("Part I: Word embeddings", "book/part1", (
        Chapter("book/word2vec/skipgram_cbow", "Skip-gram and CBOW with a full softmax", "Word2Vec中skip-gram是什么", written=True),
        Chapter("book/word2vec/negative_sampling", "Negative sampling and subsampling", "Negative Sampling怎么做", written=True),
    )),
    Part("Part II: Recurrent networks", "book/part2", (
        Chapter("book/rnn/vanishing_gradients", "RNNs and vanishing/exploding gradients", "RNN梯度消失问题", written=True),
        Chapter("book/rnn/gru", "The GRU, two ways", "Lstm和Gru", written=True),
        Chapter("book/rnn/lstm", "The LSTM, and LSTM vs GRU", "为什么LSTM和GRU可以解决此问题", written=True),
        Chapter("book/rnn/gradient_clipping", "Gradient clipping", "梯度裁剪 (Clipping Gradient)", written=True),
    )),
    Part("Part III: Sequence to sequence and attention", "book/part3", (
        Chapter("book/seq2seq/seq2seq", "Encoder-decoder RNNs", "什么是seq2seq model", written=True),
        Chapter("book/seq2seq/attention", "Additive attention", "attention机制", written=True),
        Chapter("book/seq2seq/rnn_cnn_transformer", "RNN vs CNN vs Transformer", "RNN/CNN/Tranformer", written=True),
    )),
    Part("Part IV: The Transformer", "book/part4", (
        Chapter("book/transformer/self_attention", "Scaled dot-product self-attention", "Transformer", written=True),
        Chapter("book/transformer/multi_head", "Multi-head attention", "Multi-Headed Attention", written=True),
        Chapter("book/transformer/positional_encoding", "Positional encoding", "Positional Encoding", written=True),
        Chapter("book/transformer/layer_norm", "LayerNorm vs BatchNorm", "Layer normalization", written=True),
        Chapter("book/transformer/encoder_decoder", "The encoder-decoder Transformer", "Encoder-decoder过程",
                written=True),
        Chapter("book/transformer/output_softmax", "From decoder states to words", "Encoder-decoder过程", written=True),
    )),
    Part("Part V: Pretrained language models", "book/part5", (
        Chapter("book/pretrained/elmo_gpt_bert", "ELMo, GPT and BERT", "预训练语言模型", written=True),
        Chapter("book/pretrained/bert_size", "BERT's sizes, counted", "bert的内部结构", written=True),
        Chapter("book/pretrained/masked_lm", "The masked language model", "Masked Language Model", written=True),
        Chapter("book/pretrained/next_sentence", "Next-sentence prediction and BERT's losses", "Next Sentence Prediction / 损失函数", written=True),
        Chapter("book/pretrained/gelu", "GELU", "激活函数", written=True),
        Chapter("book/pretrained/bert_inputs", "BERT's input embeddings", "输入", written=True),
        Chapter("book/pretrained/finetune_vs_features", "Fine-tuning vs feature extraction", "输出", written=True),
        Chapter("book/pretrained/bert_in_practice", "BERT's strengths, weaknesses and uses", "BERT优点 / 缺点 / 适用场景", written=True),
    )),
)

ROOT_PAGE = "book/intro"  # the page that shows the map (the root of _toc.yml)


def chapters() -> list[Chapter]:
    """Every planned chapter, in book order."""
    return [ch for part in PARTS for ch in part.chapters]


def written_chapters() -> list[Chapter]:
    """The chapters the book contains, in book order."""
    return [ch for ch in chapters() if ch.written]


def chapter_rows() -> list[dict]:
    """One row per planned chapter: part, title, seed question, written or planned, file."""
    return [
        {"part": part.caption, "chapter": ch.title, "seed question": ch.seed_question,
         "status": "written" if ch.written else "planned", "file": ch.file}
        for part in PARTS for ch in part.chapters
    ]


def relative_link(file: str, suffix: str = ".ipynb", start: str = ROOT_PAGE) -> str:
    """The path from page ``start`` to page ``file`` (both as in _toc.yml), with ``suffix``.

    >>> relative_link("book/rnn/gru")
    'rnn/gru.ipynb'
    """
    return os.path.relpath(file + suffix, os.path.dirname(start)).replace(os.sep, "/")


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def map_markdown(start: str = ROOT_PAGE) -> str:
    """The map as Markdown: one table per part, each written chapter linked from page ``start``.

    Written chapters link to their notebook (``[title](rnn/gru.ipynb)``), which Jupyter follows
    and the rendered book resolves to the chapter's page; part overview pages (``.md``) are
    linked from the part's heading line. Planned chapters are plain text.
    """
    blocks = []
    for part in PARTS:
        written = sum(ch.written for ch in part.chapters)
        head = f"**{_md(part.caption)}**"
        if part.page is not None:
            head += f" ([overview]({relative_link(part.page, '.md', start)}))"
        head += f" — written: {written} of {len(part.chapters)}"
        lines = [head, "", "| chapter | seed question | status |", "|:---|:---|:---|"]
        for ch in part.chapters:
            title = (f"[{_md(ch.title)}]({relative_link(ch.file, '.ipynb', start)})" if ch.written
                     else _md(ch.title))
            lines.append(f"| {title} | {_md(ch.seed_question)} | {'written' if ch.written else 'planned'} |")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def toc_pages(toc_path: str) -> list[str]:
    """The root and every ``file:`` of a Jupyter Book ``_toc.yml``, in book order, without suffix."""
    with open(toc_path, encoding="utf-8") as handle:
        toc = yaml.safe_load(handle)
    pages = [toc["root"]] if "root" in toc else []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                pages.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk({key: value for key, value in toc.items() if key != "root"})
    return [os.path.splitext(page)[0] for page in pages]


def toc_files(toc_path: str) -> set[str]:
    """The pages of :func:`toc_pages`, as a set."""
    return set(toc_pages(toc_path))


def toc_parts(toc_path: str) -> list[tuple[str, list[str]]]:
    """``(caption, [file, ...])`` for each part of a ``_toc.yml``, files without suffix, in order."""
    with open(toc_path, encoding="utf-8") as handle:
        toc = yaml.safe_load(handle)
    return [(part.get("caption", ""), [os.path.splitext(ch["file"])[0] for ch in part.get("chapters", [])])
            for part in toc.get("parts", [])]

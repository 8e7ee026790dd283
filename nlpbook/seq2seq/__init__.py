"""Part III: sequence to sequence — translation data, subwords, attention, the GRU
encoder–decoder, its loss, decoding, BLEU/chrF.

Conventions (every module of this package):

* batch first: ids ``(B, T)``, states ``(B, T, H)``;
* a mask is ``bool``, the ids' shape, **True = a real token**, False = padding; sequences are
  right-padded with ``<pad>`` (see :mod:`nlpbook.seq2seq.batching`);
* special ids ``<pad>`` 0, ``<unk>`` 1, ``<bos>`` 2, ``<eos>`` 3 (:mod:`nlpbook.seq2seq.subwords`);
* tensors follow the device of their inputs or model.

Modules: ``split`` (leak-free train/valid/test), ``subwords`` (BPE), ``batching``,
``attention``, ``encoder``, ``decoder``, ``model``, ``loss``, ``decoding``, ``metrics``,
``translate``. Import them directly (``from nlpbook.seq2seq.attention import AdditiveAttention``).
"""

"""Part V (b): BERT pretraining: masking, the MLM and NSP heads and losses, NSP pairs, the corpus, the loop.

Import the modules directly (``from nlpbook.pretrain.masking import mask_tokens``). Batch first:
ids ``(B, T)``, hidden states ``(B, T, H)``, ``attention_mask`` ``(B, T)`` bool, True at real tokens.
Labels use ``-100`` (:data:`~nlpbook.pretrain.masking.IGNORE_INDEX`) wherever nothing is predicted.

* :mod:`~nlpbook.pretrain.masking` — choose 15% of the tokens, then split them 80/10/10;
* :mod:`~nlpbook.pretrain.heads` — the MLM head (tied decoder) and the NSP head on :class:`~nlpbook.bert.model.BertModel`;
* :mod:`~nlpbook.pretrain.losses` — $L_1$ (masked tokens), $L_2$ (IsNext / NotNext) and their sum;
* :mod:`~nlpbook.pretrain.load` — ``transformers``' ``BertForPreTraining`` state dict into ours;
* :mod:`~nlpbook.pretrain.pairs` — next-sentence pairs, ``truncate_seq_pair``, ``[CLS] A [SEP] B [SEP]``;
* :mod:`~nlpbook.pretrain.corpus` — Bible chapters as documents, sentences, a deterministic split;
* :mod:`~nlpbook.pretrain.batching` — pairs -> padded ``(B, T)`` batches with MLM and NSP labels;
* :mod:`~nlpbook.pretrain.checkpoint` — resumable training state: safetensors + JSON, atomic;
* :mod:`~nlpbook.pretrain.loop` — the training loop: DistributedDataParallel, gradient accumulation;
* :mod:`~nlpbook.pretrain.run` — ``torchrun --nproc_per_node=N -m nlpbook.pretrain.run``;
* :mod:`~nlpbook.pretrain.gpt` — a GPT: Part IV's decoder layers without cross-attention, tied softmax;
* :mod:`~nlpbook.pretrain.elmo` — an ELMo: forward and backward LSTM LMs and the scalar mix of their layers;
* :mod:`~nlpbook.pretrain.vocab` — a small WordPiece vocabulary trained on the pretraining documents;
* :mod:`~nlpbook.pretrain.zoo` — BERT, GPT and ELMo pretrained on the same tokens, once, from the checkpoint cache.

This package imports :mod:`nlpbook.bert`, :mod:`nlpbook.transformer`, :mod:`nlpbook.rnn`, :mod:`nlpbook.data`
and nlpbook's core, nothing above them.
"""

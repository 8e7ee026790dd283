"""Load ``transformers``' ``BertForPreTraining`` state dict into :class:`~nlpbook.pretrain.heads.BertForPreTraining`.

The encoder's tensors (``bert.*``) go through :func:`nlpbook.bert.load.checkpoint_to_state_dict`
(its name map: stacked Q; K; V, ``attention_norm``, ...). The heads:

=====================================================  ==============================================
``transformers``' ``BertForPreTraining``                ours
=====================================================  ==============================================
``cls.predictions.transform.dense``                    ``mlm.dense``
``cls.predictions.transform.LayerNorm``                ``mlm.norm``
``cls.predictions.decoder.weight``                     ``mlm.decoder.weight`` = ``bert.embeddings.word_embeddings.weight`` (tied)
``cls.predictions.bias`` (= ``decoder.bias``, tied)    ``mlm.bias``
``cls.seq_relationship``                               ``nsp.seq_relationship``
=====================================================  ==============================================

A checkpoint may omit the tied copies (``decoder.weight``, ``decoder.bias``); when present they
must equal the tensors they are tied to, else :class:`~nlpbook.validate.InputError` (an untied
checkpoint does not fit a tied model). Pure tensors in, tensors out: no ``transformers`` needed.
"""
from __future__ import annotations

import torch

from ..bert.load import checkpoint_to_state_dict
from ..validate import InputError, check_type, shape_str
from .heads import BertForPreTraining

__all__ = ["HEAD_NAMES", "pretraining_state_dict", "load_pretraining_state_dict"]

#: transformers' head tensor -> ours
HEAD_NAMES = {
    "cls.predictions.transform.dense.weight": "mlm.dense.weight",
    "cls.predictions.transform.dense.bias": "mlm.dense.bias",
    "cls.predictions.transform.LayerNorm.weight": "mlm.norm.weight",
    "cls.predictions.transform.LayerNorm.bias": "mlm.norm.bias",
    "cls.predictions.bias": "mlm.bias",
    "cls.seq_relationship.weight": "nsp.seq_relationship.weight",
    "cls.seq_relationship.bias": "nsp.seq_relationship.bias",
}
_TIED = {"cls.predictions.decoder.weight": "bert.embeddings.word_embeddings.weight",
         "cls.predictions.decoder.bias": "cls.predictions.bias"}


def pretraining_state_dict(tensors: dict[str, torch.Tensor], model: BertForPreTraining) -> dict[str, torch.Tensor]:
    """Map ``BertForPreTraining``'s tensors (``transformers`` names) to ``model.state_dict()`` names."""
    check_type("tensors", tensors, dict)
    check_type("model", model, BertForPreTraining)
    tensors = dict(tensors)
    for theirs, tied_to in _TIED.items():
        copy = tensors.pop(theirs, None)
        if copy is not None and tied_to in tensors and not torch.equal(copy, tensors[tied_to]):
            raise InputError(f"tensors: {theirs} differs from {tied_to}, but the model ties them "
                             "(an untied checkpoint)")
    encoder = {k: v for k, v in tensors.items() if k.startswith("bert.")}
    heads = {k: v for k, v in tensors.items() if not k.startswith("bert.")}
    unknown = sorted(set(heads) - set(HEAD_NAMES))
    if unknown:
        raise InputError(f"tensors has {len(unknown)} unknown tensor(s) for BertForPreTraining: {unknown[:5]}")
    missing = sorted(set(HEAD_NAMES) - set(heads))
    if missing:
        raise InputError(f"tensors is missing {len(missing)} head tensor(s): {missing}")
    ours = model.state_dict()
    state = {f"bert.{k}": v for k, v in checkpoint_to_state_dict(encoder, model.bert).items()}
    for theirs, mine in HEAD_NAMES.items():
        if tuple(heads[theirs].shape) != tuple(ours[mine].shape):
            raise InputError(f"tensors: {theirs} is {shape_str(heads[theirs].shape)} but the config needs "
                             f"{shape_str(ours[mine].shape)}")
        state[mine] = heads[theirs]
    state["mlm.decoder.weight"] = state["bert.embeddings.word_embeddings.weight"]
    return state


def load_pretraining_state_dict(model: BertForPreTraining, tensors: dict[str, torch.Tensor]) -> BertForPreTraining:
    """Copy ``tensors`` (``transformers``' ``BertForPreTraining.state_dict()``) into ``model``; returns it."""
    state = pretraining_state_dict(tensors, model)
    with torch.no_grad():
        model.load_state_dict(state, strict=True)
    if model.mlm.decoder.weight is not model.bert.embeddings.word_embeddings.weight:   # load_state_dict copies in place
        raise AssertionError("the decoder is no longer tied to the token embeddings")
    return model

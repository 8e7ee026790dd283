"""Read a ``transformers``-format BERT checkpoint (``config.json`` + ``model.safetensors``) directly.

No ``transformers`` at run time: ``safetensors.torch.load_file`` reads the tensors (no pickle)
and a name map puts each into :class:`~nlpbook.bert.model.BertModel`:

=====================================================  ==============================================
checkpoint (``transformers``' ``BertModel``)           ours
=====================================================  ==============================================
``embeddings.{word,position,token_type}_embeddings``   the same
``embeddings.LayerNorm``                               the same
``encoder.layer.i.attention.self.{query,key,value}``   ``encoder.layer.i.attention.in_proj_*`` (stacked Q; K; V)
``encoder.layer.i.attention.output.dense``             ``encoder.layer.i.attention.out_proj``
``encoder.layer.i.attention.output.LayerNorm``         ``encoder.layer.i.attention_norm``
``encoder.layer.i.intermediate.dense``                 ``encoder.layer.i.intermediate``
``encoder.layer.i.output.dense``                       ``encoder.layer.i.output``
``encoder.layer.i.output.LayerNorm``                   ``encoder.layer.i.output_norm``
``pooler.dense``                                       the same
=====================================================  ==============================================

(``embeddings.position_ids``, a buffer ``0..P-1`` some checkpoints carry, is checked and dropped;
a ``bert.`` prefix, as in pre-training checkpoints, is stripped.) Every tensor the model needs
must be there with the shape the config implies; a missing, unknown or misshapen tensor raises
:class:`~nlpbook.validate.InputError` naming it.
"""
from __future__ import annotations

import os
import re

import torch

from ..validate import InputError, check_type, shape_str
from .model import BertConfig, BertModel

__all__ = ["checkpoint_to_state_dict", "load_bert", "load_minilm"]

_LAYER = re.compile(r"encoder\.layer\.(\d+)\.(.+)")
_SAME = {"attention.output.dense": "attention.out_proj", "attention.output.LayerNorm": "attention_norm",
         "intermediate.dense": "intermediate", "output.dense": "output", "output.LayerNorm": "output_norm"}


def _expected(model: BertModel) -> dict[str, tuple[torch.Size, str]]:
    """``{checkpoint name: (shape, our name)}`` for every tensor the checkpoint must hold."""
    ours = {name: p.shape for name, p in model.state_dict().items()}
    out = {}
    for name, shape in ours.items():
        m = _LAYER.fullmatch(name)
        if m is None:
            out[name] = (shape, name)
            continue
        i, rest = m.groups()
        if rest.startswith("attention.in_proj_"):
            kind = rest.rsplit("_", 1)[1]                         # weight / bias
            for part in ("query", "key", "value"):
                # (3H, H) -> three (H, H); (3H,) -> three (H,)
                out[f"encoder.layer.{i}.attention.self.{part}.{kind}"] = (torch.Size((shape[0] // 3, *shape[1:])), name)
            continue
        for theirs, mine in _SAME.items():
            if rest.startswith(mine + "."):
                out[f"encoder.layer.{i}.{theirs}.{rest[len(mine) + 1:]}"] = (shape, name)
    return out


def checkpoint_to_state_dict(tensors: dict[str, torch.Tensor], model: BertModel) -> dict[str, torch.Tensor]:
    """Map a checkpoint's tensors (``transformers`` names) to ``model``'s ``state_dict`` names.

    Raises :class:`InputError` naming a missing tensor, an unknown one, or one whose shape
    does not fit ``model.config``.
    """
    check_type("tensors", tensors, dict)
    check_type("model", model, BertModel)
    tensors = {(k[5:] if k.startswith("bert.") else k): v for k, v in tensors.items()}
    P = model.config.max_position_embeddings
    ids = tensors.pop("embeddings.position_ids", None)
    if ids is not None and not torch.equal(ids.reshape(-1).long(), torch.arange(ids.numel())):
        raise InputError(f"tensors: embeddings.position_ids must be 0..{P - 1}, got other values")
    expected = _expected(model)
    unknown = sorted(set(tensors) - set(expected))
    if unknown:
        raise InputError(f"tensors has {len(unknown)} unknown tensor(s) for a BertModel: {unknown[:5]} "
                         "(not a BERT checkpoint, or a head this model does not have)")
    for name, (shape, _) in expected.items():              # shapes first: a checkpoint of another size
        if name in tensors and tuple(tensors[name].shape) != tuple(shape):
            raise InputError(f"tensors: {name} is {shape_str(tensors[name].shape)} but the config "
                             f"(hidden_size {model.config.hidden_size}, vocab_size {model.config.vocab_size}, "
                             f"...) needs {shape_str(shape)}: a checkpoint of another shape")
    missing = sorted(set(expected) - set(tensors))
    if missing:
        raise InputError(f"tensors is missing {len(missing)} tensor(s): {missing[:5]} (the config has "
                         f"{model.config.num_hidden_layers} layers)")
    state = {}
    for name, (_, ours) in expected.items():
        if ".attention.self." in name:
            continue
        state[ours] = tensors[name]
    for ours in {o for n, (_, o) in expected.items() if ".attention.self." in n}:
        i, kind = _LAYER.fullmatch(ours).group(1), ours.rsplit("_", 1)[1]
        state[ours] = torch.cat([tensors[f"encoder.layer.{i}.attention.self.{p}.{kind}"]
                                 for p in ("query", "key", "value")])          # [W^Q; W^K; W^V]: (3H, H)
    return state


def load_bert(folder: str, *, dtype: torch.dtype = torch.float32, device=None, fast: bool = True) -> BertModel:
    """A :class:`BertModel` with the weights of ``folder`` (``config.json``, ``model.safetensors``), in eval mode."""
    from safetensors.torch import load_file
    check_type("folder", folder, (str, os.PathLike))
    folder = os.fspath(folder)
    for name in ("config.json", "model.safetensors"):
        if not os.path.isfile(os.path.join(folder, name)):
            raise InputError(f"folder {folder!r} has no {name} (a transformers BERT checkpoint folder needs "
                             "config.json and model.safetensors)")
    check_type("dtype", dtype, torch.dtype)
    if not dtype.is_floating_point:
        raise InputError(f"dtype must be a floating dtype, got {dtype}")
    model = BertModel(BertConfig.from_json(folder), fast=fast)
    state = checkpoint_to_state_dict(load_file(os.path.join(folder, "model.safetensors")), model)
    model.load_state_dict(state, strict=True)
    return model.to(device=device, dtype=dtype).eval()


def load_minilm(*, dtype: torch.dtype = torch.float32, device=None, fast: bool = True) -> BertModel:
    """all-MiniLM-L6-v2 (L6 H384 A12, uncased vocabulary) from :func:`nlpbook.data.minilm_path`."""
    from ..data import minilm_path
    return load_bert(minilm_path(), dtype=dtype, device=device, fast=fast)

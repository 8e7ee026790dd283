"""Resumable training state without pickle: safetensors for every tensor, JSON for every scalar, written atomically.

A checkpoint after ``step`` optimizer steps is a folder ``<root>/step-<step>/`` holding

* ``model.safetensors``: the model's tensors (a tied tensor stored once; ``state.json`` names its aliases);
* ``optimizer.safetensors``: the optimizer's per-parameter tensors (AdamW's ``exp_avg``,
  ``exp_avg_sq``, ``step``) as ``state.<param index>.<name>``;
* ``state.json``: the step, the optimizer's ``param_groups`` (learning rate, betas, ...), its
  non-tensor state, the caller's ``extra`` dict (config, data fingerprint...), the aliases, and
  the sha256 of both tensor files;

and ``<root>/latest.json`` names the newest complete folder. Every file is written to a
temporary file and renamed (:func:`nlpbook.data.cache.atomic_write_bytes`); ``latest.json`` is
written last, so a run killed mid-save leaves the previous checkpoint as the latest one.
Loading checks the sha256s, and neither file format can run code (``torch.load`` of a pickle can).
"""
from __future__ import annotations

import json
import os

import torch
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save
from torch import nn

from ..data.cache import atomic_write_bytes, sha256_hex
from ..validate import InputError, check_number, check_type

__all__ = ["save_training_state", "load_training_state", "latest_checkpoint"]

FORMAT_VERSION = 1


def _model_tensors(model: nn.Module) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``(tensors, aliases)``: each storage once (safetensors refuses shared tensors), aliases -> stored name."""
    tensors, aliases, seen = {}, {}, {}
    for name, t in model.state_dict().items():
        key = (t.data_ptr(), t.shape, t.dtype) if t.numel() else None
        if key is not None and key in seen:
            aliases[name] = seen[key]
            continue
        if key is not None:
            seen[key] = name
        tensors[name] = t.detach().cpu().contiguous().clone()
    return tensors, aliases


def _jsonable(value):
    if isinstance(value, tuple):
        return list(value)
    return value


def save_training_state(root: str, step: int, model: nn.Module, optimizer: torch.optim.Optimizer,
                        extra: dict | None = None) -> str:
    """Write ``<root>/step-<step>/`` and point ``<root>/latest.json`` at it; returns the folder."""
    check_type("root", root, (str, os.PathLike))
    check_number("step", step, low=0, integer=True)
    check_type("model", model, nn.Module)
    check_type("optimizer", optimizer, torch.optim.Optimizer)
    extra = {} if extra is None else check_type("extra", extra, dict)
    root = os.fspath(root)
    folder = os.path.join(root, f"step-{step}")
    tensors, aliases = _model_tensors(model)
    opt = optimizer.state_dict()
    opt_tensors, opt_scalars = {}, {}
    for index, state in opt["state"].items():
        for key, value in state.items():
            if isinstance(value, torch.Tensor):
                opt_tensors[f"state.{index}.{key}"] = value.detach().cpu().contiguous().clone()
            else:
                opt_scalars[f"{index}.{key}"] = value
    model_bytes, opt_bytes = st_save(tensors), st_save(opt_tensors)
    state = {"format": FORMAT_VERSION, "step": step, "aliases": aliases, "extra": extra,
             "param_groups": [{k: _jsonable(v) for k, v in g.items()} for g in opt["param_groups"]],
             "optimizer_scalars": opt_scalars, "optimizer_type": type(optimizer).__name__,
             "sha256": {"model.safetensors": sha256_hex(model_bytes), "optimizer.safetensors": sha256_hex(opt_bytes)}}
    try:
        text = json.dumps(state, indent=1, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InputError(f"extra must be JSON-serialisable (dicts, lists, str, int, finite float, bool, None): {err}") from None
    atomic_write_bytes(os.path.join(folder, "model.safetensors"), model_bytes)
    atomic_write_bytes(os.path.join(folder, "optimizer.safetensors"), opt_bytes)
    atomic_write_bytes(os.path.join(folder, "state.json"), text.encode("utf-8"))
    atomic_write_bytes(os.path.join(root, "latest.json"),
                       json.dumps({"step": step, "folder": f"step-{step}"}).encode("utf-8"))
    return folder


def latest_checkpoint(root: str) -> str | None:
    """The folder ``<root>/latest.json`` names, or ``None`` when there is no checkpoint yet."""
    check_type("root", root, (str, os.PathLike))
    path = os.path.join(os.fspath(root), "latest.json")
    if not os.path.isfile(path):
        return None
    with open(path, encoding="utf-8") as f:
        return os.path.join(os.fspath(root), json.load(f)["folder"])


def _read(folder: str, name: str, state: dict) -> dict[str, torch.Tensor]:
    with open(os.path.join(folder, name), "rb") as f:
        data = f.read()
    if sha256_hex(data) != state["sha256"][name]:
        raise InputError(f"checkpoint {folder}: {name} does not match the sha256 in state.json (damaged)")
    return st_load(data)


def load_training_state(folder: str, model: nn.Module, optimizer: torch.optim.Optimizer | None = None) -> dict:
    """Load a :func:`save_training_state` folder into ``model`` (and ``optimizer``); returns ``state.json``'s dict."""
    check_type("folder", folder, (str, os.PathLike))
    check_type("model", model, nn.Module)
    if optimizer is not None:
        check_type("optimizer", optimizer, torch.optim.Optimizer)
    folder = os.fspath(folder)
    path = os.path.join(folder, "state.json")
    if not os.path.isfile(path):
        raise InputError(f"folder {folder!r} has no state.json: not a training checkpoint")
    with open(path, encoding="utf-8") as f:
        state = json.load(f)
    if state.get("format") != FORMAT_VERSION:
        raise InputError(f"folder {folder!r}: checkpoint format {state.get('format')}, expected {FORMAT_VERSION}")
    tensors = _read(folder, "model.safetensors", state)
    for alias, stored in state["aliases"].items():
        tensors[alias] = tensors[stored]
    device = next(model.parameters()).device
    model.load_state_dict({k: v.to(device) for k, v in tensors.items()}, strict=True)
    if optimizer is not None:
        if state["optimizer_type"] != type(optimizer).__name__:
            raise InputError(f"optimizer is {type(optimizer).__name__} but the checkpoint holds a "
                             f"{state['optimizer_type']}'s state")
        opt_tensors = _read(folder, "optimizer.safetensors", state)
        per_param: dict[int, dict] = {}
        for key, value in opt_tensors.items():
            _, index, name = key.split(".", 2)
            per_param.setdefault(int(index), {})[name] = value
        for key, value in state["optimizer_scalars"].items():
            index, name = key.split(".", 1)
            per_param.setdefault(int(index), {})[name] = value
        groups = [{k: (tuple(v) if k == "betas" else v) for k, v in g.items()} for g in state["param_groups"]]
        optimizer.load_state_dict({"state": per_param, "param_groups": groups})
    return state

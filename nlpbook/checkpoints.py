"""A cache of trained models: train once, load in every later chapter (safetensors + JSON).

``load_or_train(name, key_parts, build_model, train_fn)`` returns ``(model, info)``. The
checkpoint's **key** is a sha256 of everything that decides the trained weights:

* ``config`` — a JSON-able dict (sizes, learning rate, epochs, seed...);
* ``data`` — a fingerprint of the training data the caller computes (e.g. a sha256 of the
  training pairs, see :func:`fingerprint`);
* ``code`` — the source text of the modules, classes and functions named (the model, the
  training function), so that editing the code that trains a model retrains it.

Layout under ``$NLPBOOK_DATA/checkpoints/`` (:func:`nlpbook.data.cache.data_root`)::

    <name>-<key>.safetensors    the state dict (tensors only: safetensors never runs code)
    <name>-<key>.json           the manifest: key parts, byte count, sha256, training info

Both are written atomically (temporary file + ``os.replace``: a reader sees the old file or
the new one, never half), weights first, manifest last. Loading reads **no pickle**:
safetensors for tensors, JSON for the rest. A checkpoint is used only when its manifest
names this key, its size and sha256 match, and its tensors fit the freshly built model
exactly (names, shapes, dtypes); otherwise it is damaged or stale, a warning says why, and
the model is trained again and the checkpoint rewritten.
"""
from __future__ import annotations

import inspect
import json
import os
import warnings
from typing import Callable

import torch
from safetensors.torch import load as safetensors_load
from safetensors.torch import save as safetensors_save

from .data.cache import DamagedEntry, data_root, read_verified, sha256_hex, write_verified
from .validate import InputError, check_type

__all__ = ["FORMAT_VERSION", "fingerprint", "code_fingerprint", "checkpoint_key", "checkpoint_paths",
           "save_checkpoint", "load_checkpoint", "load_or_train"]

FORMAT_VERSION = 1
FOLDER = "checkpoints"


def _json(name: str, value) -> str:
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise InputError(f"{name} must be JSON-serialisable (dicts, lists, str, int, finite float, "
                         f"bool, None): {err}") from None


def fingerprint(*items) -> str:
    """A sha256 of JSON-able ``items`` (e.g. the training pairs): the ``data`` part of a key."""
    return sha256_hex(_json("items", list(items)).encode("utf-8"))


def code_fingerprint(code) -> dict:
    """``{qualified name: sha256 of its source}`` for modules, classes and functions."""
    if not isinstance(code, (list, tuple)):
        code = [code]
    out = {}
    for obj in code:
        target = inspect.unwrap(obj) if callable(obj) else obj
        try:
            source = inspect.getsource(target)
        except (TypeError, OSError):
            raise InputError(f"code must name modules, classes or functions with source files, got {obj!r}") from None
        name = getattr(target, "__module__", None)
        name = f"{name}.{target.__qualname__}" if hasattr(target, "__qualname__") else target.__name__
        out[name] = sha256_hex(source.encode("utf-8"))
    return out


def checkpoint_key(config: dict, data: str, code) -> tuple[str, dict]:
    """``(key, parts)``: 20 hex digits of the sha256 of ``{config, data, code sources, format}``."""
    check_type("config", config, dict)
    check_type("data", data, str)
    parts = {"config": json.loads(_json("config", config)), "data": data, "code": code_fingerprint(code),
             "format_version": FORMAT_VERSION}
    return sha256_hex(_json("key parts", parts).encode("utf-8"))[:20], parts


def checkpoint_paths(name: str, key: str) -> tuple[str, str]:
    """``(weights, manifest)`` paths of a checkpoint."""
    check_type("name", name, str)
    if not name or os.sep in name or name.startswith("."):
        raise InputError(f"name must be a plain file-name stem, got {name!r}")
    folder = os.path.join(data_root(), FOLDER)
    stem = os.path.join(folder, f"{name}-{key}")
    return stem + ".safetensors", stem + ".json"


def save_checkpoint(model: torch.nn.Module, name: str, key: str, parts: dict, info: dict | None = None) -> str:
    """Write ``model``'s state dict and its manifest atomically; returns the weights path."""
    check_type("model", model, torch.nn.Module)
    weights_path, manifest_path = checkpoint_paths(name, key)
    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    data = safetensors_save(state)
    info_json = json.loads(_json("info", info or {}))
    write_verified(weights_path, manifest_path, data, {"name": name, "key": key, "parts": parts, "info": info_json})
    return weights_path


def load_checkpoint(model: torch.nn.Module, name: str, key: str) -> dict | None:
    """Load the checkpoint into ``model`` and return its manifest, or ``None`` (and warn) if absent/bad."""
    weights_path, manifest_path = checkpoint_paths(name, key)
    try:
        found = read_verified(weights_path, manifest_path, key)
        if found is None:
            return None
        data, manifest = found
        state = safetensors_load(data)
        expected = {k: (tuple(v.shape), v.dtype) for k, v in model.state_dict().items()}
        got = {k: (tuple(v.shape), v.dtype) for k, v in state.items()}
        if got != expected:
            diff = sorted(map(str, set(got.items()) ^ set(expected.items())))[:3]
            raise DamagedEntry(f"its tensors do not fit the model (stale; first differences: {diff})")
        model.load_state_dict(state, strict=True)
    except (DamagedEntry, RuntimeError, ValueError) as problem:
        warnings.warn(f"checkpoint {os.path.basename(weights_path)} is not usable ({problem}); training again",
                      RuntimeWarning, stacklevel=3)
        return None
    return manifest


def load_or_train(name: str, key_parts: dict, build_model: Callable[[dict], torch.nn.Module],
                  train_fn: Callable[[torch.nn.Module], dict | None], device=None) -> tuple[torch.nn.Module, dict]:
    """The trained model for ``key_parts = {"config": ..., "data": ..., "code": [...]}``: loaded or trained.

    ``build_model(config)`` returns an untrained model; it is moved to ``device`` (if given)
    and either filled from the checkpoint or passed to ``train_fn(model)``, which trains it
    in place and returns a JSON-able dict (losses, seconds...) kept in the manifest.
    ``info`` holds ``key``, ``loaded`` (bool), ``path`` and ``train_info`` (that dict).
    """
    check_type("key_parts", key_parts, dict)
    missing = sorted({"config", "data", "code"} - set(key_parts))
    extra = sorted(set(key_parts) - {"config", "data", "code"})
    if missing or extra:
        raise InputError(f"key_parts must have exactly the keys config, data, code; missing {missing}, extra {extra}")
    if not callable(build_model) or not callable(train_fn):
        raise InputError("build_model and train_fn must be callables")
    key, parts = checkpoint_key(key_parts["config"], key_parts["data"], key_parts["code"])
    model = build_model(key_parts["config"])
    check_type("build_model(config)", model, torch.nn.Module)
    if device is not None:
        model = model.to(device)
    manifest = load_checkpoint(model, name, key)
    weights_path, _ = checkpoint_paths(name, key)
    if manifest is not None:
        return model, {"key": key, "loaded": True, "path": weights_path, "train_info": manifest["info"]}
    train_info = train_fn(model)
    train_info = {} if train_info is None else train_info
    check_type("train_fn(model)", train_info, dict)
    save_checkpoint(model, name, key, parts, train_info)
    return model, {"key": key, "loaded": False, "path": weights_path, "train_info": train_info}

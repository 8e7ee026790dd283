"""A small on-disk cache for processed data: atomic writes, a checksummed manifest.

Layout under :func:`data_root` (``$NLPBOOK_DATA``, default ``~/.cache/nlpbook``)::

    <name>-v<format>-<params hash>.txt        the processed data (UTF-8 text)
    <name>-v<format>-<params hash>.json       its manifest: name, format version, parameters,
                                              byte count and sha256 of the data file

The key holds the format version and a hash of the parameters (which include the source
files' sizes and dates), so a new parser, other parameters or an upgraded package never read
a stale entry. Every file is written to a temporary file in the same folder and moved into
place with ``os.replace``, which is atomic on POSIX and Windows: a reader sees the old file
or the new one, never half of one, even when two notebooks build the same entry at once.
A read checks the size and the sha256 against the manifest; an entry that fails (truncated,
flipped bytes, a manifest without data) is rebuilt, never used.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
import warnings
from typing import Callable

ENV_VAR = "NLPBOOK_DATA"


def data_root() -> str:
    """The cache folder: ``$NLPBOOK_DATA``, else ``$XDG_CACHE_HOME/nlpbook``, else ``~/.cache/nlpbook``."""
    root = os.environ.get(ENV_VAR)
    if not root:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        root = os.path.join(base, "nlpbook")
    os.makedirs(root, exist_ok=True)
    return root


def atomic_write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` to ``path`` so that no reader ever sees a partial file.

    The bytes go to a temporary file in the same folder (same file system), are flushed and
    fsynced, and only then renamed over ``path``. If anything fails the temporary file is
    removed and ``path`` keeps its old content.
    """
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # atomic: readers see the old file or the new one
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cache_key(name: str, version: int, params: dict) -> str:
    """``<name>-v<version>-<16 hex digits of sha256(parameters as canonical JSON)>``."""
    blob = json.dumps(params, sort_keys=True, separators=(",", ":"), default=str)
    return f"{name}-v{version}-{sha256_hex(blob.encode())[:16]}"


def entry_paths(name: str, version: int, params: dict) -> tuple[str, str]:
    """``(data file, manifest file)`` of a cache entry."""
    key = cache_key(name, version, params)
    root = data_root()
    return os.path.join(root, key + ".txt"), os.path.join(root, key + ".json")


class DamagedEntry(ValueError):
    """A data file and its manifest that do not agree (the message says how)."""


def write_verified(data_path: str, manifest_path: str, data: bytes, manifest: dict) -> None:
    """Write ``data``, then ``manifest`` with its byte count and sha256 added, each atomically.

    Data first: a manifest never points at data that is not there yet. The checkpoint cache
    (:mod:`nlpbook.checkpoints`) stores its safetensors files the same way.
    """
    atomic_write_bytes(data_path, data)
    manifest = {**manifest, "bytes": len(data), "sha256": sha256_hex(data),
                "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    atomic_write_bytes(manifest_path, json.dumps(manifest, indent=1, default=str).encode("utf-8"))


def read_verified(data_path: str, manifest_path: str, key: str) -> tuple[bytes, dict] | None:
    """``(data, manifest)`` if both files exist and agree, ``None`` if neither exists.

    Raises :class:`DamagedEntry` for missing data, a wrong size, a wrong sha256, an unreadable
    manifest, or a manifest written for another ``key``.
    """
    if not os.path.exists(manifest_path) and not os.path.exists(data_path):
        return None
    try:
        with open(manifest_path, encoding="utf-8") as f:
            manifest = json.load(f)
        with open(data_path, "rb") as f:
            data = f.read()
        if manifest.get("key") != key:
            raise DamagedEntry("its manifest belongs to another entry")
        if len(data) != manifest.get("bytes"):
            raise DamagedEntry(f"size {len(data)} != {manifest.get('bytes')} in the manifest")
        if sha256_hex(data) != manifest.get("sha256"):
            raise DamagedEntry("sha256 does not match the manifest")
    except DamagedEntry:
        raise
    except (OSError, ValueError, AttributeError) as err:
        raise DamagedEntry(f"unreadable ({type(err).__name__}: {err})") from err
    return data, manifest


def read_entry(name: str, version: int, params: dict) -> str | None:
    """The cached text if the entry exists and matches its manifest, else ``None``.

    Returns ``None`` (and warns) for a damaged entry (see :func:`read_verified`).
    """
    data_path, manifest_path = entry_paths(name, version, params)
    try:
        found = read_verified(data_path, manifest_path, cache_key(name, version, params))
    except DamagedEntry as problem:
        warnings.warn(f"nlpbook cache entry {os.path.basename(data_path)} is damaged ({problem}); rebuilding it",
                      RuntimeWarning, stacklevel=3)
        return None
    return None if found is None else found[0].decode("utf-8")


def write_entry(name: str, version: int, params: dict, text: str) -> None:
    """Write the data file, then its manifest, each atomically."""
    data_path, manifest_path = entry_paths(name, version, params)
    write_verified(data_path, manifest_path, text.encode("utf-8"),
                   {"key": cache_key(name, version, params), "name": name, "format_version": version,
                    "params": params})


def cached_text(name: str, version: int, params: dict, build: Callable[[], str]) -> str:
    """The text for ``(name, version, params)``: from the cache if intact, else ``build()``, stored."""
    text = read_entry(name, version, params)
    if text is None:
        text = build()
        write_entry(name, version, params, text)
    return text


# ---------------------------------------------------------------------------------------------
# Tensors (e.g. features precomputed from a frozen encoder): safetensors, same manifest + sha256.
# ---------------------------------------------------------------------------------------------

def tensor_entry_paths(name: str, version: int, params: dict) -> tuple[str, str]:
    """``(data file, manifest file)`` of a tensor entry: ``<key>.safetensors`` and ``<key>.json``."""
    key = cache_key(name, version, params)
    root = data_root()
    return os.path.join(root, key + ".safetensors"), os.path.join(root, key + ".json")


def cached_tensors(name: str, version: int, params: dict,
                   build: Callable[[], dict]) -> tuple[dict, dict]:
    """``(tensors, info)`` for ``(name, version, params)``: read from the cache if intact, else built.

    ``build()`` returns ``(tensors, info)``: a ``{name: tensor}`` dict (stored with safetensors,
    never pickle; read back on the CPU) and a JSON-able ``info`` dict kept in the manifest
    (e.g. the seconds the build took, so a later run can still report the cost). A damaged
    entry (size or sha256 off) warns and is rebuilt, as for :func:`cached_text`.
    """
    from safetensors.torch import load as safetensors_load
    from safetensors.torch import save as safetensors_save

    data_path, manifest_path = tensor_entry_paths(name, version, params)
    key = cache_key(name, version, params)
    try:
        found = read_verified(data_path, manifest_path, key)
    except DamagedEntry as problem:
        warnings.warn(f"nlpbook cache entry {os.path.basename(data_path)} is damaged ({problem}); rebuilding it",
                      RuntimeWarning, stacklevel=2)
        found = None
    if found is not None:
        data, manifest = found
        return safetensors_load(data), manifest.get("info", {})
    built = build()
    if not (isinstance(built, tuple) and len(built) == 2 and isinstance(built[0], dict) and isinstance(built[1], dict)):
        raise TypeError("build() must return (tensors: dict of name -> tensor, info: dict)")
    tensors, info = built
    state = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    write_verified(data_path, manifest_path, safetensors_save(state),
                   {"key": key, "name": name, "format_version": version, "params": params, "info": info})
    return {k: v.clone() for k, v in state.items()}, info

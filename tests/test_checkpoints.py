"""The checkpoint cache: round trip, corrupt or stale -> retrain, keys, no pickle."""
import json
import os
import pickle

import pytest
import torch
from torch import nn

from nlpbook import checkpoints
from nlpbook.checkpoints import checkpoint_key, fingerprint, load_or_train
from nlpbook.validate import InputError


class Tiny(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.lin = nn.Linear(3, width)
        self.register_buffer("steps", torch.zeros((), dtype=torch.long))


def build(config):
    torch.manual_seed(123)
    return Tiny(config["width"])


def make_train(calls):
    def train_fn(model):
        calls.append(1)
        with torch.no_grad():
            model.lin.weight.add_(1.5)
            model.steps += 7
        return {"loss": 0.25, "seconds": 1.0}
    return train_fn


def parts(width=4, data="abc"):
    return {"config": {"width": width, "lr": 0.1}, "data": data, "code": [Tiny, build]}


@pytest.fixture(autouse=True)
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("NLPBOOK_DATA", str(tmp_path))
    return tmp_path


def test_round_trip_loads_instead_of_training(cache_dir):
    calls = []
    model, info = load_or_train("tiny", parts(), build, make_train(calls))
    assert not info["loaded"] and calls == [1]
    again, info2 = load_or_train("tiny", parts(), build, make_train(calls))
    assert info2["loaded"] and calls == [1] and info2["key"] == info["key"]
    assert info2["train_info"] == {"loss": 0.25, "seconds": 1.0}
    for (n, a), (_, b) in zip(model.state_dict().items(), again.state_dict().items()):
        assert torch.equal(a, b), n
    assert int(again.steps) == 7                                    # buffers too
    folder = cache_dir / "checkpoints"
    names = sorted(os.listdir(folder))
    assert [n.rsplit(".", 1)[1] for n in names] == ["json", "safetensors"]
    manifest = json.loads((folder / names[0]).read_text())
    assert manifest["key"] == info["key"] and manifest["parts"]["config"] == {"width": 4, "lr": 0.1}


def test_a_flipped_byte_retrains_with_a_warning(cache_dir):
    calls = []
    _, info = load_or_train("tiny", parts(), build, make_train(calls))
    path = info["path"]
    data = bytearray(open(path, "rb").read())
    data[-3] ^= 0x01
    open(path, "wb").write(bytes(data))
    with pytest.warns(RuntimeWarning, match="sha256"):
        model, info2 = load_or_train("tiny", parts(), build, make_train(calls))
    assert not info2["loaded"] and calls == [1, 1]
    _, info3 = load_or_train("tiny", parts(), build, make_train(calls))      # rewritten, good again
    assert info3["loaded"] and calls == [1, 1]


def test_a_missing_manifest_or_stale_tensors_retrain(cache_dir):
    calls = []
    _, info = load_or_train("tiny", parts(), build, make_train(calls))
    os.remove(info["path"][:-len(".safetensors")] + ".json")
    with pytest.warns(RuntimeWarning, match="not usable"):
        load_or_train("tiny", parts(), build, make_train(calls))
    assert calls == [1, 1]
    # a model built differently under the same key (the code changed without a code entry)
    with pytest.warns(RuntimeWarning, match="stale"):
        _, info = load_or_train("tiny", parts(), lambda c: Tiny(5), make_train(calls))
    assert not info["loaded"] and calls == [1, 1, 1]


def test_config_data_and_code_change_the_key():
    base, _ = checkpoint_key({"width": 4}, "abc", [Tiny])
    assert base == checkpoint_key({"width": 4}, "abc", [Tiny])[0]
    assert base != checkpoint_key({"width": 5}, "abc", [Tiny])[0]
    assert base != checkpoint_key({"width": 4}, "abd", [Tiny])[0]
    assert base != checkpoint_key({"width": 4}, "abc", [Tiny, build])[0]
    namespace = {}
    exec(compile("def f(x):\n    return x + 1\n", "<string>", "exec"), namespace)  # no source file: error
    with pytest.raises(InputError, match="code"):
        checkpoint_key({"width": 4}, "abc", [namespace["f"]])
    assert fingerprint([("a", "b")]) != fingerprint([("a", "c")])


def test_code_fingerprint_follows_the_source(tmp_path, monkeypatch):
    module = tmp_path / "trainer_mod.py"
    module.write_text("def train(model):\n    return 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import importlib
    mod = importlib.import_module("trainer_mod")
    first = checkpoint_key({}, "d", [mod.train])[0]
    module.write_text("def train(model):\n    return 2\n")
    importlib.reload(mod)
    assert checkpoint_key({}, "d", [mod.train])[0] != first


def test_loading_never_unpickles(cache_dir, monkeypatch):
    calls = []
    load_or_train("tiny", parts(), build, make_train(calls))

    def forbidden(*args, **kwargs):
        raise AssertionError("pickle was used")
    monkeypatch.setattr(pickle, "load", forbidden)
    monkeypatch.setattr(pickle, "loads", forbidden)
    monkeypatch.setattr(torch, "load", forbidden)
    _, info = load_or_train("tiny", parts(), build, make_train(calls))
    assert info["loaded"] and calls == [1]
    raw = open(info["path"], "rb").read()
    header_len = int.from_bytes(raw[:8], "little")                   # safetensors: u64 + JSON header
    assert "lin.weight" in json.loads(raw[8:8 + header_len])
    assert b"\x80\x04" not in raw[:2]                               # not a pickle stream


def test_bad_arguments():
    with pytest.raises(InputError, match="key_parts"):
        load_or_train("tiny", {"config": {}}, build, make_train([]))
    with pytest.raises(InputError, match="config"):
        checkpoint_key({"f": object()}, "abc", [Tiny])
    with pytest.raises(InputError, match="name"):
        checkpoints.checkpoint_paths("../x", "k")
    with pytest.raises(InputError, match="train_fn"):
        load_or_train("tiny", parts(), build, lambda m: ["not", "a", "dict"])

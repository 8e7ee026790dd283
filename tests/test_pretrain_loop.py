"""The training loop in one process: the schedule, the split of a batch, checkpoints that resume exactly, no pickle."""
from __future__ import annotations

import json
import os
import random

import pytest
import torch

from nlpbook.pretrain.batching import SpecialIds
from nlpbook.pretrain.checkpoint import latest_checkpoint, load_training_state, save_training_state
from nlpbook.pretrain.loop import PretrainConfig, build_model, global_batch, learning_rate, micro_batches, pretrain
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")
SPECIALS = SpecialIds(vocab_size=60, pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4)
TINY = dict(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32, max_length=24,
            micro_batch=4, steps=6, warmup=2, lr=1e-2, log_every=2)


def _documents(seed=0):
    rng = random.Random(seed)
    return [[[rng.randrange(5, 60) for _ in range(rng.randint(3, 10))] for _ in range(rng.randint(3, 7))]
            for _ in range(12)]


def _params(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _max_diff(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_learning_rate_warms_up_then_decays_to_zero():
    c = PretrainConfig(**(TINY | {"steps": 10, "warmup": 4, "lr": 1.0}))
    assert [learning_rate(s, c) for s in range(10)] == pytest.approx(
        [0.25, 0.5, 0.75, 1.0, 1.0, 5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])


def test_global_batches_are_a_function_of_the_step_and_split_into_micro_batches():
    c = PretrainConfig(**(TINY | {"accumulation": 2}))
    a = global_batch(_documents(), SPECIALS, 3, 16, seed=0, max_length=24)
    b = global_batch(_documents(), SPECIALS, 3, 16, seed=0, max_length=24)
    other = global_batch(_documents(), SPECIALS, 4, 16, seed=0, max_length=24)
    assert all(torch.equal(a[k], b[k]) for k in a) and not torch.equal(a["input_ids"], other["input_ids"])
    parts = micro_batches(a, 0, 2, c) + micro_batches(a, 1, 2, c)
    assert len(parts) == 4 and all(p["input_ids"].shape == (4, a["input_ids"].shape[1]) for p in parts)
    assert torch.equal(torch.cat([p["input_ids"] for p in parts]), a["input_ids"])


def test_accumulation_gives_the_gradient_of_the_whole_batch():
    """Sums over the global |M| and G: one batch of 16 = 4 micro-batches of 4 (not a mean of means)."""
    one = pretrain(PretrainConfig(**(TINY | {"micro_batch": 16, "dropout": 0.0})), _documents(), SPECIALS,
                   device="cpu", log=None)
    four = pretrain(PretrainConfig(**(TINY | {"micro_batch": 4, "accumulation": 4, "dropout": 0.0})), _documents(),
                    SPECIALS, device="cpu", log=None)
    assert one.global_batch == four.global_batch == 16
    worst = _max_diff(_params(one.model), _params(four.model))
    print(f"16 x 1 vs 4 x 4 accumulation, 6 steps: max |dparam| {worst:.1e}")
    # float32 rounding of matmuls over 16 rows vs 4 x 4 (measured ~1e-6 after 6 AdamW steps at lr 1e-2)
    assert worst < 1e-5
    assert one.history[-1]["loss"] == pytest.approx(four.history[-1]["loss"], abs=1e-5)


def test_a_resumed_run_equals_one_that_never_stopped_with_dropout(tmp_path, monkeypatch):
    config = PretrainConfig(**(TINY | {"dropout": 0.1, "checkpoint_every": 2}))
    whole = pretrain(config, _documents(), SPECIALS, device="cpu", log=None, checkpoint_dir=str(tmp_path / "a"))
    # no pickle anywhere on the way back in
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("torch.load (pickle) was called"))
    first = pretrain(config, _documents(), SPECIALS, device="cpu", log=None, checkpoint_dir=str(tmp_path / "b"),
                     max_steps=3)
    assert first.step == 3 and latest_checkpoint(str(tmp_path / "b")).endswith("step-3")
    rest = pretrain(config, _documents(), SPECIALS, device="cpu", log=None, checkpoint_dir=str(tmp_path / "b"))
    assert rest.resumed_from == 3 and rest.step == 6
    assert _max_diff(_params(whole.model), _params(rest.model)) == 0.0
    files = sorted(os.listdir(tmp_path / "b" / "step-6"))
    assert files == ["model.safetensors", "optimizer.safetensors", "state.json"]
    state = json.loads((tmp_path / "b" / "step-6" / "state.json").read_text())
    assert state["step"] == 6 and state["aliases"] == {"mlm.decoder.weight": "bert.embeddings.word_embeddings.weight"}
    # another configuration in the same folder is refused
    with pytest.raises(InputError, match="another configuration"):
        pretrain(PretrainConfig(**(TINY | {"lr": 2e-2})), _documents(), SPECIALS, device="cpu", log=None,
                 checkpoint_dir=str(tmp_path / "b"))


def test_optimizer_state_round_trips_and_damage_is_caught(tmp_path):
    config = PretrainConfig(**TINY)
    result = pretrain(config, _documents(), SPECIALS, device="cpu", log=None, max_steps=2)
    model = result.model
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(**{k: v for k, v in global_batch(_documents(), SPECIALS, 0, 4, seed=0, max_length=24).items()}).loss.backward()
    opt.step()
    folder = save_training_state(str(tmp_path), 7, model, opt, {"note": "x"})
    fresh = build_model(config, SPECIALS.vocab_size)
    fresh_opt = torch.optim.AdamW(fresh.parameters(), lr=5.0)
    state = load_training_state(folder, fresh, fresh_opt)
    assert state["step"] == 7 and state["extra"] == {"note": "x"}
    assert _max_diff(_params(model), _params(fresh)) == 0.0
    assert fresh.mlm.decoder.weight is fresh.bert.embeddings.word_embeddings.weight
    a, b = opt.state_dict(), fresh_opt.state_dict()
    assert a["param_groups"][0]["lr"] == b["param_groups"][0]["lr"] == 1e-3
    for i, s in a["state"].items():
        for key, value in s.items():
            assert torch.equal(value, b["state"][i][key]), (i, key)
    path = os.path.join(folder, "optimizer.safetensors")
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 1
    open(path, "wb").write(bytes(data))
    with pytest.raises(InputError, match="sha256"):
        load_training_state(folder, fresh, fresh_opt)


def test_the_global_normalisation_is_the_batch_mean_and_a_mean_of_means_is_not():
    config = PretrainConfig(**(TINY | {"accumulation": 4, "dropout": 0.0}))
    model = build_model(config, SPECIALS.vocab_size).double().eval()
    batch = global_batch(_documents(), SPECIALS, 0, 16, seed=0, max_length=24)
    parts = micro_batches(batch, 0, 1, config)
    n_masked = int((batch["labels"] != -100).sum())
    counts = [int((p["labels"] != -100).sum()) for p in parts]
    assert len(set(counts)) > 1, "the micro-batches must hold different numbers of masked tokens"

    def grad(loss_of):
        model.zero_grad()
        for p in parts:
            loss_of(model(**p, reduction="sum"), p).backward()
        return torch.cat([q.grad.flatten() for q in model.parameters()])
    model.zero_grad()
    model(**batch).loss.backward()                                     # the mean over the whole batch
    whole = torch.cat([q.grad.flatten() for q in model.parameters()])
    ours = grad(lambda out, p: out.mlm_loss / n_masked + out.nsp_loss / 16)
    means = grad(lambda out, p: (out.mlm_loss / int((p["labels"] != -100).sum()) + out.nsp_loss / 4) / 4)
    assert float((ours - whole).abs().max()) < 1e-12
    assert float((means - whole).abs().max()) > 1e-3 * float(whole.abs().max())


def test_pretrain_and_evaluate_compute_on_the_given_device(dev):
    """Under the device audit (a simulated second device): nothing heavy is left on the CPU."""
    from nlpbook.pretrain.loop import evaluate
    result = pretrain(PretrainConfig(**(TINY | {"steps": 2})), _documents(), SPECIALS, device=dev, log=None)
    assert next(result.model.parameters()).device == dev
    scores = evaluate(result.model, _documents(1), SPECIALS, max_length=24, batches=1, batch_size=8)
    assert 0 <= scores["mlm_accuracy"] <= 1 and 0 <= scores["nsp_accuracy"] <= 1


def test_a_run_resumes_with_another_split_of_the_same_global_batch(tmp_path):
    base = TINY | {"dropout": 0.0}
    whole = pretrain(PretrainConfig(**base), _documents(), SPECIALS, device="cpu", log=None)
    pretrain(PretrainConfig(**base), _documents(), SPECIALS, device="cpu", log=None, checkpoint_dir=str(tmp_path),
             max_steps=3)
    rest = pretrain(PretrainConfig(**(base | {"micro_batch": 2, "accumulation": 2})), _documents(), SPECIALS,
                    device="cpu", log=None, checkpoint_dir=str(tmp_path))
    assert rest.resumed_from == 3 and rest.global_batch == 4
    assert _max_diff(_params(whole.model), _params(rest.model)) < 1e-5
    with pytest.raises(InputError, match="global batch 4 there, 8 here"):
        pretrain(PretrainConfig(**(base | {"accumulation": 2})), _documents(), SPECIALS, device="cpu", log=None,
                 checkpoint_dir=str(tmp_path))

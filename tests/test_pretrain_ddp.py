"""Data-parallel pretraining (2 CPU processes, gloo) equals one process on the same global batches, and resumes exactly."""
from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from nlpbook.pretrain.batching import SpecialIds
from nlpbook.pretrain.loop import PretrainConfig, pretrain

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SPECIALS = SpecialIds(vocab_size=60, pad_id=0, unk_id=1, cls_id=2, sep_id=3, mask_id=4)
# tiny and without dropout (dropout masks depend on how the batch is split over processes)
OPTIONS = {"hidden_size": 16, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 32,
           "max_length": 24, "dropout": 0.0, "micro_batch": 4, "accumulation": 2, "steps": 6, "warmup": 2,
           "lr": 1e-2, "log_every": 3, "checkpoint_every": 0}
STOP_AT = 3


def _documents(seed=0):
    rng = random.Random(seed)
    return [[[rng.randrange(5, 60) for _ in range(rng.randint(3, 10))] for _ in range(rng.randint(3, 7))]
            for _ in range(12)]


def _final_params(folder):
    with open(os.path.join(folder, "latest.json")) as f:
        latest = json.load(f)
    return latest["step"], load_file(os.path.join(folder, latest["folder"], "model.safetensors"))


@pytest.fixture(scope="module")
def ddp_runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ddp")
    path = tmp / "documents.json"
    path.write_text(json.dumps({"vocab_size": SPECIALS.vocab_size,
                                "specials": {k: getattr(SPECIALS, k) for k in ("pad_id", "cls_id", "sep_id",
                                                                               "mask_id", "unk_id")},
                                "documents": _documents()}))
    options = [x for k, v in OPTIONS.items() for x in ("--" + k.replace("_", "-"), str(v))]
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1",
               NLPBOOK_THREADS="1")
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
               os.path.join(ROOT, "tests", "pretrain_ddp_worker.py"), str(path), str(tmp / "full"),
               str(tmp / "resumed"), str(STOP_AT), *options]
    start = time.perf_counter()
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=240, env=env, cwd=str(tmp))
    except subprocess.TimeoutExpired as err:
        pytest.fail(f"torchrun with 2 gloo processes did not finish in {err.timeout} s:\n"
                    f"stdout:\n{err.stdout}\nstderr:\n{err.stderr}")
    seconds = time.perf_counter() - start
    assert done.returncode == 0, (f"torchrun failed (exit {done.returncode}):\nstdout:\n{done.stdout[-4000:]}\n"
                                  f"stderr:\n{done.stderr[-8000:]}")
    assert "worker done: world size 2" in done.stdout, done.stdout
    print(f"torchrun, 2 processes, three runs: {seconds:.1f} s")
    return tmp, path


def test_two_processes_equal_one_process_on_the_same_global_batches(ddp_runs):
    tmp, _ = ddp_runs
    step, ddp = _final_params(tmp / "full")
    assert step == OPTIONS["steps"]
    # one process, the same global batch of 4 x 2 x 2 = 16 pairs per step as 4 micro-batches of 4
    config = PretrainConfig(**(OPTIONS | {"accumulation": 4}))
    single = pretrain(config, _documents(), SPECIALS, device="cpu", log=None)
    assert single.global_batch == 16 and single.step == OPTIONS["steps"]
    ours = {k: v for k, v in single.model.state_dict().items()}
    assert ddp.keys() <= ours.keys() and len(ddp) >= 20
    worst = max(float((ours[k] - v).abs().max()) for k, v in ddp.items())
    moved = max(float((ours[k] - p).abs().max()) for k, p in
                pretrain(config, _documents(), SPECIALS, device="cpu", log=None, max_steps=1).model.state_dict().items())
    print(f"DDP (2 x gloo) vs one process after {step} steps: max |dparam| = {worst:.2e} (steps 1 -> 6 moved {moved:.2e})")
    assert worst < 1e-6, worst
    assert moved > 1e-2, "the parameters barely moved: the comparison would be empty"


def test_a_resumed_ddp_run_ends_where_an_unstopped_one_does(ddp_runs):
    tmp, _ = ddp_runs
    assert os.path.isfile(tmp / "resumed" / f"step-{STOP_AT}" / "optimizer.safetensors"), "no checkpoint at the stop"
    step_full, full = _final_params(tmp / "full")
    step_resumed, resumed = _final_params(tmp / "resumed")
    assert step_full == step_resumed == OPTIONS["steps"]
    worst = max(float((full[k] - v).abs().max()) for k, v in resumed.items())
    print(f"DDP resumed at step {STOP_AT} vs not stopped: max |dparam| = {worst:.2e}")
    assert worst < 1e-6, worst
    halfway = load_file(tmp / "resumed" / f"step-{STOP_AT}" / "model.safetensors")
    assert max(float((full[k] - v).abs().max()) for k, v in halfway.items()) > 1e-3, "the resumed half did nothing"

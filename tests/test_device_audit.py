"""The device audit (NLPBOOK_DEVICE_AUDIT=1): a tensor left off run.device fails loudly on a CPU.

Each test runs under the audit (the ``dev`` fixture) and checks both sides: what a chapter
that moves everything does passes with no false alarm, and what it forgets raises.
"""
from __future__ import annotations

import copy
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import nlpbook
from nlpbook import device_audit
from nlpbook.device_audit import ComputedOnCPUError, DeviceMismatchError, on_run_device


def test_setup_switches_the_audit_on_only_when_asked(monkeypatch):
    monkeypatch.delenv(device_audit.AUDIT_ENV_VAR, raising=False)
    monkeypatch.delenv("NLPBOOK_DEVICE", raising=False)
    plain = nlpbook.setup("smoke", quiet=True)
    assert plain.device == torch.device("cpu") and not plain.audited and not device_audit.is_enabled()
    monkeypatch.setenv(device_audit.AUDIT_ENV_VAR, "1")
    try:
        run = nlpbook.setup("smoke", quiet=True)
        assert run.device == torch.device("cpu", 0) != torch.device("cpu")
        assert run.audited and device_audit.is_enabled() and "device audit" in str(run)
        with pytest.raises(ComputedOnCPUError, match="cpu_by_design"):
            nn.Linear(32, 32)(torch.randn(16, 32))
    finally:
        device_audit.disable()
    monkeypatch.setenv(device_audit.AUDIT_ENV_VAR, "sometimes")
    with pytest.raises(ValueError, match="NLPBOOK_DEVICE_AUDIT"):
        nlpbook.setup("smoke", quiet=True)
    assert not device_audit.is_enabled()


def test_marks_follow_moves_and_results(dev):
    x = torch.randn(4, 5)
    moved = x.to(dev)
    assert on_run_device(moved) and not on_run_device(x), ".to() must not mark the CPU original"
    assert moved.device == dev and x.device == torch.device("cpu")
    assert on_run_device(moved * 2) and on_run_device(moved.sum()) and on_run_device(moved[0])
    assert on_run_device(torch.zeros(3, device=moved.device)), "device=x.device must propagate"
    assert on_run_device(torch.zeros_like(moved)) and on_run_device(moved.new_zeros(2))
    assert on_run_device(x.to(moved)) and on_run_device(moved.to(torch.float64))
    assert not on_run_device(moved.cpu()) and not on_run_device(moved.to("cpu"))
    assert on_run_device(moved) and moved.to(dev) is moved


def test_mixing_devices_raises_like_cuda(dev):
    a = torch.randn(4, 5, device=dev)
    b = torch.randn(4, 5)
    with pytest.raises(DeviceMismatchError, match=r"same device.*\(4, 5\)"):
        a + b
    with pytest.raises(DeviceMismatchError, match="cat"):
        torch.cat([a, b])
    with pytest.raises(DeviceMismatchError):
        torch._foreach_add([a], [b])
    assert on_run_device(a + torch.tensor(2.0)), "a CPU 0-dim tensor is allowed, as on CUDA"
    assert on_run_device(a[torch.tensor([0, 2])]), "a CPU index into a run.device tensor is allowed"
    with pytest.raises(DeviceMismatchError):
        b[torch.tensor([0, 2], device=dev)]
    a[0] = b[0]                                       # copies across devices are allowed, as on CUDA
    a.copy_(b)
    assert on_run_device(a)


def test_heavy_op_on_the_cpu_raises_unless_by_design(dev):
    with pytest.raises(ComputedOnCPUError, match="matmul"):
        torch.randn(32, 32) @ torch.randn(32, 32)
    with pytest.raises(ComputedOnCPUError, match="lstm"):
        nn.LSTM(4, 16, batch_first=True)(torch.randn(8, 10, 4))
    torch.randn(3, 3) @ torch.randn(3, 3)             # below HEAVY_MIN_NUMEL: a small check may stay
    torch.randn(64, 64).tanh()                        # elementwise work on the CPU is data handling
    with nlpbook.cpu_by_design("a float64 check of the formula"):
        torch.randn(32, 32, dtype=torch.float64) @ torch.randn(32, 32, dtype=torch.float64)
        with pytest.raises(DeviceMismatchError):  # would fail on a GPU too, so it still raises
            torch.randn(32, 32, device=dev) @ torch.randn(32, 32)
    with pytest.raises(ComputedOnCPUError):
        torch.randn(32, 32) @ torch.randn(32, 32)
    with pytest.raises(ValueError, match="reason"):
        with nlpbook.cpu_by_design(""):
            pass


def test_cpu_by_design_does_nothing_without_the_audit():
    with nlpbook.cpu_by_design("plain CPU run"):
        assert (torch.randn(32, 32) @ torch.randn(32, 32)).shape == (32, 32)


def test_numpy_needs_cpu_first(dev):
    t = torch.randn(3, 4, device=dev)
    with pytest.raises(TypeError, match="cpu()"):
        t.numpy()
    with pytest.raises(TypeError, match="cpu()"):
        np.asarray(t)
    assert t.cpu().numpy().shape == (3, 4) and t.detach().cpu().numpy().dtype == np.float32
    assert torch.randn(2).numpy().shape == (2,)


def test_training_on_the_device_has_no_false_alarm(dev):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Embedding(40, 16), nn.GRU(16, 32, batch_first=True))
    head = nn.Linear(32, 40)
    model.to(dev), head.to(dev)
    params = list(model.parameters()) + list(head.parameters())
    assert all(on_run_device(p) for p in params)
    x = torch.randint(0, 40, (8, 12), device=dev)
    for optimizer in (torch.optim.Adam(params, lr=1e-2), torch.optim.SGD(params, lr=0.1, momentum=0.9)):
        for _ in range(2):
            out, _ = model(x)
            loss = F.cross_entropy(head(out).reshape(-1, 40), x.reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            assert all(on_run_device(p.grad) for p in params)
            norm = nn.utils.clip_grad_norm_(params, 1.0)
            optimizer.step()
            assert np.isfinite(float(norm)) and np.isfinite(loss.item())
    assert all(on_run_device(p) for p in params), "the optimizer step must keep the parameters marked"
    twin = copy.deepcopy(head)
    assert all(on_run_device(p) for p in twin.parameters())
    head.load_state_dict(twin.state_dict())
    lstm = nn.LSTM(4, 8, num_layers=2, batch_first=True).to(dev)
    out, (h, c) = lstm(torch.randn(3, 5, 4, device=dev))
    assert on_run_device(out) and on_run_device(h) and on_run_device(c)
    with pytest.raises(DeviceMismatchError):
        head(torch.randn(8, 32))                      # a batch left on the CPU
    model.cpu()
    assert not any(on_run_device(p) for p in model.parameters())


def test_nlpbook_layers_explicit_and_fast(dev):
    from nlpbook.rnn.gru import GRU
    from nlpbook.rnn.lstm import LSTM
    from nlpbook.rnn.rnn import RNN
    torch.manual_seed(0)
    for layer in (RNN(3, 16), GRU(3, 16), GRU(3, 16, fast=True), GRU(3, 16, form="seed", fast=True),
                  LSTM(3, 16), LSTM(3, 16, fast=True, num_layers=2)):
        layer.to(dev)
        out, _ = layer(torch.randn(4, 6, 3, device=dev))
        out.sum().backward()
        assert on_run_device(out) and all(on_run_device(p.grad) for p in layer.parameters()), layer
        with pytest.raises((RuntimeError, ValueError), match="same device|on the CPU|is on cpu but"):
            layer(torch.randn(4, 6, 3))


def test_train_helpers_follow_the_model(dev):
    from nlpbook.lm.char_lm import CharLM, evaluate, random_windows, train_char_lm
    from nlpbook.rnn.lstm import LSTM
    from nlpbook.tasks.adding import RecurrentRegressor, adding_problem_batches, adding_problem_mse
    torch.manual_seed(0)
    model = RecurrentRegressor(nn.LSTM(2, 16, batch_first=True)).to(dev)
    batches = adding_problem_batches(3, 8, 10, seed=0, device=dev)
    assert all(on_run_device(t) for batch in batches for t in batch)
    cpu_batches = adding_problem_batches(3, 8, 10, seed=0)
    assert not any(on_run_device(t) for batch in cpu_batches for t in batch)
    for data in (batches, cpu_batches):          # CPU batches are moved to the model's device
        history = nlpbook.train(model, torch.optim.Adam(model.parameters()), data,
                                lambda m, b: F.mse_loss(m(b[0]), b[1]), clip_grad_norm=1.0, progress=False)
        assert history.steps == 3
    assert np.isfinite(adding_problem_mse(model, *cpu_batches[0]))
    batch = {"x": torch.ones(2, 3), "pair": (torch.zeros(2), 5)}
    moved = nlpbook.to_device(batch, dev)
    assert on_run_device(moved["x"]) and on_run_device(moved["pair"][0]) and moved["pair"][1] == 5
    assert nlpbook.model_device(model) == dev

    text = torch.randint(0, 20, (600,))
    x, y = random_windows(text, 4, 16, torch.Generator().manual_seed(0), device=dev)
    assert on_run_device(x) and on_run_device(y)
    lm = CharLM(20, LSTM(8, 16, fast=True), 8, 16).to(dev)
    record = train_char_lm(lm, text[:500], text[500:], steps=2, eval_every=2, batch_size=4, seq_len=16)
    assert np.isfinite(record.final_bpc) and np.isfinite(evaluate(lm, text[500:], batch_size=4)["bpc"])
    with pytest.raises(ComputedOnCPUError):          # the model never moved: the audit says so
        train_char_lm(CharLM(20, nn.LSTM(8, 16, batch_first=True), 8, 16), text[:500], text[500:],
                      steps=1, eval_every=1, batch_size=4, seq_len=16)


def test_word2vec_trainer_on_the_device(dev):
    from nlpbook.word2vec.sgns import Word2VecConfig, flatten_corpus, train_word2vec
    rng = np.random.default_rng(0)
    sentences = [list(rng.choice(list("abcdefgh"), size=10)) for _ in range(40)]
    stoi = {w: i for i, w in enumerate("abcdefgh")}
    ids, sentence, n_raw = flatten_corpus(sentences, stoi)
    counts = np.bincount(ids.numpy(), minlength=8)
    for sg in (1, 0):
        config = Word2VecConfig(vector_size=16, window=2, negative=3, epochs=1, sample=0, sg=sg,
                                batch_size=64, noise_table_size=1000, threads=1)
        result = train_word2vec(ids, sentence, counts, config, device=dev, n_raw=n_raw, loss_every=1)
        assert on_run_device(result.in_vectors) and np.isfinite(result.losses).all()
        vectors = result.in_vectors.cpu().numpy()        # numpy, gensim, scipy: after .cpu()
        with nlpbook.cpu_by_design("the evaluation is numpy"):
            assert np.isfinite(vectors @ vectors.T).all()


def test_warn_mode_reports_each_place_once_and_goes_on():
    with device_audit.device_audit(report_only=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for _ in range(3):
                nn.Linear(32, 32)(torch.randn(8, 32))     # one place, three times
            torch.randn(4, 4, device=device_audit.AUDIT_DEVICE) + torch.randn(4, 4)
    messages = [str(w.message) for w in caught if issubclass(w.category, device_audit.DeviceAuditWarning)]
    assert len(messages) == 2, messages
    assert "ComputedOnCPUError" in messages[0] and "test_device_audit.py" in messages[0]
    assert "DeviceMismatchError" in messages[1]


def test_gradient_tools_and_word2vec_models_on_the_device(dev):
    from nlpbook.optim.clipping import clip_grad_norm_, clip_grad_value_, floor_gradient_, global_grad_norm
    from nlpbook.rnn.gradient_flow import (rnn_jacobian_products, set_carry_gate_bias,
                                           set_recurrent_spectral_radius, state_gradient_norms)
    from nlpbook.rnn.rnn import RNN
    from nlpbook.word2vec.cbow import CBOW
    from nlpbook.word2vec.skipgram import SkipGram
    torch.manual_seed(0)
    x = torch.randn(4, 6, 2, device=dev, dtype=torch.float64)
    for module in (nn.RNN(2, 16, batch_first=True), nn.LSTM(2, 16, batch_first=True), RNN(2, 16)):
        module = module.double().to(dev)
        set_recurrent_spectral_radius(module, 0.9, torch.Generator().manual_seed(0))   # CPU draws, copied in
        norms = state_gradient_norms(module, x, generator=torch.Generator().manual_seed(0))
        assert on_run_device(norms) and norms.shape == (4, 7)
    lstm = set_carry_gate_bias(nn.LSTM(2, 16, batch_first=True).to(dev), 3.0)
    assert all(on_run_device(p) for p in lstm.parameters())
    rnn = nn.RNN(2, 16, batch_first=True).double().to(dev)
    products = rnn_jacobian_products(rnn.weight_hh_l0, rnn(x)[0])
    assert on_run_device(products) and products.shape == (4, 7, 16, 16)
    rnn(x)[0].sum().backward()
    params = list(rnn.parameters())
    assert on_run_device(global_grad_norm(params)) and on_run_device(clip_grad_norm_(params, 0.5))
    clip_grad_value_(params, 0.1)
    floor_gradient_(params, 1e-3)
    skipgram, cbow = SkipGram(50, 16).to(dev), CBOW(50, 16).to(dev)
    centers = torch.randint(0, 50, (32,), device=dev)
    contexts = torch.randint(0, 50, (32, 4), device=dev)
    skipgram(centers, contexts[:, 0]).backward()
    cbow(contexts, torch.ones(32, 4, dtype=torch.bool, device=dev), centers).backward()
    assert on_run_device(skipgram.input_vectors.weight.grad) and on_run_device(cbow.output_vectors.weight.grad)


def test_autograd_grad_hooks_and_packed_sequences(dev):
    w = torch.randn(20, 20, device=dev, requires_grad=True)
    x = torch.randn(4, 20, device=dev)
    g, = torch.autograd.grad((x @ w).tanh().sum(), [w])
    assert on_run_device(w - 0.1 * g)
    seen = []
    h = x @ w
    h.register_hook(seen.append)
    h.sum().backward()
    assert on_run_device(seen[0]) and on_run_device(w.grad + seen[0].sum())
    jac = torch.autograd.functional.jacobian(lambda v: (v @ w).tanh(), x[0])
    assert on_run_device(jac)
    lstm = nn.LSTM(3, 8, batch_first=True).to(dev)
    lengths = torch.tensor([6, 5, 3, 2])                  # lengths stay on the CPU, as on CUDA
    packed = nn.utils.rnn.pack_padded_sequence(torch.randn(4, 6, 3, device=dev), lengths,
                                               batch_first=True, enforce_sorted=False)
    assert on_run_device(packed.data) and not on_run_device(packed.batch_sizes)
    padded, out_lengths = nn.utils.rnn.pad_packed_sequence(lstm(packed)[0], batch_first=True)
    assert on_run_device(padded) and padded.shape == (4, 6, 8)
    assert out_lengths.numpy().tolist() == [6, 5, 3, 2]

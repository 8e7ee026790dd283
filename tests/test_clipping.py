"""Gradient clipping against torch.nn.utils: norms, clipped gradients, edge cases, bad input."""
import math

import pytest
import torch

from nlpbook.optim.clipping import clip_grad_norm_, clip_grad_value_, floor_gradient_, global_grad_norm


def make_params(scale=1.0, seed=0, with_gradless=True):
    """Three parameters with random gradients of different shapes (+ one without a gradient)."""
    g = torch.Generator().manual_seed(seed)
    params = []
    for shape in [(3, 4), (5,), (2, 2, 3)]:
        p = torch.nn.Parameter(torch.randn(shape, generator=g, dtype=torch.float64))
        p.grad = scale * torch.randn(shape, generator=g, dtype=torch.float64)
        params.append(p)
    if with_gradless:
        params.append(torch.nn.Parameter(torch.randn(4, dtype=torch.float64)))   # .grad is None
    return params


def clone(params):
    out = []
    for p in params:
        q = torch.nn.Parameter(p.detach().clone())
        q.grad = None if p.grad is None else p.grad.clone()
        out.append(q)
    return out


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.1, 1.0, 1e6])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, ref = make_params(scale=2.0), None
    ref = clone(ours)
    total = clip_grad_norm_(ours, max_norm, norm_type)
    total_ref = torch.nn.utils.clip_grad_norm_(ref, max_norm, norm_type)
    torch.testing.assert_close(total, total_ref)
    for a, b in zip(ours, ref):
        assert (a.grad is None) == (b.grad is None)
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad)


def test_clip_grad_norm_result_and_direction():
    params = make_params(scale=3.0)
    before = [p.grad.clone() for p in params if p.grad is not None]
    total = clip_grad_norm_(params, 1.0)
    after = [p.grad for p in params if p.grad is not None]
    flat_before, flat_after = torch.cat([g.flatten() for g in before]), torch.cat([g.flatten() for g in after])
    assert total.item() == pytest.approx(flat_before.norm().item())
    assert flat_after.norm().item() == pytest.approx(1.0, rel=1e-5)           # length capped at c
    cosine = flat_after @ flat_before / (flat_after.norm() * flat_before.norm())
    assert cosine.item() == pytest.approx(1.0, abs=1e-12)                     # direction kept


def test_clip_grad_norm_leaves_short_gradients_alone():
    params = make_params(scale=1e-3)
    before = [p.grad.clone() for p in params if p.grad is not None]
    clip_grad_norm_(params, 10.0)
    for a, b in zip(before, [p.grad for p in params if p.grad is not None]):
        assert torch.equal(a, b)


def test_clip_grad_norm_single_tensor_and_no_grads():
    p = torch.nn.Parameter(torch.zeros(3))
    p.grad = torch.tensor([3.0, 4.0, 0.0])
    assert clip_grad_norm_(p, 1.0).item() == pytest.approx(5.0)
    torch.testing.assert_close(p.grad, torch.tensor([0.6, 0.8, 0.0]), atol=1e-6, rtol=1e-5)
    assert global_grad_norm([torch.nn.Parameter(torch.zeros(2))]).item() == 0.0


def test_clip_grad_value_matches_torch_and_changes_direction():
    ours = make_params(scale=2.0)
    ref = clone(ours)
    before = torch.cat([p.grad.flatten().clone() for p in ours if p.grad is not None])
    clip_grad_value_(ours, 0.5)
    torch.nn.utils.clip_grad_value_(ref, 0.5)
    for a, b in zip(ours, ref):
        if a.grad is not None:
            torch.testing.assert_close(a.grad, b.grad)
    after = torch.cat([p.grad.flatten() for p in ours if p.grad is not None])
    assert after.abs().max().item() <= 0.5
    cosine = (after @ before / (after.norm() * before.norm())).item()
    assert cosine < 0.999                                   # clamping some coordinates turns g


def test_floor_gradient_raises_small_gradients():
    params = make_params(scale=1e-3)
    norm_before = floor_gradient_(params, 1.0, mode="norm")
    assert norm_before.item() < 1.0
    assert global_grad_norm(params).item() == pytest.approx(1.0)
    params = make_params(scale=1e-3)
    floor_gradient_(params, 0.5, mode="value")
    for p in params:
        if p.grad is not None:
            assert torch.all(p.grad.abs() >= 0.5)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan")])
def test_bad_thresholds_are_rejected(bad):
    with pytest.raises(ValueError):
        clip_grad_norm_(make_params(), bad)
    with pytest.raises(ValueError):
        clip_grad_value_(make_params(), bad)
    with pytest.raises(ValueError):
        floor_gradient_(make_params(), bad)


def test_bad_norm_type_and_mode_are_rejected():
    with pytest.raises(ValueError):
        clip_grad_norm_(make_params(), 1.0, norm_type=0.5)
    with pytest.raises(ValueError):
        floor_gradient_(make_params(), 1.0, mode="median")
    with pytest.raises(TypeError):
        clip_grad_norm_([1.0, 2.0], 1.0)


def test_nonfinite_norm_can_raise():
    p = torch.nn.Parameter(torch.zeros(2))
    p.grad = torch.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError):
        clip_grad_norm_([p], 1.0, error_if_nonfinite=True)

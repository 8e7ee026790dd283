"""LayerNorm and BatchNorm1d on (B, T, D): parity with nn.LayerNorm / nn.BatchNorm1d in float64
(training and evaluation, running statistics, affine, eps inside the square root), padding masks."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from nlpbook.transformer.norms import BatchNorm1d, LayerNorm
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

B, T, D = 4, 6, 8


def _x(seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(B, T, D, generator=g, dtype=torch.float64) * scale + 1).requires_grad_()


def _randomise(module):
    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(0.5, 1.5)


@pytest.mark.parametrize("eps", [1e-5, 1.0])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("fast", [False, True])
def test_layer_norm_parity(eps, affine, fast):
    ref = nn.LayerNorm(D, eps=eps, elementwise_affine=affine).double()
    _randomise(ref)
    ours = LayerNorm(D, eps=eps, elementwise_affine=affine, fast=fast).double()
    ours.load_state_dict(ref.state_dict())
    x = _x()
    y, r = ours(x), ref(x)
    assert torch.allclose(y, r, atol=1e-12)
    params = [x] + list(ours.parameters())
    for a, b in zip(torch.autograd.grad(y.pow(3).sum(), params),
                    torch.autograd.grad(r.pow(3).sum(), [x] + list(ref.parameters()))):
        assert torch.allclose(a, b, atol=1e-10)


def test_eps_is_inside_the_square_root():
    x = torch.tensor([[1.0, -1.0]], dtype=torch.float64)             # variance 1
    assert torch.allclose(LayerNorm(2, eps=3.0, elementwise_affine=False).double()(x), x / 2)
    bn = BatchNorm1d(1, eps=3.0, affine=False).double()
    assert torch.allclose(bn(x.T), x.T / 2)


@pytest.mark.parametrize("momentum", [0.1, None])
@pytest.mark.parametrize("affine", [True, False])
def test_batch_norm_parity_training_then_evaluation(momentum, affine):
    ref = nn.BatchNorm1d(D, momentum=momentum, affine=affine).double()
    _randomise(ref)
    ours = BatchNorm1d(D, momentum=momentum, affine=affine).double()
    ours.load_state_dict(ref.state_dict())
    for step in range(3):
        x = _x(step)
        y, r = ours(x), ref(x.transpose(1, 2)).transpose(1, 2)       # nn.BatchNorm1d reads (B, D, T)
        assert torch.allclose(y, r, atol=1e-12)
        ga = torch.autograd.grad(y.pow(3).sum(), x)[0]
        gb = torch.autograd.grad(r.pow(3).sum(), x)[0]
        assert torch.allclose(ga, gb, atol=1e-10)
    for name in ("running_mean", "running_var", "num_batches_tracked"):
        assert torch.allclose(getattr(ours, name).double(), getattr(ref, name).double(), atol=1e-12), name
    assert not torch.allclose(ours.running_var, torch.ones(D, dtype=torch.float64))
    ours.eval(), ref.eval()
    x = _x(9)
    assert torch.allclose(ours(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-12)
    assert torch.allclose(ours(x[:1]), ours(x)[:1]), "evaluation mode: a row does not depend on the batch"


def test_batch_norm_2d_input_and_no_running_stats():
    ref = nn.BatchNorm1d(D, track_running_stats=False).double()
    ours = BatchNorm1d(D, track_running_stats=False).double()
    x = _x()[:, 0]
    ours.eval(), ref.eval()
    assert torch.allclose(ours(x), ref(x), atol=1e-12)


def test_batch_norm_padding_mask_keeps_padding_out_of_the_statistics():
    bn = BatchNorm1d(D).double()
    x = _x().detach()
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[:, 4:] = False
    junk = x.clone()
    junk[:, 4:] = 1e3
    y = bn(junk, mask)
    assert torch.allclose(y[:, :4], BatchNorm1d(D).double()(x[:, :4]), atol=1e-12)
    assert torch.allclose(bn(x, torch.ones(B, T, dtype=torch.bool)), BatchNorm1d(D).double()(x), atol=1e-12)
    with pytest.raises(InputError, match="at least 2"):
        bn(x[:1, :1])


def test_layer_norm_ignores_other_tokens_batch_norm_does_not():
    x = _x().detach()
    changed = x.clone()
    changed[1:] *= 10
    ln, bn = LayerNorm(D).double(), BatchNorm1d(D).double()
    assert torch.allclose(ln(x)[0], ln(changed)[0])
    assert not torch.allclose(bn(x)[0], bn(changed)[0], atol=1e-3)

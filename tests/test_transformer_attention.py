"""Scaled dot-product attention: parity with F.scaled_dot_product_attention (float64, every mask
kind, values and gradients), gradcheck, exact zeros at masked keys, the fully-masked-row error."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nlpbook.transformer.attention import causal_mask, scaled_dot_product_attention as sdpa
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

B, H, T, S, DK, DV = 3, 2, 5, 7, 8, 6


def _qkv(heads=True, t=T, s=S, seed=0, grad=False):
    g = torch.Generator().manual_seed(seed)
    lead = (B, H) if heads else (B,)
    make = lambda *shape: torch.randn(*lead, *shape, generator=g, dtype=torch.float64, requires_grad=grad)  # noqa: E731
    return make(t, DK), make(s, DK), make(s, DV)


def _padding(s=S):
    kpm = torch.ones(B, s, dtype=torch.bool)
    kpm[0, -3:] = False
    kpm[2, -1] = False
    return kpm


def _torch_mask(kind, heads, t=T, s=S):
    """(our arguments, the same mask as F.sdpa's boolean attn_mask: True = attend)."""
    kpm = _padding(s)
    kpm_b = kpm.view(B, *([1] * (2 if heads else 1)), s)
    causal = causal_mask(t, s)
    rand = torch.rand(t, s, generator=torch.Generator().manual_seed(3)) > 0.4
    rand[:, 0] = True
    if kind == "none":
        return {}, None
    if kind == "padding":
        return {"key_padding_mask": kpm}, kpm_b
    if kind == "causal":
        return {"causal": True}, causal
    if kind == "padding+causal":
        return {"key_padding_mask": kpm, "causal": True}, kpm_b & causal
    if kind == "mask2d":
        return {"mask": rand}, rand
    if kind == "mask+padding":
        return {"mask": rand, "key_padding_mask": kpm}, rand & kpm_b
    raise AssertionError(kind)


KINDS = ["none", "padding", "causal", "padding+causal", "mask2d", "mask+padding"]


@pytest.mark.parametrize("heads", [True, False])
@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("fast", [False, True])
def test_parity_with_torch_values_and_gradients(kind, heads, fast):
    s = T if kind in ("causal", "padding+causal") and not heads else S     # square and rectangular causal
    q, k, v = _qkv(heads, s=s, grad=True)
    ours_kw, torch_mask = _torch_mask(kind, heads, s=s)
    out, weights = sdpa(q, k, v, fast=fast, **ours_kw)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=torch_mask)
    assert out.shape == ref.shape == (*q.shape[:-1], DV)
    assert torch.allclose(out, ref, atol=1e-12, rtol=0), (out - ref).abs().max()
    grads = torch.autograd.grad(out.pow(2).sum(), (q, k, v))
    ref_grads = torch.autograd.grad(ref.pow(2).sum(), (q, k, v))
    for g, r in zip(grads, ref_grads):
        assert torch.allclose(g, r, atol=1e-11, rtol=0), (g - r).abs().max()
    if fast:
        assert weights is None
    else:
        assert torch.allclose(weights.sum(-1), torch.ones((), dtype=torch.float64))
        if torch_mask is not None:
            assert torch.all(weights.masked_select(~torch_mask.expand_as(weights)) == 0), \
                "a masked key must get exactly zero weight"


def test_causal_with_more_keys_than_queries_aligns_the_last_query_with_the_last_key():
    mask = causal_mask(2, 5)
    assert mask.tolist() == [[True, True, True, True, False], [True, True, True, True, True]]
    q, k, v = _qkv(t=2, s=5)
    out, w = sdpa(q, k, v, causal=True)
    full_q = torch.cat([torch.zeros(B, H, 3, DK, dtype=torch.float64), q], dim=2)
    ref, _ = sdpa(full_q, k, v, causal=True)                  # the same two queries as the last two of five
    assert torch.allclose(out, ref[:, :, 3:], atol=1e-12)
    assert torch.equal(w[..., 0, 4], torch.zeros_like(w[..., 0, 4]))


def test_gradcheck_explicit_with_both_masks():
    g = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(2, 1, t, 4, generator=g, dtype=torch.float64, requires_grad=True) for t in (3, 4, 4))
    kpm = torch.tensor([[True, True, True, True], [True, True, True, False]])
    assert torch.autograd.gradcheck(lambda q, k, v: sdpa(q, k, v, key_padding_mask=kpm, causal=True)[0], (q, k, v))


def test_more_padding_changes_nothing():
    q, k, v = _qkv()
    kpm = _padding()
    out, _ = sdpa(q, k, v, key_padding_mask=kpm)
    junk = torch.randn(B, H, 4, DK, dtype=torch.float64) * 100
    k2, v2 = torch.cat([k, junk], 2), torch.cat([v, junk[..., :DV]], 2)
    kpm2 = torch.cat([kpm, torch.zeros(B, 4, dtype=torch.bool)], 1)
    out2, _ = sdpa(q, k2, v2, key_padding_mask=kpm2)
    assert torch.allclose(out, out2, atol=1e-12)


def test_scale_is_one_over_sqrt_dk():
    q, k, v = _qkv(heads=False)
    _, w = sdpa(q, k, v)
    expected = torch.softmax(q @ k.transpose(-2, -1) / DK ** 0.5, -1)
    assert torch.allclose(w, expected, atol=1e-14)
    assert not torch.allclose(w, torch.softmax(q @ k.transpose(-2, -1), -1), atol=1e-3)


@pytest.mark.parametrize("fast", [False, True])
def test_a_fully_masked_row_is_an_error_never_nan(fast):
    q, k, v = _qkv()
    kpm = _padding()
    kpm[1] = False
    with pytest.raises(InputError, match=r"key_padding_mask leave .* query row\(s\) with no key"):
        sdpa(q, k, v, key_padding_mask=kpm, fast=fast)
    mask = torch.ones(T, S, dtype=torch.bool)
    mask[2] = False
    with pytest.raises(InputError, match="mask leave 3 query row"):
        sdpa(q, k, v, mask=mask, fast=fast)
    # with check=False (callers that checked already) the row is NaN, as in PyTorch
    out, _ = sdpa(q, k, v, mask=mask, check=False)
    assert out[:, :, 2].isnan().all() and not out[:, :, :2].isnan().any()


def test_bad_masks_name_the_argument():
    q, k, v = _qkv()
    with pytest.raises(InputError, match=r"mask is \(5, 5\) but must be \(T, S\) = \(5, 7\)"):
        sdpa(q, k, v, mask=torch.ones(T, T, dtype=torch.bool))
    with pytest.raises(TypeError, match="key_padding_mask must have dtype bool"):
        sdpa(q, k, v, key_padding_mask=_padding().long())
    with pytest.raises(InputError, match="causal=True needs at least as many keys"):
        sdpa(q, k[:, :, :3], v[:, :, :3], causal=True)
    with pytest.raises(TypeError, match="value has dtype float32 but query is float64"):
        sdpa(q, k, v.float())

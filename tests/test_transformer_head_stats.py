"""Per-head attention statistics and the multi-head FLOP count."""
from __future__ import annotations

import math

import pytest
import torch

from nlpbook.transformer.flops import count_flops, mha_matmul_flops
from nlpbook.transformer.head_stats import diagonal_share, head_summary, offset_share, row_entropy
from nlpbook.transformer.multi_head import MultiHeadAttention
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


def test_uniform_and_one_hot_rows():
    T = 5
    uniform = torch.full((T, T), 1 / T)
    assert torch.allclose(row_entropy(uniform), torch.full((T,), math.log(T)))
    eye = torch.eye(T)
    assert torch.equal(row_entropy(eye), torch.zeros(T))
    assert offset_share(eye, 0) == 1 and offset_share(eye, 1) == 0
    prev = torch.diag(torch.ones(T - 1), -1)
    prev[0, 0] = 1                                               # row 0 has no previous token
    assert offset_share(prev, -1) == 1 and offset_share(prev, 0) == pytest.approx(1 / T)
    assert torch.allclose(offset_share(uniform, 1), torch.tensor(1 / T))


def test_diagonal_share_of_a_stretched_diagonal():
    T, S = 4, 7
    A = torch.zeros(T, S)
    for t in range(T):
        A[t, round(t * (S - 1) / (T - 1))] = 1
    assert diagonal_share(A, band=0) == 1
    A_rev = A.flip(-1)
    assert diagonal_share(A_rev, band=0) < 0.5
    s = head_summary(torch.stack([A, torch.full((T, S), 1 / S)]), self_attention=False)
    assert torch.allclose(s["entropy_frac"], torch.tensor([0.0, 1.0]), atol=1e-6)
    assert s["diagonal"][0] == 1 and s["diagonal"][1] == pytest.approx((2 + 3 + 3 + 2) / (T * S), abs=1e-6)  # edge rows have 2 keys in the band


def test_head_summary_keys_and_bad_weights():
    w = torch.softmax(torch.randn(2, 5, 5), -1)
    s = head_summary(w, self_attention=True)
    assert set(s) == {"entropy", "entropy_frac", "max_weight", "same", "previous", "next"}
    assert all(v.shape == (2,) for v in s.values())
    with pytest.raises(InputError, match="weights"):
        head_summary(w * 2, self_attention=True)
    with pytest.raises(InputError, match="weights"):
        head_summary(w[:, :, :4].softmax(-1), self_attention=True)
    with pytest.raises(InputError, match="offset"):
        offset_share(w[0], 5)


@pytest.mark.parametrize("h", [1, 2, 4, 8])
def test_counted_flops_equal_the_formula_for_every_head_count(h):
    D, T, S = 32, 5, 9
    m = MultiHeadAttention(D, h)
    q, kv = torch.randn(1, T, D), torch.randn(1, S, D)
    counted = count_flops(lambda: m(q, kv, kv, need_weights=True))   # the explicit path: plain matmuls
    assert counted == mha_matmul_flops(T, S, D, h)["total"] == 4 * (T + S) * D * D + 4 * T * S * D
    assert sum(p.numel() for p in m.parameters()) == 4 * D * D + 4 * D

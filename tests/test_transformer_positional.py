"""Positional encodings: the shift is one rotation per frequency pair, dot products depend on the
offset only, entries are bounded, the two layouts differ by a fixed permutation, too long fails."""
from __future__ import annotations

import pytest
import torch

from nlpbook.transformer.positional import (LearnedPositionalEmbedding, SinusoidalPositionalEncoding,
                                            layout_permutation, shift_matrix, sinusoidal_table)
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")

L, D = 200, 32


@pytest.fixture(scope="module")
def table():
    return sinusoidal_table(L, D, dtype=torch.float64)


def test_sin_on_even_cos_on_odd(table):
    pos, i = 7, 3
    omega = 10000 ** (-2 * i / D)
    angle = torch.tensor(pos * omega, dtype=torch.float64)
    assert table[pos, 2 * i].item() == pytest.approx(torch.sin(angle).item())
    assert table[pos, 2 * i + 1].item() == pytest.approx(torch.cos(angle).item())
    assert torch.equal(table[0, 0::2], torch.zeros(D // 2, dtype=torch.float64))
    assert torch.equal(table[0, 1::2], torch.ones(D // 2, dtype=torch.float64))


@pytest.mark.parametrize("k", [1, 5, 37, -4])
def test_a_shift_is_one_fixed_rotation(table, k):
    M = shift_matrix(k, D)
    lo = max(0, -k)
    hi = L - max(0, k)
    assert torch.allclose(table[lo + k:hi + k], table[lo:hi] @ M.T, atol=1e-9)
    assert torch.allclose(M @ M.T, torch.eye(D, dtype=torch.float64), atol=1e-12), "M_k is orthogonal"
    off_block = M.clone()
    for j in range(0, D, 2):
        off_block[j:j + 2, j:j + 2] = 0
    assert torch.equal(off_block, torch.zeros_like(M)), "M_k mixes only the two entries of one frequency"
    assert not torch.allclose(M, torch.eye(D, dtype=torch.float64), atol=1e-3), "a shift is not the identity"


def test_dot_products_depend_on_the_offset_only(table):
    gram = table @ table.T
    for k in (0, 1, 10, 50):
        diag = torch.diagonal(gram, k)
        assert diag.max() - diag.min() < 1e-9, k
    assert gram.diagonal().sub(D / 2).abs().max() < 1e-9, "|PE(pos)|^2 = D/2"
    assert torch.diagonal(gram, 1)[0] > torch.diagonal(gram, 50)[0], "nearby positions are more similar"


def test_bounded_and_distinct(table):
    assert table.abs().max() <= 1.0
    assert torch.cdist(table, table).add(torch.eye(L, dtype=torch.float64)).min() > 1e-3, "no two positions alike"


def test_layouts_differ_by_a_fixed_permutation(table):
    concatenated = sinusoidal_table(L, D, layout="concatenated", dtype=torch.float64)
    perm = layout_permutation(D)
    assert torch.equal(table[:, perm], concatenated)
    assert not torch.allclose(table, concatenated)
    assert sorted(perm.tolist()) == list(range(D))


def test_modules_add_positions_from_an_offset_and_refuse_too_long():
    x = torch.randn(2, 6, D)
    for module in (SinusoidalPositionalEncoding(D, max_len=10), LearnedPositionalEmbedding(10, D)):
        full = module(x)
        assert torch.allclose(module(x[:, 4:], offset=4), full[:, 4:])
        assert not torch.allclose(module(x[:, 4:]), full[:, 4:])
        with pytest.raises(InputError, match="beyond the table of max_len = 10"):
            module(torch.randn(2, 11, D))
        with pytest.raises(InputError, match="beyond the table"):
            module(x, offset=5)
    sinus = SinusoidalPositionalEncoding(D, max_len=10)
    assert torch.allclose(sinus(x) - x, sinusoidal_table(10, D)[:6], atol=1e-6)
    assert "table" not in sinus.state_dict(), "the table is recomputed, not saved"
    with pytest.raises(InputError, match="d_model must be even"):
        sinusoidal_table(5, 7)

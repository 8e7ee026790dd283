"""The ELMo of the zoo: one-sided directions by perturbation, padding, the scalar mix, the loss."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nlpbook.pretrain.elmo import ELMo, ELMoConfig, ScalarMix, bidirectional_lm_loss, reverse_padded
from nlpbook.validate import InputError

pytestmark = pytest.mark.usefixtures("one_thread")
V, D, T = 30, 8, 7


def _elmo(dtype=torch.float64):
    torch.manual_seed(0)
    return ELMo(ELMoConfig(V, d_model=D, num_layers=2, dropout=0.0)).to(dtype).eval()


def _ids(B=2, seed=0):
    return torch.randint(5, V, (B, T), generator=torch.Generator().manual_seed(seed))


def test_shapes():
    model = _elmo()
    fwd, bwd = model.directional_states(_ids())
    assert len(fwd) == len(bwd) == 3 and all(h.shape == (2, T, D) for h in fwd + bwd)
    assert torch.equal(fwd[0], bwd[0])                                       # layer 0: the shared embedding
    f_logits, b_logits = model(_ids())
    assert f_logits.shape == b_logits.shape == (2, T, V)
    assert model.mixed_states(_ids()).shape == (2, T, 2 * D)


def test_forward_states_ignore_the_future_backward_the_past_and_only_the_mix_sees_both():
    model = _elmo()
    ids = _ids()
    fwd, bwd = model.directional_states(ids)
    mixed = model.mixed_states(ids)
    for t in range(T):
        changed = ids.clone()
        changed[:, t] = (changed[:, t] - 5 + 3) % (V - 5) + 5
        f2, b2 = model.directional_states(changed)
        m2 = model.mixed_states(changed)
        for j in (1, 2):
            assert torch.equal(f2[j][:, :t], fwd[j][:, :t]), "the forward LM saw the future"
            assert torch.equal(b2[j][:, t + 1:], bwd[j][:, t + 1:]), "the backward LM saw the past"
            assert (f2[j][:, t:] - fwd[j][:, t:]).abs().amax(-1).min() > 1e-9
            assert (b2[j][:, :t + 1] - bwd[j][:, :t + 1]).abs().amax(-1).min() > 1e-9
        assert (m2 - mixed).abs().amax(-1).min() > 1e-9                       # every position sees position t


def test_padding_on_the_right_changes_nothing_at_the_real_tokens():
    model = _elmo()
    ids = _ids()
    mask = torch.ones(2, T, dtype=torch.bool)
    mask[1, 4:] = False
    padded = ids.clone()
    padded[1, 4:] = 0
    f, b = model(padded, mask)
    f1, b1 = model(ids[1:, :4])
    torch.testing.assert_close(f[1, :4], f1[0], rtol=0, atol=1e-12)
    torch.testing.assert_close(b[1, :4], b1[0], rtol=0, atol=1e-12)


def test_reverse_padded_reverses_within_each_length_and_is_its_own_inverse():
    x = torch.arange(10).view(2, 5)
    lengths = torch.tensor([5, 3])
    assert reverse_padded(x, lengths).tolist() == [[4, 3, 2, 1, 0], [7, 6, 5, 8, 9]]
    y = torch.randn(2, 5, 3)
    assert torch.equal(reverse_padded(reverse_padded(y, lengths), lengths), y)


def test_the_scalar_mix_weights_sum_to_one_and_mix_the_layers():
    mix = ScalarMix(3).double()
    with torch.no_grad():
        mix.weights.copy_(torch.tensor([0.3, -1.0, 2.0]))
        mix.gamma.fill_(1.7)
    s = mix.shares()
    assert float(s.detach().sum()) == pytest.approx(1.0, abs=1e-12) and bool((s > 0).all())
    layers = [torch.randn(2, 4, 6, dtype=torch.float64) for _ in range(3)]
    torch.testing.assert_close(mix(layers), 1.7 * sum(w * h for w, h in zip(torch.softmax(mix.weights, 0), layers)))
    fresh = _elmo().mix.shares()                                               # untrained: equal shares
    torch.testing.assert_close(fresh, torch.full((3,), 1 / 3, dtype=torch.float64))
    with pytest.raises(InputError, match="layers"):
        mix(layers[:2])


def test_the_loss_is_next_token_forward_and_previous_token_backward():
    model = _elmo()
    ids = _ids()
    mask = torch.ones(2, T, dtype=torch.bool)
    mask[0, 5:] = False
    f, b = model(ids, mask)
    fwd, bwd, n = bidirectional_lm_loss(f, b, ids, mask)
    assert n == 4 + (T - 1)
    manual_f = torch.cat([F.cross_entropy(f[0, :4], ids[0, 1:5], reduction="none"),
                          F.cross_entropy(f[1, :-1], ids[1, 1:], reduction="none")]).mean()
    manual_b = torch.cat([F.cross_entropy(b[0, 1:5], ids[0, :4], reduction="none"),
                          F.cross_entropy(b[1, 1:], ids[1, :-1], reduction="none")]).mean()
    torch.testing.assert_close(fwd, manual_f.float())
    torch.testing.assert_close(bwd, manual_b.float())


def test_bad_inputs_are_refused_by_name():
    model = _elmo()
    left = torch.ones(2, T, dtype=torch.bool)
    left[1, 0] = False
    with pytest.raises(InputError, match="attention_mask"):
        model(_ids(), left)
    with pytest.raises(InputError, match="input_ids"):
        model(torch.full((2, T), V))
    with pytest.raises(InputError, match="d_model"):
        ELMoConfig(V, d_model=0)
    with pytest.raises(InputError, match="num_layers"):
        ScalarMix(0)

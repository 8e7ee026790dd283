"""BERT's masking: 15% of the non-special tokens chosen, split 80/10/10 (a chi-square test over > 10^5 tokens)."""
from __future__ import annotations

import pytest
import torch

from nlpbook.pretrain.masking import IGNORE_INDEX, KEPT, MASKED, NOT_CHOSEN, RANDOM, mask_tokens
from nlpbook.word2vec.noise import chi_square_test

pytestmark = pytest.mark.usefixtures("one_thread")
V, PAD, UNK, CLS, SEP, MASK = 1000, 0, 1, 2, 3, 4
SPECIALS = (PAD, UNK, CLS, SEP, MASK)


def _batch(B=4000, T=360, seed=0):
    """[CLS] a [SEP] b [SEP] rows of random lengths, padded; some [UNK] inside."""
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, V, (B, T), generator=g)
    lengths = torch.randint(8, T + 1, (B,), generator=g)
    mask = torch.arange(T)[None] < lengths[:, None]
    ids[torch.rand(B, T, generator=g) < 0.01] = UNK
    ids[:, 0] = CLS
    ids[torch.arange(B), lengths // 2] = SEP
    ids[torch.arange(B), lengths - 1] = SEP
    ids[~mask] = PAD
    return ids, mask


@pytest.fixture(scope="module")
def masked():
    ids, mask = _batch()
    out = mask_tokens(ids, mask, vocab_size=V, mask_id=MASK, special_ids=SPECIALS,
                      generator=torch.Generator().manual_seed(1))
    return ids, mask, out


def test_the_chosen_set_is_15_percent_of_each_rows_eligible_tokens(masked):
    ids, mask, out = masked
    eligible = mask & ~torch.isin(ids, torch.tensor(SPECIALS))
    chosen = out.action != NOT_CHOSEN
    assert not bool((chosen & ~eligible).any()), "a special token or padding was chosen"
    n = eligible.sum(1)
    expected = torch.clamp(torch.round(n * 0.15), min=1)
    assert torch.equal(chosen.sum(1), expected.long())
    share = float(chosen.sum() / eligible.sum())
    print(f"chosen {int(chosen.sum())} of {int(eligible.sum())} eligible tokens: {share:.4f}")
    assert abs(share - 0.15) < 0.002


def test_the_chosen_set_splits_80_10_10_within_a_chi_square_test(masked):
    _, _, out = masked
    actions = out.action[out.action != NOT_CHOSEN]
    assert actions.numel() >= 100_000
    counts = torch.bincount(actions - MASKED, minlength=3)
    test = chi_square_test(actions - MASKED, [0.8, 0.1, 0.1])
    print(f"{actions.numel()} chosen tokens: shares {(counts / actions.numel()).tolist()}, chi-square p {test.pvalue:.3f}")
    assert test.pvalue > 1e-3, (counts, test)


def test_independent_masks_fail_the_same_test():
    """labml's order: chosen, then 'unchanged' and 'random' drawn independently of each other -> 81/10/9."""
    ids, mask = _batch(seed=2)
    g = torch.Generator().manual_seed(3)
    chosen = (torch.rand(ids.shape, generator=g) < 0.15) & mask & ~torch.isin(ids, torch.tensor(SPECIALS))
    unchanged = chosen & (torch.rand(ids.shape, generator=g) < 0.1)
    random_token = chosen & (torch.rand(ids.shape, generator=g) < 0.1)
    action = torch.full(ids.shape, MASKED)
    action[unchanged] = KEPT
    action[random_token] = RANDOM          # a random token overwrites an "unchanged" one
    actions = action[chosen]
    assert actions.numel() >= 100_000
    shares = torch.bincount(actions - MASKED, minlength=3) / actions.numel()
    assert abs(float(shares[0]) - 0.81) < 0.005 and abs(float(shares[2]) - 0.09) < 0.005, shares
    assert chi_square_test(actions - MASKED, [0.8, 0.1, 0.1]).pvalue < 1e-6


def test_labels_inputs_and_actions_agree(masked):
    ids, mask, out = masked
    chosen = out.action != NOT_CHOSEN
    assert torch.equal(out.labels[~chosen], torch.full_like(out.labels[~chosen], IGNORE_INDEX))
    assert torch.equal(out.labels[chosen], ids[chosen])
    assert torch.equal(out.input_ids[~chosen], ids[~chosen]), "an unchosen token changed"
    assert bool((out.input_ids[out.action == MASKED] == MASK).all())
    assert torch.equal(out.input_ids[out.action == KEPT], ids[out.action == KEPT])
    replaced = out.input_ids[out.action == RANDOM]
    assert not bool(torch.isin(replaced, torch.tensor(SPECIALS)).any()), "a special token was drawn as random"
    # random replacements are uniform over the 995 non-special ids
    test = chi_square_test(replaced - 5, torch.full((V - 5,), 1 / (V - 5)), n_bins=20)
    assert test.pvalue > 1e-3


def test_rows_without_eligible_tokens_and_reproducibility():
    ids = torch.tensor([[CLS, SEP, PAD, PAD], [CLS, 7, 8, SEP]])
    mask = ids != PAD
    a = mask_tokens(ids, mask, vocab_size=V, mask_id=MASK, special_ids=SPECIALS, generator=torch.Generator().manual_seed(0))
    b = mask_tokens(ids, mask, vocab_size=V, mask_id=MASK, special_ids=SPECIALS, generator=torch.Generator().manual_seed(0))
    assert torch.equal(a.input_ids, b.input_ids) and torch.equal(a.labels, b.labels)
    assert (a.action[0] == NOT_CHOSEN).all() and int((a.action[1] != NOT_CHOSEN).sum()) == 1   # max(1, round(0.3))
    # without an attention mask, [PAD] is still never chosen (it is special)
    c = mask_tokens(ids, None, vocab_size=V, mask_id=MASK, special_ids=SPECIALS, rate=0.99)
    assert (c.action[0] == NOT_CHOSEN).all() and (c.action[1, 1:3] != NOT_CHOSEN).all()

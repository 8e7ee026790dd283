"""Skip-gram and CBOW with a full softmax: pair generation, hand-derived gradients, context means."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from nlpbook.word2vec.cbow import CBOW, cbow_full_softmax_grads, context_mean
from nlpbook.word2vec.pairs import (cbow_windows, cbow_windows_reference, concat_sentences,
                                    draw_effective_windows, shuffled_batches, skipgram_pairs,
                                    skipgram_pairs_reference)
from nlpbook.word2vec.skipgram import SkipGram, skipgram_full_softmax_grads

TOY = [[3, 1, 4, 1, 5, 9, 2, 6], [5, 3], [5], [8, 9, 7, 9, 3, 2, 3, 8, 4, 6, 2, 6, 4]]


def toy_stream(seed=0, window=3):
    ids, sentence_ids = concat_sentences(TOY)
    windows = draw_effective_windows(ids.numel(), window, torch.Generator().manual_seed(seed))
    return ids, sentence_ids, windows


# ---- pairs -------------------------------------------------------------------------------

def test_concat_sentences_marks_each_token_with_its_sentence():
    ids, sentence_ids = concat_sentences(TOY)
    assert ids.tolist() == [w for s in TOY for w in s]
    assert sentence_ids.tolist() == [i for i, s in enumerate(TOY) for _ in s]


@pytest.mark.parametrize("window", [1, 2, 3, 5])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_skipgram_pairs_match_the_explicit_loop(window, seed):
    ids, sentence_ids, windows = toy_stream(seed, window)
    centers, contexts = skipgram_pairs(ids, window, sentence_ids=sentence_ids, effective_windows=windows)
    expected = skipgram_pairs_reference(ids.tolist(), window, windows.tolist(), sentence_ids.tolist())
    assert list(zip(centers.tolist(), contexts.tolist())) == expected


@pytest.mark.parametrize("window", [1, 3, 5])
def test_cbow_windows_match_the_explicit_loop(window):
    ids, sentence_ids, windows = toy_stream(7, window)
    contexts, mask, centers = cbow_windows(ids, window, pad_id=-1, sentence_ids=sentence_ids,
                                           effective_windows=windows)
    expected = cbow_windows_reference(ids.tolist(), window, windows.tolist(), sentence_ids.tolist())
    got = [(row[m].tolist(), c) for row, m, c in zip(contexts, mask, centers.tolist())]
    assert got == expected
    assert (contexts[~mask] == -1).all(), "padding slots must hold pad_id"
    assert contexts.shape[1] == 2 * window


def test_pairs_never_cross_a_sentence_boundary():
    ids = torch.tensor([10, 11, 12, 20, 21, 22])            # the hundreds digit names the sentence
    sentence_ids = torch.tensor([0, 0, 0, 1, 1, 1])
    centers, contexts = skipgram_pairs(ids, 5, sentence_ids=sentence_ids,
                                       effective_windows=torch.full((6,), 5))
    assert (centers // 10 == contexts // 10).all()
    assert len(centers) == 2 * 3 * 2                        # every other word of its own sentence


def test_a_one_word_sentence_gives_no_example():
    ids, sentence_ids = concat_sentences([[1, 2], [7], [3, 4]])
    centers, contexts = skipgram_pairs(ids, 2, torch.Generator().manual_seed(0), sentence_ids=sentence_ids)
    assert 7 not in centers.tolist() and 7 not in contexts.tolist()
    ctx, mask, cbow_centers = cbow_windows(ids, 2, torch.Generator().manual_seed(0), sentence_ids=sentence_ids)
    assert 7 not in cbow_centers.tolist() and mask.any(dim=1).all()


def test_effective_window_is_uniform_and_the_generator_reproduces_it():
    window = 5
    draws = draw_effective_windows(50_000, window, torch.Generator().manual_seed(3))
    assert draws.min() == 1 and draws.max() == window
    freq = torch.bincount(draws, minlength=window + 1)[1:].double() / draws.numel()
    torch.testing.assert_close(freq, torch.full((window,), 1 / window, dtype=torch.float64), atol=0.01, rtol=0)
    again = draw_effective_windows(50_000, window, torch.Generator().manual_seed(3))
    assert torch.equal(draws, again)


def test_dynamic_window_weights_near_words_more():
    # With one long sentence, the fraction of pairs at distance d is proportional to W - d + 1.
    n, window = 20_000, 4
    ids = torch.arange(n)
    centers, contexts = skipgram_pairs(ids, window, torch.Generator().manual_seed(0))
    dist = (centers - contexts).abs()
    counts = torch.bincount(dist, minlength=window + 1)[1:].double()
    expected = torch.tensor([window - d + 1 for d in range(1, window + 1)], dtype=torch.float64)
    torch.testing.assert_close(counts / counts.sum(), expected / expected.sum(), atol=0.01, rtol=0)


def test_bad_inputs_raise_clear_errors():
    ids = torch.tensor([1, 2, 3])
    with pytest.raises(ValueError, match="window"):
        skipgram_pairs(ids, 0)
    with pytest.raises(ValueError, match="1-D"):
        skipgram_pairs(ids[None, :], 2)
    with pytest.raises(TypeError, match="integer"):
        skipgram_pairs(ids.float(), 2)
    with pytest.raises(ValueError, match="effective_windows must lie in 1..2"):
        skipgram_pairs(ids, 2, effective_windows=torch.tensor([1, 3, 1]))
    with pytest.raises(ValueError, match="sentence_ids"):
        cbow_windows(ids, 2, sentence_ids=torch.tensor([0, 0]))
    with pytest.raises(ValueError, match="no tokens"):
        concat_sentences([[], []])


def test_shuffled_batches_cover_every_row_once():
    a, b = torch.arange(103), torch.arange(103) * 2
    seen = []
    for x, y in shuffled_batches(a, b, batch_size=10, generator=torch.Generator().manual_seed(0)):
        assert torch.equal(y, 2 * x)
        seen += x.tolist()
    assert sorted(seen) == list(range(103)) and seen != list(range(103))


# ---- gradients ---------------------------------------------------------------------------

@pytest.mark.parametrize("seed", [0, 1])
def test_skipgram_hand_gradients_equal_autograd_float64(seed):
    g = torch.Generator().manual_seed(seed)
    B, V, D = 7, 13, 5
    v_c = torch.randn(B, D, generator=g, dtype=torch.float64, requires_grad=True)
    U = torch.randn(V, D, generator=g, dtype=torch.float64, requires_grad=True)
    o = torch.randint(0, V, (B,), generator=g)
    F.cross_entropy(v_c @ U.T, o, reduction="sum").backward()
    grad_v, grad_U = skipgram_full_softmax_grads(v_c.detach(), U.detach(), o)
    torch.testing.assert_close(grad_v, v_c.grad)
    torch.testing.assert_close(grad_U, U.grad)


def test_skipgram_model_gradients_equal_hand_gradients_scattered_to_rows():
    torch.manual_seed(0)
    model = SkipGram(11, 4).double()
    torch.nn.init.normal_(model.output_vectors.weight)       # non-zero U, so grad_v is non-zero
    centers = torch.tensor([0, 3, 3, 10, 5])                 # a repeated center sums its gradients
    contexts = torch.tensor([1, 2, 2, 0, 5])
    model(centers, contexts, reduction="sum").backward()
    grad_v, grad_U = skipgram_full_softmax_grads(model.input_vectors.weight[centers].detach(),
                                                 model.output_vectors.weight.detach(), contexts)
    expected_in = torch.zeros_like(model.input_vectors.weight).index_add_(0, centers, grad_v)
    torch.testing.assert_close(model.input_vectors.weight.grad, expected_in)
    torch.testing.assert_close(model.output_vectors.weight.grad, grad_U)
    assert grad_v.abs().sum() > 0


@pytest.mark.parametrize("seed", [0, 1])
def test_cbow_hand_gradients_equal_autograd_float64(seed):
    g = torch.Generator().manual_seed(seed)
    B, W2, V, D = 6, 4, 9, 3
    ctx = torch.randn(B, W2, D, generator=g, dtype=torch.float64, requires_grad=True)
    mask = torch.rand(B, W2, generator=g) < 0.6
    mask[:, 0] = True                                        # every row has a context word
    U = torch.randn(V, D, generator=g, dtype=torch.float64, requires_grad=True)
    o = torch.randint(0, V, (B,), generator=g)
    F.cross_entropy(context_mean(ctx, mask) @ U.T, o, reduction="sum").backward()
    grad_ctx, grad_U = cbow_full_softmax_grads(ctx.detach(), mask, U.detach(), o)
    torch.testing.assert_close(grad_ctx, ctx.grad)
    torch.testing.assert_close(grad_U, U.grad)
    assert (grad_ctx[~mask] == 0).all(), "padding must receive no gradient"


def test_cbow_averages_exactly_the_given_context():
    torch.manual_seed(1)
    model = CBOW(10, 3).double()
    contexts = torch.tensor([[1, 2, 0, 0], [4, 4, 7, 9], [0, 5, 0, 0]])
    mask = torch.tensor([[True, True, False, False], [True, True, True, True], [False, True, False, False]])
    h = model.hidden(contexts, mask)
    E = model.input_vectors.weight
    expected = torch.stack([E[[1, 2]].mean(0), E[[4, 4, 7, 9]].mean(0), E[[5]].mean(0)])
    torch.testing.assert_close(h, expected)
    # Changing what sits in a padding slot changes nothing.
    torch.testing.assert_close(model.hidden(contexts.masked_fill(~mask, 8), mask), expected)


def test_context_mean_rejects_an_empty_row_and_a_non_bool_mask():
    x = torch.zeros(2, 3, 4)
    with pytest.raises(ValueError, match="without a context word"):
        context_mean(x, torch.tensor([[True, False, False], [False, False, False]]))
    with pytest.raises(TypeError, match="bool"):
        context_mean(x, torch.ones(2, 3))


def test_models_reject_unknown_word_ids():
    with pytest.raises(IndexError, match="outside the vocabulary 0..4"):
        SkipGram(5, 2)(torch.tensor([0, 5]), torch.tensor([1, 1]))
    with pytest.raises(IndexError, match="outside the vocabulary"):
        CBOW(5, 2)(torch.tensor([[0, 9]]), torch.tensor([[True, True]]), torch.tensor([1]))


def test_skipgram_learns_a_deterministic_toy_language():
    # Word 2k is always followed by 2k+1: after training, p(2k+1 | 2k) must dominate.
    torch.manual_seed(0)
    model = SkipGram(8, 8)
    centers = torch.tensor([0, 2, 4, 6] * 50)
    contexts = centers + 1
    opt = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(100):
        loss = model(centers, contexts)
        opt.zero_grad()
        loss.backward()
        opt.step()
    probs = model.scores(torch.tensor([0, 2, 4, 6])).softmax(-1)
    assert (probs.argmax(-1) == torch.tensor([1, 3, 5, 7])).all()
    assert probs.max(-1).values.min() > 0.9

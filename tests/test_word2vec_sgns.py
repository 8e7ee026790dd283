"""Negative sampling, subsampling, SGNS/CBOW updates and the evaluation code, against references."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from nlpbook.word2vec.evaluate import analogy_accuracy, nearest_neighbours, similarity_spearman
from nlpbook.word2vec.noise import NoiseDistribution, chi_square_test, noise_probabilities
from nlpbook.word2vec.sgns import (CBOWNS, SkipGramNS, Word2VecConfig, cbow_step, flatten_corpus,
                                   sgns_gradients, sgns_step, spread_order, train_word2vec)
from nlpbook.word2vec.subsampling import keep_probability, paper_discard_probability, subsample

ZIPF_COUNTS = np.array([int(20_000 / r) for r in range(1, 201)], dtype=np.int64)  # 200 words


# ------------------------------------------------------------------------- noise distribution

def test_noise_probabilities_formula():
    counts = np.array([100, 10, 1, 0])
    p = noise_probabilities(counts, 0.75)
    expected = np.array([100 ** 0.75, 10 ** 0.75, 1.0, 0.0]) / (100 ** 0.75 + 10 ** 0.75 + 1)
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert p[3] == 0.0


def test_three_quarter_power_flattens_the_distribution():
    unigram = noise_probabilities(ZIPF_COUNTS, 1.0)
    smoothed = noise_probabilities(ZIPF_COUNTS, 0.75)
    ratio = smoothed / unigram
    assert ratio[0] < 1 < ratio[-1], "the most frequent word must lose mass, the rarest gain it"
    assert np.all(np.diff(ratio) >= 0), "the ratio P^0.75 / P must not fall as the count falls"
    assert np.all(np.diff(ratio)[np.diff(ZIPF_COUNTS) < 0] > 0)


@pytest.mark.parametrize("method", ["sample", "sample_multinomial"])
def test_sampler_passes_chi_square_for_075_and_fails_for_unigram(method):
    noise = NoiseDistribution(ZIPF_COUNTS, 0.75, table_size=1_000_000)
    g = torch.Generator().manual_seed(1)
    draws = getattr(noise, method)((200_000,), g)
    assert chi_square_test(draws, noise_probabilities(ZIPF_COUNTS, 0.75)).pvalue > 1e-3
    assert chi_square_test(draws, noise_probabilities(ZIPF_COUNTS, 1.0)).pvalue < 1e-12


def test_sampler_never_draws_a_zero_count_word_and_has_the_right_shape():
    noise = NoiseDistribution([5, 0, 3], table_size=10_000)
    draws = noise.sample((64, 5), torch.Generator().manual_seed(0))
    assert draws.shape == (64, 5) and draws.dtype == torch.int64
    assert not (draws == 1).any()


@pytest.mark.parametrize("counts,power", [([], 0.75), ([1, -2], 0.75), ([0, 0], 0.75), ([1, 2], -1.0)])
def test_noise_rejects_bad_input(counts, power):
    with pytest.raises(ValueError):
        noise_probabilities(counts, power)


# ---------------------------------------------------------------------------------- subsampling

@pytest.mark.parametrize("sample", [1e-3, 1.0, 50.0, 400.0])
def test_keep_probability_matches_gensim(sample):
    """Both meanings of ``sample``: a share of the corpus (< 1) and gensim's count threshold (>= 1)."""
    gensim = pytest.importorskip("gensim")  # installed with nlpbook[ref]
    from gensim.models import Word2Vec

    # A corpus with a few very frequent words and a long tail.
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    p = 1.0 / np.arange(1, 301)
    tokens = rng.choice(300, size=60_000, p=p / p.sum())
    sentences = [[words[t] for t in tokens[i:i + 20]] for i in range(0, len(tokens), 20)]
    model = Word2Vec(vector_size=8, min_count=1, sample=sample, workers=1)
    model.build_vocab(sentences)
    vocab_words = list(model.wv.index_to_key)
    counts = np.array([model.wv.get_vecattr(w, "count") for w in vocab_words])
    gensim_keep = np.array([model.wv.get_vecattr(w, "sample_int") for w in vocab_words]) / 2.0 ** 32
    ours = keep_probability(counts, sample)
    np.testing.assert_allclose(ours, gensim_keep, atol=1e-9)
    assert ours.min() < 0.5 and (ours.max() == 1.0 or sample == 1.0)   # sample=1: every word is downsampled


def test_keep_probability_formula_and_limits():
    counts = np.array([100_000, 1_000, 10], dtype=float)
    s, total = 1e-3, counts.sum()
    expected = np.minimum(1, (np.sqrt(counts / (s * total)) + 1) * s * total / counts)
    np.testing.assert_allclose(keep_probability(counts, s), expected, rtol=1e-12)
    assert np.all(keep_probability(counts, 0.0) == 1.0)
    # The paper's rule discards more of a frequent word than the code's rule.
    assert paper_discard_probability(counts, 1e-3)[0] > 1 - keep_probability(counts, 1e-3)[0]


def test_empirical_keep_rate_matches_probability():
    keep = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    ids = torch.arange(3).repeat(40_000)
    mask = subsample(ids, keep, torch.Generator().manual_seed(0))
    rates = mask.view(-1, 3).double().mean(0)
    # 5 standard errors of a binomial proportion with n = 100k
    torch.testing.assert_close(rates, keep, atol=5 * (0.25 / 40_000) ** 0.5, rtol=0)


def test_keep_probability_rejects_zero_counts():
    with pytest.raises(ValueError, match="positive"):
        keep_probability([3, 0, 2])


# ---------------------------------------------------------------------------- SGNS / CBOW math

def _float64_model(cls, V=12, D=6, seed=0):
    model = cls(V, D, torch.Generator().manual_seed(seed)).double()
    with torch.no_grad():  # output vectors start at zero in word2vec; make the test non-trivial
        model.out_vectors.weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(seed + 1))
        model.in_vectors.weight.normal_(0, 0.5, generator=torch.Generator().manual_seed(seed + 2))
    return model


@pytest.mark.parametrize("groups", [8, 2])
def test_sgns_gradients_equal_autograd_float64(groups):
    g = torch.Generator().manual_seed(3)
    model = _float64_model(SkipGramNS)
    B, K = 8, 4
    center, context = torch.randint(12, (B,), generator=g), torch.randint(12, (B,), generator=g)
    negatives = torch.randint(12, (groups, K), generator=g)
    per_pair = negatives.repeat_interleave(B // groups, dim=0)          # (B, K): what each pair sees
    loss = model(center, context, per_pair)
    v = model.in_vectors.weight[center].detach().requires_grad_()
    u_pos = model.out_vectors.weight[context].detach().requires_grad_()
    u_neg = model.out_vectors.weight[negatives].detach().requires_grad_()
    skip = (per_pair == context.unsqueeze(1)).view(groups, B // groups, K)   # word2vec.c skips w_k = o
    assert skip.any(), "the test should include a negative equal to its positive"
    ours_loss, grad_v, grad_pos, grad_neg = sgns_gradients(v.detach(), u_pos.detach(), u_neg.detach(), skip)
    torch.testing.assert_close(ours_loss, loss.detach())
    # Autograd on the same loss written from the gathered rows.
    positive = (u_pos * v).sum(1)
    negative = torch.bmm(v.view(groups, B // groups, -1), u_neg.transpose(1, 2))
    ref = (torch.nn.functional.softplus(-positive).sum() + (torch.nn.functional.softplus(negative) * ~skip).sum())
    ref_v, ref_pos, ref_neg = torch.autograd.grad(ref, (v, u_pos, u_neg))
    torch.testing.assert_close(grad_v, ref_v)
    torch.testing.assert_close(grad_pos, ref_pos)
    torch.testing.assert_close(grad_neg, ref_neg)


@pytest.mark.parametrize("groups", [10, 5, 1])
def test_sgns_step_is_an_sgd_step_on_the_summed_loss(groups):
    """Duplicate words in a batch (V=12, B=10) must get their updates summed, as autograd does."""
    g = torch.Generator().manual_seed(4)
    model = _float64_model(SkipGramNS)
    B, K, lr = 10, 3, 0.1
    center, context = torch.randint(12, (B,), generator=g), torch.randint(12, (B,), generator=g)
    negatives = torch.randint(12, (groups, K), generator=g)
    in_w, out_w = model.in_vectors.weight.detach().clone(), model.out_vectors.weight.detach().clone()
    model(center, context, negatives.repeat_interleave(B // groups, dim=0)).sum().backward()
    sgns_step(in_w, out_w, center, context, negatives, lr)
    torch.testing.assert_close(in_w, model.in_vectors.weight.detach() - lr * model.in_vectors.weight.grad)
    torch.testing.assert_close(out_w, model.out_vectors.weight.detach() - lr * model.out_vectors.weight.grad)


def test_cbow_step_matches_word2vec_rule():
    """Output vectors: plain SGD. Input vectors: each context word gets dL/dh = |C| x its autograd gradient."""
    g = torch.Generator().manual_seed(5)
    model = _float64_model(CBOWNS)
    B, C, K, lr = 6, 4, 3, 0.1
    context = torch.randint(12, (B, C), generator=g)
    mask = torch.rand(B, C, generator=g) < 0.7
    mask[:, 0] = True
    # distinct context words per row so "|C| x gradient" is per word and per row
    context = torch.stack([torch.randperm(12, generator=g)[:C] for _ in range(B)])
    center, negatives = torch.randint(12, (B,), generator=g), torch.randint(12, (B, K), generator=g)
    in_w, out_w = model.in_vectors.weight.detach().clone(), model.out_vectors.weight.detach().clone()
    # reference: autograd of the loss w.r.t. h, then word2vec's rule applied by hand
    mask64 = mask.double().unsqueeze(2)
    h = ((in_w[context] * mask64).sum(1) / mask.sum(1, keepdim=True)).requires_grad_()
    u_c, u_neg = out_w[center].requires_grad_(), out_w[negatives].requires_grad_()
    real = (negatives != center.unsqueeze(1)).unsqueeze(2)
    loss = (torch.nn.functional.softplus(-(u_c * h).sum(1)).sum()
            + (torch.nn.functional.softplus(torch.bmm(u_neg, h.unsqueeze(2))) * real).sum())
    grad_h, grad_c, grad_neg = torch.autograd.grad(loss, (h, u_c, u_neg))
    expected_in, expected_out = in_w.clone(), out_w.clone()
    for b in range(B):
        for j in range(C):
            if mask[b, j]:
                expected_in[context[b, j]] -= lr * grad_h[b]
    expected_out.index_add_(0, center, grad_c, alpha=-lr)
    expected_out.index_add_(0, negatives.reshape(-1), grad_neg.reshape(-1, 6), alpha=-lr)
    # the model's own forward gives the same loss
    torch.testing.assert_close(model(context, mask, center, negatives).sum(), loss.detach())
    cbow_step(in_w, out_w, context, mask, center, negatives, lr)
    torch.testing.assert_close(in_w, expected_in)
    torch.testing.assert_close(out_w, expected_out)
    # and that rule is |C| times the true gradient of the mean
    model.in_vectors.weight.grad = None
    model(context, mask, center, negatives).sum().backward()
    row = 0
    word = context[row, 0]
    only_here = (context[mask] == word).sum() == 1
    if only_here:
        torch.testing.assert_close(grad_h[row], mask[row].sum() * model.in_vectors.weight.grad[word])


def test_steps_reject_groups_that_do_not_divide_the_batch():
    w = torch.zeros(5, 3)
    with pytest.raises(ValueError, match="G dividing"):
        sgns_step(w.clone(), w.clone(), torch.zeros(6, dtype=torch.long), torch.zeros(6, dtype=torch.long),
                  torch.zeros(4, 2, dtype=torch.long), 0.1)


def test_explicit_model_rejects_mismatched_shapes():
    model = SkipGramNS(10, 4)
    with pytest.raises(ValueError):
        model(torch.zeros(3, dtype=torch.long), torch.zeros(4, dtype=torch.long), torch.zeros(3, 2, dtype=torch.long))


# ------------------------------------------------------------------------------------- trainer

def test_spread_order_puts_distant_pairs_in_one_group():
    order = spread_order(12, 3)                       # 3 groups of 4
    assert sorted(order.tolist()) == list(range(12))
    groups = order.view(3, 4)
    assert groups[0].tolist() == [0, 3, 6, 9] and groups[2].tolist() == [2, 5, 8, 11]
    with pytest.raises(ValueError):
        spread_order(10, 3)


def _toy_corpus(n_sentences=1000, seed=0):
    """Two topics that never mix: words of one topic must end up closer to each other.

    100 words a topic: a batch update sums the updates of repeated words, so a vocabulary far
    smaller than the batch (20 words, 256 pairs) makes every step a huge one and diverges,
    like a too-large learning rate; real vocabularies have tens of thousands of words.
    """
    rng = np.random.default_rng(seed)
    topics = [[f"a{i}" for i in range(100)], [f"b{i}" for i in range(100)]]
    return [list(rng.choice(topics[k % 2], size=12)) for k in range(n_sentences)]


def test_trainer_learns_topics_and_is_reproducible():
    sentences = _toy_corpus()
    itos = sorted({w for s in sentences for w in s})
    stoi = {w: i for i, w in enumerate(itos)}
    ids, sentence, n_raw = flatten_corpus(sentences, stoi)
    counts = np.bincount(ids.numpy(), minlength=len(itos))
    for sg in (1, 0):
        # Twice word2vec.c's start rate: in 3 epochs of this toy corpus the topics split only above
        # a threshold rate, and the default, falling linearly batch by batch, sits just below it.
        config = Word2VecConfig(vector_size=16, window=3, negative=3, epochs=3, sample=0, sg=sg,
                                batch_size=128, share_negatives=4, seed=7, alpha=0.05 if sg else 0.1,
                                noise_table_size=10_000, threads=1)
        first = train_word2vec(ids, sentence, counts, config, n_raw=n_raw, loss_every=1)
        second = train_word2vec(ids, sentence, counts, config, n_raw=n_raw)
        assert torch.equal(first.in_vectors, second.in_vectors), "same seed must give the same vectors"
        assert np.mean(first.losses[-5:]) < 0.8 * first.losses[0], "the loss must fall"
        unit = torch.nn.functional.normalize(first.in_vectors, dim=1)
        topic = torch.tensor([w.startswith("a") for w in itos])
        sims = unit @ unit.T
        same = sims[topic][:, topic].mean() + sims[~topic][:, ~topic].mean()
        across = 2 * sims[topic][:, ~topic].mean()
        assert same > across + 0.2, f"sg={sg}: within-topic similarity {same / 2:.2f} vs across {across / 2:.2f}"
        assert first.raw_words == n_raw * 3


def test_trainer_rejects_ids_outside_the_vocabulary():
    with pytest.raises(ValueError, match="outside the vocabulary"):
        train_word2vec(torch.tensor([0, 5]), torch.tensor([0, 0]), np.array([1, 1]), Word2VecConfig())


# ---------------------------------------------------------------------------------- evaluation

def _structured_vectors(seed=0):
    """Vectors where 'x_f - x_m' is one gender direction, plus noise large enough to break some."""
    rng = np.random.default_rng(seed)
    pairs = [("king", "queen"), ("man", "woman"), ("boy", "girl"), ("father", "mother"),
             ("son", "daughter"), ("uncle", "aunt"), ("brother", "sister"), ("he", "she")]
    gender = rng.normal(size=20)
    words, vectors = [], []
    for m, f in pairs:
        base = rng.normal(size=20) * 2
        words += [m, f]
        vectors += [base, base + gender + rng.normal(size=20) * 2.0]
    for i in range(30):
        words.append(f"filler{i}")
        vectors.append(rng.normal(size=20) * 2)
    questions = {"family": [(a, b, c, d) for (a, b) in pairs for (c, d) in pairs if a != c] + [("king", "queen", "man", "nowhere")]}
    return words, np.array(vectors, dtype=np.float32), questions


def test_analogy_and_similarity_match_gensim(tmp_path):
    pytest.importorskip("gensim")
    from gensim.models import KeyedVectors

    words, vectors, questions = _structured_vectors()
    stoi = {w: i for i, w in enumerate(words)}
    ours = analogy_accuracy(vectors, stoi, questions)
    assert ours.total == 57 and ours.covered == 56
    assert 0 < ours.correct < ours.covered, "the test needs some right and some wrong answers"
    kv = KeyedVectors(vector_size=vectors.shape[1])
    kv.add_vectors(words, vectors)
    path = tmp_path / "questions.txt"
    path.write_text(": family\n" + "\n".join(" ".join(q) for q in questions["family"]) + "\n")
    score, sections = kv.evaluate_word_analogies(str(path))
    assert len(sections[-1]["correct"]) == ours.correct
    assert len(sections[-1]["correct"]) + len(sections[-1]["incorrect"]) == ours.covered
    # similarity: Spearman equal to gensim's evaluate_word_pairs on the same pairs
    rng = np.random.default_rng(1)
    pairs = [(words[i], words[j], float(rng.uniform(0, 10))) for i, j in rng.integers(0, len(words), (40, 2)) if i != j]
    pairs.append(("king", "unknownword", 5.0))
    pair_file = tmp_path / "pairs.tsv"
    pair_file.write_text("\n".join(f"{a}\t{b}\t{s}" for a, b, s in pairs) + "\n")
    _, (rho, _), oov = kv.evaluate_word_pairs(str(pair_file), case_insensitive=False)
    sim = similarity_spearman(vectors, stoi, pairs)
    assert sim.covered == len(pairs) - 1
    assert abs(sim.spearman - rho) < 1e-9
    # nearest neighbours agree with gensim's most_similar
    ours_nn = [w for w, _ in nearest_neighbours(vectors, words, stoi, "king", k=5)]
    assert ours_nn == [w for w, _ in kv.most_similar("king", topn=5)]


def test_hogwild_workers_learn_and_restore_the_thread_setting():
    sentences = _toy_corpus()
    itos = sorted({w for s in sentences for w in s})
    stoi = {w: i for i, w in enumerate(itos)}
    ids, sentence, n_raw = flatten_corpus(sentences, stoi)
    counts = np.bincount(ids.numpy(), minlength=len(itos))
    config = Word2VecConfig(vector_size=16, window=3, negative=3, epochs=3, sample=0, batch_size=128,
                            chunk_tokens=1000, noise_table_size=10_000, workers=2, seed=3)
    threads_before = torch.get_num_threads()
    result = train_word2vec(ids, sentence, counts, config, n_raw=n_raw, loss_every=1)
    assert torch.get_num_threads() == threads_before
    assert result.kept_words == ids.numel() * 3           # sample=0 keeps every token
    assert result.progress == sorted(result.progress)
    assert np.mean(result.losses[-5:]) < 0.8 * result.losses[0]
    unit = torch.nn.functional.normalize(result.in_vectors, dim=1)
    topic = torch.tensor([w.startswith("a") for w in itos])
    sims = unit @ unit.T
    own_topic = torch.where(topic[:, None] == topic[None, :], sims, torch.nan).nanmean(1)
    other_topic = torch.where(topic[:, None] != topic[None, :], sims, torch.nan).nanmean(1)
    assert (own_topic > other_topic).all(), "every word must be closer, on average, to its own topic"


def test_compiled_sgns_step_equals_the_pytorch_step(monkeypatch):
    """sgns_step's C++ pass (nlpbook/word2vec/sgns_compiled.py) and its PyTorch code: one step,
    shared negatives, a negative that is the pair's own context word, both dtypes."""
    for dtype, tol in ((torch.float32, 1e-6), (torch.float64, 1e-14)):
        g = torch.Generator().manual_seed(3)
        V, D, B, G, K = 40, 12, 32, 8, 5
        W, U = torch.randn(V, D, generator=g, dtype=dtype) * 0.3, torch.randn(V, D, generator=g, dtype=dtype) * 0.3
        center, context = torch.randint(0, V, (B,), generator=g), torch.randint(0, V, (B,), generator=g)
        negatives = torch.randint(0, V, (G, K), generator=g)
        negatives[0, 1] = context[0]
        results = {}
        for flag in ("1", "0"):
            monkeypatch.setenv("NLPBOOK_KERNELS", flag)
            w, u = W.clone(), U.clone()
            loss = sgns_step(w, u, center, context, negatives, 0.05, True)
            results[flag] = (w, u, loss)
        for a, b in zip(results["1"], results["0"]):
            assert (a - b).abs().max().item() <= tol * max(1.0, b.abs().max().item())


def test_trainer_gives_the_same_vectors_with_and_without_the_compiled_step(monkeypatch):
    from nlpbook.word2vec.sgns import Word2VecConfig, flatten_corpus

    sentences = [["a", "b", "c", "d", "a", "c"], ["b", "d", "a", "e", "c"]] * 40
    stoi = {w: i for i, w in enumerate("abcde")}
    ids, sentence, n_raw = flatten_corpus(sentences, stoi)
    counts = np.bincount(ids.numpy(), minlength=5)
    config = Word2VecConfig(vector_size=8, epochs=2, batch_size=16, share_negatives=4, sample=0, seed=1)
    runs = {}
    for flag in ("1", "0"):
        monkeypatch.setenv("NLPBOOK_KERNELS", flag)
        runs[flag] = train_word2vec(ids, sentence, counts, config, n_raw=n_raw, loss_every=1)
    torch.testing.assert_close(runs["1"].in_vectors, runs["0"].in_vectors, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(runs["1"].out_vectors, runs["0"].out_vectors, atol=1e-5, rtol=1e-4)
    np.testing.assert_allclose(runs["1"].losses, runs["0"].losses, rtol=1e-4)


def test_batch_plan_and_chunk_spread_order():
    from nlpbook.word2vec.sgns import _batch_plan, _chunk_spread_order

    assert _batch_plan(10, 4, 2) == [(0, 4, 2), (4, 4, 2), (8, 2, 1)]
    assert _batch_plan(7, 4, 2) == [(0, 4, 2), (4, 3, 3)]          # 3 does not split in 2: own negatives
    order = _chunk_spread_order(_batch_plan(10, 4, 2))
    assert order.tolist() == [0, 2, 1, 3, 4, 6, 5, 7, 8, 9]


def test_learning_rate_falls_with_every_batch_not_only_every_chunk(monkeypatch):
    """word2vec.c lowers the rate as it reads words; the trainer lowers it batch by batch, also
    inside a chunk (a chunk-wide rate stayed at its start for the whole chunk: with one chunk per
    epoch the last batch of 2 epochs still ran at half the start rate)."""
    from nlpbook.word2vec import sgns

    sentences = _toy_corpus(400)
    itos = sorted({w for s in sentences for w in s})
    stoi = {w: i for i, w in enumerate(itos)}
    ids, sentence, n_raw = flatten_corpus(sentences, stoi)
    counts = np.bincount(ids.numpy(), minlength=len(itos))
    config = Word2VecConfig(vector_size=8, window=2, negative=2, epochs=2, sample=0, batch_size=64,
                            share_negatives=4, chunk_tokens=ids.numel(), alpha=0.02, min_alpha=1e-4,
                            noise_table_size=10_000, seed=0)
    alphas = []

    def record(in_v, out_v, center, context, negatives, alpha, want_loss):
        alphas.append(alpha)
        return 0.0

    monkeypatch.setattr(sgns, "_fused_step", lambda *args: record)
    train_word2vec(ids, sentence, counts, config, n_raw=n_raw)
    assert len(alphas) > 40, "the test needs many batches per chunk"
    assert alphas[0] == 0.02
    assert all(b < a for a, b in zip(alphas, alphas[1:])), "the rate must fall at every batch"
    first_epoch = sum(a >= (0.02 + 1e-4) / 2 for a in alphas)      # the batches above the middle rate
    assert 0.4 < first_epoch / len(alphas) < 0.6, "the rate must reach its middle at half the work"
    assert 1e-4 <= alphas[-1] < 0.02 * 0.05, "the last batch must run near min_alpha"


def test_shuffle_spreads_a_batch_over_the_chunk(monkeypatch):
    """``shuffle=True`` (the default): a batch takes pairs from all over its chunk, and the pairs of
    one centre occurrence land in different batches; ``shuffle=False`` keeps corpus order. Both
    train on the same pairs, and a seed repeats."""
    from nlpbook.word2vec import sgns

    sentences = [[f"w{i}" for i in range(10 * j, 10 * j + 10)] for j in range(100)]  # word id = position
    stoi = {f"w{i}": i for i in range(1000)}
    ids, sentence, n_raw = flatten_corpus(sentences, stoi)
    counts = np.ones(1000, dtype=np.int64)
    batches = []

    def record(in_v, out_v, center, context, negatives, alpha, want_loss):
        batches.append(center.clone())
        return 0.0

    monkeypatch.setattr(sgns, "_fused_step", lambda *args: record)
    runs = {}
    for shuffle in (False, True, True):
        batches.clear()
        config = Word2VecConfig(vector_size=8, window=2, negative=2, epochs=1, sample=0, batch_size=64,
                                share_negatives=4, chunk_tokens=1000, noise_table_size=10_000, seed=2,
                                shuffle=shuffle)
        result = train_word2vec(ids, sentence, counts, config, n_raw=n_raw)
        runs.setdefault(shuffle, []).append((result.examples, torch.cat(batches)))
    (n_plain, plain), = runs[False]
    (n_shuffled, shuffled), (_, again) = runs[True]
    assert n_plain == n_shuffled and torch.equal(plain.sort().values, shuffled.sort().values), "the same pairs"
    assert torch.equal(shuffled, again), "the same seed must give the same order"
    assert plain[:64].max() < 40, "without shuffle the first batch holds the chunk's first words"
    assert shuffled[:64].max() > 500 and shuffled[:64].min() < 500, "a shuffled batch spans the chunk"
    assert len(set(shuffled[:64].tolist())) > 50, "a centre's pairs fall in different batches"

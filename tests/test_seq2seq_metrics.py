"""BLEU by hand equals sacrebleu's corpus BLEU; chrF, signatures, the paired bootstrap."""
import random

import pytest
import sacrebleu

from nlpbook.seq2seq.metrics import bleu_by_hand, corpus_bleu, corpus_chrf, paired_bootstrap
from nlpbook.seq2seq.split import de_en_split
from nlpbook.validate import InputError


def _corrupt(refs, seed, p):
    rng = random.Random(seed)
    out = []
    for r in refs:
        words = r.split()
        if rng.random() < p:
            words = words[:max(1, len(words) - rng.randint(1, 3))]          # shorter: brevity penalty
        if rng.random() < p:
            rng.shuffle(words)                                             # wrong order: fewer 4-grams
        if rng.random() < p:
            words = [w if rng.random() > 0.3 else "the" for w in words]     # repeats: clipping
        out.append(" ".join(words))
    return out


@pytest.fixture(scope="module")
def refs():
    return [b for _, b in de_en_split().test[:600]]


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_bleu_by_hand_equals_sacrebleu(refs, p):
    hyps = _corrupt(refs, 0, p)
    ours, theirs = bleu_by_hand(hyps, refs), sacrebleu.corpus_bleu(hyps, [refs])
    assert abs(ours.score - theirs.score) < 1e-6
    assert ours.precisions == pytest.approx(theirs.precisions, abs=1e-9)
    assert ours.brevity_penalty == pytest.approx(theirs.bp, abs=1e-12)
    assert (ours.hyp_len, ours.ref_len) == (theirs.sys_len, theirs.ref_len)
    assert 0 < ours.score < 100


def test_bleu_by_hand_edge_cases():
    refs = ["the cat sat on the mat .", "a dog ."]
    assert bleu_by_hand(refs, refs).score == pytest.approx(100.0)
    for hyps in (["the the the the the the the", "a a a"], ["cat", "dog"], ["zebra", "yak"], ["the cat", "a dog"]):
        assert abs(bleu_by_hand(hyps, refs).score - sacrebleu.corpus_bleu(hyps, [refs]).score) < 1e-6
    clipped = bleu_by_hand(["the the the the the the the", "a a a"], refs)
    assert clipped.matches[0] == 3                                          # 2 "the" + 1 "a", clipped
    assert bleu_by_hand(["cat", "dog"], refs).brevity_penalty < 0.1


def test_scores_carry_their_signature(refs):
    hyps = _corrupt(refs, 1, 0.5)
    bleu, chrf = corpus_bleu(hyps, refs), corpus_chrf(hyps, refs)
    assert bleu.score == pytest.approx(sacrebleu.corpus_bleu(hyps, [refs]).score)
    assert chrf.score == pytest.approx(sacrebleu.corpus_chrf(hyps, [refs]).score)
    assert "tok:13a" in bleu.signature and "smooth:exp" in bleu.signature and "version:" in bleu.signature
    assert "nc:6" in chrf.signature and "BLEU" in str(bleu)


def test_paired_bootstrap_finds_a_real_difference_and_not_a_fake_one(refs):
    good, bad = _corrupt(refs, 2, 0.2), _corrupt(refs, 3, 0.8)
    result = paired_bootstrap(bad, good, refs, n_samples=200, seed=1)
    assert result.delta > 2 and result.p_value < 0.05 and result.significant()
    assert result == paired_bootstrap(bad, good, refs, n_samples=200, seed=1)      # seeded
    same = paired_bootstrap(good, list(good), refs, n_samples=200, seed=1)
    assert same.delta == 0 and not same.significant()
    chrf = paired_bootstrap(bad, good, refs, metric="chrf", n_samples=100)
    assert chrf.metric == "chrF2" and chrf.delta > 0 and "bs:100" in chrf.signature


def test_metric_input_errors():
    with pytest.raises(InputError, match="references"):
        corpus_bleu(["a b"], ["a b", "c d"])
    with pytest.raises(InputError, match="hypotheses"):
        bleu_by_hand([["a", "b"]], ["a b"])
    with pytest.raises(InputError, match="hypotheses is empty"):
        corpus_chrf([], [])
    with pytest.raises(InputError, match="metric"):
        paired_bootstrap(["a"], ["a"], ["a"], metric="ter")

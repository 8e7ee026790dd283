r"""BLEU and chrF on detokenized text, with sacrebleu, and BLEU by hand.

**BLEU** (Papineni et al. 2002) at corpus level: with :math:`p_n` the modified (clipped)
n-gram precision over the whole corpus,

$$p_n = \frac{\sum_{s} \sum_{g \in \text{n-grams}(\hat y_s)} \min\big(c_{\hat y_s}(g),\, c_{y_s}(g)\big)}
{\sum_s \sum_{g \in \text{n-grams}(\hat y_s)} c_{\hat y_s}(g)}$$

$$\mathrm{BP} = \begin{cases} 1 & c \ge r \\ e^{1 - r/c} & c < r \end{cases}\qquad
\mathrm{BLEU} = 100\cdot\mathrm{BP}\cdot\exp\Big(\tfrac14 \sum_{n=1}^{4} \log p_n\Big)$$

(:math:`c`, :math:`r`: total hypothesis and reference lengths). Clipping stops "the the the"
from scoring on a reference with one "the"; the brevity penalty stops a one-word output
from scoring on precision alone. sacrebleu's default (and :func:`bleu_by_hand`'s) smoothing
``exp`` replaces a zero :math:`p_n` by :math:`1 / (2^k \cdot \text{total}_n)` for the
``k``-th zero, as mteval-v13a does. Both tokenize with the same ``13a`` tokenizer, so their
scores agree to 1e-6 (tested).

**chrF** (Popović 2015) is the F-score (:math:`\beta = 2`) of character n-grams, n = 1..6,
which rewards a right stem with a wrong ending, where BLEU gives nothing.

Scores are on 0..100 and come with sacrebleu's **signature** (tokenizer, smoothing,
version), which says exactly what was computed; report it with the number. Inputs are
detokenized strings (decoded subwords), one reference per hypothesis.
"""
from __future__ import annotations

import math
import os
from collections import Counter
from dataclasses import dataclass

import sacrebleu
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.significance import PairedTest
from sacrebleu.tokenizers.tokenizer_13a import Tokenizer13a

from ..validate import InputError, check_choice, check_positive, check_type

__all__ = ["MetricScore", "corpus_bleu", "corpus_chrf", "bleu_by_hand", "BleuParts", "PairedResult",
           "paired_bootstrap"]


@dataclass(frozen=True)
class MetricScore:
    """A corpus score (0..100) and sacrebleu's signature for it."""

    name: str
    score: float
    signature: str

    def __str__(self) -> str:
        return f"{self.name} = {self.score:.2f}  ({self.signature})"


def _check_texts(hypotheses, references) -> None:
    for name, texts in (("hypotheses", hypotheses), ("references", references)):
        check_type(name, texts, (list, tuple))
        for i, t in enumerate(texts):
            if not isinstance(t, str):
                raise InputError(f"{name}[{i}] must be a str (detokenized text), got {type(t).__name__}")
    if len(hypotheses) == 0:
        raise InputError("hypotheses is empty: a corpus score needs sentences")
    if len(hypotheses) != len(references):
        raise InputError(f"hypotheses has {len(hypotheses)} sentences but references has {len(references)}")


def corpus_bleu(hypotheses: list[str], references: list[str]) -> MetricScore:
    """sacrebleu's corpus BLEU (13a tokenizer, exp smoothing) and its signature."""
    _check_texts(hypotheses, references)
    metric = BLEU()
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return MetricScore("BLEU", score.score, str(metric.get_signature()))


def corpus_chrf(hypotheses: list[str], references: list[str]) -> MetricScore:
    """sacrebleu's corpus chrF (character 6-grams, beta = 2) and its signature."""
    _check_texts(hypotheses, references)
    metric = CHRF()
    score = metric.corpus_score(list(hypotheses), [list(references)])
    return MetricScore("chrF", score.score, str(metric.get_signature()))


@dataclass(frozen=True)
class BleuParts:
    """:func:`bleu_by_hand`'s result and every quantity of its formula."""

    score: float
    precisions: tuple            # p_1..p_4 in percent (after smoothing)
    matches: tuple               # clipped n-gram matches per order
    totals: tuple                # hypothesis n-grams per order
    brevity_penalty: float
    hyp_len: int
    ref_len: int


def _ngrams(tokens: list[str], n: int) -> Counter:
    return Counter(tuple(tokens[i:i + n]) for i in range(len(tokens) - n + 1))


def bleu_by_hand(hypotheses: list[str], references: list[str], max_order: int = 4) -> BleuParts:
    """Corpus BLEU from its definition (module docstring): clipped counts, BP, geometric mean."""
    _check_texts(hypotheses, references)
    check_positive("max_order", max_order, integer=True)
    tokenize = Tokenizer13a()
    matches, totals = [0] * max_order, [0] * max_order
    hyp_len = ref_len = 0
    for hyp, ref in zip(hypotheses, references):
        h, r = tokenize(hyp.strip()).split(), tokenize(ref.strip()).split()
        hyp_len, ref_len = hyp_len + len(h), ref_len + len(r)
        for n in range(1, max_order + 1):
            h_counts, r_counts = _ngrams(h, n), _ngrams(r, n)
            matches[n - 1] += sum(min(c, r_counts[g]) for g, c in h_counts.items())   # clipped
            totals[n - 1] += sum(h_counts.values())
    bp = 1.0 if hyp_len >= ref_len else (math.exp(1 - ref_len / hyp_len) if hyp_len > 0 else 0.0)
    precisions = [0.0] * max_order
    if not any(matches):
        return BleuParts(0.0, tuple(precisions), tuple(matches), tuple(totals), bp, hyp_len, ref_len)
    smooth = 1.0
    for n in range(max_order):
        if totals[n] == 0:
            break                                   # no n-grams of this order at all
        if matches[n] == 0:
            smooth *= 2                             # 'exp' smoothing: 1 / (2^k total_n)
            precisions[n] = 100.0 / (smooth * totals[n])
        else:
            precisions[n] = 100.0 * matches[n] / totals[n]
    log_mean = sum(math.log(p) if p > 0 else -9999999999 for p in precisions) / max_order
    return BleuParts(bp * math.exp(log_mean), tuple(precisions), tuple(matches), tuple(totals), bp, hyp_len, ref_len)


@dataclass(frozen=True)
class PairedResult:
    """Paired bootstrap of ``system`` against ``baseline``: both scores, the p-value, and more.

    ``p_value`` is sacrebleu's: the share of resamples whose (centred) absolute difference
    exceeds the observed one, i.e. a two-sided test of "the two systems score the same".
    A chapter asserts the direction separately: ``result.delta > 0 and result.p_value < 0.05``.
    """

    metric: str
    baseline: float
    system: float
    p_value: float
    system_mean: float
    system_ci: float
    n_samples: int
    signature: str

    @property
    def delta(self) -> float:
        return self.system - self.baseline

    def significant(self, alpha: float = 0.05) -> bool:
        """The system scores higher and the difference is significant at level ``alpha``."""
        return self.delta > 0 and self.p_value < alpha


def paired_bootstrap(baseline: list[str], system: list[str], references: list[str], metric: str = "bleu",
                     n_samples: int = 1000, seed: int = 12345) -> PairedResult:
    """sacrebleu's paired bootstrap resampling test (Koehn 2004), ``n_samples`` resamples, seeded.

    Each resample draws the test sentences with replacement, the *same* draw for both
    systems, and recomputes both corpus scores from their sentence statistics.
    """
    _check_texts(baseline, references)
    _check_texts(system, references)
    check_choice("metric", metric, ("bleu", "chrf"))
    check_positive("n_samples", n_samples, integer=True)
    metrics = {"bleu": BLEU(), "chrf": CHRF()}
    chosen = {metric: metrics[metric]}
    old = os.environ.get("SACREBLEU_SEED")
    os.environ["SACREBLEU_SEED"] = str(int(seed))       # sacrebleu reads its seed from here
    try:
        test = PairedTest([("baseline", list(baseline)), ("system", list(system))], chosen, [list(references)],
                          test_type="bs", n_samples=n_samples)
        signatures, scores = test()
    finally:
        if old is None:
            os.environ.pop("SACREBLEU_SEED", None)
        else:
            os.environ["SACREBLEU_SEED"] = old
    (name, (base, sys_result)), = ((k, v) for k, v in scores.items() if k != "System")
    return PairedResult(name, float(base.score), float(sys_result.score), float(sys_result.p_value), float(sys_result.mean),
                        float(sys_result.ci), n_samples, str(signatures[name]))

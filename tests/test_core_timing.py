"""nlpbook.timing: repeats with medians and spread; interleaved rounds and per-round ratios."""
import time

import pytest

from nlpbook.timing import Timing, measure


def test_measure_repeats_and_reports_median_and_spread():
    calls = []
    timing = measure(lambda: calls.append(1), repeats=4, warmup=2, number=3)
    assert len(calls) == 2 + 4 * 3
    assert len(timing.samples) == 4 and timing.low <= timing.median <= timing.high
    assert timing.spread >= 0


def test_timing_statistics():
    t = Timing((1.0, 2.0, 4.0))
    assert t.median == 2.0 and t.spread == pytest.approx(1.5)
    assert "median of 3" in str(t)


@pytest.mark.parametrize("kwargs, name", [({"repeats": 0}, "repeats"), ({"warmup": -1}, "warmup"),
                                          ({"number": 1.5}, "number")])
def test_measure_rejects_bad_counts(kwargs, name):
    with pytest.raises(ValueError, match=name):
        measure(lambda: None, **kwargs)


def test_measure_needs_a_callable():
    with pytest.raises(TypeError, match="fn must be callable"):
        measure(42)


from nlpbook.timing import Ratio, measure_interleaved, paired_ratio


def test_rounds_take_turns_and_pair():
    order = []
    timings = measure_interleaved({"a": lambda: order.append("a"), "b": lambda: order.append("b")},
                                  rounds=3, warmup=1)
    assert order == ["a", "b"] + ["a", "b"] * 3       # warm-up of each, then one of each per round
    assert set(timings) == {"a", "b"} and all(len(t.samples) == 3 for t in timings.values())


def test_slower_call_has_larger_ratio():
    timings = measure_interleaved({"slow": lambda: time.sleep(0.004), "fast": lambda: time.sleep(0.001)},
                                  rounds=3, warmup=0)
    ratio = paired_ratio(timings["slow"], timings["fast"])
    assert ratio.low > 1.5 and ratio.median >= ratio.low and "rounds" in str(ratio)


def test_paired_ratio_values():
    ratio = paired_ratio(Timing((2.0, 6.0, 3.0)), Timing((1.0, 2.0, 1.0)))
    assert ratio == Ratio((2.0, 3.0, 3.0)) and ratio.median == 3.0 and ratio.low == 2.0 and ratio.high == 3.0


@pytest.mark.parametrize("kwargs, error", [
    (dict(fns={}), ValueError), (dict(fns={"a": 1}), TypeError),
    (dict(fns={"a": print}, rounds=0), ValueError), (dict(fns={"a": print}, number=True), ValueError),
])
def test_bad_arguments(kwargs, error):
    with pytest.raises(error):
        measure_interleaved(**kwargs)


def test_paired_ratio_checks():
    with pytest.raises(ValueError, match="rounds"):
        paired_ratio(Timing((1.0,)), Timing((1.0, 2.0)))
    with pytest.raises(TypeError):
        paired_ratio((1.0,), Timing((1.0,)))


from nlpbook.timing import cpu_threads


def test_cpu_threads_sets_and_restores_even_on_error():
    import torch

    saved = torch.get_num_threads()
    with pytest.raises(RuntimeError, match="inside"):
        with cpu_threads(1):
            assert torch.get_num_threads() == 1
            raise RuntimeError("inside")
    assert torch.get_num_threads() == saved


@pytest.mark.parametrize("count", [0, -2, 1.5, "2"])
def test_cpu_threads_rejects_bad_counts(count):
    with pytest.raises(ValueError, match="count"):
        with cpu_threads(count):
            pass

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

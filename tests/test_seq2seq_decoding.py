"""Greedy and beam search: beam 1 = greedy, scores = teacher-forced log-probs, stopping, errors."""
import pytest
import torch

from nlpbook.seq2seq.batching import pad_ids
from nlpbook.seq2seq.decoding import beam_search, greedy_decode, normalised, score_sequences
from nlpbook.seq2seq.model import Seq2Seq
from nlpbook.validate import InputError

V = 13
SRC = [[5, 6, 7, 3], [8, 9, 3], [10, 3], [4, 11, 12, 5, 3]]


pytestmark = pytest.mark.usefixtures("one_thread")


def _model(attention="additive", eos_bias=0.0, seed=0):
    torch.manual_seed(seed)
    model = Seq2Seq(dict(src_vocab=V, tgt_vocab=V, embed_size=6, hidden_size=8, attention=attention, max_len=10)).double()
    with torch.no_grad():
        model.decoder.out.weight.mul_(8.0)                          # peaked distributions, as after training
        model.decoder.out.bias[model.eos_id] += eos_bias
    return model.eval()


def _src():
    return pad_ids(SRC, 0)


@pytest.mark.parametrize("attention", [None, "additive"])
@pytest.mark.parametrize("eos_bias", [0.5, 1.0])
def test_beam_size_one_is_greedy(attention, eos_bias):
    model, (src, mask) = _model(attention, eos_bias), _src()
    greedy = greedy_decode(model, src, mask)
    beam = beam_search(model, src, mask, beam_size=1)
    assert beam.ids == greedy.ids
    assert beam.log_probs == pytest.approx(greedy.log_probs, abs=1e-9)


@pytest.mark.parametrize("length_penalty", [0.0, 1.0, 0.6])
@pytest.mark.parametrize("beam_size", [1, 3, 5])
@pytest.mark.parametrize("attention, eos_bias", [(None, 1.0), ("additive", 0.5)])
def test_returned_scores_equal_teacher_forced_log_probs(attention, eos_bias, beam_size, length_penalty):
    model, (src, mask) = _model(attention, eos_bias), _src()
    hyps = beam_search(model, src, mask, beam_size=beam_size, length_penalty=length_penalty)
    if length_penalty == 1.0:                                 # (alpha = 0 favours a lone <eos>)
        assert any(len(s) > 1 for s in hyps.ids)              # not only an immediate <eos>: a real test
    forced = score_sequences(model, src, mask, hyps.ids, length_penalty=length_penalty)
    assert hyps.log_probs == pytest.approx(forced.log_probs, abs=1e-9)
    assert hyps.scores == pytest.approx(forced.scores, abs=1e-9)
    assert hyps.scores == pytest.approx([normalised(lp, len(s), length_penalty)
                                         for lp, s in zip(hyps.log_probs, hyps.ids)])


def test_decoding_stops_at_eos_and_at_max_len():
    model, (src, mask) = _model(eos_bias=50.0), _src()                # <eos> at once
    for hyps in (greedy_decode(model, src, mask), beam_search(model, src, mask, beam_size=3)):
        assert hyps.ids == [[model.eos_id]] * len(SRC)
    model = _model(eos_bias=-50.0)                                  # <eos> never
    for hyps in (greedy_decode(model, src, mask, max_len=4), beam_search(model, src, mask, beam_size=3, max_len=4)):
        assert all(len(s) == 4 and model.eos_id not in s for s in hyps.ids)
    hyps = greedy_decode(_model(None, eos_bias=1.0), src, mask)
    assert all(s[-1] == model.eos_id for s in hyps.ids)
    for s in hyps.ids:                                              # nothing after <eos>
        assert model.eos_id not in s[:-1]


def test_decoding_input_errors():
    model, (src, mask) = _model(), _src()
    with pytest.raises(InputError, match="max_len"):
        greedy_decode(model, src, mask, max_len=11)                 # the model's max_len is 10
    long_src, long_mask = pad_ids([[5] * 11], 0)
    with pytest.raises(InputError, match="max_len"):
        beam_search(model, long_src, long_mask)
    with pytest.raises(InputError, match="empty"):
        greedy_decode(model, src[:0], mask[:0])
    with pytest.raises(InputError, match="empty"):
        beam_search(model, src[:0], mask[:0])
    with pytest.raises(InputError, match="beam_size"):
        beam_search(model, src, mask, beam_size=0)
    with pytest.raises(InputError, match="length_penalty"):
        beam_search(model, src, mask, length_penalty=-1.0)
    with pytest.raises(InputError, match="ids"):
        score_sequences(model, src, mask, [[4]])


def test_beam_search_loop_checks_its_arguments():
    from nlpbook.seq2seq.decoding import beam_search_loop

    good = dict(step=lambda y: torch.zeros(y.shape[0], 5), keep=lambda flat: None, batch_size=2, beam_size=3,
                bos_id=0, eos_id=1, max_len=4, length_penalty=1.0, device="cpu")
    assert len(beam_search_loop(**good).ids) == 2
    for name, value, message in (("step", 3, "step must be callable"), ("keep", None, "keep must be callable"),
                                 ("beam_size", 0, "beam_size"), ("max_len", -1, "max_len"),
                                 ("length_penalty", float("nan"), "length_penalty")):
        with pytest.raises((TypeError, ValueError), match=message):
            beam_search_loop(**{**good, name: value})

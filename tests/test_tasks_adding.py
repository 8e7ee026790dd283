"""The adding problem: shapes, markers one per half, target = sum of marked values, baseline 1/6."""
import pytest
import torch

from nlpbook.tasks.adding import adding_problem, adding_problem_baseline_mse, adding_problem_batches


def test_shapes_and_dtypes():
    x, y = adding_problem(7, 13, torch.Generator().manual_seed(0))
    assert x.shape == (7, 13, 2) and y.shape == (7,)
    assert x.dtype == torch.float32 and y.dtype == torch.float32
    x64, _ = adding_problem(3, 4, torch.Generator().manual_seed(0), dtype=torch.float64)
    assert x64.dtype == torch.float64


@pytest.mark.parametrize("length", [2, 3, 10, 51])
def test_exactly_one_marker_in_each_half(length):
    x, _ = adding_problem(500, length, torch.Generator().manual_seed(1))
    markers = x[..., 1]
    half = length // 2
    assert set(markers.unique().tolist()) <= {0.0, 1.0}
    assert torch.equal(markers[:, :half].sum(1), torch.ones(500))
    assert torch.equal(markers[:, half:].sum(1), torch.ones(500))


def test_target_is_sum_of_the_two_marked_values():
    x, y = adding_problem(64, 20, torch.Generator().manual_seed(2))
    for i in range(64):
        marked = x[i, x[i, :, 1] == 1.0, 0]
        assert marked.numel() == 2
        assert torch.isclose(marked.sum(), y[i])
    values = x[..., 0]
    assert values.min() >= 0.0 and values.max() < 1.0


def test_reproducible_with_a_generator_and_different_across_seeds():
    a = adding_problem(5, 10, torch.Generator().manual_seed(3))
    b = adding_problem(5, 10, torch.Generator().manual_seed(3))
    c = adding_problem(5, 10, torch.Generator().manual_seed(4))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


def test_baseline_mse_matches_a_large_sample():
    # Predicting the mean 1.0: the MSE is Var(U1 + U2) = 1/6; a 200k sample is within ~0.002.
    _, y = adding_problem(200_000, 4, torch.Generator().manual_seed(5), dtype=torch.float64)
    assert abs(y.mean().item() - 1.0) < 0.005
    assert abs(((y - 1.0) ** 2).mean().item() - adding_problem_baseline_mse()) < 0.003
    assert adding_problem_baseline_mse() == pytest.approx(1 / 6)


def test_batches_helper():
    batches = adding_problem_batches(3, 4, 8, seed=0)
    assert len(batches) == 3 and batches[0][0].shape == (4, 8, 2)
    assert not torch.equal(batches[0][0], batches[1][0])
    again = adding_problem_batches(3, 4, 8, seed=0)
    assert all(torch.equal(a[0], b[0]) for a, b in zip(batches, again))


@pytest.mark.parametrize("kwargs, error", [
    (dict(batch_size=0, length=10), ValueError),
    (dict(batch_size=2, length=1), ValueError),
    (dict(batch_size=2, length=10, dtype=torch.int64), TypeError),
])
def test_bad_input_is_rejected(kwargs, error):
    with pytest.raises(error):
        adding_problem(**kwargs)


def test_recurrent_regressor_and_mse():
    from torch import nn
    from nlpbook.tasks.adding import RecurrentRegressor, adding_problem_mse
    torch.manual_seed(0)
    x, y = adding_problem(10, 6, torch.Generator().manual_seed(6))
    for module in (nn.RNN(2, 4, batch_first=True), nn.GRU(2, 4, batch_first=True), nn.LSTM(2, 4, batch_first=True)):
        model = RecurrentRegressor(module)
        prediction = model(x)
        assert prediction.shape == (10,)
        expected = ((prediction - y) ** 2).mean().item()
        assert adding_problem_mse(model, x, y, batch_size=3) == pytest.approx(expected, rel=1e-5)
    with torch.no_grad():                          # a readout that always says 1.0 scores Var(y)
        model.readout.weight.zero_()
        model.readout.bias.fill_(1.0)
    assert adding_problem_mse(model, x, y) == pytest.approx(((y - 1) ** 2).mean().item(), rel=1e-5)
    with pytest.raises(ValueError):
        adding_problem_mse(model, x, y[:5])

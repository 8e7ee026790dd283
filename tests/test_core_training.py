import math

import pytest
import torch

import nlpbook
from nlpbook import NonFiniteLossError, train


def regression_problem(n=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 3, generator=g)
    w = torch.tensor([[1.5], [-2.0], [0.5]])
    return [(x[i:i + 16], x[i:i + 16] @ w) for i in range(0, n, 16)]


def mse(model, batch):
    x, y = batch
    return torch.nn.functional.mse_loss(model(x), y)


def test_train_reduces_loss_and_records_history():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    batches = regression_problem()
    history = train(model, opt, batches, mse, epochs=20, progress=False)
    assert history.steps == 20 * len(batches) == len(history.losses)
    assert len(history.epoch_losses) == 20
    assert history.epoch_losses[-1] < 0.01 * history.epoch_losses[0]
    assert history.seconds > 0
    assert len(history.smoothed(5)) == len(history.losses)


def test_train_matches_the_loop_written_out():
    batches = regression_problem()
    torch.manual_seed(1)
    a = torch.nn.Linear(3, 1)
    b = torch.nn.Linear(3, 1)
    b.load_state_dict(a.state_dict())
    opt_a = torch.optim.SGD(a.parameters(), lr=0.05)
    train(a, opt_a, batches, mse, epochs=3, progress=False, clip_grad_norm=0.5)
    opt_b = torch.optim.SGD(b.parameters(), lr=0.05)
    for _ in range(3):
        for batch in batches:
            loss = mse(b, batch)
            opt_b.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(b.parameters(), 0.5)
            opt_b.step()
    for p, q in zip(a.parameters(), b.parameters()):
        torch.testing.assert_close(p, q)


def test_nan_loss_stops_with_a_clear_error_and_keeps_parameters():
    model = torch.nn.Linear(3, 1)
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    bad = [(torch.full((4, 3), math.nan), torch.zeros(4, 1))]
    with pytest.raises(NonFiniteLossError, match="loss is nan at epoch 0, step 0"):
        train(model, opt, bad, mse, progress=False, desc="nan-test")
    for p, q in zip(before, model.parameters()):
        torch.testing.assert_close(p, q)


def test_exploding_training_is_caught_not_silently_continued():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=50.0)  # diverges
    with pytest.raises(NonFiniteLossError, match="clip"):
        train(model, opt, regression_problem(), mse, epochs=200, progress=False)


def test_grad_norms_recorded_and_callable_batches():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    seen = []

    def batches(epoch):
        seen.append(epoch)
        return regression_problem(seed=epoch)

    history = train(model, opt, batches, mse, epochs=2, record_grad_norm=True, progress=False)
    assert seen == [0, 1]
    assert len(history.grad_norms) == history.steps and all(g > 0 for g in history.grad_norms)


@pytest.mark.parametrize("kwargs, message", [({"epochs": 0}, "epochs"), ({"clip_grad_norm": 0.0}, "clip_grad_norm")])
def test_bad_arguments(kwargs, message):
    model = torch.nn.Linear(3, 1)
    with pytest.raises(ValueError, match=message):
        train(model, torch.optim.SGD(model.parameters(), lr=0.1), regression_problem(), mse, progress=False, **kwargs)


def test_empty_epoch_and_non_scalar_loss_are_errors():
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="no batches"):
        train(model, opt, [], mse, progress=False)
    with pytest.raises(ValueError, match="scalar"):
        train(model, opt, regression_problem(), lambda m, b: (m(b[0]) - b[1]) ** 2, progress=False)


def test_non_finite_error_carries_the_history_so_far():
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1)
    opt = torch.optim.SGD(model.parameters(), lr=50.0)
    with pytest.raises(NonFiniteLossError) as caught:
        train(model, opt, regression_problem(), mse, epochs=200, progress=False)
    history = caught.value.history
    assert history is not None and history.steps == len(history.losses) > 0
    assert all(math.isfinite(v) for v in history.losses)
    assert history.losses[-1] > history.losses[0]  # it was diverging before the NaN

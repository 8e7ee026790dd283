r"""The adding problem: a synthetic long-range-memory task for recurrent networks.

Hochreiter & Schmidhuber (1997, experiment 4), in the form of Le, Jaitly & Hinton (2015):
each sequence has ``T`` steps and two input channels,

* channel 0: values $u_t \sim \mathcal{U}(0, 1)$, independent;
* channel 1: a marker $m_t \in \{0, 1\}$, equal to 1 at exactly two positions,
  $a$ drawn uniformly from the first half ``[0, T//2)`` and $b$ from the second
  half ``[T//2, T)``.

The target is the sum of the two marked values,

$$y = \sum_t m_t u_t = u_a + u_b \in [0, 2].$$

A model must carry $u_a$ across up to ``T - 1`` steps, so the task gets harder as ``T``
grows. A model that ignores the inputs does best by predicting the mean
$\mathbb{E}[y] = 1$, and its mean squared error is the variance of the sum of two
independent $\mathcal{U}(0,1)$ values:

$$\mathrm{MSE}_{\text{baseline}} = \operatorname{Var}(u_a + u_b) = 2 \cdot \tfrac{1}{12} = \tfrac{1}{6} \approx 0.1667.$$

A trained model "solves" the task only if its MSE falls clearly below 1/6.

API (stable; other chapters use it)::

    x, y = adding_problem(batch_size, length, generator)   # x (B, T, 2) float, y (B,) float
    adding_problem_baseline_mse()                          # 1/6
    batches = adding_problem_batches(num_batches, batch_size, length, seed=0)  # list of (x, y)
    model = RecurrentRegressor(nn.LSTM(2, 32, batch_first=True))           # x (B, T, 2) -> y_hat (B,)
    adding_problem_mse(model, x, y)                                        # test MSE, a float
"""
from __future__ import annotations

import torch
from torch import nn

from ..validate import InputError, check_batch_first, check_number, check_positive, check_tensor, check_type

__all__ = ["adding_problem", "adding_problem_baseline_mse", "adding_problem_batches",
           "RecurrentRegressor", "adding_problem_mse"]


def adding_problem_baseline_mse() -> float:
    r"""MSE of always predicting 1.0 (the target's mean): Var(u_a + u_b) = 2/12 = 1/6."""
    return 1.0 / 6.0


def adding_problem(
    batch_size: int,
    length: int,
    generator: torch.Generator | None = None,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""One batch of the adding problem.

    Returns ``x`` of shape ``(B, T, 2)`` (channel 0 the values, channel 1 the two markers)
    and ``y`` of shape ``(B,)``, the sum of the two marked values. ``generator`` (a CPU
    ``torch.Generator``) makes the batch reproducible; ``None`` uses torch's global RNG.
    """
    check_positive("batch_size", batch_size, integer=True)
    check_number("length", length, low=2, integer=True, what="an int >= 2 (one marker in each half)")
    check_type("dtype", dtype, torch.dtype)
    if not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point dtype, got {dtype}")
    if generator is not None:
        check_type("generator", generator, torch.Generator)
    half = length // 2
    # Draw on the CPU with the (CPU) generator, so a seed gives the same data on every device.
    values = torch.rand(batch_size, length, generator=generator, dtype=torch.float64)
    first = torch.randint(0, half, (batch_size,), generator=generator)             # a in [0, T//2)
    second = torch.randint(half, length, (batch_size,), generator=generator)       # b in [T//2, T)
    markers = torch.zeros(batch_size, length, dtype=torch.float64)
    rows = torch.arange(batch_size)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    x = torch.stack([values, markers], dim=-1)                                     # (B, T, 2)
    y = (values * markers).sum(dim=1)                                              # (B,) = u_a + u_b
    return x.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def adding_problem_batches(
    num_batches: int,
    batch_size: int,
    length: int,
    seed: int = 0,
    *,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> list[tuple[torch.Tensor, torch.Tensor]]:
    r"""``num_batches`` fresh batches ``(x, y)`` from one seeded generator (a training set for
    :func:`nlpbook.train`, or a fixed test set with a different seed)."""
    check_positive("num_batches", num_batches, integer=True)
    check_number("seed", seed, integer=True)
    generator = torch.Generator().manual_seed(seed)
    return [adding_problem(batch_size, length, generator, dtype=dtype, device=device)
            for _ in range(num_batches)]


class RecurrentRegressor(nn.Module):
    r"""A recurrent layer read out by a linear map at the last step: $\hat y = w^\top h_T + b$.

    ``recurrent`` is any batch-first module with ``nn.RNN``'s calling convention and a
    ``hidden_size`` (``nn.RNN``, ``nn.GRU``, ``nn.LSTM``, :class:`nlpbook.rnn.rnn.RNN`, ...).
    ``forward(x (B, T, D)) -> y_hat (B,)``.
    """

    def __init__(self, recurrent: nn.Module):
        super().__init__()
        check_batch_first("recurrent", recurrent)
        if not isinstance(getattr(recurrent, "hidden_size", None), int):
            raise InputError(f"recurrent ({type(recurrent).__name__}) has no hidden_size: it must be a recurrent "
                             "layer with nn.RNN's calling convention")
        self.recurrent = recurrent
        self.readout = nn.Linear(recurrent.hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        dims = {"D": (self.recurrent.input_size, "recurrent.input_size")} if hasattr(self.recurrent, "input_size") else {}
        check_tensor("x", x, ("B", "T", "D"), dims=dims, like=("the model's weights", self.readout.weight))
        outputs, _ = self.recurrent(x)                    # (B, T, H)
        return self.readout(outputs[:, -1]).squeeze(-1)   # (B,)


def adding_problem_mse(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int = 1000) -> float:
    """Mean squared error of ``model(x)`` against ``y`` (in eval mode, chunked to bound memory)."""
    check_type("model", model, nn.Module)
    dims = {}
    check_tensor("x", x, ("B", "T", "D"), dims=dims, dtype="float")
    check_tensor("y", y, ("B",), dims=dims, dtype="float")     # (B,), not (B, 1): that would broadcast
    check_positive("batch_size", batch_size, integer=True)
    was_training = model.training
    model.eval()
    total = 0.0
    with torch.no_grad():                                 # evaluation: no graph
        for start in range(0, x.shape[0], batch_size):
            prediction = model(x[start:start + batch_size])
            total += ((prediction - y[start:start + batch_size]) ** 2).sum().item()
    model.train(was_training)
    return total / x.shape[0]

"""Forward + backward time of nlpbook's LSTM and GRU layers against ``nn.LSTM`` / ``nn.GRU``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/rnn.py                 # default sizes, about a minute on 2 CPU cores
    .venv/bin/python benchmarks/rnn.py --quick         # one small size, a few seconds
    .venv/bin/python benchmarks/rnn.py --device cuda --repeats 30
    .venv/bin/python benchmarks/rnn.py --sizes 32x64x128 64x128x256 --threads 2

For each (batch B, length T, hidden H) with input size I = H, one training step's
forward + backward (``output.sum().backward()``) is timed for the built-in layer and for
nlpbook's explicit (gate by gate, step by step) and fast (fused input projection, one
recurrent matmul per step) paths, all from the same weights. Each time is the median of
``--repeats`` runs after ``--warmup`` untimed runs; the table prints milliseconds and the
ratio ours / built-in. Target: the fast path within 1.5x of the built-in layer.
``max|dy|`` is the largest difference between the fast path's output and the built-in one's
on the same input and weights (float32), the tolerance a parity check on that device needs.

On CUDA (the default device when there is one) the built-in layers are cuDNN's fused kernels,
so the ratio is ours against cuDNN; each time is bracketed by ``torch.cuda.synchronize()``,
and the header names the GPU and the cuDNN version. cuDNN's float32 results differ from a
step-by-step float32 computation by more than the CPU's do (``max|dy|``): compare in float64,
or use the tolerance this column shows.

Notes. On the CPU, ``nn.LSTM`` dispatches to oneDNN's fused RNN kernel (one call for the
whole sequence, forward and backward), while ``nn.GRU`` runs ATen's per-step loop; our
layers run one small kernel per operation per time step, so their cost at small sizes is
per-kernel overhead, not arithmetic. Timings on a machine shared with other work are noisy:
rerun on a quiet machine before quoting them.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nlpbook.rnn.gru import GRU  # noqa: E402
from nlpbook.rnn.lstm import LSTM  # noqa: E402

DEFAULT_SIZES = ["32x64x128", "64x128x256", "16x256x64"]


def time_step(module: nn.Module, x: torch.Tensor, warmup: int, repeats: int) -> float:
    """Median seconds of one forward + backward pass (warm-up runs excluded)."""
    def once():
        output, _ = module(x)
        output.sum().backward()
        module.zero_grad(set_to_none=True)

    for _ in range(warmup):
        once()
    times = []
    for _ in range(repeats):
        if x.is_cuda:
            torch.cuda.synchronize()
        start = time.perf_counter()
        once()
        if x.is_cuda:
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def device_description(device: torch.device) -> str:
    """The device, and on CUDA the GPU's name and the cuDNN version the built-in layers use."""
    if device.type != "cuda":
        return f"device {device}"
    cudnn = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    return (f"device {device} ({torch.cuda.get_device_name(device)}), "
            f"built-in = {'cuDNN ' + str(cudnn) if cudnn and torch.backends.cudnn.enabled else 'ATen (no cuDNN)'}")


def max_output_difference(ours: nn.Module, builtin: nn.Module, x: torch.Tensor) -> float:
    """max |y_ours - y_builtin| on ``x``: the tolerance a parity check on this device needs."""
    with torch.no_grad():
        return (ours(x)[0] - builtin(x)[0]).abs().max().item()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=DEFAULT_SIZES, help="BxTxH, e.g. 32x64x128")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="one small size, 3 repeats")
    parser.add_argument("--no-explicit", action="store_true", help="skip the (slow) explicit path")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.repeats = ["16x32x64"], 3
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {device_description(device)}, threads {torch.get_num_threads()}, "
          f"median of {args.repeats} (after {args.warmup} warm-up) forward+backward passes")
    header = (f"{'layer':5s} {'B':>4s} {'T':>5s} {'H':>5s} {'built-in ms':>12s} {'fast ms':>9s} {'fast/bi':>8s} "
              f"{'max|dy|':>8s}")
    header += "" if args.no_explicit else f" {'explicit ms':>12s} {'expl/bi':>8s}"
    print(header)
    for size in args.sizes:
        B, T, H = (int(v) for v in size.lower().split("x"))
        x = torch.randn(B, T, H, device=device)
        for name, builtin_cls, ours_cls in (("LSTM", nn.LSTM, LSTM), ("GRU", nn.GRU, GRU)):
            builtin = builtin_cls(H, H, batch_first=True).to(device)
            fast = ours_cls(H, H, fast=True).to(device)
            fast.load_state_dict(builtin.state_dict())
            t_builtin = time_step(builtin, x, args.warmup, args.repeats)
            t_fast = time_step(fast, x, args.warmup, args.repeats)
            line = (f"{name:5s} {B:4d} {T:5d} {H:5d} {1000 * t_builtin:12.2f} {1000 * t_fast:9.2f} "
                    f"{t_fast / t_builtin:8.2f} {max_output_difference(fast, builtin, x):8.1e}")
            if not args.no_explicit:
                explicit = ours_cls(H, H, fast=False).to(device)
                explicit.load_state_dict(builtin.state_dict())
                t_explicit = time_step(explicit, x, max(1, args.warmup // 2), max(3, args.repeats // 2))
                line += f" {1000 * t_explicit:12.2f} {t_explicit / t_builtin:8.2f}"
            print(line, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Forward + backward time of nlpbook's LSTM and GRU layers against ``nn.LSTM`` / ``nn.GRU``.

Usage (from the repository root)::

    .venv/bin/python benchmarks/rnn.py                 # default sizes, 1 and 2 threads, a few minutes on 2 CPU cores
    .venv/bin/python benchmarks/rnn.py --quick         # one small size, a few seconds
    .venv/bin/python benchmarks/rnn.py --device cuda --rounds 30
    .venv/bin/python benchmarks/rnn.py --sizes 32x64x128 64x128x256 --threads 2 --explicit

For each (batch B, length T, hidden H) with input size I = H and each thread count, one
training step's forward + backward (``output.sum().backward()``) is timed for the built-in layer
and for nlpbook's fast path (fused input projection, one recurrent matmul per step, a
hand-written backward, the per-step loops in C++ when ``nlpbook.kernels`` built them), all from
the same weights, taking turns for ``--rounds`` rounds (``nlpbook.timing.measure_interleaved``):
the ratio ours / built-in is the median of the per-round ratios, with their range. The last
lines give the worst ratio of each layer against issue 13's targets (LSTM <= 1.5x, GRU <= 1.15x).
``max|dy|`` is the largest difference between the fast path's output and the built-in one's
on the same input and weights (float32), the tolerance a parity check on that device needs.

On CUDA (the default device when there is one) the built-in layers are cuDNN's fused kernels,
so the ratio is ours against cuDNN; each time is bracketed by ``torch.cuda.synchronize()``,
and the header names the GPU and the cuDNN version. cuDNN's float32 results differ from a
step-by-step float32 computation by more than the CPU's do (``max|dy|``): compare in float64,
or use the tolerance this column shows.

Notes. On the CPU, ``nn.LSTM`` dispatches to oneDNN's fused RNN kernel (one call for the
whole sequence, forward and backward), while ``nn.GRU`` runs ATen's per-step loop. Without the
C++ loops (no compiler, or ``NLPBOOK_KERNELS=0``) our layers run several small kernels per time
step from Python, and at small sizes that per-kernel overhead, not arithmetic, sets their time.
Timings on a machine shared with other work are noisy: rerun on a quiet machine before quoting them.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nlpbook import kernels  # noqa: E402
from nlpbook.rnn import gru_compiled, lstm_compiled  # noqa: E402
from nlpbook.rnn.gru import GRU  # noqa: E402
from nlpbook.rnn.lstm import LSTM  # noqa: E402
from nlpbook.timing import measure_interleaved, paired_ratio  # noqa: E402

DEFAULT_SIZES = ["32x64x128", "64x128x256", "16x256x64"]
TARGETS = {"LSTM": 1.5, "GRU": 1.15}     # issue 13: fast / built-in at every size and thread count


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
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds per size")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="one small size, 3 rounds")
    parser.add_argument("--explicit", action="store_true", help="also time the (slow) explicit path")
    args = parser.parse_args(argv)
    if args.quick:
        args.sizes, args.rounds = ["16x32x64"], 3
    device = torch.device(args.device)
    threads = args.threads if device.type == "cpu" else [torch.get_num_threads()]
    built = ({"LSTM": kernels.load(lstm_compiled.KERNEL) is not None, "GRU": gru_compiled.load() is not None}
             if device.type == "cpu" else {})
    print(f"torch {torch.__version__}, {device_description(device)}; C++ step loops: "
          + (", ".join(f"{k} {'built' if v else 'NOT built (Python loops)'}" for k, v in built.items()) or "n/a")
          + f"; {args.rounds} interleaved rounds of forward+backward per size (after {args.warmup} warm-up)")
    print(f"{'layer':5s} {'thr':>3s} {'B':>4s} {'T':>5s} {'H':>5s} {'built-in ms':>12s} {'fast ms':>9s} "
          f"{'fast/bi (range)':>20s} {'max|dy|':>8s}" + (f" {'expl/bi':>8s}" if args.explicit else ""))
    worst = {}
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        for size in args.sizes:
            B, T, H = (int(v) for v in size.lower().split("x"))
            torch.manual_seed(0)
            x = torch.randn(B, T, H, device=device)
            for name, builtin_cls, ours_cls in (("LSTM", nn.LSTM, LSTM), ("GRU", nn.GRU, GRU)):
                builtin = builtin_cls(H, H, batch_first=True).to(device)
                fast = ours_cls(H, H, fast=True).to(device)
                fast.load_state_dict(builtin.state_dict())
                candidates = {"built-in": step(builtin, x), "fast": step(fast, x)}
                if args.explicit:
                    explicit = ours_cls(H, H, fast=False).to(device)
                    explicit.load_state_dict(builtin.state_dict())
                    candidates["explicit"] = step(explicit, x)
                times = measure_interleaved(candidates, rounds=args.rounds, warmup=args.warmup, device=device)
                ratio = paired_ratio(times["fast"], times["built-in"])
                key = (name, n_threads, size)
                worst[name] = max(worst.get(name, (0, None)), (ratio.median, key))
                line = (f"{name:5s} {n_threads:3d} {B:4d} {T:5d} {H:5d} {1000 * times['built-in'].median:12.2f} "
                        f"{1000 * times['fast'].median:9.2f} {ratio.median:8.2f} ({ratio.low:.2f}-{ratio.high:.2f})"
                        f" {max_output_difference(fast, builtin, x):8.1e}")
                if args.explicit:
                    line += f" {paired_ratio(times['explicit'], times['built-in']).median:8.2f}"
                print(line, flush=True)
    for name, (value, (_, n_threads, size)) in worst.items():
        target = TARGETS[name]
        print(f"worst {name}: fast / built-in = {value:.2f}x at {size}, {n_threads} thread(s) "
              f"(target <= {target}x: {'met' if value <= target else 'NOT met'})")
    return 0


def step(module: nn.Module, x: torch.Tensor):
    """One forward + backward pass of ``module`` on ``x`` (gradients dropped after each)."""
    def once():
        output, _ = module(x)
        output.sum().backward()
        module.zero_grad(set_to_none=True)
    return once


if __name__ == "__main__":
    raise SystemExit(main())

"""Speed of nlpbook's Transformer pieces against PyTorch's, measured as ratios in one run.

Usage (from the repository root)::

    .venv/bin/python benchmarks/attention.py                  # the issue's sizes, about 10 minutes on 2 busy CPU cores
    .venv/bin/python benchmarks/attention.py --quick          # small sizes, seconds
    .venv/bin/python benchmarks/attention.py --device cuda --repeats 20

Three comparisons, each on the same weights and inputs:

1. **Multi-head self-attention**, forward + backward (``out.sum().backward()``):
   ``nlpbook.transformer.multi_head.MultiHeadAttention`` (fast path: one in-projection matmul,
   ``F.scaled_dot_product_attention``, out-projection) against ``nn.MultiheadAttention(batch_first=True)``,
   both with ``need_weights=False`` (the weights would force both onto the explicit path), at
   (B, T, D, heads) = (32, 128, 256, 8) and (8, 512, 512, 8). Target: ours <= 1.1x.
2. **Encoder layer** (post-LN, ReLU, d_ff = 4D, dropout 0.1, training mode), forward + backward:
   ``nlpbook.transformer.layers.EncoderLayer`` against ``nn.TransformerEncoderLayer``. Target <= 1.2x.
3. **Greedy decoding** of 32 and 128 tokens with the key/value cache against recomputing the
   prefix at every step (same model, evaluation mode, the outputs asserted equal): the speed-up.

Each time is the median of ``--repeats`` samples (``nlpbook.timing.measure``, one call per
sample), ours and the reference alternating so that load on a shared machine hits both; the
ratio is ours / reference. On CUDA (the default device when present) the timer synchronises.
On a busy CPU, ``--threads 1`` gives steadier numbers: with two intra-op threads every small
op (decoding is hundreds of them per token) pays a thread hand-off that the load makes slow.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys

import torch
from torch import nn

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from nlpbook.timing import measure_interleaved  # noqa: E402
from nlpbook.transformer.layers import EncoderLayer  # noqa: E402
from nlpbook.transformer.model import Transformer  # noqa: E402
from nlpbook.transformer.multi_head import MultiHeadAttention  # noqa: E402

SIZES = [(32, 128, 256, 8), (8, 512, 512, 8)]
QUICK_SIZES = [(4, 32, 64, 4)]


def alternate(fns: dict, repeats: int, warmup: int, device) -> dict:
    """Median seconds per call of each function, sampled in turn (a, b, a, b, ...), and each one's spread."""
    timings = measure_interleaved(fns, rounds=repeats, warmup=warmup, device=device)
    return {name: t.median for name, t in timings.items()} | {f"{name} spread": t.spread for name, t in timings.items()}


def train_step(module, call):
    def step():
        out = call(module)
        out.sum().backward()
        module.zero_grad(set_to_none=True)
    return step


def bench_mha(B, T, D, h, args, device):
    ref = nn.MultiheadAttention(D, h, batch_first=True).to(device)
    ours = MultiHeadAttention(D, h).to(device)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(B, T, D, device=device)
    with torch.no_grad():
        diff = (ours(x, x, x, need_weights=False)[0] - ref(x, x, x, need_weights=False)[0]).abs().max().item()
    t = alternate({"ours": train_step(ours, lambda m: m(x, x, x, need_weights=False)[0]),
                   "torch": train_step(ref, lambda m: m(x, x, x, need_weights=False)[0])},
                  args.repeats, args.warmup, device)
    return t, diff


def bench_encoder(B, T, D, h, args, device):
    ref = nn.TransformerEncoderLayer(D, h, 4 * D, 0.1, batch_first=True).to(device)
    ours = EncoderLayer(D, h, 4 * D, 0.1).to(device)
    ours.load_state_dict(ref.state_dict())
    x = torch.randn(B, T, D, device=device)
    ref.eval(), ours.eval()
    with torch.no_grad():
        diff = (ours(x) - ref(x)).abs().max().item()
    ref.train(), ours.train()
    t = alternate({"ours": train_step(ours, lambda m: m(x)), "torch": train_step(ref, lambda m: m(x))},
                  args.repeats, args.warmup, device)
    return t, diff


def bench_decoding(n_tokens, args, device):
    torch.manual_seed(0)
    model = Transformer(1000, 1000, 256, 8, 2, 2, 1024, max_len=256).to(device).eval()
    src = torch.randint(0, 1000, (8, 32), device=device)
    ids_cached, logits_cached = model.greedy_decode(src, 1, n_tokens)
    ids_full, logits_full = model.greedy_decode(src, 1, n_tokens, use_cache=False)
    assert torch.equal(ids_cached, ids_full), "the cache changed the decoded tokens"
    diff = (logits_cached - logits_full).abs().max().item()
    reps = max(3, args.repeats // 2)
    t = alternate({"cached": lambda: model.greedy_decode(src, 1, n_tokens),
                   "uncached": lambda: model.greedy_decode(src, 1, n_tokens, use_cache=False)},
                  reps, 1, device)
    return t, diff


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--quick", action="store_true", help="small sizes, 3 repeats")
    parser.add_argument("--tokens", type=int, nargs="+", default=[32, 128])
    parser.add_argument("--parts", nargs="+", default=["mha", "encoder", "decoding"],
                        choices=["mha", "encoder", "decoding"])
    args = parser.parse_args(argv)
    sizes = QUICK_SIZES if args.quick else SIZES
    if args.quick:
        args.repeats, args.tokens = 3, [8, 16]
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.manual_seed(0)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or platform.machine()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"torch {torch.__version__}, device {device} ({name}), threads {torch.get_num_threads()}, "
          f"{os.cpu_count()} logical CPUs, load average {load:.2f}; median of {args.repeats} forward+backward")
    print(f"{'what':28s} {'B':>3s} {'T':>4s} {'D':>4s} {'h':>2s} {'ours ms':>9s} {'torch ms':>9s} "
          f"{'ratio':>6s} {'spread':>7s} {'max|dy|':>8s}")
    for B, T, D, h in sizes:
        for part, label, bench in (("mha", "multi-head attention", bench_mha),
                                   ("encoder", "encoder layer", bench_encoder)):
            if part not in args.parts:
                continue
            t, diff = bench(B, T, D, h, args, device)
            spread = max(t["ours spread"], t["torch spread"])
            print(f"{label:28s} {B:3d} {T:4d} {D:4d} {h:2d} {1e3 * t['ours']:9.2f} {1e3 * t['torch']:9.2f} "
                  f"{t['ours'] / t['torch']:6.2f} {spread:7.0%} {diff:8.1e}", flush=True)
    if "decoding" not in args.parts:
        return 0
    print(f"\n{'greedy decoding (B=8, S=32)':28s} {'tokens':>6s} {'cached ms':>10s} {'uncached ms':>12s} "
          f"{'speed-up':>9s} {'max|dlogit|':>11s}")
    for n in args.tokens:
        t, diff = bench_decoding(n, args, device)
        print(f"{'d=256, 2+2 layers, V=1000':28s} {n:6d} {1e3 * t['cached']:10.1f} {1e3 * t['uncached']:12.1f} "
              f"{t['uncached'] / t['cached']:8.2f}x {diff:11.1e}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Command line for BERT pretraining, one process or many: ``torchrun --nproc_per_node=N -m nlpbook.pretrain.run``.

Examples (from the repository root)::

    python -m nlpbook.pretrain.run --profile smoke                        # one process, seconds
    torchrun --nproc_per_node=2 -m nlpbook.pretrain.run --profile smoke   # two CPU processes (gloo)
    torchrun --nproc_per_node=8 -m nlpbook.pretrain.run --profile full    # one node, 8 GPUs (NCCL)
    torchrun --nnodes=2 --node_rank=0 --nproc_per_node=8 --rdzv_backend=c10d \\
        --rdzv_endpoint=HOST:29500 -m nlpbook.pretrain.run --profile full --out /shared/run1   # and node_rank=1

Run it again with the same ``--out`` to resume from the latest checkpoint (``--no-resume`` starts
over, and refuses a folder that already holds a checkpoint). On several nodes ``--out`` must be a
folder every node sees (rank 0 writes, every rank reads). ``--documents-json FILE`` trains on
documents already tokenized (``{"vocab_size": V, "specials": {...}, "documents": [[[ids]]]}``),
as the tests do; otherwise the corpus of :mod:`nlpbook.pretrain.corpus` with MiniLM's WordPiece.
"""
from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import sys

from .batching import SpecialIds
from .distributed import close_distributed, init_distributed
from .loop import PretrainConfig, evaluate, pretrain

__all__ = ["PROFILE_CONFIGS", "main"]

#: The profiles' runs: smoke (seconds on a CPU), book (minutes on 2 CPU cores), full (one or more GPUs).
PROFILE_CONFIGS = {
    "smoke": (PretrainConfig(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=256,
                             max_length=64, micro_batch=8, steps=20, warmup=2, lr=1e-3, log_every=5),
              {"sources": ["kjv"], "max_documents": 60}),
    "book": (PretrainConfig(hidden_size=256, num_hidden_layers=4, num_attention_heads=4, intermediate_size=1024,
                            max_length=128, micro_batch=32, steps=2000, warmup=200, lr=5e-4, log_every=50,
                            checkpoint_every=250),
             {"sources": ["kjv", "web", "lee"], "max_documents": None}),
    "full": (PretrainConfig(hidden_size=384, num_hidden_layers=6, num_attention_heads=12, intermediate_size=1536,
                            max_length=128, micro_batch=64, steps=20000, warmup=1000, lr=5e-4, log_every=100,
                            checkpoint_every=1000),
             {"sources": ["kjv", "web", "lee"], "max_documents": None}),
}
_OVERRIDES = {"steps": int, "micro_batch": int, "accumulation": int, "lr": float, "warmup": int, "max_length": int,
              "hidden_size": int, "num_hidden_layers": int, "num_attention_heads": int, "intermediate_size": int,
              "dropout": float, "seed": int, "checkpoint_every": int, "log_every": int, "weight_decay": float,
              "clip": float}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m nlpbook.pretrain.run", description="BERT pretraining (MLM + NSP).")
    p.add_argument("--profile", choices=tuple(PROFILE_CONFIGS), default="book")
    p.add_argument("--out", help="checkpoint folder (default: <data cache>/pretrain/<profile>)")
    p.add_argument("--no-resume", action="store_true", help="start over (refuses a folder holding a checkpoint)")
    p.add_argument("--max-steps", type=int, help="stop after this many steps in all (the schedule keeps --steps)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    p.add_argument("--documents-json", help="tokenized documents (see the module docstring)")
    p.add_argument("--sources", nargs="+", help="corpus sources (kjv web lee)")
    p.add_argument("--max-documents", type=int, help="documents per source")
    p.add_argument("--no-eval", action="store_true", help="skip the held-out evaluation at the end")
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--threads", type=int, help="torch CPU threads per process (default: $NLPBOOK_THREADS, else torch's)")
    for name, kind in _OVERRIDES.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, dest=name)
    return p


def _documents(args, data: dict):
    """``(train documents, held-out documents or None, specials, data fingerprint)``."""
    if args.documents_json:
        with open(args.documents_json, encoding="utf-8") as f:
            raw = json.load(f)
        specials = SpecialIds(raw["vocab_size"], **raw["specials"])
        docs = raw["documents"]
        digest = hashlib.sha256(json.dumps(raw, sort_keys=True).encode()).hexdigest()
        return docs, raw.get("held_out"), specials, digest
    from ..bert.wordpiece import WordPieceTokenizer
    from .corpus import pretraining_corpus, tokenize_documents
    corpus = pretraining_corpus(tuple(args.sources or data["sources"]),
                                max_documents=args.max_documents or data["max_documents"])
    tok = WordPieceTokenizer.from_minilm()
    train, held = tokenize_documents(corpus.train, tok), tokenize_documents(corpus.held_out, tok)
    digest = hashlib.sha256(json.dumps([d.key for d in corpus.train]).encode()).hexdigest()
    return train, held, SpecialIds.from_tokenizer(tok), digest


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    base, data = PROFILE_CONFIGS[args.profile]
    config = dataclasses.replace(base, **{k: getattr(args, k) for k in _OVERRIDES if getattr(args, k) is not None})
    threads = args.threads or int(os.environ.get("NLPBOOK_THREADS", "0") or 0)
    if threads:
        import torch
        torch.set_num_threads(threads)
    info = init_distributed(args.device)
    try:
        log = None if args.quiet else (lambda line: print(line, flush=True))
        out = args.out
        if out is None:
            from ..data import data_root
            out = os.path.join(data_root(), "pretrain", args.profile)
        if args.no_resume and os.path.isfile(os.path.join(out, "latest.json")):
            raise SystemExit(f"--no-resume: {out} already holds a checkpoint; choose another --out")
        train, held, specials, digest = _documents(args, data)
        result = pretrain(config, train, specials, checkpoint_dir=out, resume=not args.no_resume,
                          max_steps=args.max_steps, log=log, info=info, extra={"data": digest})
        if info.is_main and not args.no_eval and held and len(held) >= 2 and log is not None:
            scores = evaluate(result.model, held, specials, max_length=config.max_length)
            log("held-out: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                         for k, v in scores.items()))
    finally:
        close_distributed(info)
    return 0


if __name__ == "__main__":
    sys.exit(main())

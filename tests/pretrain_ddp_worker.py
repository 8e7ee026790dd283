"""Run by tests/test_pretrain_ddp.py under ``torchrun --nproc_per_node=2``: three runs of ``nlpbook.pretrain.run``.

argv: DOCUMENTS_JSON OUT_FULL OUT_RESUMED STOP_AT [run options...]. One gloo group for all three
runs (so the launch, the slow part, happens once): the whole run into OUT_FULL; then a run into
OUT_RESUMED stopped after STOP_AT steps, and a second one that resumes it to the end.
"""
import os
import sys

import torch.distributed as dist

from nlpbook.pretrain.run import main

if __name__ == "__main__":
    documents, full, resumed, stop_at, *options = sys.argv[1:]
    dist.init_process_group("gloo", init_method="env://")
    common = ["--documents-json", documents, "--device", "cpu", "--quiet", *options]
    main(common + ["--out", full])
    main(common + ["--out", resumed, "--max-steps", stop_at])
    main(common + ["--out", resumed])
    dist.barrier()
    if dist.get_rank() == 0:
        print(f"worker done: world size {dist.get_world_size()}, pid {os.getpid()}", flush=True)
    dist.destroy_process_group()

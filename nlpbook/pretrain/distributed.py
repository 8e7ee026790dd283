"""The process group for data-parallel pretraining: gloo on CPUs, NCCL on GPUs, set up from ``torchrun``'s environment.

``torchrun --nproc_per_node=N ...`` starts ``N`` processes and gives each ``RANK``, ``LOCAL_RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; :func:`init_distributed` reads them, joins
the group (``init_method="env://"``) and picks the process's device: ``cuda:<LOCAL_RANK>`` with
NCCL when CUDA is there (one GPU per process), else the CPU with gloo. Without ``torchrun``
(no ``WORLD_SIZE``) it is one process, rank 0 of 1, and no group is created.

:class:`torch.nn.parallel.DistributedDataParallel` then all-reduces (averages) the gradients
over the ``N`` processes during ``backward()``, so after each step every replica holds the same
parameters: $\\nabla = \\frac1N\\sum_r \\nabla_r$, with $\\nabla_r$ the gradient of rank $r$'s share.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..validate import InputError, check_choice, check_number, check_type

__all__ = ["DistInfo", "init_distributed", "close_distributed", "all_reduce_sum"]


@dataclass(frozen=True)
class DistInfo:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device
    backend: str | None       # "gloo", "nccl", or None for one process
    created: bool             # this call created the group (so close_distributed destroys it)

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device: str | torch.device = "auto") -> DistInfo:
    """Join ``torchrun``'s group (or use one that exists); ``device`` is ``"auto"``, ``"cpu"``, ``"cuda"``, or a
    ``torch.device`` (e.g. a notebook's ``run.device``) that a single process uses as it is."""
    if isinstance(device, torch.device):
        if "WORLD_SIZE" in os.environ and int(os.environ["WORLD_SIZE"]) > 1:
            raise InputError(f"device {device} is a torch.device, but under torchrun each process picks its own: "
                             "give 'auto', 'cpu' or 'cuda'")
        return DistInfo(0, 1, 0, device, None, False)
    check_choice("device", device, ("auto", "cpu", "cuda"))
    if device == "cuda" and not torch.cuda.is_available():
        raise InputError("device is 'cuda' but torch.cuda.is_available() is False")
    use_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = torch.device("cuda", local_rank % max(torch.cuda.device_count(), 1)) if use_cuda else torch.device("cpu")
    if use_cuda:
        torch.cuda.set_device(dev)
    if dist.is_available() and dist.is_initialized():
        return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, dev, dist.get_backend(), False)
    if "WORLD_SIZE" not in os.environ or int(os.environ["WORLD_SIZE"]) == 1 and "MASTER_ADDR" not in os.environ:
        return DistInfo(0, 1, 0, dev, None, False)
    backend = "nccl" if use_cuda else "gloo"
    kwargs = {"device_id": dev} if use_cuda else {}
    dist.init_process_group(backend, init_method="env://", **kwargs)
    return DistInfo(dist.get_rank(), dist.get_world_size(), local_rank, dev, backend, True)


def close_distributed(info: DistInfo) -> None:
    """Destroy the group if :func:`init_distributed` created it."""
    check_type("info", info, DistInfo)
    if info.created and dist.is_initialized():
        dist.destroy_process_group()


def all_reduce_sum(values: list[float], info: DistInfo) -> list[float]:
    """The sum over ranks of a few floats (logging); the values themselves with one process."""
    check_type("values", values, (list, tuple), "a list of numbers")
    for v in values:
        check_number("values", v, finite=False)
    check_type("info", info, DistInfo)
    if info.world_size == 1 or not dist.is_initialized():
        return list(values)
    t = torch.tensor(values, dtype=torch.float64, device=info.device)
    dist.all_reduce(t)
    return t.tolist()

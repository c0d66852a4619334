"""Several processes (GPUs or machines) scoring one dataset: launched by torchrun.

Under ``torchrun`` (``WORLD_SIZE`` > 1) each process scores a strided shard of the samples
(no padding, so every sample is scored exactly once), and the results are exchanged with
``all_gather_object`` and merged by sample index, giving every process the same result as a
single-process run. NCCL is used on CUDA, gloo on the CPU.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.distributed as dist


@dataclass(frozen=True)
class DistContext:
    """This process's place in an initialized process group."""

    # Global rank of this process (0 = main).
    rank: int
    # Number of processes.
    world_size: int
    # Rank on this machine (picks the GPU).
    local_rank: int
    # "nccl" or "gloo".
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def shard(self, indices: np.ndarray) -> np.ndarray:
        """This process's share of ``indices``: every ``world_size``-th one from ``rank``, no padding."""
        return indices[self.rank :: self.world_size]

    def broadcast_object(self, obj: Any, src: int = 0) -> Any:
        """``obj`` as the process ``src`` has it (pickled; only for results this program made)."""
        holder = [obj]
        dist.broadcast_object_list(holder, src=src)
        return holder[0]

    def all_gather_object(self, obj: Any) -> list[Any]:
        """Every process's ``obj``, in rank order."""
        gathered: list[Any] = [None] * self.world_size
        dist.all_gather_object(gathered, obj)
        return gathered

    def barrier(self) -> None:
        dist.barrier()


def launched_by_torchrun() -> bool:
    """True when the environment describes more than one process (torchrun's WORLD_SIZE)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def local_device() -> torch.device:
    """This process's device: the GPU of its local rank, else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")) % torch.cuda.device_count())
    return torch.device("cpu")


def init_distributed(backend: str | None = None) -> DistContext | None:
    """Join the process group described by torchrun's environment; None for a single process.

    Args:
        backend: "nccl" or "gloo"; default nccl when CUDA is available, else gloo.
    """
    if not launched_by_torchrun():
        return None
    if not dist.is_available():
        raise RuntimeError("this PyTorch build has no torch.distributed; run a single process")
    if not dist.is_initialized():
        backend = backend or ("nccl" if torch.cuda.is_available() else "gloo")
        if backend == "nccl":
            torch.cuda.set_device(local_device())
        dist.init_process_group(backend=backend)
    return current_context()


def current_context() -> DistContext | None:
    """The context of an initialized process group of more than one process, else None."""
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    return DistContext(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
        backend=str(dist.get_backend()),
    )


def shutdown() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()

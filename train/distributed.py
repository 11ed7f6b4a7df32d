"""Training under torchrun: which process this is, its device, and its part of every batch.

``torchrun --nproc-per-node N -m train …`` starts N processes with RANK, WORLD_SIZE and LOCAL_RANK set;
a plain ``python -m train`` is one process and none of this does anything. The processes draw every
batch with the same seeded generators, so they agree on it without talking, and each stylises its own
slice; DistributedDataParallel averages the gradients, which makes a step of N processes the step of
one process on the whole batch (the losses are means, and instance norm never mixes images). NCCL on
CUDA, gloo on the CPU. Process 0 alone writes logs, checkpoints, the painter and its card.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from nets.device import pick_device


@dataclass(frozen=True)
class Processes:
    """This process's place among the processes of one training run."""

    rank: int = 0
    world: int = 1

    @property
    def main(self) -> bool:
        """The process that writes files and logs."""
        return self.rank == 0

    def part(self, count: int) -> slice:
        """This process's slice of a batch of ``count`` (divisible by the number of processes)."""
        share = count // self.world
        return slice(self.rank * share, (self.rank + 1) * share)

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """``values`` averaged over the processes (what process 0 logs)."""
        if self.world == 1:
            return values
        total = values.clone()
        dist.all_reduce(total)  # a sum: gloo has no average
        return total / self.world

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` is true in any process: so that all stop at the same step."""
        if self.world == 1:
            return flag
        value = torch.tensor([float(flag)], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def describe(self, device: str) -> str:
        """What the run ran on, for the log and the model card: the device, and how many processes."""
        if self.world == 1:
            return device
        return f"{self.world} processes (torchrun, {dist.get_backend()}), each on {device}"

    def wait(self) -> None:
        """Until every process gets here (process 0 finishing the run, say)."""
        if self.world > 1:
            dist.barrier()


def join(device: str) -> tuple[Processes, torch.device]:
    """This process's place and device; under torchrun the process group is started (once)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return Processes(), pick_device(device)
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    chosen = pick_device(device)
    if chosen.type == "cuda":
        chosen = torch.device("cuda", local_rank)
        torch.cuda.set_device(chosen)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if chosen.type == "cuda" else "gloo")
    return Processes(rank, world), chosen

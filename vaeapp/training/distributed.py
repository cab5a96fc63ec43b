"""Training on several processes started by torchrun: which process this is, and what the
processes decide together.

torchrun (`python -m torch.distributed.run`) starts N copies of `vaeapp train`, on one machine
or several (its usual rendezvous flags), and tells each its place in environment variables
(RANK, WORLD_SIZE, LOCAL_RANK). Every process holds the same model and trains on its own rows of
each global batch; DistributedDataParallel averages their gradients; process 0 alone writes the
run directory. Outside torchrun (plain `vaeapp train`) the `World` is one process that
communicates nothing, so the trainer reads the same either way; under torchrun even a single
process joins the process group (a cheap check of the distributed path on one GPU).

What the processes must agree on goes through here: whether to stop, the sums of a step or of an
evaluation, and the outcome of work that process 0 does for all (its error ends every process
with the same message). When a process dies, the others' next collective fails; that failure
becomes a `ProcessLost` error, so the run ends as failed, with its last checkpoint kept.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from vaeapp.errors import ConfigError, ProcessLost, VaeappError

T = TypeVar("T")


@dataclass(frozen=True)
class World:
    """This process's place among the processes that train one run."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1  # the processes on this machine
    launched: bool = False  # by torchrun (or another launcher that sets RANK and WORLD_SIZE)

    @classmethod
    def from_env(cls) -> World:
        """The place torchrun's variables give; a World of one outside torchrun."""
        env = os.environ
        if "RANK" not in env or "WORLD_SIZE" not in env:
            return cls()
        return cls(
            rank=int(env["RANK"]),
            size=int(env["WORLD_SIZE"]),
            local_rank=int(env.get("LOCAL_RANK", "0")),
            local_size=int(env.get("LOCAL_WORLD_SIZE", env["WORLD_SIZE"])),
            launched=True,
        )

    @property
    def is_main(self) -> bool:
        """Process 0: the one that writes the run directory and reports progress."""
        return self.rank == 0

    @property
    def part(self) -> tuple[int, int]:
        """(this process's number, the number of processes): which share of a split is ours."""
        return self.rank, self.size

    def rows(self, tensor: torch.Tensor, dim: int = 0) -> torch.Tensor:
        """This process's share of a global batch along `dim`: rows rank, rank + size, ... (all
        of them for one process). Over the processes the shares make up the batch exactly."""
        return tensor[(slice(None),) * dim + (slice(self.rank, None, self.size),)]

    def device(self, device: torch.device) -> torch.device:
        """The device of this process: under torchrun each process on a machine has a GPU of its
        own, number LOCAL_RANK."""
        if device.type != "cuda" or not self.launched:
            return device
        if self.local_rank >= torch.cuda.device_count():
            raise ConfigError(
                f"process {self.rank} is number {self.local_rank} on its machine, which has "
                f"{torch.cuda.device_count()} GPUs: start one process per GPU"
            )
        return torch.device("cuda", self.local_rank)

    def wrap(self, module: nn.Module, device: torch.device) -> nn.Module:
        """`module` with its gradients averaged over the processes after each backward pass."""
        if not self.launched:
            return module
        with self.together():
            return DistributedDataParallel(
                module, device_ids=[device.index] if device.type == "cuda" else None
            )

    def any(self, flag: bool) -> bool:
        """Whether `flag` holds on any process: a stop asked of one stops all at the same step."""
        if not self.launched:
            return flag
        return bool(self.sum(torch.tensor([float(flag)])).item() > 0)

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """`values` added up over the processes, as float64 on the CPU (counts stay exact)."""
        values = values.to("cpu", torch.float64)
        if self.launched:
            with self.together():
                dist.all_reduce(values)
        return values

    def barrier(self) -> None:
        """Wait until every process is here (after process 0 has written, say)."""
        if self.launched:
            with self.together():
                dist.barrier()

    def on_main(self, work: Callable[[], T]) -> T:
        """`work` done by process 0 alone, its result handed to every process; its
        VaeappError too, so that a refusal ends every process with the same message rather
        than leaving the others waiting."""
        if not self.launched:
            return work()
        outcome: list[object] = [None]
        if self.is_main:
            try:
                outcome = [work()]
            except VaeappError as exc:
                outcome = [exc]
        with self.together():
            dist.broadcast_object_list(outcome, src=0)
        if isinstance(outcome[0], VaeappError):
            raise outcome[0]
        return outcome[0]  # type: ignore[return-value]

    def main_first(self, work: Callable[[], T]) -> T:
        """`work` done by process 0 first, then by the others once it succeeded there: a
        download or a cache is written once, not by every process at the same time."""
        done_by_main: list[T] = []
        self.on_main(lambda: done_by_main.append(work()))
        return done_by_main[0] if done_by_main else work()

    @contextmanager
    def together(self) -> Iterator[None]:
        """A block that communicates with the other processes: a failure because one of them
        has gone (gloo's closed connection, NCCL's DistBackendError) becomes `ProcessLost`."""
        try:
            yield
        except RuntimeError as exc:
            if not (isinstance(exc, dist.DistError) or "gloo" in str(exc)):
                raise
            raise ProcessLost(
                f"training process {self.rank} of {self.size} lost contact with the others "
                f"({_reason(exc)}): one of them has stopped, see its output; the last "
                "checkpoint is kept, resume to continue"
            ) from None


@contextmanager
def joined(world: World) -> Iterator[None]:
    """Join torchrun's process group for the block (nothing to join outside torchrun): gloo
    carries CPU tensors, NCCL CUDA ones where there are GPUs."""
    if not world.launched:
        yield
        return
    backend = "gloo"
    if torch.cuda.is_available():
        backend = "cpu:gloo,cuda:nccl"
        if world.local_rank < torch.cuda.device_count():
            torch.cuda.set_device(world.local_rank)
    dist.init_process_group(backend)
    try:
        yield
    finally:
        dist.destroy_process_group()


def torchrun_flags(world: World) -> str:
    """The layout of `world` in torchrun's flags (the rendezvous flags are the user's), for a
    message that says how to resume."""
    nodes = max(1, world.size // max(1, world.local_size))
    flags = f"--nproc_per_node {world.local_size}"
    return flags if nodes == 1 else f"--nnodes {nodes} {flags}"


def check_processes(processes: int, device: torch.device) -> None:
    """Refuse more local processes than this machine can give one GPU, or one CPU core, each."""
    if processes == 1:
        return
    if device.type == "cuda" and processes > torch.cuda.device_count():
        raise ConfigError(
            f"{processes} processes need a GPU each; this machine has {torch.cuda.device_count()}"
        )
    if device.type == "cpu" and processes > (os.cpu_count() or 1):
        raise ConfigError(
            f"{processes} processes on {os.cpu_count()} CPU cores would only slow training; "
            f"use at most {os.cpu_count()}"
        )
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"training on {device.type.upper()} runs in one process")


def _reason(exc: BaseException) -> str:
    """The gist of a communication error: its first sentence, without the source location."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if text.startswith("[") and "] " in text:
        text = text.split("] ", 1)[1]
    return text.split(". ")[0][:200]

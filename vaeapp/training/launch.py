"""How a training job's processes are started, and how many a run may continue on. No torch:
the Train page starts and resumes jobs in a server that never imports it (the job does)."""

from __future__ import annotations

import os
import sys

from vaeapp.errors import ConfigError


def launcher(processes: int) -> list[str]:
    """The command that starts `python -m ...` on `processes` local processes: python itself
    for one, torchrun (standalone: its own rendezvous on a free port) for more."""
    if processes == 1:
        return [sys.executable]
    return [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc_per_node={processes}",
    ]


def check_world_size(where: object, recorded: int, processes: int) -> None:
    """A run continues on as many processes as it began with: each process's batch and the
    position within an epoch mean nothing with another number."""
    if recorded == processes:
        return
    how = (
        "without torchrun"
        if recorded == 1
        else f"under torchrun with {recorded} processes in all (--nproc_per_node {recorded} "
        "on one machine)"
    )
    raise ConfigError(
        f"{where} was trained by {recorded} process{'es' if recorded > 1 else ''}, not "
        f"{processes}: resume it {how}"
    )


def threads_per_process(processes: int) -> int:
    """CPU threads for each of `processes` local processes, so that together they use every
    core once (torchrun's default, one thread each, leaves the rest idle)."""
    return max(1, (os.cpu_count() or 1) // processes)

"""Can this machine train this config? The one answer, asked by the CLI (a new run and a resumed
one), the Train form and the app's jobs before any job starts: the processes (one GPU or CPU core
each), the precision (what the device runs natively) and the memory a training step needs (which
depends on the processes sharing the device), in that order.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from vaeapp.config import RunConfig
from vaeapp.errors import ConfigError, VaeappError
from vaeapp.model.networks import VAE, build_model
from vaeapp.model.objective import elbo_terms
from vaeapp.training.distributed import check_processes
from vaeapp.training.precision import check_precision


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA, then MPS, then the CPU; an explicit device must be available."""
    cuda, mps = torch.cuda.is_available(), torch.backends.mps.is_available()
    if name == "auto":
        return torch.device("cuda" if cuda else "mps" if mps else "cpu")
    if (name == "cuda" and not cuda) or (name == "mps" and not mps):
        raise ConfigError(f"device {name!r} is not available on this machine; use --device auto")
    return torch.device(name)


def training_bytes(config: RunConfig) -> int:
    """Memory a training step needs, estimated before anything is allocated: the weights with
    their gradients and Adam's two moments, and twice the activations autograd keeps (once
    kept, once their gradients) for a batch of `batch_size` images x `mc_samples` draws.

    The activations are measured, not guessed: forward passes on the meta device (shapes only)
    with a hook that adds up what autograd saves, for batches of 1 and 2 images and 1 and 2
    draws; the differences give the cost of one more image and of one more draw.
    """
    model = build_model_on_meta(config)

    def saved_bytes(images: int, draws: int) -> int:
        total = 0

        def pack(tensor: torch.Tensor) -> torch.Tensor:
            nonlocal total
            total += tensor.numel() * tensor.element_size()
            return tensor

        with torch.device("meta"), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            elbo_terms(model, torch.zeros(images, *model.image_shape), draws).loss()
        return total

    one, two_images, two_draws = saved_bytes(1, 1), saved_bytes(2, 1), saved_bytes(2, 2)
    per_draw = (two_draws - two_images) // 2
    per_image = two_images - one + per_draw * (config.train.mc_samples - 1)
    weights = 4 * 4 * sum(p.numel() for p in model.parameters())
    return weights + 2 * per_image * config.train.batch_size


def build_model_on_meta(config: RunConfig) -> VAE:
    """The model's shapes without its memory."""
    with torch.device("meta"):
        return build_model(config.model)


def check_memory(
    config: RunConfig, device: torch.device, processes_here: int | None = None
) -> None:
    """Refuse settings whose training could not fit in the device's memory, before any start.

    Each GPU holds one process; the CPU's memory is shared by every process on this machine:
    `processes_here`, by default all the run's processes (a job the app starts)."""
    sharing = 1 if device.type == "cuda" else processes_here or config.train.world_size
    needed, limit = sharing * training_bytes(config), memory_of(device)
    if limit is not None and needed > limit:
        processes = f", {sharing} processes" if sharing > 1 else ""
        raise ConfigError(
            f"these settings need about {needed / 2**30:.1f} GB for a training step (batch size "
            f"{config.train.batch_size} x {config.train.mc_samples} Monte-Carlo samples, "
            f"{config.model.arch} network{processes}), more than the {limit / 2**30:.1f} GB of "
            f"{device.type.upper()} memory here; lower the batch size, the samples or the "
            "processes"
        )


def memory_of(device: torch.device) -> int | None:
    """The device's total memory in bytes (None where it cannot be known)."""
    if device.type == "cuda":
        return torch.cuda.get_device_properties(device).total_memory
    if device.type == "cpu":
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return None


def machine_problem(
    config: RunConfig, device: torch.device | None = None, processes_here: int | None = None
) -> tuple[str, VaeappError] | None:
    """The first setting of a valid config this machine cannot train with (its field, as
    `RunConfig.problems` names it, and the error), or None. `device` defaults to the config's;
    `processes_here` (the processes sharing this machine) to all of the run's."""
    device = device or resolve_device(config.train.device)
    here = processes_here or config.train.world_size
    checks: tuple[tuple[str, Callable[[], None]], ...] = (
        ("train.world_size", lambda: check_processes(here, device)),
        ("train.precision", lambda: check_precision(config.train.precision, device)),
        ("train.batch_size", lambda: check_memory(config, device, here)),
    )
    for field, check in checks:
        try:
            check()
        except VaeappError as error:
            return field, error
    return None


def check_machine(
    config: RunConfig, device: torch.device | None = None, processes_here: int | None = None
) -> None:
    """Raise the first problem `machine_problem` finds."""
    problem = machine_problem(config, device, processes_here)
    if problem is not None:
        raise problem[1]

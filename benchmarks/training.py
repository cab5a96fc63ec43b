"""Training throughput: vaeapp's trainer against a plain PyTorch loop, and the hardware bound.

The plain loop is the one a tutorial writes (testkit/plain_loop.py, after pytorch/examples'
vae/main.py): a DataLoader over a TensorDataset with shuffling, the same architecture (the same
nn.Module classes), the same loss, Adam with PyTorch's defaults. Both run on the same images with
the same batch size; rounds alternate so that noise on a shared machine hits both alike, and
medians are reported.
"""

from __future__ import annotations

import statistics
import time

import torch
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.scratch import trained
from testkit.plain_loop import plain_training
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data.datasets import Dataset
from vaeapp.model.networks import build_model
from vaeapp.model.objective import elbo_terms

ARCHITECTURES = {
    "mlp": ModelConfig(arch="mlp", latent_dim=20, hidden=(512, 256)),
    "conv": ModelConfig(arch="conv", latent_dim=2),
}
BATCH_SIZE = 128


def plain_img_per_s(config: ModelConfig, images: torch.Tensor, epochs: int, seed: int) -> float:
    """The plain loop's images/s: median over its epochs after the first (warm-up)."""
    _, seconds = plain_training(config, images, epochs, BATCH_SIZE, seed)
    return statistics.median(len(images) / s for s in seconds[1:])


def vaeapp_img_per_s(config: ModelConfig, dataset: Dataset, epochs: int, seed: int) -> float:
    """vaeapp's Trainer, as its `epoch` events report it (the step loop only, as above): median
    over its epochs after the first."""
    run_config = RunConfig(
        model=config,
        train=TrainConfig(epochs=epochs, batch_size=BATCH_SIZE, seed=seed, device="cpu"),
        data_source=dataset.source,
    )
    with trained(run_config, dataset) as done:
        epochs = [e["img_per_s"] for e in done.run.read_metrics() if e["kind"] == "epoch"]
    return statistics.median(epochs[1:])


def training_figures(
    dataset: Dataset,
    rounds: int,
    epochs: int = 3,
    architectures: dict[str, ModelConfig] = ARCHITECTURES,
) -> dict[str, dict]:
    """Per architecture: both loops' images/s, medians over rounds that alternate which goes
    first, and the bound from FLOPs (`roofline_img_per_s`)."""
    matmul_rate = matmul_flop_per_s()
    figures: dict[str, dict] = {"matmul_gflop_per_s": matmul_rate / 1e9}
    for name, config in architectures.items():
        ours, plain = [], []
        for r in range(rounds):
            order = ("ours", "plain") if r % 2 == 0 else ("plain", "ours")
            for which in order:
                if which == "ours":
                    ours.append(vaeapp_img_per_s(config, dataset, epochs, seed=r))
                else:
                    plain.append(plain_img_per_s(config, dataset.train.images, epochs, seed=r))
        flops = training_flops_per_image(config)
        figures[name] = {
            "train_img_per_s": statistics.median(ours),
            "plain_img_per_s": statistics.median(plain),
            "train_speed_ratio": statistics.median(ours) / statistics.median(plain),
            "train_img_per_s_each": ours,
            "plain_img_per_s_each": plain,
            "train_flops_per_image": flops,
            "roofline_img_per_s": matmul_rate / flops,
        }
    return figures


def training_flops_per_image(config: ModelConfig) -> float:
    """FLOPs of one training step (forward and backward), per image, counted by PyTorch."""
    model = build_model(config)
    x = torch.rand(BATCH_SIZE, *config.image_shape)
    with FlopCounterMode(display=False) as counter:
        elbo_terms(model, x).loss().backward()
    return counter.get_total_flops() / BATCH_SIZE


def matmul_flop_per_s(size: int = 1024, seconds: float = 2.0) -> float:
    """This machine's float32 matrix-multiply rate: the roofline's compute ceiling."""
    a, b = torch.randn(size, size), torch.randn(size, size)
    a @ b
    rates = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        a @ b
        rates.append(2 * size**3 / (time.perf_counter() - start))
    return statistics.median(rates)

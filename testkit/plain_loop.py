"""The plain PyTorch training loop a tutorial writes (pytorch/examples' vae/main.py).

A DataLoader over a TensorDataset with shuffling, Adam with PyTorch's defaults, the model in
PyTorch's default memory layout, BCE with logits plus the analytic KL. vaeapp's trainer is
measured against it (benchmarks/training.py), and must optimise the same objective
(tests/test_training_speedups.py).
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset

from vaeapp.config import ModelConfig
from vaeapp.model.networks import VAE, build_model


def plain_loss(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """The tutorial's loss: BCE with logits summed over pixels plus the analytic KL, per image."""
    mu, logvar = model.encode(x)
    z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
    bce = F.binary_cross_entropy_with_logits(model.decode(z), x, reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return (bce + kld) / x.shape[0]


def plain_training(
    config: ModelConfig,
    images: torch.Tensor,
    epochs: int,
    batch_size: int,
    seed: int,
    binarize: bool = False,
) -> tuple[VAE, list[float]]:
    """Train a fresh `config` model on `images` the tutorial's way (with `binarize`, each batch
    drawn anew as 0s and 1s, as vaeapp does); the model, and the seconds of each epoch."""
    torch.manual_seed(seed)
    model = build_model(config).to(memory_format=torch.contiguous_format)  # PyTorch's default
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = DataLoader(TensorDataset(images), batch_size=batch_size, shuffle=True)
    model.train()
    seconds = []
    for _ in range(epochs):
        start = time.perf_counter()
        for (x,) in loader:
            if binarize:
                x = torch.bernoulli(x)
            optimizer.zero_grad()
            loss = plain_loss(model, x)
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return model.eval(), seconds

"""Model quality, not speed: the test set's importance-weighted bound on log p(x) of binarised
data, in nats per image (higher is better), which compares with the literature.

- vs_plain: at equal data (the offline sample), epochs, architecture and batch size, vaeapp's
  trainer against the plain PyTorch loop of the speed benchmark (testkit/plain_loop.py), both
  on dynamically binarised batches; both scored by the same `evaluate` on the test set
  binarised once with the same seed. Rounds with other seeds give the spread.
- fashion: one full-size figure to track over time: binarised Fashion-MNIST (Debian's IDX
  files), MLP 512-256, 50 latent dimensions, trained by vaeapp's CLI core.

    python -m benchmarks.quality [--epochs 20] [--rounds 3] [--fashion-epochs 10] [-k 1000]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

import torch

from benchmarks.scratch import trained
from testkit.plain_loop import plain_training
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.data.datasets import Dataset
from vaeapp.data.sources import load_dataset
from vaeapp.model.evaluate import evaluate, evaluation_images

FASHION = Path("/usr/share/datasets/fashion-mnist")
MLP = ModelConfig(arch="mlp", latent_dim=20, hidden=(512, 256))
BATCH_SIZE = 128


def vaeapp_model(config: RunConfig, dataset: Dataset) -> tuple[torch.nn.Module, float]:
    with trained(config, dataset) as done:
        return done.run.load_model()[0], done.wall_s


def scored(model: torch.nn.Module, config: RunConfig, dataset: Dataset, k: int) -> dict:
    images = evaluation_images(dataset.test.images, True, config.train.seed)
    result = evaluate(model, config, images, k=k, seed=config.train.seed)
    return {"elbo": result.elbo, "iwae": result.log_likelihood, "k": k, "n": result.n}


def vs_plain(dataset: Dataset, epochs: int, rounds: int, k: int) -> dict:
    ours, plain = [], []
    for seed in range(rounds):
        config = RunConfig(
            MLP, TrainConfig(data="sample", epochs=epochs, batch_size=BATCH_SIZE, seed=seed)
        )
        model, _ = vaeapp_model(config, dataset)
        ours.append(scored(model, config, dataset, k))
        baseline, _ = plain_training(MLP, dataset.train.images, epochs, BATCH_SIZE, seed, True)
        plain.append(scored(baseline, config, dataset, k))
    return {
        "setting": f"sample, mlp 512-256, 20 latents, {epochs} epochs, batch {BATCH_SIZE}",
        "vaeapp_iwae": statistics.median(r["iwae"] for r in ours),
        "plain_iwae": statistics.median(r["iwae"] for r in plain),
        "vaeapp_elbo": statistics.median(r["elbo"] for r in ours),
        "plain_elbo": statistics.median(r["elbo"] for r in plain),
        "vaeapp_each": ours,
        "plain_each": plain,
    }


def fashion(epochs: int, k: int) -> dict:
    dataset = load_dataset(f"idx:{FASHION}")
    model_config = ModelConfig(arch="mlp", latent_dim=50, hidden=(512, 256))
    config = RunConfig(model_config, TrainConfig(data=f"idx:{FASHION}", epochs=epochs, seed=0))
    model, seconds = vaeapp_model(config, dataset)
    return {
        "setting": f"binarised Fashion-MNIST, mlp 512-256, 50 latents, {epochs} epochs",
        "train_s": seconds,
        **scored(model, config, dataset, k),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--fashion-epochs", type=int, default=10)
    parser.add_argument("-k", type=int, default=1000, help="importance samples per test image")
    args = parser.parse_args()
    result = {"vs_plain": vs_plain(load_dataset("sample"), args.epochs, args.rounds, args.k)}
    if FASHION.is_dir():
        result["fashion"] = fashion(args.fashion_epochs, min(args.k, 100))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

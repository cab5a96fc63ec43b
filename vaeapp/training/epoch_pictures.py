"""Pictures of a run after each epoch: test reconstructions and decoded prior samples.

The trainer saves them as small PNG grids in the run directory, so the Train page shows how the
model is doing by reading two files, without loading the model. The test images and the prior
draws are the same at every epoch (fixed by the seed), so successive pictures are comparable.
"""

from __future__ import annotations

import torch

from vaeapp.data.images import grid, png_bytes
from vaeapp.latent.codes import decode, prior_codes, reconstruct
from vaeapp.model.networks import VAE
from vaeapp.store.runs import Run

N_RECONSTRUCTIONS = 8
N_SAMPLES = 32
ROW = 8


def write_epoch_pictures(run: Run, model: VAE, test_images: torch.Tensor, seed: int) -> None:
    """Save both grids into the run directory: originals above their reconstructions, samples."""
    originals = test_images[:N_RECONSTRUCTIONS]
    was_training = model.training
    model.eval()
    pairs = torch.cat([originals.cpu(), reconstruct(model, originals)])
    samples = decode(model, prior_codes(N_SAMPLES, model.latent_dim, seed))
    model.train(was_training)
    run.write_pictures(png_bytes(grid(pairs, ROW)), png_bytes(grid(samples, ROW)))

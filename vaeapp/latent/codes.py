"""The latent space as the app uses it: a data set's codes, decoding codes into images, prior
draws, reconstructions and manifold grids.

Everything here works on plain tensors; the 2-D views of the codes (and their inverses) are in
`views`.
"""

from __future__ import annotations

import numpy as np
import torch

from vaeapp.errors import ConfigError
from vaeapp.latent.views import Projection
from vaeapp.model.networks import VAE

MAX_GRID_SIDE = 40


@torch.no_grad()
def encode_dataset(
    model: VAE, images: torch.Tensor, batch_size: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and log-variance of q(z|x) for every image, each [N, D], in batches to bound memory."""
    parts = [model.encode(batch.to(model.device)) for batch in images.split(batch_size)]
    return torch.cat([mu for mu, _ in parts]).cpu(), torch.cat([lv for _, lv in parts]).cpu()


@torch.no_grad()
def decode(model: VAE, z: torch.Tensor) -> torch.Tensor:
    """The image to show for each code [M, D]: the decoder's mean, [M, 1, 28, 28] in [0, 1]."""
    return model.decode_mean(z.to(model.device)).cpu()


def reconstruct(model: VAE, images: torch.Tensor) -> torch.Tensor:
    """Each image's reconstruction: the decoder's mean at the mean of q(z|x)."""
    means, _ = encode_dataset(model, images)
    return decode(model, means)


def prior_codes(n: int, dim: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
    """`n` draws z ~ N(0, temperature^2 I) of shape [n, dim] that depend on the seed only.

    A temperature below 1 draws nearer the prior's centre: typical, cleaner images.
    """
    return temperature * torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def grid_points(
    x_range: tuple[float, float], y_range: tuple[float, float], side: int
) -> np.ndarray:
    """A side x side lattice over the box, row by row from the top left: [side * side, 2].

    Each point is the centre of its cell, so tiling the decoded images fills the box exactly.
    """
    xs = _cell_centres(*x_range, side)
    ys = _cell_centres(*y_range, side)[::-1]
    grid_y, grid_x = np.meshgrid(ys, xs, indexing="ij")
    return np.stack([grid_x.ravel(), grid_y.ravel()], axis=1)


def _cell_centres(low: float, high: float, side: int) -> np.ndarray:
    step = (high - low) / side
    return low + step * (np.arange(side) + 0.5)


def manifold_grid(
    model: VAE,
    projection: Projection,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    side: int,
) -> torch.Tensor:
    """Decoded images tiled over the view (Kingma & Welling's figure 4): [side * side, 1, 28, 28],
    row by row from the top left of the box."""
    if not 1 <= side <= MAX_GRID_SIDE:
        raise ConfigError(f"grid size must be from 1 to {MAX_GRID_SIDE}, got {side}")
    return decode(model, projection.inverse(grid_points(x_range, y_range, side)))


def padded_range(values: np.ndarray, margin: float = 0.05) -> tuple[float, float]:
    """The span of `values` widened by `margin` of itself on each side (never empty)."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = margin * (high - low) or 1.0
    return low - pad, high + pad


def box_around(points: np.ndarray, at_least: float) -> tuple[tuple[float, float], ...]:
    """The padded x and y ranges of 2-D `points`, each widened to cover [-at_least, at_least]."""
    ranges = (padded_range(points[:, 0]), padded_range(points[:, 1]))
    return tuple((min(low, -at_least), max(high, at_least)) for low, high in ranges)

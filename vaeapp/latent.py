"""The latent space as the app shows it: a data set's codes, 2-D views of them and back, grids.

A view (`Projection`) maps latent codes [N, D] to points on the map [N, 2] and map points back to
full latent codes, so a click anywhere decodes to an image: exactly for two latent axes and for
PCA, and for UMAP through barycentric interpolation of the codes over a Delaunay triangulation of
the embedded points (umap-learn's own inverse_transform takes seconds per call).

scikit-learn and scipy are imported where a PCA or embedding view is built: together they take
seconds to import, and the app's first page (a 2-D model) needs neither.
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from vaeapp.errors import ConfigError
from vaeapp.model import VAE

MAX_GRID_SIDE = 40


@torch.no_grad()
def encode_dataset(
    model: VAE, images: torch.Tensor, batch_size: int = 1000
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and log-variance of q(z|x) for every image, each [N, D], in batches to bound memory."""
    device = next(model.parameters()).device
    parts = [model.encode(batch.to(device)) for batch in images.split(batch_size)]
    return torch.cat([mu for mu, _ in parts]).cpu(), torch.cat([lv for _, lv in parts]).cpu()


class Projection(Protocol):
    """A 2-D view of the latent space and its way back."""

    def project(self, z: torch.Tensor) -> np.ndarray:
        """Latent codes [N, D] -> map points [N, 2]."""
        ...

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        """Map points [M, 2] -> latent codes [M, D]."""
        ...

    def contains(self, points: np.ndarray) -> np.ndarray:
        """[M] booleans: False where the inverse is a guess outside the data's reach."""
        ...

    def outline(self) -> np.ndarray | None:
        """The closed polygon [K + 1, 2] within which `inverse` is trusted; None if everywhere."""
        ...


class AxesProjection:
    """Two latent dimensions as the map's axes; the others are held at `base` (the sliders).

    With a one-dimensional latent space, `y_dim` is None: the map is a line at y = 0.
    """

    def __init__(self, x_dim: int, y_dim: int | None, base: torch.Tensor) -> None:
        self.x_dim, self.y_dim = x_dim, y_dim
        self.base = base.detach().to(torch.float32).clone()

    def project(self, z: torch.Tensor) -> np.ndarray:
        x = z[:, self.x_dim]
        y = z[:, self.y_dim] if self.y_dim is not None else torch.zeros_like(x)
        return torch.stack([x, y], dim=1).numpy(force=True).astype(np.float64)

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        points = torch.as_tensor(np.asarray(points), dtype=torch.float32).reshape(-1, 2)
        z = self.base.expand(len(points), -1).clone()
        z[:, self.x_dim] = points[:, 0]
        if self.y_dim is not None:
            z[:, self.y_dim] = points[:, 1]
        return z

    def contains(self, points: np.ndarray) -> np.ndarray:
        return np.ones(len(points), dtype=bool)

    def outline(self) -> None:
        return None


class PCAProjection:
    """The plane of the codes' two main directions of variance (scikit-learn's PCA).

    A map point goes back to the code on that plane: `project(inverse(p)) == p` exactly.
    """

    def __init__(self, codes: torch.Tensor) -> None:
        from sklearn.decomposition import PCA

        if codes.shape[1] < 2 or len(codes) < 2:
            raise ConfigError("a PCA view needs at least two latent dimensions and two codes")
        self.pca = PCA(n_components=2).fit(codes.numpy(force=True).astype(np.float64))

    def project(self, z: torch.Tensor) -> np.ndarray:
        return self.pca.transform(z.numpy(force=True).astype(np.float64))

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        codes = self.pca.inverse_transform(np.asarray(points, dtype=np.float64).reshape(-1, 2))
        return torch.from_numpy(codes).to(torch.float32)

    def contains(self, points: np.ndarray) -> np.ndarray:
        return np.ones(len(points), dtype=bool)

    def outline(self) -> None:
        return None


class EmbeddingProjection:
    """A fixed 2-D embedding of known codes (UMAP's), made invertible by interpolation.

    Inside the embedding's convex hull a map point goes back to the barycentric mix of the codes
    at the corners of its Delaunay triangle; outside it, to the nearest embedded point's code.
    New codes are placed by distance-weighted averaging of their nearest known codes' positions,
    so a known code lands exactly on its own embedded point.
    """

    def __init__(self, codes: torch.Tensor, embedding: np.ndarray, neighbours: int = 10) -> None:
        from scipy.interpolate import LinearNDInterpolator, NearestNDInterpolator
        from scipy.spatial import ConvexHull, Delaunay
        from sklearn.neighbors import KNeighborsRegressor

        embedding = np.asarray(embedding, dtype=np.float64)
        codes_np = codes.numpy(force=True).astype(np.float64)
        if embedding.shape != (len(codes_np), 2) or len(codes_np) < 3:
            raise ConfigError("an embedding needs one 2-D point per code, and at least three")
        self.embedding = embedding
        self.triangulation = Delaunay(embedding)
        # Delaunay computes its barycentric transforms on first use (about a second for 10k
        # points): pay for it here, where the view is built once, not on the first click.
        self.triangulation.transform.setflags(write=False)
        self.hull = ConvexHull(embedding)
        self.inside = LinearNDInterpolator(self.triangulation, codes_np)
        self.nearest = NearestNDInterpolator(embedding, codes_np)
        self.placer = KNeighborsRegressor(
            n_neighbors=min(neighbours, len(codes_np)), weights="distance"
        ).fit(codes_np, embedding)

    def project(self, z: torch.Tensor) -> np.ndarray:
        return self.placer.predict(z.numpy(force=True).astype(np.float64))

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        codes = self.inside(points)
        outside = np.isnan(codes).any(axis=1)
        if outside.any():
            codes[outside] = self.nearest(points[outside])
        return torch.from_numpy(codes).to(torch.float32)

    def contains(self, points: np.ndarray) -> np.ndarray:
        return self.triangulation.find_simplex(np.asarray(points).reshape(-1, 2)) >= 0

    def outline(self) -> np.ndarray:
        corners = self.embedding[self.hull.vertices]
        return np.vstack([corners, corners[:1]])


def prior_code(dim: int, seed: int, temperature: float = 1.0) -> torch.Tensor:
    """One draw z ~ N(0, temperature^2 I) of shape [dim], fixed by the seed."""
    return temperature * torch.randn(dim, generator=torch.Generator().manual_seed(seed))


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


@torch.no_grad()
def decode(model: VAE, z: torch.Tensor) -> torch.Tensor:
    """The image to show for each code [M, D]: the decoder's mean, [M, 1, 28, 28] in [0, 1]."""
    return model.decode_mean(z.to(next(model.parameters()).device)).cpu()


def decode_points(model: VAE, projection: Projection, points: np.ndarray) -> torch.Tensor:
    """The image to show at each map point: [M, 1, 28, 28] in [0, 1]."""
    return decode(model, projection.inverse(points))


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
    return decode_points(model, projection, grid_points(x_range, y_range, side))


def padded_range(values: np.ndarray, margin: float = 0.05) -> tuple[float, float]:
    """The span of `values` widened by `margin` of itself on each side (never empty)."""
    low, high = float(np.min(values)), float(np.max(values))
    pad = margin * (high - low) or 1.0
    return low - pad, high + pad

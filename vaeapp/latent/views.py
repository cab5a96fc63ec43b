"""2-D views of the latent space, each with its way back (which one a page shows: `view_choice`).

A view (`Projection`) maps latent codes [N, D] to points on the map [N, 2] and map points back to
full latent codes, so a click anywhere decodes to an image: exactly for two latent axes and for
PCA, and for UMAP through barycentric interpolation of the codes over a Delaunay triangulation of
the embedded points (umap-learn's own inverse_transform takes seconds per call).

scikit-learn and scipy are imported where a PCA or embedding view is built: together they take
seconds to import, and the app's first page (a 2-D model) needs neither.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch

from vaeapp.errors import ConfigError
from vaeapp.latent.view_choice import (
    AXES,
    PCA,
    UMAP,
    ViewChoice,
    choose_view,
    principal_plane,
)


def default_view(codes: torch.Tensor) -> ShownView:
    """The view a page draws before any is asked for (`views_for`'s first), of `codes` [N, D]:
    the Explore page's first map, and the standalone page's only one."""
    dim = codes.shape[1]
    choice = choose_view(dim, None, None)
    axes = (0, 1 if dim > 1 else None)
    view = PCAProjection(codes) if choice.shown == PCA else AxesProjection(*axes, torch.zeros(dim))
    return ShownView(choice, view, axes, view.project(codes))


class Projection(Protocol):
    """A 2-D view of the latent space and its way back."""

    def project(self, z: torch.Tensor) -> np.ndarray:
        """Latent codes [N, D] -> map points [N, 2]."""
        ...

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        """Map points [M, 2] -> latent codes [M, D]."""
        ...

    def outline(self) -> np.ndarray | None:
        """The closed polygon [K + 1, 2] within which `inverse` is trusted; None if everywhere."""
        ...

    def covariances(self, variances: torch.Tensor) -> np.ndarray | None:
        """Diagonal posterior covariances [N, D] as seen on the map: [N, 3] (var_x, cov_xy,
        var_y), or None where the view is not linear and no ellipse is honest."""
        ...

    def describe_inverse(self) -> dict[str, Any]:
        """What `inverse` computes, as JSON values and numpy arrays, so that the browser's map
        computes it too (vaeapp/ui/map_component/frontend/inverse.js)."""
        ...


class _LinearView(ABC):
    """A view whose inverse holds everywhere on the map: no outline."""

    def outline(self) -> None:
        return None

    def covariances(self, variances: torch.Tensor) -> np.ndarray:
        """A diag(v) A^T for the view's linear map A [2, D]: the map of N(mu, diag v) is
        N(A mu + c, A diag(v) A^T)."""
        a = self.linear_map()
        v = np.asarray(variances.numpy(force=True), dtype=np.float64)
        return np.stack([v @ a[0] ** 2, v @ (a[0] * a[1]), v @ a[1] ** 2], axis=1)

    @abstractmethod
    def linear_map(self) -> np.ndarray:
        """A [2, D]: how a latent step moves on the map."""


class AxesProjection(_LinearView):
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

    def describe_inverse(self) -> dict[str, Any]:
        """The code is `base` with the map's x (and y) written into those dimensions."""
        return {
            "kind": "axes",
            "x_dim": self.x_dim,
            "y_dim": self.y_dim,
            "base": self.base.tolist(),
        }

    def linear_map(self) -> np.ndarray:
        a = np.zeros((2, len(self.base)))
        a[0, self.x_dim] = 1.0
        if self.y_dim is not None:
            a[1, self.y_dim] = 1.0
        return a

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        points = torch.as_tensor(np.asarray(points), dtype=torch.float32).reshape(-1, 2)
        z = self.base.expand(len(points), -1).clone()
        z[:, self.x_dim] = points[:, 0]
        if self.y_dim is not None:
            z[:, self.y_dim] = points[:, 1]
        return z


class PCAProjection(_LinearView):
    """The plane of the codes' two main directions of variance (scikit-learn's PCA).

    A map point goes back to the code on that plane: `project(inverse(p)) == p` exactly.
    """

    def __init__(self, codes: torch.Tensor) -> None:
        self.pca = principal_plane(codes.numpy(force=True))

    def project(self, z: torch.Tensor) -> np.ndarray:
        return self.pca.transform(z.numpy(force=True).astype(np.float64))

    def describe_inverse(self) -> dict[str, Any]:
        """The code is mean + x * components[0] + y * components[1] (the PCA is not whitened)."""
        return {
            "kind": "linear",
            "mean": self.pca.mean_.tolist(),
            "components": self.pca.components_.tolist(),
        }

    def linear_map(self) -> np.ndarray:
        return np.asarray(self.pca.components_, dtype=np.float64)

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        codes = self.pca.inverse_transform(np.asarray(points, dtype=np.float64).reshape(-1, 2))
        return torch.from_numpy(codes).to(torch.float32)


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
        self.codes = codes.detach().cpu()
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
        """The embedding itself for the codes it embeds (a page asks for them on every run,
        and placing 10k codes by their neighbours takes most of a second); others placed."""
        z = z.detach().cpu()
        if z.shape == self.codes.shape and torch.equal(z, self.codes):
            return self.embedding.copy()
        return self.placer.predict(z.numpy().astype(np.float64))

    def inverse(self, points: np.ndarray) -> torch.Tensor:
        points = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        codes = self.inside(points)
        outside = np.isnan(codes).any(axis=1)
        if outside.any():
            codes[outside] = self.nearest(points[outside])
        return torch.from_numpy(codes).to(torch.float32)

    def outline(self) -> np.ndarray:
        corners = self.embedding[self.hull.vertices]
        return np.vstack([corners, corners[:1]])

    def covariances(self, variances: torch.Tensor) -> None:
        return None

    def describe_inverse(self) -> dict[str, Any]:
        """Inside a triangle, the barycentric mix of its corners' codes; outside every triangle,
        the code of the nearest vertex."""
        return {
            "kind": "delaunay",
            "vertices": np.ascontiguousarray(self.embedding, dtype=np.float64),
            "triangles": self.triangulation.simplices.astype(np.int32),
            "codes": self.inside.values.astype(np.float32),  # the interpolator's copy
        }


@dataclass(frozen=True)
class ShownView:
    """The 2-D view a page draws: the core's choice, its projection, the axes it uses, and the
    test codes on it. On the latent axes the hidden dimensions follow the code shown (`at`)."""

    choice: ViewChoice
    projection: Projection
    axes: tuple[int, int | None]
    points: np.ndarray

    def at(self, z: torch.Tensor) -> Projection:
        """The projection for the code `z` shown now."""
        return AxesProjection(*self.axes, z) if self.choice.shown == AXES else self.projection

    def describe(self, dim: int) -> str:
        """Where the view puts the codes, in words."""
        if self.choice.shown == PCA:
            return f"on the plane of the two main directions of the {dim}-D codes"
        if self.choice.shown == UMAP:
            return f"on a UMAP embedding of the {dim}-D codes"
        return f"on the latent axes {' and '.join(filter(None, self.axis_titles))}"

    @property
    def identity(self) -> str:
        """Names the view: the same identity, the same map."""
        return f"{self.choice.shown}:{self.axes}"

    @property
    def axis_titles(self) -> tuple[str, str]:
        if self.choice.shown != AXES:
            return f"{self.choice.shown} 1", f"{self.choice.shown} 2"
        x_dim, y_dim = self.axes
        return f"z{x_dim + 1}", "" if y_dim is None else f"z{y_dim + 1}"

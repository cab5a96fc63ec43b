"""Which 2-D view of the latent space a page shows, and the first map's points, with no torch:
the Train page draws the test codes after each epoch in a server that never imports it. The
views themselves, each with its way back to codes, are `views`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from vaeapp.errors import ConfigError
from vaeapp.latent.umap_embedding import EmbeddingStatus

if TYPE_CHECKING:
    from sklearn.decomposition import PCA as FittedPCA

AXES, PCA, UMAP = "Latent axes", "PCA", "UMAP"


@dataclass(frozen=True)
class ViewChoice:
    """The view to draw for the one asked for, and what to tell the user when they differ."""

    shown: str
    waiting_for_umap: bool = False
    note: str | None = None


def views_for(dim: int) -> tuple[str, ...]:
    """The views a latent space of `dim` dimensions offers, the default first: its own axes up
    to 2-D; beyond, the plane of its main directions of variance first, since two of its axes
    alone show the codes with every other dimension ignored."""
    return (AXES,) if dim <= 2 else (PCA, UMAP, AXES)


def choose_view(dim: int, asked: str | None, umap: EmbeddingStatus | None) -> ViewChoice:
    """The view to draw: the one asked for if this space offers it (else its first), with UMAP
    shown as PCA until its embedding is ready, or if computing it failed."""
    offered = views_for(dim)
    wanted = asked if asked in offered else offered[0]
    if wanted != UMAP:
        return ViewChoice(wanted)
    if umap is not None and umap.embedding is not None:
        return ViewChoice(UMAP)
    if umap is not None and umap.error is not None:
        return ViewChoice(PCA, note=f"{umap.error}. The map shows PCA instead.")
    return ViewChoice(PCA, waiting_for_umap=True, note="The map shows PCA until UMAP is ready.")


def principal_plane(codes: np.ndarray) -> FittedPCA:
    """The plane of the codes' two main directions of variance: scikit-learn's PCA, fitted in
    float64 (imported here: it takes a second to import, and a 2-D model needs none)."""
    from sklearn.decomposition import PCA as FittedPCA

    if codes.shape[1] < 2 or len(codes) < 2:
        raise ConfigError("a PCA view needs at least two latent dimensions and two codes")
    return FittedPCA(n_components=2).fit(np.asarray(codes, dtype=np.float64))


def default_points(codes: np.ndarray) -> np.ndarray:
    """Codes [N, D] on the map a page shows first (`views_for`'s first): their own axes up to
    2-D (a line at y = 0 for one), else the plane of their two main directions of variance."""
    codes = np.asarray(codes, dtype=np.float64)
    if choose_view(codes.shape[1], None, None).shown == PCA:
        return principal_plane(codes).transform(codes)
    y = codes[:, 1] if codes.shape[1] > 1 else np.zeros(len(codes))
    return np.stack([codes[:, 0], y], axis=1)

"""describe_inverse: each view's way back as data the browser can follow."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vaeapp.inverse_description import describe_inverse
from vaeapp.latent import AxesProjection, EmbeddingProjection, PCAProjection


def codes(n: int = 200, dim: int = 4) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(0))


def test_latent_axes_name_their_dimensions_and_the_held_code() -> None:
    base = torch.tensor([0.5, -1.0, 2.0])
    assert describe_inverse(AxesProjection(2, None, base)) == {
        "kind": "axes",
        "x_dim": 2,
        "y_dim": None,
        "base": [0.5, -1.0, 2.0],
    }


def test_pca_is_the_mean_plus_the_point_along_the_two_components() -> None:
    view = PCAProjection(codes())
    description = describe_inverse(view)
    points = np.random.default_rng(1).normal(size=(20, 2))
    followed = np.array(description["mean"]) + points @ np.array(description["components"])
    assert description["kind"] == "linear"
    assert np.abs(followed - view.inverse(points).numpy()).max() < 1e-6


def test_an_embedding_gives_its_points_triangles_and_codes() -> None:
    known = codes()
    embedding = known[:, :2].numpy() + 0.1 * known[:, 2:].numpy()
    view = EmbeddingProjection(known, embedding)
    description = describe_inverse(view)
    assert description["kind"] == "delaunay"
    assert np.array_equal(description["vertices"], embedding.astype(np.float64))
    assert np.array_equal(description["codes"], known.numpy())
    triangles = description["triangles"]
    assert triangles.dtype == np.int32 and triangles.shape[1] == 3
    assert np.array_equal(triangles, view.triangulation.simplices)


def test_other_views_are_refused() -> None:
    with pytest.raises(TypeError):
        describe_inverse(object())  # type: ignore[arg-type]

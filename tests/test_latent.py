"""Encoding a data set, the 2-D views and their inverses, and manifold grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import bar_images
from vaeapp.config import ModelConfig
from vaeapp.errors import ConfigError
from vaeapp.latent import (
    AxesProjection,
    EmbeddingProjection,
    PCAProjection,
    encode_dataset,
    grid_points,
    manifold_grid,
    padded_range,
    prior_code,
)
from vaeapp.model import build_model
from vaeapp.snapshots import prior_samples


def tiny_model(latent_dim: int = 4):
    torch.manual_seed(0)
    return build_model(ModelConfig(arch="mlp", latent_dim=latent_dim, hidden=(16,))).eval()


def gaussian_codes(n: int = 200, dim: int = 5, seed: int = 0) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(seed))


def test_encode_dataset_gives_the_posterior_means_whatever_the_batch_size() -> None:
    model = tiny_model()
    images = bar_images(torch.arange(25) % 10)
    mu, logvar = encode_dataset(model, images, batch_size=7)
    expected_mu, expected_logvar = model.encode(images)
    assert mu.shape == logvar.shape == (25, 4)
    assert not mu.requires_grad
    torch.testing.assert_close(mu, expected_mu.detach())
    torch.testing.assert_close(logvar, expected_logvar.detach())


def test_axes_view_shows_two_dimensions_and_holds_the_others_at_the_base() -> None:
    codes = gaussian_codes(10, 4)
    base = torch.tensor([1.0, 2.0, 3.0, 4.0])
    view = AxesProjection(2, 0, base)
    np.testing.assert_allclose(view.project(codes), codes[:, [2, 0]].numpy(), rtol=1e-6)
    back = view.inverse(np.array([[-1.5, 0.5]]))
    torch.testing.assert_close(back, torch.tensor([[0.5, 2.0, -1.5, 4.0]]))
    assert view.outline() is None
    assert view.contains(np.zeros((3, 2))).all()


def test_axes_view_of_a_one_dimensional_latent_space_is_a_line() -> None:
    view = AxesProjection(0, None, torch.zeros(1))
    np.testing.assert_allclose(view.project(torch.tensor([[2.0], [-1.0]])), [[2, 0], [-1, 0]])
    torch.testing.assert_close(view.inverse(np.array([[0.25, 9.0]])), torch.tensor([[0.25]]))


def test_pca_round_trip_is_exact_on_the_map() -> None:
    codes = gaussian_codes() * torch.tensor([5.0, 3.0, 1.0, 0.5, 0.1])
    view = PCAProjection(codes)
    points = np.random.default_rng(0).normal(size=(50, 2)) * 4
    np.testing.assert_allclose(view.project(view.inverse(points)), points, atol=1e-5)


def test_pca_of_two_dimensional_codes_loses_nothing() -> None:
    codes = gaussian_codes(100, 2)
    view = PCAProjection(codes)
    torch.testing.assert_close(view.inverse(view.project(codes)), codes, atol=1e-5, rtol=0)


def test_pca_needs_two_dimensions() -> None:
    with pytest.raises(ConfigError, match="two latent dimensions"):
        PCAProjection(gaussian_codes(10, 1))


def embedded_codes() -> tuple[torch.Tensor, np.ndarray]:
    """Codes and a 2-D embedding of them (a fixed random map stands in for UMAP's)."""
    codes = gaussian_codes(300, 6)
    embedding = codes[:, :2].numpy().astype(np.float64) * 3 + codes[:, 2:4].numpy() * 0.2
    return codes, embedding


def test_embedding_inverse_returns_each_embedded_points_own_code() -> None:
    codes, embedding = embedded_codes()
    view = EmbeddingProjection(codes, embedding)
    torch.testing.assert_close(view.inverse(embedding), codes, atol=1e-4, rtol=0)
    np.testing.assert_allclose(view.project(codes), embedding, atol=1e-9)


def test_embedding_inverse_inside_the_hull_mixes_the_enclosing_triangles_codes() -> None:
    codes, embedding = embedded_codes()
    view = EmbeddingProjection(codes, embedding)
    rng = np.random.default_rng(1)
    corners = view.triangulation.simplices[rng.integers(len(view.triangulation.simplices), size=40)]
    weights = rng.dirichlet(np.ones(3), size=40)
    clicks = np.einsum("mk,mkd->md", weights, embedding[corners])
    assert view.contains(clicks).all()
    expected = np.einsum("mk,mkd->md", weights, codes.numpy().astype(np.float64)[corners])
    np.testing.assert_allclose(view.inverse(clicks).numpy(), expected, atol=1e-4)
    nearest = np.argmin(((embedding[None] - clicks[:, None]) ** 2).sum(-1), axis=1)
    distance_to_nearest = (view.inverse(clicks) - codes[nearest]).norm(dim=1)
    distance_to_random = (view.inverse(clicks) - codes[rng.integers(300, size=40)]).norm(dim=1)
    assert distance_to_nearest.mean() < 0.5 * distance_to_random.mean()


def test_embedding_inverse_outside_the_hull_takes_the_nearest_code_and_says_so() -> None:
    codes, embedding = embedded_codes()
    view = EmbeddingProjection(codes, embedding)
    far = embedding[np.argmax(embedding[:, 0])] + np.array([100.0, 0.0])
    assert not view.contains(far[None]).any()
    torch.testing.assert_close(view.inverse(far[None])[0], codes[np.argmax(embedding[:, 0])])
    outline = view.outline()
    np.testing.assert_allclose(outline[0], outline[-1])
    assert view.contains(outline.mean(axis=0, keepdims=True)).all()


def test_embedding_must_match_the_codes() -> None:
    with pytest.raises(ConfigError, match="one 2-D point per code"):
        EmbeddingProjection(gaussian_codes(10, 3), np.zeros((9, 2)))


def test_grid_points_are_cell_centres_from_the_top_left() -> None:
    points = grid_points((0.0, 4.0), (0.0, 2.0), 2)
    np.testing.assert_allclose(points, [[1, 1.5], [3, 1.5], [1, 0.5], [3, 0.5]])


def test_manifold_grid_decodes_the_latent_plane_in_reading_order() -> None:
    model = tiny_model(2)
    view = AxesProjection(0, 1, torch.zeros(2))
    images = manifold_grid(model, view, (-2.0, 2.0), (-1.0, 1.0), 3)
    assert images.shape == (9, 1, 28, 28)
    top_left = model.decode_mean(torch.tensor([[-2 + 4 / 6, 1 - 2 / 6]]))
    torch.testing.assert_close(images[0], top_left[0].detach())
    assert images.min() >= 0 and images.max() <= 1
    with pytest.raises(ConfigError, match="grid size"):
        manifold_grid(model, view, (-2.0, 2.0), (-1.0, 1.0), 0)


def test_padded_range_widens_and_never_collapses() -> None:
    assert padded_range(np.array([0.0, 10.0])) == (-0.5, 10.5)
    assert padded_range(np.array([3.0, 3.0])) == (2.0, 4.0)


def test_prior_samples_shrink_towards_the_centre_with_the_temperature() -> None:
    model = tiny_model(3)
    at_zero = prior_samples(model, 4, seed=1, temperature=0.0)
    centre = model.decode_mean(torch.zeros(1, 3)).detach()
    torch.testing.assert_close(at_zero, centre.expand(4, -1, -1, -1))
    assert not torch.allclose(prior_samples(model, 4, seed=1), at_zero)


def test_prior_code_depends_on_the_seed_only() -> None:
    first, again, other = (prior_code(5, seed) for seed in (7, 7, 8))
    assert first.shape == (5,)
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)
    torch.testing.assert_close(prior_code(5, 7, temperature=0.5), 0.5 * first)

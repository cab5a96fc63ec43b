"""The 2-D views of the latent space, their inverses, and which view a page draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.test_latent import gaussian_codes
from vaeapp.errors import ConfigError
from vaeapp.latent.umap_embedding import EmbeddingStatus
from vaeapp.latent.view_choice import (
    AXES,
    PCA,
    UMAP,
    ViewChoice,
    choose_view,
    default_points,
    views_for,
)
from vaeapp.latent.views import (
    AxesProjection,
    EmbeddingProjection,
    PCAProjection,
    ShownView,
    default_view,
)


def test_axes_view_shows_two_dimensions_and_holds_the_others_at_the_base() -> None:
    codes = gaussian_codes(10, 4)
    base = torch.tensor([1.0, 2.0, 3.0, 4.0])
    view = AxesProjection(2, 0, base)
    np.testing.assert_allclose(view.project(codes), codes[:, [2, 0]].numpy(), rtol=1e-6)
    back = view.inverse(np.array([[-1.5, 0.5]]))
    torch.testing.assert_close(back, torch.tensor([[0.5, 2.0, -1.5, 4.0]]))
    assert view.outline() is None


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
    assert np.array_equal(view.project(codes.clone()), embedding)


def test_embedding_places_new_codes_by_their_nearest_known_codes() -> None:
    codes, embedding = embedded_codes()
    view = EmbeddingProjection(codes, embedding)
    moved = codes[:20] + 1e-4
    np.testing.assert_allclose(view.project(moved), embedding[:20], atol=1e-2)
    halfway = (codes[:1] + codes[1:2]) / 2
    placed = view.project(halfway)[0]
    assert np.linalg.norm(placed - embedding[:2].mean(0)) < np.linalg.norm(
        embedding[0] - embedding[1]
    )


def test_embedding_inverse_inside_the_hull_mixes_the_enclosing_triangles_codes() -> None:
    codes, embedding = embedded_codes()
    view = EmbeddingProjection(codes, embedding)
    rng = np.random.default_rng(1)
    corners = view.triangulation.simplices[rng.integers(len(view.triangulation.simplices), size=40)]
    weights = rng.dirichlet(np.ones(3), size=40)
    clicks = np.einsum("mk,mkd->md", weights, embedding[corners])
    assert (view.triangulation.find_simplex(clicks) >= 0).all()
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
    assert not (view.triangulation.find_simplex(far[None]) >= 0).any()
    torch.testing.assert_close(view.inverse(far[None])[0], codes[np.argmax(embedding[:, 0])])
    outline = view.outline()
    np.testing.assert_allclose(outline[0], outline[-1])
    assert (view.triangulation.find_simplex(outline.mean(axis=0, keepdims=True)) >= 0).all()


def test_embedding_must_match_the_codes() -> None:
    with pytest.raises(ConfigError, match="one 2-D point per code"):
        EmbeddingProjection(gaussian_codes(10, 3), np.zeros((9, 2)))


def test_a_space_of_two_dimensions_or_fewer_offers_its_own_axes_only() -> None:
    assert views_for(1) == views_for(2) == (AXES,)
    assert views_for(3) == (PCA, UMAP, AXES)
    assert choose_view(2, UMAP, None).shown == AXES


def test_umap_shows_as_pca_until_its_embedding_is_ready_or_if_it_failed() -> None:
    waiting = choose_view(16, UMAP, EmbeddingStatus(running_since=1.0))
    assert waiting.shown == PCA and waiting.waiting_for_umap
    failed = choose_view(16, UMAP, EmbeddingStatus(error="UMAP failed: boom"))
    assert failed.shown == PCA and not failed.waiting_for_umap and "boom" in failed.note
    ready = choose_view(16, UMAP, EmbeddingStatus(embedding=np.zeros((3, 2))))
    assert ready.shown == UMAP and ready.note is None
    assert choose_view(16, PCA, None).shown == PCA


def codes(n: int = 200, dim: int = 4) -> torch.Tensor:
    return torch.randn(n, dim, generator=torch.Generator().manual_seed(0))


def test_latent_axes_name_their_dimensions_and_the_held_code() -> None:
    base = torch.tensor([0.5, -1.0, 2.0])
    assert AxesProjection(2, None, base).describe_inverse() == {
        "kind": "axes",
        "x_dim": 2,
        "y_dim": None,
        "base": [0.5, -1.0, 2.0],
    }


def test_pca_is_the_mean_plus_the_point_along_the_two_components() -> None:
    view = PCAProjection(codes())
    description = view.describe_inverse()
    points = np.random.default_rng(1).normal(size=(20, 2))
    followed = np.array(description["mean"]) + points @ np.array(description["components"])
    assert description["kind"] == "linear"
    assert np.abs(followed - view.inverse(points).numpy()).max() < 1e-6


def test_an_embedding_gives_its_points_triangles_and_codes() -> None:
    known = codes()
    embedding = known[:, :2].numpy() + 0.1 * known[:, 2:].numpy()
    view = EmbeddingProjection(known, embedding)
    description = view.describe_inverse()
    assert description["kind"] == "delaunay"
    assert np.array_equal(description["vertices"], embedding.astype(np.float64))
    assert np.array_equal(description["codes"], known.numpy())
    triangles = description["triangles"]
    assert triangles.dtype == np.int32 and triangles.shape[1] == 3
    assert np.array_equal(triangles, view.triangulation.simplices)


def test_a_shown_view_on_latent_axes_follows_the_code_and_names_its_axes() -> None:
    base = torch.zeros(4)
    shown = ShownView(ViewChoice(AXES), AxesProjection(2, 0, base), (2, 0), np.zeros((1, 2)))
    assert shown.axis_titles == ("z3", "z1")
    assert shown.describe(4) == "on the latent axes z3 and z1"
    here = torch.tensor([1.0, 2.0, 3.0, 4.0])
    back = shown.at(here).inverse(np.array([[9.0, 8.0]]))  # the hidden axes are the code's
    torch.testing.assert_close(back, torch.tensor([[8.0, 2.0, 9.0, 4.0]]))
    assert (
        shown.identity
        != ShownView(ViewChoice(AXES), shown.projection, (0, 2), shown.points).identity
    )


def test_a_shown_pca_view_keeps_its_plane_whatever_the_code() -> None:
    projection = PCAProjection(codes())
    shown = ShownView(ViewChoice(PCA), projection, (0, 1), np.zeros((1, 2)))
    assert shown.at(torch.ones(4)) is projection
    assert shown.axis_titles == ("PCA 1", "PCA 2")
    assert shown.describe(4) == "on the plane of the two main directions of the 4-D codes"


@pytest.mark.parametrize("dim", [1, 2, 5])
def test_the_first_maps_points_without_torch_are_the_first_views(dim: int) -> None:
    """The Train page's chart of the codes after an epoch and Explore's first map agree."""
    shown = codes(dim=dim)
    np.testing.assert_array_equal(default_points(shown.numpy()), default_view(shown).points)

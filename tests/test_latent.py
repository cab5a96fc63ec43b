"""Encoding a data set, decoding codes, prior draws, reconstructions and manifold grids."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import bar_images
from vaeapp.config import ModelConfig
from vaeapp.errors import ConfigError
from vaeapp.latent.codes import (
    box_around,
    decode,
    encode_dataset,
    grid_points,
    manifold_grid,
    padded_range,
    prior_codes,
    reconstruct,
)
from vaeapp.latent.views import AxesProjection
from vaeapp.model.networks import build_model


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


def test_prior_draws_shrink_towards_the_centre_with_the_temperature() -> None:
    model = tiny_model(3)
    at_zero = decode(model, prior_codes(4, 3, seed=1, temperature=0.0))
    centre = model.decode_mean(torch.zeros(1, 3)).detach()
    torch.testing.assert_close(at_zero, centre.expand(4, -1, -1, -1))
    assert not torch.allclose(decode(model, prior_codes(4, 3, seed=1)), at_zero)


def test_prior_codes_depend_on_the_seed_only() -> None:
    first, again, other = (prior_codes(6, 5, seed) for seed in (7, 7, 8))
    assert first.shape == (6, 5)
    torch.testing.assert_close(first, again)
    assert not torch.allclose(first, other)
    torch.testing.assert_close(prior_codes(6, 5, 7, temperature=0.5), 0.5 * first)


def test_reconstruct_is_deterministic_and_ignores_the_posterior_variance() -> None:
    model = tiny_model(3)
    images = bar_images(torch.arange(5))
    rebuilt = reconstruct(model, images)
    assert rebuilt.shape == images.shape and rebuilt.min() >= 0 and rebuilt.max() <= 1
    torch.testing.assert_close(reconstruct(model, images), rebuilt)
    encode = model.encode
    model.encode = lambda x: (encode(x)[0], encode(x)[1] + 5.0)  # a much wider q(z|x)
    torch.testing.assert_close(reconstruct(model, images), rebuilt)
    assert not torch.equal(rebuilt[0], rebuilt[1])  # each image its own code


def test_the_box_around_points_pads_them_and_covers_the_prior_core() -> None:
    points = np.array([[0.0, 10.0], [1.0, 20.0]])
    (x_low, x_high), (y_low, y_high) = box_around(points, at_least=3.0)
    assert (x_low, x_high) == (-3.0, 3.0)  # the points span less than the prior's core
    assert y_low == -3.0 and y_high == pytest.approx(20.5)  # 5% of the span beyond the top

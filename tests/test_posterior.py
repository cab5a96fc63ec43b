"""The VAE-specific measures against closed forms: posterior ellipses on a view, KL per
dimension, active units, the aggregate posterior's density; and the training replay."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from scipy.stats import multivariate_normal
from torch import nn

from tests.command_line import run_vaeapp
from tests.conftest import small_config
from vaeapp.latent.views import AxesProjection, PCAProjection
from vaeapp.model.evaluate import evaluate, evaluation_images
from vaeapp.model.likelihoods import Bernoulli
from vaeapp.model.networks import VAE
from vaeapp.model.posterior import (
    active_units,
    density_contours,
    kl_per_dim,
    log_aggregate_density,
    log_prior_density,
    nearest,
    traversal_codes,
)
from vaeapp.paths import runs_dir
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer


def test_a_posterior_seen_through_pca_has_covariance_a_sigma_a_transposed() -> None:
    """The view's covariance of N(mu, diag v) is that of the projected samples."""
    generator = torch.Generator().manual_seed(0)
    codes = torch.randn(500, 5, generator=generator) * torch.tensor([3.0, 2.0, 1.0, 0.5, 0.1])
    view = PCAProjection(codes)
    variances = torch.tensor([[0.5, 0.2, 1.5, 0.05, 2.0]])
    samples = codes[0] + variances.sqrt() * torch.randn(200_000, 5, generator=generator)
    empirical = np.cov(view.project(samples), rowvar=False)
    (var_x, cov_xy, var_y) = view.covariances(variances)[0]
    np.testing.assert_allclose([var_x, cov_xy, var_y], empirical[[0, 0, 1], [0, 1, 1]], atol=0.02)
    a = view.pca.components_
    np.testing.assert_allclose(
        [[var_x, cov_xy], [cov_xy, var_y]], a @ np.diag(variances[0].numpy()) @ a.T, atol=1e-6
    )


def test_on_the_latent_axes_an_ellipse_is_its_two_variances() -> None:
    view = AxesProjection(2, 0, torch.zeros(3))
    np.testing.assert_allclose(view.covariances(torch.tensor([[1.0, 2.0, 3.0]])), [[3, 0, 1]])


class Encoder(nn.Module):
    """mu_d = x's mean times `gain[d]`; log sigma^2 fixed: dimensions with gain 0 are dead."""

    def __init__(self, gain: list[float], logvar: float = -1.0) -> None:
        super().__init__()
        self.gain = nn.Parameter(torch.tensor(gain))
        self.logvar = logvar

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu = x.flatten(1).mean(1, keepdim=True) * 20 * self.gain
        return mu, torch.full_like(mu, self.logvar)


def test_active_units_count_only_the_dimensions_the_encoder_moves() -> None:
    brightness = torch.linspace(0, 1, 200).reshape(-1, 1, 1, 1)
    images = brightness.expand(-1, 1, 28, 28)  # image means from 0 to 1: mu_d spans 20 gain_d
    mu, _ = Encoder([1.0, 0.0, 0.1, 0.0, 0.001])(images)
    assert active_units(mu.detach()) == 2


def test_kl_per_dimension_sums_to_the_kl_of_evaluate(tiny_dataset) -> None:
    run = Run.create(runs_dir() / "kl", small_config(epochs=2))
    Trainer(run, tiny_dataset).fit()
    model, config = run.load_model()
    images = evaluation_images(tiny_dataset.test.images, True, config.train.seed)
    mu, logvar = model.encode(images)
    per_dim = kl_per_dim(mu.detach(), logvar.detach())
    assert per_dim.shape == (2,) and (per_dim >= 0).all()
    assert per_dim.sum().item() == pytest.approx(evaluate(model, config, images, 1, 0).kl, rel=1e-5)
    logged = [e for e in run.read_metrics() if e["kind"] == "epoch"][-1]
    assert sum(logged["test_kl_per_dim"]) == pytest.approx(logged["test_kl"], rel=1e-5)
    assert logged["active_units"] == active_units(mu.detach())


def test_the_kl_of_a_known_posterior() -> None:
    """KL(N(m, s^2) || N(0, 1)) = (m^2 + s^2 - 1 - log s^2) / 2, dimension by dimension."""
    mu = torch.tensor([[1.0, 0.0], [3.0, 0.0]])
    logvar = torch.log(torch.tensor([[0.25, 1.0], [0.25, 1.0]]))
    expected = [((1 + 9) / 2 + 0.25 - 1 - np.log(0.25)) / 2, 0.0]
    np.testing.assert_allclose(kl_per_dim(mu, logvar).numpy(), expected, atol=1e-6)


def test_the_aggregate_posterior_of_two_posteriors_is_their_mixture() -> None:
    mu = np.array([[-1.0, 0.5], [2.0, -1.0]])
    var = np.array([[0.3, 0.8], [1.2, 0.1]])
    points = np.random.default_rng(0).normal(size=(50, 2)) * 2
    mixture = 0.5 * sum(
        multivariate_normal(mean=m, cov=np.diag(v)).pdf(points)
        for m, v in zip(mu, var, strict=True)
    )
    np.testing.assert_allclose(log_aggregate_density(points, mu, var, chunk=7), np.log(mixture))
    prior = multivariate_normal(mean=[0, 0]).logpdf(points)
    np.testing.assert_allclose(log_prior_density(points), prior)


def test_density_contours_ring_a_single_bump() -> None:
    xs = ys = np.linspace(-3, 3, 61)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    lines = density_contours(log_prior_density(grid).reshape(61, 61), xs, ys, levels=3)
    assert len(lines) == 3
    radii = [np.linalg.norm(line, axis=1) for line in lines]
    assert all(r.std() < 0.05 for r in radii) and radii[0].mean() < radii[-1].mean()


def test_nearest_codes_and_traversals() -> None:
    codes = torch.tensor([[0.0, 0.0], [1.0, 0.0], [5.0, 5.0], [0.0, 2.0]])
    indices, distances = nearest(codes, torch.tensor([0.9, 0.1]), k=2)
    assert indices.tolist() == [1, 0] and distances[0] < distances[1]
    rows = traversal_codes(torch.tensor([0.5, -1.0, 2.0]), dims=[2, 0], steps=3)
    expected = [
        [0.5, -1, -1],
        [0.5, -1, 2],
        [0.5, -1, 5],
        [-2.5, -1, 2],
        [0.5, -1, 2],
        [3.5, -1, 2],
    ]
    torch.testing.assert_close(rows, torch.tensor(expected))


def test_training_keeps_the_test_codes_of_each_epoch_for_replay(tiny_dataset) -> None:
    run = Run.create(runs_dir() / "replay", small_config(epochs=3))
    Trainer(run, tiny_dataset).fit()
    assert run.replay_epochs() == [1, 2, 3]
    last = run.load_replay(3)
    model, _ = run.load_model()
    with torch.no_grad():
        final = model.encode(tiny_dataset.test.images)[0].numpy()
    assert last.shape == (50, 2)
    np.testing.assert_allclose(last, final, atol=2e-2, rtol=2e-3)  # float16
    assert not np.allclose(run.load_replay(1), last, atol=1e-2)
    labels, classes = run.load_replay_labels()  # the Train page colours them without the data
    assert labels.tolist() == tiny_dataset.test.labels.tolist()
    assert classes == tuple(tiny_dataset.classes)
    (run.path / "replay" / "epoch-0002.npy").write_bytes(b"damaged")
    assert run.load_replay(2) is None


@pytest.mark.slow
def test_inspect_prints_the_kl_per_dimension_and_the_replay(tiny_dataset) -> None:
    run = Run.create(runs_dir() / "inspected", small_config(epochs=2, data="sample"))
    Trainer(run, tiny_dataset).fit()
    shown = run_vaeapp("inspect", str(run.path), "--json", "--data", "sample")
    assert shown.returncode == 0, shown.stderr
    result = json.loads(shown.stdout)
    assert len(result["kl_per_dim"]) == 2 and result["replay_epochs"] == [1, 2]
    assert sum(result["kl_per_dim"]) == pytest.approx(result["kl"])
    assert 0 <= result["active_units"] <= 2


def test_a_linked_replay_folder_is_never_written_through(tiny_dataset, tmp_path) -> None:
    run = Run.create(runs_dir() / "linked", small_config(epochs=1))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (run.path / "replay").symlink_to(elsewhere)
    with pytest.raises(Exception, match="not a plain folder"):
        Trainer(run, tiny_dataset).fit()
    assert list(elsewhere.iterdir()) == []


def test_a_model_without_the_posterior_spread_kl(tiny_dataset) -> None:
    """Dead dimensions spend no KL: their posterior is the prior."""
    model = VAE(Encoder([1.0, 0.0], logvar=0.0), nn.Identity(), Bernoulli(), 2)
    mu, logvar = model.encode(tiny_dataset.test.images)
    per_dim = kl_per_dim(mu.detach(), logvar.detach())
    assert per_dim[1].item() == pytest.approx(0.0) and per_dim[0].item() > 0

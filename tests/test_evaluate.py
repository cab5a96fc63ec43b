"""What vaeapp calls log p(x) is one: binarised data scored by the run's seed, bounds in order,
a grey-level Bernoulli flagged as no likelihood, densities' bits per dimension through
dequantisation and the discretised logistic's without, against closed forms."""

from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn

from tests.command_line import run_vaeapp
from tests.conftest import small_config
from vaeapp.config import ModelConfig, RunConfig, TrainConfig
from vaeapp.model.evaluate import LEVELS, evaluate, evaluation_images
from vaeapp.model.likelihoods import DiscretisedLogistic, Gaussian
from vaeapp.model.networks import VAE
from vaeapp.model.normalised import NOT_NORMALISED
from vaeapp.paths import runs_dir
from vaeapp.store.runs import Run
from vaeapp.training.trainer import Trainer


def test_the_binarised_test_set_is_fixed_by_the_seed(tiny_dataset) -> None:
    grey = tiny_dataset.test.images
    first, again, other = (evaluation_images(grey, True, seed) for seed in (5, 5, 6))
    assert set(first.unique().tolist()) == {0.0, 1.0}
    assert torch.equal(first, again) and not torch.equal(first, other)
    assert evaluation_images(grey, False, 5) is grey


@pytest.fixture
def binarised_run(tiny_dataset) -> Run:
    run = Run.create(runs_dir() / "binary", small_config(epochs=2, seed=3))
    Trainer(run, tiny_dataset).fit()
    return run


def test_evaluation_scores_the_runs_own_test_set_by_default(
    binarised_run: Run, tiny_dataset
) -> None:
    """Without --seed, evaluate binarises with the run's seed: its ELBO is the last test ELBO
    the run logged; another seed scores other digits."""
    model, config = binarised_run.load_model()
    assert config.train.binarize
    logged = [e for e in binarised_run.read_metrics() if e["kind"] == "epoch"][-1]["test_elbo"]
    test = tiny_dataset.test.images
    own = evaluate(model, config, evaluation_images(test, True, 3), k=1, seed=3)
    assert own.elbo == pytest.approx(logged, abs=1e-4)
    other = evaluate(model, config, evaluation_images(test, True, 4), k=1, seed=4)
    assert other.elbo != pytest.approx(logged, abs=1e-3)


def test_elbo_is_below_the_iwae_bound_and_both_are_a_likelihood(
    binarised_run: Run, tiny_dataset
) -> None:
    model, config = binarised_run.load_model()
    images = evaluation_images(tiny_dataset.test.images, True, config.train.seed)
    result = evaluate(model, config, images, k=50, seed=config.train.seed)
    assert result.normalised and result.elbo <= result.log_likelihood < 0
    assert result.bits_per_dim == pytest.approx(-result.log_likelihood / (784 * math.log(2)))
    assert "discrete_log_likelihood" not in result.as_dict()


@pytest.mark.slow
def test_a_grey_level_bernoulli_is_flagged_in_the_cli() -> None:
    run = runs_dir() / "grey"
    trained = run_vaeapp(
        "train", "--arch", "mlp", "--hidden", "32", "--epochs", "1", "--no-binarize",
        "--out", str(run), "--quiet",
    )  # fmt: skip
    assert trained.returncode == 0, trained.stderr
    shown = run_vaeapp("evaluate", str(run), "-k", "3", "--limit", "100")
    assert NOT_NORMALISED in shown.stdout and "bits per dimension" not in shown.stdout
    assert "log p(x)" not in shown.stdout
    listed = json.loads(
        run_vaeapp("evaluate", str(run), "-k", "3", "--limit", "50", "--json").stdout
    )
    assert listed["normalised"] is False and "bits_per_dim" not in listed
    assert {"elbo", "log_likelihood", "n"} <= listed.keys()
    models = run_vaeapp("models")
    assert NOT_NORMALISED in models.stdout


class Silent(nn.Module):
    """An encoder that returns the prior for every image: q(z|x) = p(z)."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.anchor = nn.Parameter(torch.zeros(()))  # a model lives where its parameters are
        self.latent_dim = dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        zeros = torch.zeros(x.shape[0], self.latent_dim)
        return zeros, zeros


class Constant(nn.Module):
    """A decoder whose output is `values` at every pixel, one channel each, whatever z."""

    def __init__(self, *values: float) -> None:
        super().__init__()
        self.values = torch.tensor(values).reshape(1, -1, 1, 1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.values.expand(z.shape[0], -1, 28, 28)


def test_dequantised_bits_per_dim_of_a_density_against_its_closed_form(tiny_dataset) -> None:
    """With q(z|x) = p(z) and a decoder that ignores z, every importance weight is p(y), so the
    bound is exact: E_u[log N((x + u) / 256; m, s^2)] per pixel is
    -log(s sqrt(2 pi)) - ((c - m)^2 + 1 / (12 * 256^2)) / (2 s^2), c = (x + 1/2) / 256."""
    m, s = 0.3, 0.2
    model = VAE(Silent(2), Constant(m), Gaussian(s), 2)
    config = RunConfig(
        ModelConfig(likelihood="gaussian", gaussian_std=s), TrainConfig(binarize=False)
    )
    images = (tiny_dataset.test.images * (LEVELS - 1)).round() / (LEVELS - 1)
    result = evaluate(model, config, images, k=4, seed=0)
    centre = ((images * (LEVELS - 1)).round() + 0.5) / LEVELS
    per_pixel = -math.log(s * math.sqrt(2 * math.pi)) - (
        (centre - m) ** 2 + 1 / (12 * LEVELS**2)
    ) / (2 * s**2)
    expected = per_pixel.flatten(1).sum(1).mean().item() - 784 * math.log(LEVELS)
    assert result.discrete_log_likelihood == pytest.approx(expected, abs=0.5)
    assert result.bits_per_dim == pytest.approx(-expected / (784 * math.log(2)), abs=1e-3)
    assert result.bits_per_dim > 0  # a discrete likelihood: bits can never be negative


def test_bits_per_dim_of_the_discretised_logistic_need_no_dequantising(tiny_dataset) -> None:
    """As above, the bound is exact: per pixel of level x, log(sigmoid((u - m) / s) -
    sigmoid((l - m) / s)) with the bin's edges l, u = (x -+ 1/2) / 255, the outer edges of
    levels 0 and 255 at -+inf; nothing dequantised."""
    m, s = 0.3, 0.1
    model = VAE(Silent(2), Constant(m, math.log(s)), DiscretisedLogistic(), 2)
    config = RunConfig(ModelConfig(likelihood="dlogistic"), TrainConfig(binarize=False))
    levels = (tiny_dataset.test.images.double() * (LEVELS - 1)).round()
    result = evaluate(model, config, (levels / (LEVELS - 1)).float(), k=4, seed=0)
    upper = torch.where(levels == LEVELS - 1, math.inf, (levels + 0.5) / (LEVELS - 1))
    lower = torch.where(levels == 0, -math.inf, (levels - 0.5) / (LEVELS - 1))
    per_pixel = torch.log(torch.sigmoid((upper - m) / s) - torch.sigmoid((lower - m) / s))
    expected = per_pixel.flatten(1).sum(1).mean().item()
    assert result.normalised and result.discrete_log_likelihood is None
    assert result.log_likelihood == pytest.approx(expected, rel=1e-5)
    assert result.bits_per_dim == pytest.approx(-expected / (784 * math.log(2)), rel=1e-5)

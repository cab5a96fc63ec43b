"""The maths against closed forms: Gaussian KL, and the bounds on a linear-Gaussian model.

Probabilistic PCA, p(z) = N(0, I), p(x|z) = N(Wz + b, s^2 I), has an exact marginal
p(x) = N(b, W W^T + s^2 I), so ELBO <= IWAE_K <= log p(x) can be checked against the truth.
"""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn
from torch.distributions import MultivariateNormal, Normal, kl_divergence

from vaeapp.model.likelihoods import Gaussian
from vaeapp.model.networks import VAE, reparameterize
from vaeapp.model.objective import (
    elbo_terms,
    gaussian_kl,
    iwae_bound,
    log_diagonal_normal,
    log_standard_normal,
)

X_DIM, Z_DIM, NOISE_STD = 4, 2, 0.6


def test_gaussian_kl_matches_torch_closed_form() -> None:
    generator = torch.Generator().manual_seed(0)
    mu = torch.randn(16, 5, generator=generator)
    logvar = torch.randn(16, 5, generator=generator)
    expected = kl_divergence(Normal(mu, (0.5 * logvar).exp()), Normal(0.0, 1.0)).sum(-1)
    torch.testing.assert_close(gaussian_kl(mu, logvar), expected)


def test_gaussian_kl_matches_monte_carlo_estimate() -> None:
    mu = torch.tensor([[0.5, -1.0, 2.0]])
    logvar = torch.tensor([[0.3, -0.7, 0.1]])
    z = reparameterize(mu, logvar, 400_000, torch.Generator().manual_seed(1))
    monte_carlo = (log_diagonal_normal(z, mu, logvar) - log_standard_normal(z)).mean(0)
    assert gaussian_kl(mu, logvar).item() == pytest.approx(monte_carlo.item(), abs=0.01)


def test_gaussian_kl_is_zero_only_at_the_prior() -> None:
    zeros = torch.zeros(1, 3)
    assert gaussian_kl(zeros, zeros).item() == 0.0
    assert gaussian_kl(zeros + 0.1, zeros).item() > 0
    assert gaussian_kl(zeros, zeros - 0.1).item() > 0


class PerturbedPosterior(nn.Module):
    """A diagonal q(z|x) near, but not at, the exact pPCA posterior, so every bound is strict."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor) -> None:
        super().__init__()
        precision = weight.T @ weight / NOISE_STD**2 + torch.eye(Z_DIM)
        self.covariance = torch.linalg.inv(precision)
        self.gain = self.covariance @ weight.T / NOISE_STD**2
        self.bias = bias

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        exact_mean = (x - self.bias) @ self.gain.T
        exact_logvar = self.covariance.diagonal().log().expand_as(exact_mean)
        return exact_mean + 0.4, exact_logvar + 0.6


@pytest.fixture
def ppca() -> tuple[VAE, torch.Tensor, torch.Tensor]:
    """A pPCA model with a perturbed encoder, 32 data points and their exact log p(x)."""
    generator = torch.Generator().manual_seed(3)
    weight = torch.randn(X_DIM, Z_DIM, generator=generator)
    bias = torch.randn(X_DIM, generator=generator)
    decoder = nn.Linear(Z_DIM, X_DIM)
    with torch.no_grad():
        decoder.weight.copy_(weight)
        decoder.bias.copy_(bias)
    model = VAE(PerturbedPosterior(weight, bias), decoder, Gaussian(NOISE_STD), Z_DIM)
    marginal = MultivariateNormal(bias, weight @ weight.T + NOISE_STD**2 * torch.eye(X_DIM))
    x = bias + torch.randn(32, X_DIM, generator=generator) @ marginal.scale_tril.T
    return model, x, marginal.log_prob(x)


def closed_form_elbo(model: VAE, x: torch.Tensor) -> torch.Tensor:
    """E_q[log N(x; Wz + b, s^2 I)] - KL, with the expectation in closed form."""
    mu, logvar = model.encode(x)
    weight, bias = model.decoder.weight, model.decoder.bias
    residual = (x - mu @ weight.T - bias).pow(2).sum(-1)
    trace = (weight.pow(2) * logvar.exp().unsqueeze(1)).sum((-1, -2))
    recon = -0.5 * (residual + trace) / NOISE_STD**2 - X_DIM * (
        math.log(NOISE_STD) + 0.5 * math.log(2 * math.pi)
    )
    return recon - gaussian_kl(mu, logvar)


@torch.no_grad()
def test_monte_carlo_elbo_matches_closed_form(ppca) -> None:
    model, x, _ = ppca
    estimate = elbo_terms(model, x, n_samples=20_000, generator=torch.Generator().manual_seed(4))
    exact = closed_form_elbo(model, x)
    assert estimate.elbo.mean().item() == pytest.approx(exact.mean().item(), abs=0.02)
    torch.testing.assert_close(estimate.elbo, exact, atol=0.3, rtol=0)


@torch.no_grad()
def test_bounds_are_ordered_and_tighten_towards_log_likelihood(ppca) -> None:
    model, x, log_px = ppca
    generator = torch.Generator().manual_seed(5)
    elbo = closed_form_elbo(model, x).mean().item()
    truth = log_px.mean().item()
    many = x.repeat(400, 1)
    iwae = {k: iwae_bound(model, many, k, generator).mean().item() for k in (1, 5, 50)}
    iwae[2000] = iwae_bound(model, x.repeat(4, 1), 2000, generator).mean().item()

    assert elbo < truth - 0.3, "the perturbed encoder must leave a visible gap"
    assert iwae[1] == pytest.approx(elbo, abs=0.1), "IWAE_1 is the ELBO"
    assert iwae[1] < iwae[5] < iwae[50] < iwae[2000] <= truth + 0.02
    assert truth - iwae[2000] < 0.1 * (truth - elbo)


def test_gradients_flow_through_the_reparameterised_sample() -> None:
    mu = torch.zeros(3, 2, requires_grad=True)
    logvar = torch.zeros(3, 2, requires_grad=True)
    z = reparameterize(mu, logvar, generator=torch.Generator().manual_seed(6))
    z.pow(2).sum().backward()
    assert mu.grad is not None and mu.grad.abs().sum() > 0
    assert logvar.grad is not None and logvar.grad.abs().sum() > 0


def test_reconstruction_term_alone_trains_the_encoder(tiny_dataset) -> None:
    from vaeapp.config import ModelConfig
    from vaeapp.model.networks import build_model

    model = build_model(ModelConfig(arch="conv", latent_dim=2))
    terms = elbo_terms(
        model, tiny_dataset.train.images[:8], generator=torch.Generator().manual_seed(7)
    )
    terms.loss(beta=0.0).backward()
    encoder_grads = [p.grad for p in model.encoder.parameters()]
    assert all(g is not None and g.abs().sum() > 0 for g in encoder_grads)


def test_beta_weights_only_the_kl_term(tiny_dataset) -> None:
    from vaeapp.config import ModelConfig
    from vaeapp.model.networks import build_model

    model = build_model(ModelConfig(arch="mlp", latent_dim=3, hidden=(16,))).double()
    x = tiny_dataset.train.images[:8].double()
    terms = elbo_terms(model, x, generator=torch.Generator().manual_seed(8))
    difference = terms.loss(beta=3.0) - terms.loss(beta=1.0)
    torch.testing.assert_close(difference, 2.0 * terms.kl.mean())

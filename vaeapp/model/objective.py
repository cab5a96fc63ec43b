"""The ELBO and its importance-weighted tightenings, in nats per image.

ELBO(x) = E_q(z|x)[log p(x|z)] - KL(q(z|x) || p(z))  <=  log p(x)     (Kingma & Welling, 2013)
IWAE_K(x) = E[log (1/K) sum_k p(x, z_k) / q(z_k|x)]
ELBO = IWAE_1 <= IWAE_K <= IWAE_K+1 <= log p(x)
(Burda, Grosse & Salakhutdinov, 2015). With large K, IWAE_K is the usual estimate of log p(x).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from vaeapp.model.networks import VAE, reparameterize

LOG_2PI = math.log(2 * math.pi)


def gaussian_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, diag(exp(logvar))) || N(0, I)) per row, in closed form (Kingma & Welling, App. B).

    -0.5 * sum(1 + logvar - mu^2 - exp(logvar)); shape [..., D] -> [...].
    """
    return -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp(), dim=-1)


def log_standard_normal(z: torch.Tensor) -> torch.Tensor:
    """log p(z) under the prior N(0, I), summed over the last dimension."""
    return -0.5 * torch.sum(z.pow(2) + LOG_2PI, dim=-1)


def log_diagonal_normal(z: torch.Tensor, mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """log q(z|x) for a diagonal Gaussian, summed over the last dimension."""
    return -0.5 * torch.sum((z - mu).pow(2) * torch.exp(-logvar) + logvar + LOG_2PI, dim=-1)


@dataclass(frozen=True)
class ElboTerms:
    """Per-image terms of the ELBO, each of shape [B], in nats."""

    recon: torch.Tensor
    kl: torch.Tensor

    @property
    def elbo(self) -> torch.Tensor:
        return self.recon - self.kl

    def loss(self, beta: float = 1.0, per: float | None = None) -> torch.Tensor:
        """The quantity to minimise: the negative beta-weighted ELBO, averaged over the batch,
        or summed and divided by `per`. A process that holds a share of a global batch divides
        by the global batch's images per process: the average of the processes' gradients is
        then the global batch's mean, however unevenly its last batch splits."""
        objective = -(self.recon - beta * self.kl)
        return objective.mean() if per is None else objective.sum() / per


def elbo_terms(
    model: VAE,
    x: torch.Tensor,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> ElboTerms:
    """The reconstruction term by Monte Carlo over `n_samples` draws; the KL in closed form.

    `eps` [n_samples, B, D], if given, is the standard normal noise to use: the trainer draws
    a whole global batch's and gives each process its rows.
    """
    mu, logvar = model.encode(x)
    z = reparameterize(mu, logvar, n_samples, generator, eps)
    recon = model.likelihood.log_prob(model.decode(z), x).mean(dim=0)
    return ElboTerms(recon=recon, kl=gaussian_kl(mu, logvar))


def log_importance_weights(
    model: VAE,
    x: torch.Tensor,
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """log p(x, z_k) - log q(z_k|x) for z_k ~ q(z|x); shape [n_samples, B]."""
    z = reparameterize(mu, logvar, n_samples, generator)
    log_px_given_z = model.likelihood.log_prob(model.decode(z), x)
    return log_px_given_z + log_standard_normal(z) - log_diagonal_normal(z, mu, logvar)


def iwae_bound(
    model: VAE,
    x: torch.Tensor,
    k: int,
    generator: torch.Generator | None = None,
    max_decodes: int = 2048,
) -> torch.Tensor:
    """IWAE_K per image, shape [B]; samples are drawn in chunks so memory stays bounded in K."""
    if k < 1:
        raise ValueError("the number of importance samples must be at least 1")
    mu, logvar = model.encode(x)
    chunk = max(1, max_decodes // max(1, x.shape[0]))
    total = torch.full((x.shape[0],), -math.inf, device=x.device, dtype=mu.dtype)
    for start in range(0, k, chunk):
        weights = log_importance_weights(model, x, mu, logvar, min(chunk, k - start), generator)
        total = torch.logaddexp(total, torch.logsumexp(weights, dim=0))
    return total - math.log(k)


def bits_per_dim(log_likelihood_nats: float, dims: int) -> float:
    """Negative log-likelihood per data dimension, in bits."""
    return -log_likelihood_nats / (dims * math.log(2))

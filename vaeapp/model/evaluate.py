"""Bounds over a whole data split: the ELBO and its terms, and the importance-weighted log p(x).

All figures are nats per image, averaged over the images. Random draws use a seeded generator,
so the same model and data give the same numbers; by default the run's own seed, so a run's
evaluation scores the very test set (and binarisation) its training logged.

What the bound means depends on the likelihood (`normalised.is_normalised`): for a Bernoulli of
binarised data it is a bound on the log-likelihood of binary images, and bits per dimension
follow; for a Bernoulli of grey levels it is no log-likelihood at all, and none is claimed; for
the discretised logistic, a distribution over 8-bit images, it bounds their log-likelihood
itself, and bits per dimension follow with no dequantisation; for a density (continuous
Bernoulli, the Gaussians) it bounds a log-density on [0, 1]^D, and the 8-bit images' discrete
log-likelihood is bounded through uniform dequantisation:
    log P(x) >= E_u[log p((x + u) / 256)] - D log 256,   x in {0..255}^D, u ~ U[0, 1)^D
(Theis, van den Oord & Bethge, 2016), from which bits per dimension follow.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch

from vaeapp.config import RunConfig
from vaeapp.model.networks import VAE
from vaeapp.model.normalised import is_density, is_normalised
from vaeapp.model.objective import bits_per_dim, elbo_terms, iwae_bound

LEVELS = 256


@dataclass(frozen=True)
class ElboSummary:
    elbo: float
    recon: float
    kl: float
    n: int


@dataclass(frozen=True)
class Evaluation(ElboSummary):
    """The ELBO's figures and the likelihood's; `bits_per_dim` (and, for densities, the
    dequantised `discrete_log_likelihood` it comes from) only where they mean something."""

    normalised: bool
    log_likelihood: float
    importance_samples: int
    seed: int
    bits_per_dim: float | None = None
    discrete_log_likelihood: float | None = None

    def as_dict(self) -> dict[str, float | int | bool]:
        return {key: value for key, value in asdict(self).items() if value is not None}


def evaluation_images(images: torch.Tensor, binarize: bool, seed: int) -> torch.Tensor:
    """The data a model is scored on: one fixed binarisation, drawn with the run's seed, if it
    was trained on binary draws."""
    if not binarize:
        return images
    return torch.bernoulli(images, generator=torch.Generator().manual_seed(seed))


def dequantised(images: torch.Tensor, seed: int) -> torch.Tensor:
    """8-bit images in [0, 1] moved to (x + u) / 256 with x their levels and u ~ U[0, 1)."""
    levels = (images * (LEVELS - 1)).round()
    noise = torch.rand(images.shape, generator=torch.Generator().manual_seed(seed))
    return (levels + noise) / LEVELS


@torch.no_grad()
def elbo_sums(
    model: VAE,
    images: torch.Tensor,
    batch_size: int = 500,
    seed: int = 0,
    part: tuple[int, int] = (0, 1),
) -> torch.Tensor:
    """The reconstruction terms, the KLs and the images, each summed (float64 [3]), over the
    batches `part` = (index, parts) names: every parts-th batch from batch `index`.

    Each batch draws its noise from a generator of its own, seeded by the seed and the batch's
    number, so the parts that N processes compute add up to what one process computes alone.
    """
    index, parts = part
    totals = torch.zeros(3, dtype=torch.float64)
    for number, batch in enumerate(images.split(batch_size)):
        if number % parts != index:
            continue
        generator = torch.Generator(model.device).manual_seed((seed + number) % 2**63)
        terms = elbo_terms(model, batch.to(model.device), generator=generator)
        sums = torch.stack([terms.recon.sum(), terms.kl.sum()]).double().cpu()
        totals += torch.cat([sums, torch.tensor([len(batch)], dtype=torch.float64)])
    return totals


def summary_of(sums: torch.Tensor) -> ElboSummary:
    """Averages from `elbo_sums`' totals (added up over processes, if several made them)."""
    recon, kl, n = sums.tolist()
    return ElboSummary(elbo=(recon - kl) / n, recon=recon / n, kl=kl / n, n=round(n))


def dataset_elbo(
    model: VAE, images: torch.Tensor, batch_size: int = 500, seed: int = 0
) -> ElboSummary:
    """The ELBO (one reparameterised sample per image) and its two terms, averaged."""
    return summary_of(elbo_sums(model, images, batch_size, seed))


@torch.no_grad()
def dataset_log_likelihood(
    model: VAE, images: torch.Tensor, k: int = 1000, batch_size: int = 100, seed: int = 0
) -> float:
    """Mean IWAE_K over the images: the importance-sampled estimate of log p(x), K samples each."""
    generator = torch.Generator(model.device).manual_seed(seed)
    total = 0.0
    for batch in images.split(batch_size):
        total += float(iwae_bound(model, batch.to(model.device), k, generator).double().sum())
    return total / len(images)


def evaluate(model: VAE, config: RunConfig, images: torch.Tensor, k: int, seed: int) -> Evaluation:
    """The run's model scored on `images` (as `evaluation_images` made them) with K importance
    samples per image."""
    likelihood, binarize = config.model.likelihood, config.train.binarize
    bound = dataset_elbo(model, images, seed=seed)
    log_likelihood = dataset_log_likelihood(model, images, k=k, seed=seed)
    normalised = is_normalised(likelihood, binarize)
    discrete = None
    if is_density(likelihood):
        density = dataset_log_likelihood(model, dequantised(images, seed), k=k, seed=seed)
        discrete = density - images[0].numel() * math.log(LEVELS)
    scored = discrete if discrete is not None else log_likelihood
    return Evaluation(
        **asdict(bound),
        log_likelihood=log_likelihood,
        discrete_log_likelihood=discrete,
        bits_per_dim=bits_per_dim(scored, images[0].numel()) if normalised else None,
        normalised=normalised,
        importance_samples=k,
        seed=seed,
    )


def evaluate_test_set(
    model: VAE, config: RunConfig, test_images: torch.Tensor, k: int, seed: int, limit: int = 0
) -> Evaluation:
    """What `vaeapp evaluate` reports and an export's model card holds: the model scored on
    the test images as `evaluation_images` makes them with `seed`, the first `limit` (all for 0)."""
    images = evaluation_images(test_images, config.train.binarize, seed)
    return evaluate(model, config, images[:limit] if limit else images, k=k, seed=seed)

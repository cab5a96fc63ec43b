"""Bounds over a whole data split: the ELBO and its terms, and the importance-weighted log p(x).

All figures are nats per image, averaged over the images. Random draws use a seeded generator,
so the same model and data give the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from vaeapp.model import PIXELS, VAE
from vaeapp.objective import bits_per_dim, elbo_terms, iwae_bound


@dataclass(frozen=True)
class ElboSummary:
    elbo: float
    recon: float
    kl: float
    n: int


@dataclass(frozen=True)
class Evaluation:
    elbo: float
    recon: float
    kl: float
    log_likelihood: float
    bits_per_dim: float
    importance_samples: int
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return asdict(self)


def evaluation_images(images: torch.Tensor, binarize: bool, seed: int = 0) -> torch.Tensor:
    """The data a model is scored on: one fixed binarisation if it was trained on binary draws."""
    if not binarize:
        return images
    return torch.bernoulli(images, generator=torch.Generator().manual_seed(seed))


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


def evaluate(model: VAE, images: torch.Tensor, k: int = 100, seed: int = 0) -> Evaluation:
    bound = dataset_elbo(model, images, seed=seed)
    log_likelihood = dataset_log_likelihood(model, images, k=k, seed=seed)
    return Evaluation(
        elbo=bound.elbo,
        recon=bound.recon,
        kl=bound.kl,
        log_likelihood=log_likelihood,
        bits_per_dim=bits_per_dim(log_likelihood, PIXELS),
        importance_samples=k,
        n=bound.n,
    )

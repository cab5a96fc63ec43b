"""Which likelihoods make a bound a log-likelihood, by their names: no torch, so that a run's
summary (the model picker, the Train page) says it without loading a model."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vaeapp.config import RunConfig


def is_normalised(likelihood: str, binarize: bool) -> bool:
    """Whether log p(x|z), and so every bound built on it, is a log-likelihood of the data it
    scores: a Bernoulli is a distribution over binary pixels, so only of binarised data; the
    discretised logistic is a distribution over 8-bit values, and the continuous Bernoulli and
    the Gaussians are densities, whatever the grey levels."""
    return likelihood != "bernoulli" or binarize


def run_is_normalised(config: RunConfig) -> bool:
    """Whether a run's ELBO bounds a log-likelihood, from its config's likelihood and data."""
    return is_normalised(config.model.likelihood, config.train.binarize)


def is_density(likelihood: str) -> bool:
    """Whether the likelihood is a density over continuous pixels: bits per dimension of 8-bit
    images then need dequantisation, which the discrete ones (Bernoulli, discretised logistic)
    must not have."""
    return likelihood in ("cbernoulli", "gaussian", "gaussian-learned")


NOT_NORMALISED = (
    "not a log-likelihood: a Bernoulli scored on grey levels is no normalised distribution "
    "(train with binarisation for one)"
)

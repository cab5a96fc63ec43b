"""Pixel distributions p(x|z): the decoder outputs their parameters, these turn them into log p.

Each likelihood takes the decoder's raw output `params` with shape [S, B, *event] (S latent samples
per image) or [B, *event], and data `x` with shape [B, *event], and returns log p(x | z) summed over
the event dimensions, in nats, with shape [S, B] or [B].
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
import torch.nn.functional as F
from torch.distributions import ContinuousBernoulli as TorchContinuousBernoulli


class Likelihood(Protocol):
    name: str
    params_per_value: int  # the decoder's outputs per pixel value

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per image, summed over the pixels."""
        ...

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """E[x | z], clamped to [0, 1], for display."""
        ...


def _sum_event(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    event_dims = x.dim() - 1
    return values.flatten(start_dim=values.dim() - event_dims).sum(-1)


class Bernoulli:
    """Bernoulli on logits: the classic choice for binarised MNIST.

    On grey-level data it is not a normalised density (see ContinuousBernoulli), but it remains the
    usual baseline and, with dynamic binarisation of the data, a proper one.
    """

    name = "bernoulli"
    params_per_value = 1

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        target = x.expand_as(params)
        return -_sum_event(F.binary_cross_entropy_with_logits(params, target, reduction="none"), x)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(params)


class ContinuousBernoulli:
    """Continuous Bernoulli (Loaiza-Ganem & Cunningham, 2019): a proper density on [0, 1]."""

    name = "cbernoulli"
    params_per_value = 1

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        dist = _continuous_bernoulli(params)
        return _sum_event(dist.log_prob(x.expand_as(params)), x)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return _continuous_bernoulli(params).mean.clamp(0.0, 1.0)


def _continuous_bernoulli(logits: torch.Tensor) -> TorchContinuousBernoulli:
    return TorchContinuousBernoulli(logits=logits, validate_args=False)


class Gaussian:
    """Gaussian with fixed standard deviation and the decoder output as its mean."""

    name = "gaussian"
    params_per_value = 1

    def __init__(self, std: float) -> None:
        self.std = std
        self._log_norm = math.log(std) + 0.5 * math.log(2 * math.pi)

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        squared = ((x - params) / self.std).pow(2)
        return _sum_event(-0.5 * squared - self._log_norm, x)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params.clamp(0.0, 1.0)


def is_normalised(likelihood: str, binarize: bool) -> bool:
    """Whether log p(x|z), and so every bound built on it, is a log-likelihood of the data it
    scores: a Bernoulli is a distribution over binary pixels, so only of binarised data; the
    continuous Bernoulli and the Gaussian are densities whatever the grey levels."""
    return likelihood != "bernoulli" or binarize


def is_density(likelihood: str) -> bool:
    """Whether the likelihood is a density over continuous pixels (bits per dimension of 8-bit
    images then need dequantisation)."""
    return likelihood != "bernoulli"


NOT_NORMALISED = (
    "not a log-likelihood: a Bernoulli scored on grey levels is no normalised distribution "
    "(train with binarisation for one)"
)


def make_likelihood(name: str, gaussian_std: float = 0.1) -> Likelihood:
    if name == "bernoulli":
        return Bernoulli()
    if name == "cbernoulli":
        return ContinuousBernoulli()
    if name == "gaussian":
        return Gaussian(gaussian_std)
    raise ValueError(f"unknown likelihood {name!r}")

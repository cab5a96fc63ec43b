"""Pixel distributions p(x|z): the decoder outputs their parameters, these turn them into log p.

Each likelihood takes the decoder's raw output `params` with shape [S, B, P * C, H, W] (S latent
samples per image) or [B, P * C, H, W], and data `x` with shape [B, C, H, W], and returns
log p(x | z) summed over the event dimensions, in nats, with shape [S, B] or [B]. P is the
likelihood's `params_per_value`: its parameters per pixel value, in channel blocks, block p being
channels p * C to (p + 1) * C (`params` viewed as [..., P, C, H, W]).
"""

from __future__ import annotations

import math
from typing import Protocol

import torch
import torch.nn.functional as F
from torch.distributions import ContinuousBernoulli as TorchContinuousBernoulli

LOG_2PI = math.log(2 * math.pi)


class Likelihood(Protocol):
    name: str
    params_per_value: int  # the decoder's outputs per pixel value

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """log p(x | z) per image, summed over the pixels."""
        ...

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        """E[x | z] (or a stated stand-in), in [0, 1], shape [..., C, H, W], for display."""
        ...


def _sum_event(values: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    event_dims = x.dim() - 1
    return values.flatten(start_dim=values.dim() - event_dims).sum(-1)


def _blocks(params: torch.Tensor, parts: int) -> tuple[torch.Tensor, ...]:
    """The `parts` channel blocks of [..., parts * C, H, W] params, each [..., C, H, W]."""
    return params.unflatten(-3, (parts, -1)).unbind(-4)


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

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return _sum_event(_normal_log_density(x, params, 1 / self.std, math.log(self.std)), x)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return params.clamp(0.0, 1.0)


class LearnedGaussian:
    """Gaussian with the decoder's mean and log standard deviation per value: a density, like
    the fixed Gaussian, whose spread the model learns pixel by pixel.

    The log-std is clamped below at LOG_STD_MIN, so a pixel that repeats exactly (MNIST's
    background) cannot drive the density to infinity. It is not clamped above: a wide Gaussian
    stays finite, and a ceiling would only stop the gradient that pulls it back.
    """

    name = "gaussian-learned"
    params_per_value = 2
    # Just below the spread of one dequantised 8-bit level, 1 / (256 sqrt 12) = e^-6.8, so the
    # floor does not bind on a model of dequantised data.
    LOG_STD_MIN = -7.0

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        mean, log_std = _blocks(params, self.params_per_value)
        log_std = log_std.clamp(min=self.LOG_STD_MIN)
        return _sum_event(_normal_log_density(x, mean, torch.exp(-log_std), log_std), x)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        return _location(params, self.params_per_value)


class DiscretisedLogistic:
    """The discretised logistic of PixelCNN++ (Salimans et al., 2017; Kingma et al., 2016):
    a distribution over the 256 values k / 255 of 8-bit data.

    Parameters per value: the location mu of a logistic in data units (the decoder's output as
    it is, as PixelCNN++ does: no squashing, so no gradient saturates near 0 or 1) and its log
    scale. Value x gets the logistic's mass on [x - h, x + h], h = 1 / 510 half a level, and the
    two edge values also the tails beyond, so the 256 probabilities sum to one:
        P(x) = sigmoid((x + h - mu) / s) - sigmoid((x - h - mu) / s),
        P(0) = sigmoid((h - mu) / s),   P(1) = 1 - sigmoid((1 - h - mu) / s).
    A difference of sigmoids is computed as a product,
        sigmoid(a) - sigmoid(b) = sigmoid(a) sigmoid(-b) (1 - exp(-(a - b))),
    so its log keeps its precision in every regime, the tiny-probability tails included (where
    PixelCNN++ falls back to the density at the centre). Data are snapped to the nearest level
    (a no-op on 8-bit images).

    The mean shown is that of the logistic clamped to [0, 1], in closed form,
        E[x] = s (softplus(mu / s) - softplus((mu - 1) / s)),
    the integral of P(X > t) over [0, 1]; the discretised mean, sum over the levels of
    P(X >= x) / 255, is that integral's midpoint rule, so the two agree to within half a level.
    Where the model is unsure (a small sprite it cannot place), the picture shows the faint
    blur it expects, not the black its median would.
    """

    name = "dlogistic"
    params_per_value = 2
    LEVELS = 256
    # PixelCNN++'s floor, -7 on its [-1, 1] data, is -7 - log 2 on [0, 1]: there the most likely
    # level can hold 97% of the mass.
    LOG_SCALE_MIN = -7.0 - math.log(2.0)
    LOG_SCALE_MAX_SHOWN = 8.0

    def log_prob(self, params: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        mu, log_scale = _blocks(params, self.params_per_value)
        inverse_scale = torch.exp(-log_scale.clamp(min=self.LOG_SCALE_MIN))
        level = (x * (self.LEVELS - 1)).round()
        # The bin's edges in the logistic's units: a level's upper edge is bit for bit the next
        # level's lower edge, so the 256 probabilities add up to one in floating point too.
        upper = ((level + 0.5) / (self.LEVELS - 1) - mu) * inverse_scale
        lower = ((level - 0.5) / (self.LEVELS - 1) - mu) * inverse_scale
        # Exact (the edges are within a factor 2) but for a scale past e^88, where both edges
        # are 0 and the probability as good as 0; `tiny` keeps its log finite.
        width = (upper - lower).clamp(min=torch.finfo(upper.dtype).tiny)
        lowest, highest = level == 0, level == self.LEVELS - 1
        log_p = (
            torch.where(highest, 0.0, F.logsigmoid(upper))
            + torch.where(lowest, 0.0, F.logsigmoid(-lower))
            + torch.where(lowest | highest, 0.0, torch.log(-torch.expm1(-width)))
        )
        return _sum_event(log_p, x)

    def mean(self, params: torch.Tensor) -> torch.Tensor:
        mu, log_scale = _blocks(params, self.params_per_value)
        # Beyond a scale of e^8 the mean is 1/2 to within 1e-4, and the difference of softplus
        # terms would lose it to float32's rounding.
        scale = torch.exp(log_scale.clamp(self.LOG_SCALE_MIN, self.LOG_SCALE_MAX_SHOWN))
        expected = scale * (_softplus(mu / scale) - _softplus((mu - 1) / scale))
        return expected.clamp(0.0, 1.0)


def _softplus(x: torch.Tensor) -> torch.Tensor:
    """log(1 + e^x), stably, in operators ONNX Runtime Web's WASM build has (it has no
    Softplus): the page's decoder runs this too."""
    return x.clamp(min=0) + torch.log1p(torch.exp(-x.abs()))


def _normal_log_density(
    x: torch.Tensor,
    mean: torch.Tensor,
    inverse_std: torch.Tensor | float,
    log_std: torch.Tensor | float,
) -> torch.Tensor:
    """log N(x; mean, std^2) per value. Multiplying by 1 / std keeps a huge learned std's
    gradient finite, where dividing by its exp (inf) would make it nan."""
    return -0.5 * ((x - mean) * inverse_std).pow(2) - log_std - 0.5 * LOG_2PI


def _location(params: torch.Tensor, parts: int) -> torch.Tensor:
    """The first channel block, the location, clamped to [0, 1]: the image to show."""
    return _blocks(params, parts)[0].clamp(0.0, 1.0)


def make_likelihood(name: str, gaussian_std: float = 0.1) -> Likelihood:
    if name == "bernoulli":
        return Bernoulli()
    if name == "cbernoulli":
        return ContinuousBernoulli()
    if name == "gaussian":
        return Gaussian(gaussian_std)
    if name == "gaussian-learned":
        return LearnedGaussian()
    if name == "dlogistic":
        return DiscretisedLogistic()
    raise ValueError(f"unknown likelihood {name!r}")

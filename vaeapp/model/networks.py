"""The VAE: an encoder for the amortised posterior q(z|x), a decoder for the likelihood p(x|z).

The prior p(z) is N(0, I). The encoder returns the mean and log-variance of a diagonal Gaussian
q(z|x); the decoder returns the parameters of the pixel distribution (see `likelihoods`). The
objective that ties them together lives in `objective`.
"""

from __future__ import annotations

import itertools
import math

import torch
from torch import nn

from vaeapp.config import ModelConfig
from vaeapp.model.likelihoods import Likelihood, make_likelihood

ImageShape = tuple[int, int, int]  # channels, height, width
FEATURE_SIDE = 8  # the conv encoder halves the image until its longer side is at most this
STAGE_WIDTHS = (32, 64)  # channels of the first stride-2 stages; deeper ones keep the last


def conv_stages(image_shape: ImageShape) -> tuple[int, int, int]:
    """How many stride-2 stages the conv networks take (one per doubling of the image), and the
    feature map's height and width after them: 28 -> 14 -> 7, 32 -> 16 -> 8, 64 -> ... -> 8."""
    _, height, width = image_shape
    stages = 0
    while max(height, width) > FEATURE_SIDE:
        height, width, stages = math.ceil(height / 2), math.ceil(width / 2), stages + 1
    return stages, height, width


def stage_widths(stages: int) -> list[int]:
    return [STAGE_WIDTHS[min(i, len(STAGE_WIDTHS) - 1)] for i in range(stages)]


class ConvEncoder(nn.Module):
    """q(z|x): a 3x3 stride-2 convolution per doubling of the image (32, 64, 64, ... channels),
    then Dense 2d (mean and log-variance). For 1x28x28: Conv 32, Conv 64, Dense from 64*7*7."""

    def __init__(self, latent_dim: int, image_shape: ImageShape) -> None:
        super().__init__()
        stages, height, width = conv_stages(image_shape)
        widths = stage_widths(stages)
        layers: list[nn.Module] = []
        for n_in, n_out in zip([image_shape[0], *widths], widths, strict=False):
            layers += [nn.Conv2d(n_in, n_out, 3, stride=2, padding=1), nn.ReLU()]
        self.features = nn.Sequential(*layers, nn.Flatten())
        self.head = nn.Linear(widths[-1] * height * width, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.features(x)).chunk(2, dim=-1)
        return mu, logvar


class ConvDecoder(nn.Module):
    """p(x|z): the encoder mirrored: Dense to 32 maps of the feature size, a stride-2 transposed
    convolution per stage, a 3x3 convolution to `outputs` maps (the likelihood's parameters per
    pixel value), cropped where the doublings overshoot an odd size."""

    def __init__(self, latent_dim: int, image_shape: ImageShape, outputs: int) -> None:
        super().__init__()
        stages, height, width = conv_stages(image_shape)
        widths = [*reversed(stage_widths(stages))]
        first = STAGE_WIDTHS[0]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, first * height * width),
            nn.ReLU(),
            nn.Unflatten(1, (first, height, width)),
        ]
        for n_in, n_out in zip([first, *widths], widths, strict=False):
            layers += [
                nn.ConvTranspose2d(n_in, n_out, 3, stride=2, padding=1, output_padding=1),
                nn.ReLU(),
            ]
        layers.append(nn.ConvTranspose2d(widths[-1], outputs, 3, stride=1, padding=1))
        self.net = nn.Sequential(*layers)
        self.size = image_shape[1:]

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)[..., : self.size[0], : self.size[1]]


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """q(z|x): fully connected layers of the configured hidden sizes, then mean and log-variance."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...], image_shape: ImageShape) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(), _mlp([math.prod(image_shape), *hidden, 2 * latent_dim])
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=-1)
        return mu, logvar


class MLPDecoder(nn.Module):
    """p(x|z): the encoder's hidden sizes in reverse, then `outputs` parameters per pixel."""

    def __init__(
        self, latent_dim: int, hidden: tuple[int, ...], image_shape: ImageShape, outputs: int
    ) -> None:
        super().__init__()
        _, height, width = image_shape
        self.net = nn.Sequential(
            _mlp([latent_dim, *reversed(hidden), outputs * height * width]),
            nn.Unflatten(1, (outputs, height, width)),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    """Encoder, decoder and likelihood; works for any encoder/decoder pair with these signatures."""

    def __init__(
        self,
        encoder: nn.Module,
        decoder: nn.Module,
        likelihood: Likelihood,
        latent_dim: int,
        image_shape: ImageShape = (1, 28, 28),
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.latent_dim = latent_dim
        self.image_shape = image_shape

    @property
    def device(self) -> torch.device:
        """Where the weights are (an imported model's empty buffers, which run on the CPU and
        give back their outputs here): inputs go there."""
        return next(itertools.chain(self.parameters(), self.buffers())).device

    def encode(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Parameters of q(z|x): mean and log-variance, each [B, D], in fp32 (or wider) even when
        the network runs under bf16 or fp16 autocast, so that the KL and the loss stay in fp32."""
        mu, logvar = self.encoder(x)
        return at_least_fp32(mu), at_least_fp32(logvar)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """Parameters of p(x|z) for z of shape [..., D]; the leading shape is kept. In fp32,
        as `encode`'s are, whatever precision the network ran in."""
        lead = z.shape[:-1]
        params = self.decoder(z.reshape(-1, z.shape[-1]))
        return at_least_fp32(params.reshape(*lead, *params.shape[1:]))

    def decode_mean(self, z: torch.Tensor) -> torch.Tensor:
        """E[x|z] in [0, 1]: the image to show for a latent point."""
        return self.likelihood.mean(self.decode(z))


def at_least_fp32(tensor: torch.Tensor) -> torch.Tensor:
    """`tensor` in fp32 if autocast made it bf16 or fp16; as it is otherwise (no copy)."""
    return tensor.to(torch.promote_types(tensor.dtype, torch.float32))


def reparameterize(
    mu: torch.Tensor,
    logvar: torch.Tensor,
    n_samples: int = 1,
    generator: torch.Generator | None = None,
    eps: torch.Tensor | None = None,
) -> torch.Tensor:
    """z = mu + sigma * eps with eps ~ N(0, I): a sample of q(z|x) that gradients pass through.

    Returns [n_samples, B, D]. `eps` of that shape, if given, is used instead of a fresh draw.
    """
    if eps is None:
        shape = (n_samples, *mu.shape)
        eps = torch.randn(shape, generator=generator, device=mu.device, dtype=mu.dtype)
    return mu + torch.exp(0.5 * logvar) * eps


def build_model(config: ModelConfig) -> VAE:
    likelihood = make_likelihood(config.likelihood, config.gaussian_std)
    shape = config.image_shape
    outputs = shape[0] * likelihood.params_per_value
    if config.arch == "conv":
        encoder: nn.Module = ConvEncoder(config.latent_dim, shape)
        decoder: nn.Module = ConvDecoder(config.latent_dim, shape, outputs)
    elif config.arch == "mlp":
        encoder = MLPEncoder(config.latent_dim, config.hidden, shape)
        decoder = MLPDecoder(config.latent_dim, config.hidden, shape, outputs)
    else:
        raise ValueError(f"unknown architecture {config.arch!r}")
    model = VAE(encoder, decoder, likelihood, config.latent_dim, shape)
    if config.arch == "conv":
        # oneDNN's transposed convolutions run about twice as fast on the CPU in this layout
        # (a training step about 1.2x); the numbers computed are the same.
        model = model.to(memory_format=torch.channels_last)
    return model

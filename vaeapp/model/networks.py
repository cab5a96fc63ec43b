"""The VAE: an encoder for the amortised posterior q(z|x), a decoder for the likelihood p(x|z).

The prior p(z) is N(0, I). The encoder returns the mean and log-variance of a diagonal Gaussian
q(z|x); the decoder returns the parameters of the pixel distribution (see `likelihoods`). The
objective that ties them together lives in `objective`.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

from vaeapp.config import ModelConfig
from vaeapp.model.likelihoods import Likelihood, make_likelihood

IMAGE_SHAPE = (1, 28, 28)
PIXELS = 28 * 28


class ConvEncoder(nn.Module):
    """q(z|x): Conv 32 3x3 s2, Conv 64 3x3 s2, Dense 2d (mean and log-variance)."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 32, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Conv2d(32, 64, 3, stride=2, padding=1),
            nn.ReLU(),
            nn.Flatten(),
        )
        self.head = nn.Linear(64 * 7 * 7, 2 * latent_dim)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.head(self.features(x)).chunk(2, dim=-1)
        return mu, logvar


class ConvDecoder(nn.Module):
    """p(x|z): Dense 7*7*32, ConvT 64 s2, ConvT 32 s2, ConvT 1, giving one parameter per pixel."""

    def __init__(self, latent_dim: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(latent_dim, 32 * 7 * 7),
            nn.ReLU(),
            nn.Unflatten(1, (32, 7, 7)),
            nn.ConvTranspose2d(32, 64, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(64, 32, 3, stride=2, padding=1, output_padding=1),
            nn.ReLU(),
            nn.ConvTranspose2d(32, 1, 3, stride=1, padding=1),
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def _mlp(sizes: list[int]) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


class MLPEncoder(nn.Module):
    """q(z|x): fully connected layers of the configured hidden sizes, then mean and log-variance."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), _mlp([PIXELS, *hidden, 2 * latent_dim]))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        mu, logvar = self.net(x).chunk(2, dim=-1)
        return mu, logvar


class MLPDecoder(nn.Module):
    """p(x|z): the encoder's hidden sizes in reverse, then one parameter per pixel."""

    def __init__(self, latent_dim: int, hidden: tuple[int, ...]) -> None:
        super().__init__()
        self.net = nn.Sequential(
            _mlp([latent_dim, *reversed(hidden), PIXELS]), nn.Unflatten(1, IMAGE_SHAPE)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class VAE(nn.Module):
    """Encoder, decoder and likelihood; works for any encoder/decoder pair with these signatures."""

    def __init__(
        self, encoder: nn.Module, decoder: nn.Module, likelihood: Likelihood, latent_dim: int
    ) -> None:
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.latent_dim = latent_dim

    @property
    def device(self) -> torch.device:
        """Where the weights are: inputs go there."""
        return next(self.parameters()).device

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
    if config.arch == "conv":
        encoder: nn.Module = ConvEncoder(config.latent_dim)
        decoder: nn.Module = ConvDecoder(config.latent_dim)
    elif config.arch == "mlp":
        encoder = MLPEncoder(config.latent_dim, config.hidden)
        decoder = MLPDecoder(config.latent_dim, config.hidden)
    else:
        raise ValueError(f"unknown architecture {config.arch!r}")
    likelihood = make_likelihood(config.likelihood, config.gaussian_std)
    model = VAE(encoder, decoder, likelihood, config.latent_dim)
    if config.arch == "conv":
        # oneDNN's transposed convolutions run about twice as fast on the CPU in this layout
        # (a training step about 1.2x); the numbers computed are the same.
        model = model.to(memory_format=torch.channels_last)
    return model

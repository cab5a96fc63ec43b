"""Walks through latent space from one code to another, and the images decoded along the way.

Linear interpolation cuts across the prior's shell; spherical interpolation (slerp) turns the
direction along a great circle while the length changes linearly, so under N(0, I) every point
on the path stays as typical as its endpoints.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vaeapp.errors import ConfigError
from vaeapp.latent.codes import decode, encode_dataset
from vaeapp.model.networks import VAE

METHODS = ("linear", "slerp")
MIN_STEPS = 2
MAX_STEPS = 50
PARALLEL = 1e-6


VISIBLE_CHANGE = 0.03  # mean absolute pixel change between the ends: about 8 grey levels


@dataclass(frozen=True)
class Interpolation:
    """The latent path [steps, D] and the decoded images [steps, 1, 28, 28] along it; the first
    and last images are A's and B's reconstructions."""

    codes: torch.Tensor
    images: torch.Tensor
    spread: float  # the two posteriors' mean standard deviation

    @property
    def distance(self) -> float:
        """How far apart the two codes lie in latent space."""
        return float((self.codes[-1] - self.codes[0]).norm())

    @property
    def change(self) -> float:
        """How different the two ends look: mean absolute pixel change in [0, 1]."""
        return float((self.images[-1] - self.images[0]).abs().mean())

    @property
    def morphs(self) -> bool:
        """Whether the path shows a visible change from A to B; codes that lie close (within
        the posteriors' own spread) decode to nearly the same image."""
        return self.change >= VISIBLE_CHANGE


def lerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` evenly spaced points on the straight line from a to b, both included: [steps, D]."""
    t = torch.linspace(0, 1, steps, dtype=a.dtype).unsqueeze(1)
    return (1 - t) * a + t * b


def slerp(a: torch.Tensor, b: torch.Tensor, steps: int) -> torch.Tensor:
    """`steps` points from a to b: the direction turns at a constant rate on the great circle
    through both, the length goes linearly from |a| to |b|, so every norm lies between theirs.

    Opposite directions have no unique great circle: one through a perpendicular direction is
    taken. A zero endpoint, or a single dimension, has no direction to turn: the line is used.
    """
    norm_a, norm_b = a.norm(), b.norm()
    if min(norm_a, norm_b) < PARALLEL or a.numel() < 2:
        return lerp(a, b, steps)
    u, v = a / norm_a, b / norm_b
    cos = torch.dot(u, v)
    across = v - cos * u
    sin = across.norm()
    if sin < PARALLEL:
        if cos > 0:
            return lerp(a, b, steps)
        across, sin = _perpendicular(u), torch.zeros_like(sin)
    across = across / across.norm()
    t = torch.linspace(0, 1, steps, dtype=a.dtype).unsqueeze(1)
    angle = torch.atan2(sin, cos) * t
    radius = (1 - t) * norm_a + t * norm_b
    return radius * (torch.cos(angle) * u + torch.sin(angle) * across)


def _perpendicular(u: torch.Tensor) -> torch.Tensor:
    """A direction orthogonal to the unit vector u, from the axis u leans on least."""
    axis = torch.zeros_like(u)
    axis[u.abs().argmin()] = 1
    return axis - torch.dot(axis, u) * u


def latent_path(a: torch.Tensor, b: torch.Tensor, steps: int, method: str) -> torch.Tensor:
    """The path from a to b by `method` ("linear" or "slerp"), ending exactly on a and b."""
    if method not in METHODS:
        raise ConfigError(f"unknown interpolation method {method!r}; choose {' or '.join(METHODS)}")
    if not MIN_STEPS <= steps <= MAX_STEPS:
        raise ConfigError(f"steps must be from {MIN_STEPS} to {MAX_STEPS}, got {steps}")
    path = (lerp if method == "linear" else slerp)(a, b, steps)
    path[0], path[-1] = a, b
    return path


@torch.no_grad()
def interpolate_images(
    model: VAE, first: torch.Tensor, second: torch.Tensor, steps: int, method: str
) -> Interpolation:
    """Encode two images ([1, 28, 28] each) to their posterior means, walk between them and
    decode each point; the first and last images are the two inputs' reconstructions."""
    means, logvars = encode_dataset(model, torch.stack([first, second]))
    codes = latent_path(means[0], means[1], steps, method)
    spread = float(torch.exp(0.5 * logvars).mean())
    return Interpolation(codes, decode(model, codes), spread)

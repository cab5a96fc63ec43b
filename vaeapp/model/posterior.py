"""What makes a VAE a VAE, measured on a data set's posteriors q(z|x) = N(mu(x), diag sigma^2(x)):
the KL spent dimension by dimension, the active units, the aggregate posterior against the
prior, nearest neighbours in latent space, and traversals along one dimension.

KL per dimension: KL(q(z|x) || p(z)) = sum_d -1/2 (1 + log sigma_d^2 - mu_d^2 - sigma_d^2)
(Kingma & Welling, 2013, App. B) splits over dimensions; averaged over the data, the parts sum
to the ELBO's KL term. A dimension is active when Var_x(E_q[z_d]) > 0.01 (Burda, Grosse &
Salakhutdinov, 2015, sec. 5.2): the encoder's mean moves with the data there; an inactive one
has collapsed onto the prior and carries nothing.

The aggregate posterior q(z) = (1/N) sum_i q(z|x_i) is where the data land; where the prior
N(0, I) has mass and q(z) has almost none (a hole), the decoder was never trained, and samples
from the prior that fall there look wrong.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from vaeapp.model.activity import is_active

TRAVERSAL_SPAN = 3.0


def kl_per_dim(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """The analytic KL of each latent dimension, averaged over the data: [N, D] -> [D]."""
    per_image = -0.5 * (1 + logvar - mu.pow(2) - logvar.exp())
    return per_image.double().mean(dim=0)


def unit_activity(mu: torch.Tensor) -> torch.Tensor:
    """Var_x of each dimension's posterior mean: [N, D] -> [D]."""
    return mu.double().var(dim=0, unbiased=False)


def active_units(mu: torch.Tensor) -> int:
    """How many dimensions the encoder uses: those whose posterior mean varies over the data
    by more than ACTIVE_VARIANCE."""
    return sum(is_active(v) for v in unit_activity(mu).tolist())


def log_prior_density(points: np.ndarray) -> np.ndarray:
    """log N(z; 0, I) at points [M, K]."""
    return -0.5 * (points**2).sum(axis=1) - 0.5 * points.shape[1] * math.log(2 * math.pi)


def log_aggregate_density(
    points: np.ndarray, mu: np.ndarray, var: np.ndarray, chunk: int = 1 << 22
) -> np.ndarray:
    """log q(z) = log (1/N) sum_i N(z; mu_i, diag var_i) at points [M, K] for posteriors with
    means and variances [N, K] (K = 2 on a map), in chunks so memory stays bounded."""
    points, mu, var = (np.asarray(a, dtype=np.float64) for a in (points, mu, var))
    log_norm = -0.5 * np.log(2 * math.pi * var).sum(axis=1)  # [N]
    step = max(1, chunk // max(1, len(mu)))
    out = np.empty(len(points))
    for start in range(0, len(points), step):
        part = points[start : start + step, None, :]  # [m, 1, K]
        log_terms = log_norm - 0.5 * ((part - mu) ** 2 / var).sum(axis=2)  # [m, N]
        peak = log_terms.max(axis=1, keepdims=True)
        out[start : start + step] = peak[:, 0] + np.log(np.exp(log_terms - peak).mean(axis=1))
    return out


def density_contours(
    log_density: np.ndarray, xs: np.ndarray, ys: np.ndarray, levels: int = 4
) -> list[np.ndarray]:
    """Contour lines of a density sampled on a grid (log_density [len(ys), len(xs)]), at
    `levels` fractions of its peak from 10% down: a list of polylines [K, 2]."""
    from contourpy import contour_generator

    density = np.exp(log_density - log_density.max())
    generator = contour_generator(xs, ys, density)
    fractions = np.geomspace(0.5, 0.02, levels)
    return [line for level in fractions for line in generator.lines(level) if len(line) > 1]


def nearest(codes: torch.Tensor, query: torch.Tensor, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The k codes nearest the query [D] (Euclidean, in latent space): indices and distances,
    nearest first."""
    distances = torch.cdist(query[None].double(), codes.double())[0]
    k = min(k, len(codes))
    found = torch.topk(distances, k, largest=False)
    return found.indices.numpy(), found.values.numpy()


def traversal_codes(base: torch.Tensor, dims: list[int], steps: int) -> torch.Tensor:
    """For each dimension in `dims`, `steps` codes equal to `base` but for that dimension, which
    goes from base - 3 to base + 3 (three of the prior's standard deviations): [len(dims) *
    steps, D], row by row."""
    offsets = torch.linspace(-TRAVERSAL_SPAN, TRAVERSAL_SPAN, steps)
    rows = []
    for dim in dims:
        codes = base.expand(steps, -1).clone()
        codes[:, dim] = base[dim] + offsets
        rows.append(codes)
    return torch.cat(rows)


def ellipse_outline(centre: np.ndarray, covariance: np.ndarray, points: int = 40) -> np.ndarray:
    """The one-standard-deviation ellipse of N(centre, [[a, b], [b, c]]) given as (a, b, c):
    a closed polyline [points + 1, 2] (the unit circle through the covariance's square root)."""
    a, b, c = (float(v) for v in covariance)
    values, vectors = np.linalg.eigh(np.array([[a, b], [b, c]]))
    root = vectors @ np.diag(np.sqrt(np.clip(values, 0, None)))
    angles = np.linspace(0, 2 * math.pi, points + 1)
    return (
        np.asarray(centre, dtype=np.float64)
        + np.stack([np.cos(angles), np.sin(angles)], 1) @ root.T
    )


HOLE_PRIOR = 0.1  # the prior's density there at least this fraction of its peak (within ~2.1 sd)
HOLE_DATA = 0.02  # the aggregate posterior's below this fraction of its peak


def in_hole(point: np.ndarray, mu: np.ndarray, var: np.ndarray, peak: float) -> bool:
    """Whether a 2-D point lies where the prior has mass and the data none: p(z) within its
    typical range, q(z) under 2% of its peak `peak` (log density, over the map)."""
    point = np.asarray(point, dtype=np.float64).reshape(1, 2)
    prior = log_prior_density(point)[0] - log_prior_density(np.zeros((1, 2)))[0]
    data = log_aggregate_density(point, mu, var)[0] - peak
    return bool(prior > math.log(HOLE_PRIOR) and data < math.log(HOLE_DATA))


@dataclass(frozen=True)
class DensityMap:
    """The prior's and the aggregate posterior's contours over a 2-D map, and the latter's
    peak (log density) for `in_hole`."""

    prior: list[np.ndarray]
    aggregate: list[np.ndarray]
    aggregate_peak: float


def density_map(
    mu: np.ndarray,
    var: np.ndarray,
    x_range: tuple[float, float],
    y_range: tuple[float, float],
    side: int = 80,
) -> DensityMap:
    """p(z) and q(z) = (1/N) sum_i q(z|x_i) of a 2-D latent space on a side x side grid over the
    map, as contour lines."""
    xs, ys = np.linspace(*x_range, side), np.linspace(*y_range, side)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    aggregate = log_aggregate_density(grid, mu, var).reshape(side, side)
    prior = log_prior_density(grid).reshape(side, side)
    return DensityMap(
        prior=density_contours(prior, xs, ys),
        aggregate=density_contours(aggregate, xs, ys),
        aggregate_peak=float(aggregate.max()),
    )

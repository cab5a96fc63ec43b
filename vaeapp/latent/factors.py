"""How a latent space relates to known factors of the data (digit class, colour, pose, ...):
the mutual information between each code dimension and each factor, and the Mutual Information
Gap (Chen et al., 2018), a disentanglement score.

Estimates are plug-in, from histograms, as disentanglement_lib's: each code dimension cut into
BINS equal-width bins over its range, each factor's values taken as they are. All in nats.
"""

from __future__ import annotations

import numpy as np

BINS = 20


def mutual_information(codes: np.ndarray, factors: np.ndarray) -> np.ndarray:
    """I(z_d; v_f) for every code dimension d and factor f, [D, F], from codes [N, D] and
    integer factors [N, F]."""
    _check(codes, factors)
    binned = _binned(codes)
    return np.stack([_binned_mutual_information(binned, factor) for factor in factors.T], axis=1)


def factor_entropy(factors: np.ndarray) -> np.ndarray:
    """H(v_f) of each factor's empirical distribution, [F], from integer factors [N, F]."""
    _check_factors(factors)
    return np.array([_entropy(np.unique(factor, return_counts=True)[1]) for factor in factors.T])


def mig(codes: np.ndarray, factors: np.ndarray) -> tuple[float, np.ndarray]:
    """The Mutual Information Gap and its terms per factor: for each factor, the largest mutual
    information with one code dimension less the second largest, over the factor's entropy; 1
    when each factor lives in one dimension alone, 0 when none stands out. A factor that takes
    one value (entropy 0) has no gap: its term is nan and it is left out of the mean."""
    information = mutual_information(codes, factors)
    entropy = factor_entropy(factors)
    varies = entropy > 0
    if not varies.any():
        raise ValueError("every factor takes a single value: there is no gap to measure")
    second, first = np.sort(information, axis=0)[-2:]
    per_factor = np.full(entropy.shape, np.nan)
    per_factor[varies] = (first - second)[varies] / entropy[varies]
    return float(per_factor[varies].mean()), per_factor


def _check(codes: np.ndarray, factors: np.ndarray) -> None:
    _check_factors(factors)
    if codes.ndim != 2:
        raise ValueError(f"codes must be [N, D], got shape {codes.shape}")
    if codes.shape[0] != factors.shape[0]:
        raise ValueError(
            f"codes and factors must hold the same samples, got {codes.shape[0]} and "
            f"{factors.shape[0]}"
        )
    if codes.shape[1] < 2:
        raise ValueError("a gap between the two most informative dimensions needs D >= 2")
    if not np.isfinite(codes).all():
        raise ValueError("codes must be finite")


def _check_factors(factors: np.ndarray) -> None:
    if factors.ndim != 2 or factors.shape[0] == 0:
        raise ValueError(f"factors must be [N, F] with N > 0, got shape {factors.shape}")
    if not np.issubdtype(factors.dtype, np.integer):
        raise ValueError(f"factors must be integers (discrete values), got {factors.dtype}")


def _binned(codes: np.ndarray) -> np.ndarray:
    """Each code dimension as bin numbers 0..BINS-1 of BINS equal bins over its range, its
    maximum in the top bin; a constant dimension all in one bin."""
    low, high = codes.min(axis=0), codes.max(axis=0)
    span = np.where(high > low, high - low, 1.0)
    binned = np.floor((codes - low) / span * BINS).astype(np.int64)
    return np.minimum(binned, BINS - 1)


def _binned_mutual_information(binned: np.ndarray, factor: np.ndarray) -> np.ndarray:
    """I(z_d; v) = H(z_d) + H(v) - H(z_d, v) from the joint histogram, for each column d of
    binned codes [N, D] and one factor [N]; [D]."""
    _, value = np.unique(factor, return_inverse=True)
    count = int(value.max()) + 1
    information = np.empty(binned.shape[1])
    for d, column in enumerate(binned.T):
        joint = np.bincount(column * count + value, minlength=BINS * count).reshape(BINS, count)
        information[d] = _entropy(joint.sum(1)) + _entropy(joint.sum(0)) - _entropy(joint)
    return np.maximum(information, 0.0)  # independence rounds to about -1e-16, not 0


def _entropy(counts: np.ndarray) -> float:
    """Entropy in nats of the empirical distribution with these counts."""
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())

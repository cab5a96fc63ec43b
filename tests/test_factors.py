"""Mutual information with known factors and the MIG, against closed forms: on a full factorial
grid a copied factor carries its whole entropy and every other dimension exactly none."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from vaeapp.latent.factors import factor_entropy, mig, mutual_information

SIZES = (3, 4, 5)  # the values each factor takes


def grid(*sizes: int) -> np.ndarray:
    """Every combination of the values once: [prod(sizes), len(sizes)] integers."""
    return np.array(list(itertools.product(*(range(size) for size in sizes))))


def test_factor_entropy_of_uniform_factors_is_log_of_their_sizes() -> None:
    entropy = factor_entropy(grid(*SIZES))
    np.testing.assert_allclose(entropy, np.log(SIZES), rtol=1e-12)


def test_mutual_information_of_a_noisy_binary_copy() -> None:
    """Counts 40, 10 / 10, 40 of (code, factor): I = log 2 + 0.2 log 0.2 + 0.8 log 0.8."""
    pairs = [(0, 0)] * 40 + [(0, 1)] * 10 + [(1, 0)] * 10 + [(1, 1)] * 40
    code, factor = np.array(pairs).T
    codes = np.stack([code * 2.5 - 1, np.zeros(100)], axis=1)  # a constant second dimension
    information = mutual_information(codes, factor[:, None])
    expected = math.log(2) + 0.2 * math.log(0.2) + 0.8 * math.log(0.8)
    np.testing.assert_allclose(information, [[expected], [0.0]], atol=1e-12)


def test_a_latent_that_copies_each_factor_has_a_gap_of_one() -> None:
    factors = grid(*SIZES)
    score, per_factor = mig(factors * 0.7 - 1.0, factors)
    assert score == pytest.approx(1.0, abs=1e-9)
    np.testing.assert_allclose(per_factor, 1.0, atol=1e-9)


def test_a_dimension_of_noise_independent_of_the_factors_leaves_the_gap_at_one() -> None:
    """The noise is drawn once per value of a nuisance crossed with the factors, so on the grid
    it is independent of them exactly, not just in expectation."""
    full = grid(*SIZES, 7)
    factors, nuisance = full[:, :-1], full[:, -1]
    noise = np.random.default_rng(0).normal(size=7)[nuisance]
    codes = np.column_stack([factors.astype(float), noise])
    information = mutual_information(codes, factors)
    np.testing.assert_allclose(information[-1], 0.0, atol=1e-12)
    score, _ = mig(codes, factors)
    assert score == pytest.approx(1.0, abs=1e-9)


def test_gaussian_noise_codes_have_a_gap_near_zero() -> None:
    rng = np.random.default_rng(1)
    factors = np.column_stack([rng.integers(0, 3, 10_000), rng.integers(0, 10, 10_000)])
    score, per_factor = mig(rng.normal(size=(10_000, 6)), factors)
    assert 0 <= score < 0.05 and (per_factor < 0.05).all()


def test_the_information_matrix_follows_a_permutation_of_the_factors() -> None:
    """Dimension d copies factor perm[d], next to two dimensions of noise: the information is
    [D, F], non-negative, and each factor's column peaks, at its entropy, where it was put."""
    rng = np.random.default_rng(2)
    factors = rng.integers(0, (2, 4, 6, 8), size=(5_000, 4))
    perm = np.array([2, 0, 3, 1])
    codes = np.column_stack(
        [factors[:, perm] + rng.uniform(0, 0.01, (5_000, 4)), rng.normal(size=(5_000, 2))]
    )
    information = mutual_information(codes, factors)
    assert information.shape == (6, 4) and (information >= 0).all()
    np.testing.assert_array_equal(information.argmax(0), np.argsort(perm))
    np.testing.assert_allclose(information.max(0), factor_entropy(factors), rtol=1e-12)


def test_a_factor_with_one_value_is_left_out_of_the_mean() -> None:
    factors = np.column_stack([grid(*SIZES), np.zeros(60, dtype=int)])
    codes = np.column_stack([factors[:, :3] * 1.0, np.ones(60)])
    score, per_factor = mig(codes, factors)
    assert score == pytest.approx(1.0, abs=1e-9) and np.isnan(per_factor[3])
    with pytest.raises(ValueError, match="single value"):
        mig(codes, factors[:, 3:])


@pytest.mark.parametrize(
    ("codes", "factors", "words"),
    [
        (np.zeros((10, 1)), np.zeros((10, 2), dtype=int), "D >= 2"),
        (np.zeros((10, 3)), np.zeros((9, 2), dtype=int), "same samples"),
        (np.zeros((10, 3)), np.zeros((10, 2)), "integers"),
        (np.full((10, 3), np.nan), np.zeros((10, 2), dtype=int), "finite"),
        (np.zeros(10), np.zeros((10, 2), dtype=int), r"\[N, D\]"),
    ],
)
def test_inputs_that_do_not_fit_are_refused(
    codes: np.ndarray, factors: np.ndarray, words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        mig(codes, factors)

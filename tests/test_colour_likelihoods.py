"""The likelihoods with two parameters per value: the discretised logistic against its closed
form (a distribution over the 256 levels, the tails included) and the learned Gaussian against
torch's Normal; their channel blocks, means and what their bounds mean."""

from __future__ import annotations

import math

import pytest
import torch
from torch.distributions import Normal

from vaeapp.config import LIKELIHOODS
from vaeapp.model.likelihoods import make_likelihood
from vaeapp.model.normalised import is_density, is_normalised

LEVELS = 256
H = 0.5 / (LEVELS - 1)  # half a level: the bins are [x - H, x + H]
DLOGISTIC = make_likelihood("dlogistic")
GEN = torch.Generator().manual_seed(0)


def sigmoid(value: float) -> float:
    return 1 / (1 + math.exp(-value))


def params_of(*blocks: torch.Tensor) -> torch.Tensor:
    """Decoder output [..., P * C, H, W] from its P channel blocks, each [..., C, H, W]."""
    return torch.cat(blocks, dim=-3)


def one_value(mu: float, log_scale: float) -> torch.Tensor:
    """Params [1, 2, 1, 1] of one pixel's location and log scale."""
    return torch.tensor([mu, log_scale]).reshape(1, 2, 1, 1)


def dlogistic_log_p(x: float, mu: float, log_scale: float) -> torch.Tensor:
    return DLOGISTIC.log_prob(one_value(mu, log_scale), torch.tensor(x).reshape(1, 1, 1, 1))[0]


# Locations inside, at and far outside [0, 1]; scales from below the floor to far wider than
# the data.
EXTREMES = [
    (0.5, -12.0),
    (0.5, -7.7),
    (0.0, -7.7),
    (1.0, -7.7),
    (100 / 255, -3.0),
    (0.123, -5.0),
    (0.3, math.log(0.05)),
    (-3.0, 1.0),
    (4.0, -2.0),
    (0.5, 5.0),
    (0.5, 200.0),
]


def test_the_256_levels_probabilities_sum_to_one() -> None:
    params = torch.stack([one_value(*case) for case in EXTREMES]).expand(-1, LEVELS, -1, -1, -1)
    levels = (torch.arange(LEVELS) / (LEVELS - 1)).reshape(LEVELS, 1, 1, 1)
    log_p = DLOGISTIC.log_prob(params, levels)  # [S = cases, B = levels]
    assert log_p.shape == (len(EXTREMES), LEVELS) and log_p.isfinite().all()
    torch.testing.assert_close(log_p.exp().sum(1), torch.ones(len(EXTREMES)), atol=1e-5, rtol=0)


@pytest.mark.parametrize("scale", [0.001, 0.01, 0.3])
def test_a_level_at_the_location_has_the_mass_of_its_bin(scale: float) -> None:
    """P(c) = sigmoid(H / s) - sigmoid(-H / s) for the location at a level c."""
    expected = sigmoid(H / scale) - sigmoid(-H / scale)
    got = dlogistic_log_p(77 / 255, 77 / 255, math.log(scale)).exp().item()
    assert got == pytest.approx(expected, rel=1e-4)


def test_the_edge_levels_take_the_tails() -> None:
    """P(0) = sigmoid((H - mu) / s), P(1) = 1 - sigmoid((1 - H - mu) / s)."""
    mu, s = 0.02, 0.03
    bottom = dlogistic_log_p(0.0, mu, math.log(s)).exp().item()
    top = dlogistic_log_p(1.0, 1 - mu, math.log(s)).exp().item()
    assert bottom == pytest.approx(sigmoid((H - mu) / s), rel=1e-5)
    assert top == pytest.approx(1 - sigmoid((1 - H - (1 - mu)) / s), rel=1e-5)
    assert bottom > 0.25  # the tail below 0 counts: the bin alone holds less


@pytest.mark.parametrize(("x", "mu"), [(250 / 255, 0.1), (3 / 255, 0.9)])
def test_far_tails_keep_their_log_probability(x: float, mu: float) -> None:
    """About e^-44 of mass, where float32's sigmoids round to 0 or 1: the closed form in float64
    as sigmoid(-b) - sigmoid(-a) (above the location) or sigmoid(a) - sigmoid(b) (below), each
    a difference of small numbers, a = (x + H - mu) / s and b = (x - H - mu) / s."""
    s = 0.02
    a, b = (x + H - mu) / s, (x - H - mu) / s
    expected = sigmoid(-b) - sigmoid(-a) if x > mu else sigmoid(a) - sigmoid(b)
    assert expected < 1e-18
    assert dlogistic_log_p(x, mu, math.log(s)).item() == pytest.approx(math.log(expected), rel=1e-5)


def test_channel_blocks_are_locations_then_log_scales() -> None:
    """Two channels, one pixel: params [mu_0, mu_1, log s_0, log s_1]; the log-probability is
    the sum of each channel's, from the edge formula (channel 0) and the bin formula (1)."""
    mu, s = (0.01, 0.6), (0.02, 0.1)
    params = torch.tensor([mu[0], mu[1], math.log(s[0]), math.log(s[1])]).reshape(1, 4, 1, 1)
    x = torch.tensor([0.0, 140 / 255]).reshape(1, 2, 1, 1)
    expected = math.log(sigmoid((H - mu[0]) / s[0])) + math.log(
        sigmoid((140 / 255 + H - mu[1]) / s[1]) - sigmoid((140 / 255 - H - mu[1]) / s[1])
    )
    assert DLOGISTIC.log_prob(params, x).item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("name", ["dlogistic", "gaussian-learned"])
def test_log_prob_shapes_and_finite_gradients_at_extremes(name: str) -> None:
    """[S, B, 2C, H, W] -> [S, B] and [B, 2C, H, W] -> [B]; at locations and scales far
    outside any sane range, and the edge levels, values and gradients stay finite."""
    likelihood = make_likelihood(name)
    mu = torch.tensor([-50.0, 0.0, 0.5, 1.0, 50.0]).reshape(5, 1, 1)
    log_scale = torch.tensor([-30.0, -7.7, 0.0, 30.0, 200.0]).reshape(1, 5, 1)
    x = torch.tensor([0.0, 1 / 255, 0.5, 254 / 255, 1.0]).reshape(1, 1, 5)
    grid = torch.broadcast_tensors(mu, log_scale, x)  # every combination: [5, 5, 5]
    params = torch.stack(grid[:2]).reshape(1, 2, 1, 125).requires_grad_()
    log_p = likelihood.log_prob(params.expand(3, 4, 2, 1, 125), grid[2].reshape(1, 1, 1, 125))
    assert log_p.shape == (3, 4) and log_p.isfinite().all()
    log_p.sum().backward()
    assert params.grad is not None and params.grad.isfinite().all()
    colour = torch.randn(6, 6, 8, 8, generator=GEN)  # [B, 2C, H, W], C = 3
    assert likelihood.log_prob(colour, torch.rand(6, 3, 8, 8, generator=GEN)).shape == (6,)


def test_learned_gaussian_matches_torch_normal_with_its_floor() -> None:
    mean = torch.rand(2, 5, 3, 4, 4, generator=GEN)
    log_std = torch.rand(2, 5, 3, 4, 4, generator=GEN) * 4 - 5
    log_std[..., 0, 0] = -20.0  # below the floor: scored as log-std -7
    x = torch.rand(5, 3, 4, 4, generator=GEN)
    std = log_std.clamp(min=-7).exp()
    expected = Normal(mean, std).log_prob(x.expand_as(mean)).sum((-1, -2, -3))
    got = make_likelihood("gaussian-learned").log_prob(params_of(mean, log_std), x)
    torch.testing.assert_close(got, expected)


def test_the_dlogistic_mean_is_the_mean_of_its_256_levels() -> None:
    """Sum of x P(x) over the levels, P from log_prob: the closed form is within half a level."""
    params = torch.stack([one_value(*case) for case in EXTREMES]).expand(-1, LEVELS, -1, -1, -1)
    levels = (torch.arange(LEVELS) / (LEVELS - 1)).reshape(LEVELS, 1, 1, 1)
    exact = (DLOGISTIC.log_prob(params, levels).exp() * levels.flatten()).sum(1)
    shown = DLOGISTIC.mean(params[:, :1]).flatten()
    torch.testing.assert_close(shown, exact, atol=H, rtol=0)


def test_an_unsure_dlogistic_shows_the_blur_it_expects() -> None:
    """Black is most likely, but a wide logistic's mean is not black: the picture shows it."""
    unsure = DLOGISTIC.mean(one_value(0.0, math.log(0.2))).item()
    assert unsure == pytest.approx(0.2 * (math.log(2) - math.log1p(math.exp(-5))), abs=1e-6)
    assert DLOGISTIC.mean(one_value(0.4, -7.7)).item() == pytest.approx(0.4, abs=1e-5)


def test_the_gaussian_mean_is_the_location_in_unit_range() -> None:
    location = torch.tensor([-1.0, 0.25, 2.0]).reshape(1, 1, 3, 1, 1).expand(4, 2, 3, 5, 5)
    log_scale = torch.randn(4, 2, 3, 5, 5, generator=GEN)
    mean = make_likelihood("gaussian-learned").mean(params_of(location, log_scale))
    assert mean.shape == (4, 2, 3, 5, 5)
    torch.testing.assert_close(mean[0, 0, :, 0, 0], torch.tensor([0.0, 0.25, 1.0]))


def test_every_configurable_likelihood_is_made_with_its_parameter_count() -> None:
    made = {name: make_likelihood(name) for name in LIKELIHOODS}
    assert {name: lik.name for name, lik in made.items()} == {name: name for name in LIKELIHOODS}
    assert {name: lik.params_per_value for name, lik in made.items()} == {
        "bernoulli": 1,
        "cbernoulli": 1,
        "gaussian": 1,
        "gaussian-learned": 2,
        "dlogistic": 2,
    }


def test_which_bounds_are_likelihoods_and_which_need_dequantising() -> None:
    """The discretised logistic is a distribution over 8-bit values (normalised, no density);
    the Gaussians and the continuous Bernoulli are densities; a Bernoulli neither, unless the
    data are binarised."""
    normalised = {name: is_normalised(name, binarize=False) for name in LIKELIHOODS}
    density = {name: is_density(name) for name in LIKELIHOODS}
    assert normalised == {name: name != "bernoulli" for name in LIKELIHOODS}
    assert density == {name: name not in ("bernoulli", "dlogistic") for name in LIKELIHOODS}
    assert is_normalised("bernoulli", binarize=True)


def test_the_log_scale_floor_caps_the_most_likely_level() -> None:
    """Below the floor, e^-7 / 2 (PixelCNN++'s e^-7 on [-1, 1] data), a logistic at a level
    still gives it sigmoid(H / s) - sigmoid(-H / s) of the floor's s, about 0.973."""
    s = math.exp(-7) / 2
    expected = sigmoid(H / s) - sigmoid(-H / s)
    assert dlogistic_log_p(0.6, 153 / 255, -12.0).exp().item() == pytest.approx(expected, rel=1e-4)
    assert expected == pytest.approx(0.973, abs=1e-3)

"""Each likelihood against torch.distributions, and the continuous Bernoulli as a proper density."""

from __future__ import annotations

import torch
from torch.distributions import Bernoulli as TorchBernoulli
from torch.distributions import ContinuousBernoulli as TorchContinuousBernoulli
from torch.distributions import Normal

from vaeapp.likelihoods import make_likelihood

GEN = torch.Generator().manual_seed(0)
PARAMS = torch.randn(3, 5, 1, 28, 28, generator=GEN)  # [S, B, *event]
GREY = torch.rand(5, 1, 28, 28, generator=GEN)


def test_bernoulli_matches_torch_on_binary_data() -> None:
    binary = torch.bernoulli(GREY, generator=GEN)
    expected = TorchBernoulli(logits=PARAMS).log_prob(binary.expand_as(PARAMS)).sum((-1, -2, -3))
    got = make_likelihood("bernoulli").log_prob(PARAMS, binary)
    assert got.shape == (3, 5)
    torch.testing.assert_close(got, expected)


def test_continuous_bernoulli_matches_torch() -> None:
    dist = TorchContinuousBernoulli(logits=PARAMS)
    expected = dist.log_prob(GREY.expand_as(PARAMS)).sum((-1, -2, -3))
    torch.testing.assert_close(make_likelihood("cbernoulli").log_prob(PARAMS, GREY), expected)


def test_continuous_bernoulli_integrates_to_one_and_bernoulli_does_not() -> None:
    grid = torch.linspace(0, 1, 20_001).reshape(-1, 1)
    logits = torch.tensor([[-2.0], [0.3], [4.0]]).reshape(3, 1, 1)
    cb, bern = make_likelihood("cbernoulli"), make_likelihood("bernoulli")
    for logit in logits:
        params = logit.expand(1, len(grid), 1)
        density = cb.log_prob(params, grid).exp().squeeze(0)
        assert abs(torch.trapezoid(density, grid.squeeze()).item() - 1) < 1e-3
        improper = bern.log_prob(params, grid).exp().squeeze(0)
        assert torch.trapezoid(improper, grid.squeeze()).item() < 0.99


def test_gaussian_matches_torch_normal() -> None:
    expected = Normal(PARAMS, 0.3).log_prob(GREY.expand_as(PARAMS)).sum((-1, -2, -3))
    torch.testing.assert_close(make_likelihood("gaussian", 0.3).log_prob(PARAMS, GREY), expected)


def test_means_are_images_in_unit_range() -> None:
    for name in ("bernoulli", "cbernoulli", "gaussian"):
        mean = make_likelihood(name).mean(PARAMS * 5)
        assert mean.shape == PARAMS.shape
        assert mean.min() >= 0 and mean.max() <= 1
    torch.testing.assert_close(make_likelihood("bernoulli").mean(PARAMS), torch.sigmoid(PARAMS))

"""Each likelihood against torch.distributions, and the continuous Bernoulli as a proper density."""

from __future__ import annotations

import torch
from torch.distributions import Bernoulli as TorchBernoulli
from torch.distributions import Normal

from vaeapp.model.likelihoods import make_likelihood

GEN = torch.Generator().manual_seed(0)
PARAMS = torch.randn(3, 5, 1, 28, 28, generator=GEN)  # [S, B, *event]
GREY = torch.rand(5, 1, 28, 28, generator=GEN)


def test_bernoulli_matches_torch_on_binary_data() -> None:
    binary = torch.bernoulli(GREY, generator=GEN)
    expected = TorchBernoulli(logits=PARAMS).log_prob(binary.expand_as(PARAMS)).sum((-1, -2, -3))
    got = make_likelihood("bernoulli").log_prob(PARAMS, binary)
    assert got.shape == (3, 5)
    torch.testing.assert_close(got, expected)


def test_continuous_bernoulli_is_its_closed_form_including_near_logit_zero() -> None:
    """log p(x) = log C(l) + x log l + (1 - x) log(1 - l), with l = sigmoid(logit) and
    C(l) = 2 artanh(1 - 2l) / (1 - 2l), which tends to 2 at l = 1/2 (Loaiza-Ganem &
    Cunningham, 2019, eq. 7)."""
    logits = torch.tensor([-3.0, -0.5, -1e-3, 1e-5, 0.0, 0.8, 6.0], dtype=torch.float64)
    x = torch.tensor([0.1, 0.9, 0.3, 0.5, 0.7, 0.0, 1.0], dtype=torch.float64)
    lam = torch.sigmoid(logits)
    norm = torch.where(
        (lam - 0.5).abs() < 1e-4,
        torch.full_like(lam, 2.0),
        2 * torch.atanh(1 - 2 * lam) / (1 - 2 * lam),
    )
    expected = torch.log(norm) + x * torch.log(lam) + (1 - x) * torch.log1p(-lam)
    params = logits.reshape(1, 7, 1, 1, 1).float()
    got = make_likelihood("cbernoulli").log_prob(params, x.reshape(7, 1, 1, 1).float())
    torch.testing.assert_close(got[0].double(), expected, atol=2e-4, rtol=1e-4)


def test_gaussian_matches_torch_normal() -> None:
    expected = Normal(PARAMS, 0.3).log_prob(GREY.expand_as(PARAMS)).sum((-1, -2, -3))
    torch.testing.assert_close(make_likelihood("gaussian", 0.3).log_prob(PARAMS, GREY), expected)


def test_means_are_images_in_unit_range() -> None:
    for name in ("bernoulli", "cbernoulli", "gaussian"):
        mean = make_likelihood(name).mean(PARAMS * 5)
        assert mean.shape == PARAMS.shape
        assert mean.min() >= 0 and mean.max() <= 1
    torch.testing.assert_close(make_likelihood("bernoulli").mean(PARAMS), torch.sigmoid(PARAMS))

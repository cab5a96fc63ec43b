"""Latent paths (lerp, slerp) and the images decoded along them, with the shipped model."""

from __future__ import annotations

import pytest
import torch

from vaeapp.data.sources import load_dataset
from vaeapp.errors import ConfigError
from vaeapp.latent.codes import reconstruct
from vaeapp.latent.interpolation import MAX_STEPS, interpolate_images, latent_path, lerp, slerp
from vaeapp.store.catalog import DEFAULT_MODEL
from vaeapp.store.runs import Run


def random_pairs(dim: int, count: int = 20) -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(dim)
    scales = torch.rand(count, 2, generator=generator) * 3
    codes = torch.randn(count, 2, dim, generator=generator) * scales.unsqueeze(-1)
    return [(a, b) for a, b in codes]


def test_lerp_is_evenly_spaced_from_a_to_b() -> None:
    a, b = torch.tensor([0.0, 2.0]), torch.tensor([4.0, -2.0])
    path = lerp(a, b, 5)
    assert torch.allclose(path, torch.tensor([[0, 2], [1, 1], [2, 0], [3, -1], [4, -2.0]]))


@pytest.mark.parametrize("dim", [2, 3, 16])
def test_slerp_keeps_every_norm_between_the_endpoints_norms(dim: int) -> None:
    for a, b in random_pairs(dim):
        norms = slerp(a, b, 25).norm(dim=1)
        low, high = sorted([a.norm(), b.norm()])
        assert (norms >= low - 1e-5).all() and (norms <= high + 1e-5).all()


@pytest.mark.parametrize("dim", [2, 8])
def test_slerp_turns_at_a_constant_rate_and_ends_on_b(dim: int) -> None:
    for a, b in random_pairs(dim, count=5):
        path = slerp(a, b, 9)
        unit = path / path.norm(dim=1, keepdim=True)
        turns = torch.arccos((unit[1:] * unit[:-1]).sum(dim=1).clamp(-1, 1))
        assert torch.allclose(turns, turns.mean().expand_as(turns), atol=1e-3)
        assert torch.allclose(path[0], a, atol=1e-5) and torch.allclose(path[-1], b, atol=1e-4)


def test_slerp_differs_from_lerp_when_the_direction_turns() -> None:
    a, b = torch.tensor([2.0, 0.0]), torch.tensor([0.0, 2.0])
    assert torch.allclose(slerp(a, b, 3)[1], torch.tensor([2**0.5, 2**0.5]))
    assert torch.allclose(lerp(a, b, 3)[1], torch.tensor([1.0, 1.0]))


def test_slerp_between_opposite_codes_goes_round_not_through_zero() -> None:
    a = torch.tensor([1.0, 2.0, 0.5])
    path = slerp(a, -2 * a, 11)
    assert path.norm(dim=1).min() >= a.norm() - 1e-5
    assert torch.allclose(path[-1], -2 * a, atol=1e-5)


@pytest.mark.parametrize(
    ("a", "b"),
    [([0.0, 0.0], [1.0, 2.0]), ([1.0], [-3.0]), ([1.0, 1.0], [2.0, 2.0])],
    ids=["zero endpoint", "one dimension", "same direction"],
)
def test_slerp_without_a_turn_is_the_line(a: list[float], b: list[float]) -> None:
    a_, b_ = torch.tensor(a), torch.tensor(b)
    assert torch.allclose(slerp(a_, b_, 6), lerp(a_, b_, 6))


@pytest.mark.parametrize("method", ["linear", "slerp"])
@pytest.mark.parametrize("steps", [2, 10, MAX_STEPS])
def test_latent_path_has_the_steps_asked_and_ends_exactly(method: str, steps: int) -> None:
    a, b = torch.tensor([0.3, -1.2]), torch.tensor([-0.8, 0.4])
    path = latent_path(a, b, steps, method)
    assert path.shape == (steps, 2)
    assert torch.equal(path[0], a) and torch.equal(path[-1], b)


@pytest.mark.parametrize(("steps", "method"), [(1, "linear"), (51, "slerp"), (5, "cubic")])
def test_bad_settings_are_refused_with_a_message(steps: int, method: str) -> None:
    with pytest.raises(ConfigError, match="steps must be from 2 to 50|unknown interpolation"):
        latent_path(torch.zeros(2), torch.ones(2), steps, method)


@pytest.mark.parametrize("method", ["linear", "slerp"])
def test_the_strips_ends_are_the_two_inputs_reconstructions(method: str) -> None:
    model, _ = Run(DEFAULT_MODEL.path).load_model()
    test = load_dataset("sample").test
    first, second = test.images[0], test.images[1]
    result = interpolate_images(model, first, second, 7, method)
    assert result.codes.shape == (7, 2) and result.images.shape == (7, 1, 28, 28)
    reconstructions = reconstruct(model, torch.stack([first, second]))
    assert torch.allclose(result.images[0], reconstructions[0], atol=1e-6)
    assert torch.allclose(result.images[-1], reconstructions[1], atol=1e-6)
    assert not torch.allclose(result.images[3], reconstructions[0], atol=0.05)

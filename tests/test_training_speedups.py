"""The trainer's speed-ups change how the numbers are computed, never which numbers.

benchmarks/run.py compares vaeapp's Trainer with the plain PyTorch loop of the tutorial
(testkit/plain_loop.py); the comparison means something only if both optimise the same
objective the same way.
"""

from __future__ import annotations

import copy

import torch

from testkit.plain_loop import plain_loss
from vaeapp.config import ModelConfig
from vaeapp.model.networks import build_model
from vaeapp.model.objective import elbo_terms
from vaeapp.training.trainer import adam

CONV = ModelConfig(arch="conv", latent_dim=2)
MLP = ModelConfig(arch="mlp", latent_dim=20, hidden=(64, 32))


def _batch(seed: int = 0) -> torch.Tensor:
    return torch.rand(16, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


def test_plain_loop_and_trainer_give_the_same_elbo_on_a_fixed_batch_and_seed() -> None:
    for config in (MLP, CONV):
        torch.manual_seed(3)
        model = build_model(config)
        x = _batch()
        ours = elbo_terms(model, x, 1, torch.Generator().manual_seed(11)).loss()
        torch.manual_seed(11)
        plain = plain_loss(model, x)
        assert torch.allclose(ours, plain, rtol=1e-6), (config.arch, ours, plain)


def test_conv_layout_gives_the_same_outputs_as_pytorchs_default_layout() -> None:
    torch.manual_seed(0)
    fast = build_model(CONV)
    default = copy.deepcopy(fast).to(memory_format=torch.contiguous_format)
    weight = fast.decoder.net[3].weight
    assert weight.is_contiguous(memory_format=torch.channels_last)
    assert not weight.is_contiguous()
    x = _batch()
    assert torch.allclose(fast.encode(x)[0], default.encode(x)[0], atol=1e-5)
    z = torch.randn(8, 2)
    assert torch.allclose(fast.decode(z), default.decode(z), atol=1e-5)


def test_trainers_fused_adam_takes_the_same_steps_as_default_adam() -> None:
    torch.manual_seed(0)
    ours = build_model(MLP)
    plain, before = copy.deepcopy(ours), copy.deepcopy(ours)
    fused = adam(ours, 1e-3, torch.device("cpu"))
    assert fused.defaults["fused"] is True
    default = torch.optim.Adam(plain.parameters(), lr=1e-3)
    for step in range(3):
        for model, optimizer in ((ours, fused), (plain, default)):
            loss = elbo_terms(model, _batch(step), 1, torch.Generator().manual_seed(step)).loss()
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def largest_difference(a: torch.nn.Module, b: torch.nn.Module) -> float:
        pairs = zip(a.parameters(), b.parameters(), strict=True)
        return max((p - q).abs().max().item() for p, q in pairs)

    assert largest_difference(ours, plain) < 1e-6
    assert largest_difference(ours, before) > 1e-4  # the steps did move the weights
